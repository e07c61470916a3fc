"""The per-shape properties at fuzzing size (10,000 bodies each), outside CI.

Run: HYPOTHESIS_PROFILE=fuzz .venv/bin/pytest -m slow tests/compression/shapes/test_fuzz.py
"""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.compression.shapes.bodies import BODIES, garbage
from tests.compression.shapes.checks import check_all, check_any_object, styles
from tests.compression.support import Style

FUZZ = settings.get_profile("fuzz")


@pytest.mark.slow
@pytest.mark.parametrize("name", list(BODIES))
def test_fuzz_rewrite(name):
    @settings(FUZZ)
    @given(BODIES[name], styles, st.one_of(st.none(), st.integers(0, 8)))
    def run(case, style, dup):
        if dup is not None:
            style = Style(dup_object=dup)
        check_all(name, case, style)

    run()


@pytest.mark.slow
@pytest.mark.parametrize("name", list(BODIES))
def test_fuzz_any_object(name):
    @settings(FUZZ)
    @given(garbage)
    def run(value):
        check_any_object(name, value)

    run()
