"""Hypothesis profiles: "ci" (the default, modest and derandomized) and "fuzz" (10,000 examples).

Select with HYPOTHESIS_PROFILE=fuzz; the slow-marked fuzz tests (tests/compression/shapes/
test_fuzz.py) use the fuzz profile's example count whichever profile is loaded.
"""

from __future__ import annotations

import os

from hypothesis import HealthCheck, settings

settings.register_profile(
    "ci",
    max_examples=150,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
settings.register_profile(
    "fuzz",
    max_examples=10_000,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))
