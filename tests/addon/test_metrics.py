"""Prometheus metrics: fed by ledger entries, served on 127.0.0.1 only, off by default."""

from __future__ import annotations

import socket
from collections.abc import Callable

import httpx
import pytest
from mitmproxy.exceptions import OptionsError

from tests.addon.bodies import EAGER
from tests.addon.conftest import Harness
from wiretrim.addon.metrics import Metrics
from wiretrim.ledger import Entry

Make = Callable[..., Harness]


def scrape(port: int) -> str:
    with httpx.Client(trust_env=False, timeout=5) as c:
        return c.get(f"http://127.0.0.1:{port}/metrics").text


def entry(**fields: object) -> Entry:
    base: dict[str, object] = {
        "ts": 1.0,
        "host": "api.anthropic.com",
        "provider": "anthropic",
        "shape": "anthropic-messages",
        "model": "claude-sonnet-4-5",
        "mode": "on",
        "action": "compressed",
    }
    return Entry(**{**base, **fields})  # type: ignore[arg-type]


def test_entries_become_counters_and_a_histogram() -> None:
    m = Metrics(0)
    try:
        m.observe(
            entry(
                tokens_before=1000,
                tokens_after=400,
                input_tokens=5000,
                output_tokens=50,
                cache_read_tokens=3000,
                cache_write_tokens=700,
                saved_usd=0.0018,
                compress_ms=12.0,
            )
        )
        m.observe(entry(action="skipped", reason="signed:sigv4"))
        text = scrape(m.port)
    finally:
        m.close()
    for line in (
        'wiretrim_requests_total{action="compressed",mode="on",provider="anthropic"} 1.0',
        'wiretrim_requests_total{action="skipped",mode="on",provider="anthropic"} 1.0',
        'wiretrim_skipped_requests_total{provider="anthropic",reason="signed:sigv4"} 1.0',
        'wiretrim_tokens_before_total{mode="on",provider="anthropic"} 1000.0',
        'wiretrim_tokens_after_total{mode="on",provider="anthropic"} 400.0',
        'wiretrim_tokens_saved_total{mode="on",provider="anthropic"} 600.0',
        'wiretrim_cache_read_tokens_total{provider="anthropic"} 3000.0',
        'wiretrim_cache_write_tokens_total{provider="anthropic"} 700.0',
        'wiretrim_compression_seconds_bucket{le="0.025",mode="on",provider="anthropic"} 1.0',
        'wiretrim_compression_seconds_count{mode="on",provider="anthropic"} 1.0',
    ):
        assert line in text, line
    assert "claude-sonnet" not in text  # no model label


def test_the_server_listens_on_loopback_only_and_closes() -> None:
    m = Metrics(0)
    assert m._server.server_address[0] == "127.0.0.1"
    port = m.port
    m.close()
    with socket.socket() as s:
        assert s.connect_ex(("127.0.0.1", port)) != 0


def test_metrics_are_off_by_default(make_harness: Make) -> None:
    h = make_harness(EAGER)
    assert h.addon.setup is not None and h.addon.setup.metrics is None


def test_the_option_turns_them_on_and_a_taken_port_is_an_option_error(make_harness: Make) -> None:
    h = make_harness(EAGER)
    h.configure(wiretrim_metrics_port=0)
    assert h.addon.setup is not None
    metrics = h.addon.setup.metrics
    assert metrics is not None and "wiretrim_requests_total" in scrape(metrics.port)
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        with pytest.raises(
            OptionsError, match=r"^wiretrim_metrics_port: cannot serve metrics on 127\.0\.0\.1:"
        ):
            h.configure(wiretrim_metrics_port=taken.getsockname()[1])
    h.configure(wiretrim_metrics_port=None)
    assert h.addon.setup.metrics is None
