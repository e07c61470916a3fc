"""The layering the project keeps: the compression engine never imports mitmproxy, and its
public surface is exactly the names below."""

import os
import subprocess
import sys
from pathlib import Path

import wiretrim.compression

REPO = Path(__file__).resolve().parents[1]


def test_compression_imports_no_mitmproxy():
    code = (
        "import sys\n"
        "import wiretrim.compression, wiretrim.compression.pipeline, wiretrim.compression.shapes\n"
        "import wiretrim.compression.memo, wiretrim.compression.textengine, wiretrim.compression.transforms\n"
        "from wiretrim.compression.shapes import SHAPES\n"
        "for name in SHAPES: __import__('wiretrim.compression.shapes.' + name.replace('-', '_'))\n"
        "print(sorted(m for m in sys.modules if m == 'mitmproxy' or m.startswith('mitmproxy.')))\n"
    )
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    proc = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO, env=env, capture_output=True, text=True, check=True
    )
    assert proc.stdout.strip() == "[]"


def test_public_names_are_pinned():
    assert sorted(wiretrim.compression.__all__) == [
        "Accounting",
        "Engine",
        "EngineSettings",
        "RewriteResult",
        "SlotOutcome",
        "measure",
    ]
    for name in wiretrim.compression.__all__:
        assert getattr(wiretrim.compression, name) is not None


def test_shape_names_match_the_endpoint_table():
    from wiretrim.compression.shapes import SHAPES
    from wiretrim.endpoints import SHAPE_NAMES

    assert tuple(SHAPES) == SHAPE_NAMES
    assert all(shape.name == name for name, shape in SHAPES.items())


def test_usage_ledger_prices_and_stats_import_no_mitmproxy():
    """The response readers and the savings tools work without mitmproxy (`wiretrim stats` and
    the usage parser are plain Python)."""
    code = (
        "import sys\n"
        "import wiretrim.usage, wiretrim.ledger, wiretrim.prices, wiretrim.stats, wiretrim.chart\n"
        "print(sorted(m for m in sys.modules if m == 'mitmproxy' or m.startswith('mitmproxy.')))\n"
    )
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    proc = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO, env=env, capture_output=True, text=True, check=True
    )
    assert proc.stdout.strip() == "[]"
