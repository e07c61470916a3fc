"""Load through a real ``wiretrim run`` process (issue 8): no errors, every response byte-identical.

CI runs a small pass in mode on. The full run (64 clients, 2,000 requests, half streaming;
direct, mode off and mode on) is ``-m slow``; it prints latency and peak RSS, and
``python -m tests.e2e.load`` prints the same figures outside pytest.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from tests.e2e import load, tls
from tests.e2e.upstream import Upstream

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="peak RSS is read from /proc")


def report(capsys: pytest.CaptureFixture[str], *lines: str) -> None:
    with capsys.disabled():
        print("\n" + "\n".join(lines))


def assert_clean(result: load.PassResult, n: int) -> None:
    assert len(result.samples) == n
    assert result.errors == []
    assert result.upstream_mismatches == 0


def test_load_in_mode_on(
    upstream_server: Upstream, pki: tls.TestPKI, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    reqs = load.make_requests(200)
    result = load.run_pass("on", reqs, 16, upstream_server, pki, tmp_path / "on")
    report(capsys, result.summary())
    assert_clean(result, len(reqs))
    assert result.actions["compressed"] > 0  # the engine really worked on this load
    assert result.peak_rss_mb["proxy"] > 0 and result.peak_rss_mb["workers"] > 0


@pytest.mark.slow
def test_load_64_clients_2000_requests(
    upstream_server: Upstream, pki: tls.TestPKI, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    reqs = load.make_requests(2000)
    results = {
        mode: load.run_pass(mode, reqs, 64, upstream_server, pki, tmp_path / mode)
        for mode in ("direct", "off", "on")
    }
    on, off, direct = results["on"], results["off"], results["direct"]
    report(
        capsys,
        *(r.summary() for r in results.values()),
        load.added("the addon (on - off)", on, off),
        load.added("the proxy (off - direct)", off, direct),
    )
    for result in results.values():
        assert_clean(result, len(reqs))
    assert on.actions["compressed"] > 0
    assert on.peak_rss_mb["proxy"] < 1024  # bounded: the flows are not kept (mitmdump, no -w)
