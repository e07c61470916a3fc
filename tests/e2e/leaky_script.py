"""Test-only mitmproxy script: the wiretrim addon with an engine whose errors quote the request.

``LEAKY_ENGINE=engine`` makes the whole rewrite raise; otherwise a transform raises (inside
the worker, where the engine logs and carries on).
"""

import os

from tests.e2e.leaky import quoting_engine, quoting_transform_engine
from wiretrim.addon.hooks import Wiretrim

factory = quoting_engine if os.environ.get("LEAKY_ENGINE") == "engine" else quoting_transform_engine
addons = [Wiretrim(engine_factory=factory)]
