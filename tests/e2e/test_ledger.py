"""End to end: the ledger and the metrics, through a real mitmproxy and a fake upstream that
reports usage in the shapes of OpenAI Chat Completions, Responses, Anthropic and Gemini.

What the client receives must stay byte-identical (and streamed events on time) while the
proxy reads the usage from the passing bytes; planted secrets must never reach the ledger, the
log or the metrics.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.addon.bodies import EAGER, anthropic_tool_chat, encode, openai_tool_chat, pretty_rows
from tests.e2e.conftest import Proxy
from tests.e2e.test_proxy import event_arrivals
from tests.e2e.upstream import Received, Reply, Upstream
from tests.e2e.usage_replies import Counts, reply_for
from wiretrim import ledger, prices
from wiretrim.ledger import Entry

Start = Callable[..., Any]
SECRET_KEY = "sk-proj-PLANTED0KEY0f00dfeed"
MARKER = "PLANTED-PROMPT-MARKER-41d8"
COUNTS = Counts(prompt=5000, output=40, cache_read=4096, cache_write=0)
ANTHROPIC_COUNTS = Counts(prompt=5000, output=40, cache_read=4096, cache_write=512)
GEMINI = "https://generativelanguage.googleapis.com/v1beta/models/gemini-2.5-flash"
# The engine in a thread: what is tested here is the response side, and the thread executor
# starts at once.
BASE = {**EAGER, "executor": "thread"}


def tool_text() -> str:
    return pretty_rows(30, tag=MARKER)


def responses_body(stream: bool) -> dict[str, Any]:
    return {"model": "gpt-4.1-mini", "stream": stream, "store": False, "input": [
        {"type": "message", "role": "user", "content": f"Count the rows. {MARKER}"},
        {"type": "function_call", "call_id": "call_1", "name": "query", "arguments": "{}"},
        {"type": "function_call_output", "call_id": "call_1", "output": tool_text()},
    ]}


def gemini_body() -> dict[str, Any]:
    return {"contents": [
        {"role": "user", "parts": [{"text": f"Count the rows. {MARKER}"}]},
        {"role": "model", "parts": [{"functionCall": {"name": "query", "args": {}}}]},
        {"role": "user",
         "parts": [{"functionResponse": {"name": "query", "response": {"output": tool_text()}}}]},
    ]}


# (url, body, streamed, expected usage counts)
CALLS: list[tuple[str, dict[str, Any], bool, Counts]] = [
    ("https://api.openai.com/v1/chat/completions", openai_tool_chat(tool_text()), False, COUNTS),
    ("https://api.openai.com/v1/chat/completions",
     openai_tool_chat(tool_text(), stream=True, stream_options={"include_usage": True}), True, COUNTS),
    ("https://api.openai.com/v1/responses", responses_body(False), False, COUNTS),
    ("https://api.openai.com/v1/responses", responses_body(True), True, COUNTS),
    ("https://api.anthropic.com/v1/messages", anthropic_tool_chat(tool_text()), False, ANTHROPIC_COUNTS),
    ("https://api.anthropic.com/v1/messages", anthropic_tool_chat(tool_text(), stream=True), True,
     ANTHROPIC_COUNTS),
    (f"{GEMINI}:generateContent", gemini_body(), False, COUNTS),
    (f"{GEMINI}:streamGenerateContent?alt=sse", gemini_body(), True, COUNTS),
    (f"{GEMINI}:streamGenerateContent", gemini_body(), True, COUNTS),  # a JSON array, streamed
]


def planted_reply(req: Received) -> Reply:
    counts = ANTHROPIC_COUNTS if req.path.startswith("/v1/messages") else COUNTS
    return reply_for(req, counts)


def send(url: str, body: dict[str, Any], headers: dict[str, str] | None = None) -> bytes:
    """POST through the proxy; returns the raw bytes the client got (streamed or not)."""
    hdrs = {"content-type": "application/json", "authorization": f"Bearer {SECRET_KEY}",
            "x-goog-api-key": SECRET_KEY, **(headers or {})}
    with httpx.Client(timeout=30) as c, c.stream("POST", url, content=encode(body), headers=hdrs) as r:
        assert r.status_code == 200
        return b"".join(r.iter_raw())


async def written(proxy: Proxy, n: int) -> list[Entry]:
    await proxy.addon.settled()
    setup = proxy.addon.setup
    assert setup is not None and setup.ledger is not None
    assert await asyncio.to_thread(setup.ledger.flush)
    rows = list(ledger.read(setup.ledger.path))
    assert len(rows) == n
    return rows


def every_byte(path: Path) -> bytes:
    """The ledger and its write-ahead log, as stored."""
    return b"".join(p.read_bytes() for p in path.parent.glob(path.name + "*"))


async def test_every_api_streamed_or_not_gets_a_ledger_row_with_its_usage(
    start_proxy: Start, upstream: Upstream, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    path = tmp_path / "ledger.sqlite"
    proxy: Proxy = await start_proxy({**BASE, "ledger": {"path": str(path)}, "metrics_port": 0}, mode="on")
    upstream.handler = planted_reply

    got = [await asyncio.to_thread(send, url, body) for url, body, _, _ in CALLS]

    assert got == [s.body for s in upstream.sent]  # byte for byte what the upstream sent
    rows = await written(proxy, len(CALLS))
    table = prices.load()
    for row, (url, _, streamed, counts) in zip(rows, CALLS, strict=True):
        where = f"{url} stream={streamed}"
        assert (row.action, row.mode, row.status, row.stream) == ("compressed", "on", 200, streamed), where
        assert row.host == url.split("/")[2] and row.provider in ("openai", "anthropic", "gemini")
        assert row.tokens_before is not None and row.tokens_after is not None
        assert 0 < row.tokens_after < row.tokens_before, where
        assert (row.input_tokens, row.output_tokens, row.cache_read_tokens) == (
            counts.prompt, counts.output, counts.cache_read), where
        assert row.cache_write_tokens == (512 if "anthropic" in url else None), where
        model = row.model
        price = table.lookup(model)
        assert price is not None, model
        assert row.saved_usd == pytest.approx((row.tokens_before - row.tokens_after) * price.input / 1e6)
        assert row.cost_usd == table.cost(model, ledger_usage(row))
        assert row.latency_ms > 0 and row.latency_ms == row.compress_ms

    # No secret anywhere: not in the ledger file, not in any log line, not in the metrics.
    metrics = proxy.addon.setup.metrics  # type: ignore[union-attr]
    assert metrics is not None
    with httpx.Client(trust_env=False) as c:
        scraped = c.get(f"http://127.0.0.1:{metrics.port}/metrics").text
    assert 'wiretrim_requests_total{action="compressed",mode="on",provider="openai"} 4.0' in scraped
    assert 'wiretrim_cache_write_tokens_total{provider="anthropic"} 1024.0' in scraped
    assert "wiretrim_compression_seconds_bucket" in scraped
    stored = every_byte(path)
    logged = caplog.text + "".join(str(r.args) for r in caplog.records)
    for secret in (SECRET_KEY, MARKER):
        assert secret.encode() not in stored
        assert secret not in logged
        assert secret not in scraped
    assert MARKER.encode() in proxy.client.requests[0].body  # it was planted  # type: ignore[operator]


def ledger_usage(row: Entry) -> Any:
    from wiretrim.usage import Usage

    return Usage(row.input_tokens, row.output_tokens, row.cache_read_tokens, row.cache_write_tokens)


async def test_reading_usage_leaves_stream_timing_alone(start_proxy: Start, upstream: Upstream,
                                                        tmp_path: Path) -> None:
    proxy: Proxy = await start_proxy({**BASE, "ledger": {"path": str(tmp_path / "l.sqlite")}}, mode="on")
    upstream.n_events, upstream.interval_s = 5, 0.2
    body = anthropic_tool_chat(tool_text(), stream=True)

    def stream() -> tuple[bytes, list[float]]:
        with httpx.Client(timeout=30) as c, c.stream(
            "POST", "https://api.anthropic.com/v1/messages", content=encode(body),
            headers={"content-type": "application/json"},
        ) as r:
            return event_arrivals(r.iter_raw())

    data, arrived = await asyncio.to_thread(stream)
    sent = upstream.sent[0]
    assert data == sent.body and len(arrived) == len(sent.chunk_times) == 10
    delays = [a - s for a, s in zip(arrived, sent.chunk_times, strict=True)]
    assert max(delays) < 0.05  # each event reaches the client as it is sent: nothing held back
    (row,) = await written(proxy, 1)
    assert row.stream and row.input_tokens == 100 and row.output_tokens == 5  # the default fake's usage


async def test_shadow_rows_record_what_would_have_been_saved(start_proxy: Start, upstream: Upstream,
                                                             tmp_path: Path) -> None:
    proxy: Proxy = await start_proxy({**BASE, "ledger": {"path": str(tmp_path / "l.sqlite")}}, mode="shadow")
    upstream.handler = planted_reply
    client = openai_tool_chat(tool_text())
    await asyncio.to_thread(send, CALLS[0][0], client)
    assert upstream.received[0].body == encode(client)  # the original went upstream
    (row,) = await written(proxy, 1)
    assert (row.mode, row.action, row.latency_ms) == ("shadow", "compressed", 0.0)
    assert row.tokens_after is not None and row.tokens_before is not None
    assert row.tokens_after < row.tokens_before and row.input_tokens == COUNTS.prompt


async def test_skipped_requests_get_a_row_with_their_reason(start_proxy: Start, upstream: Upstream,
                                                            tmp_path: Path) -> None:
    proxy: Proxy = await start_proxy({**BASE, "ledger": {"path": str(tmp_path / "l.sqlite")}}, mode="on")
    upstream.handler = planted_reply
    await asyncio.to_thread(send, CALLS[0][0], openai_tool_chat(tool_text()), {"x-wiretrim": "off"})
    (row,) = await written(proxy, 1)
    assert (row.action, row.reason, row.tokens_before, row.input_tokens) == ("skipped", "bypass", None, 5000)
    assert row.model == "gpt-4o-mini"  # named by the response: the skipped body was not read
    assert row.saved_usd == 0.0 and row.cost_usd is not None


async def test_a_ledger_that_cannot_be_written_fails_open_and_says_so_once(
    start_proxy: Start, upstream: Upstream, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("a file where the ledger's directory should be")
    proxy: Proxy = await start_proxy({**BASE, "ledger": {"path": str(blocker / "ledger.sqlite")}}, mode="on")
    upstream.handler = planted_reply
    for _ in range(3):
        await asyncio.to_thread(send, CALLS[1][0], CALLS[1][1])
    await proxy.addon.settled()
    assert proxy.addon.setup is not None and proxy.addon.setup.ledger is not None
    assert await asyncio.to_thread(proxy.addon.setup.ledger.flush)
    assert len(upstream.sent) == 3
    warnings = [r for r in caplog.records if "cannot be written" in r.getMessage()]
    assert len(warnings) == 1 and warnings[0].levelno == logging.WARNING


async def test_the_ledger_write_costs_the_event_loop_microseconds(tmp_path: Path) -> None:
    """Adding a row only queues it; measured here so a regression shows up as a number."""
    book = ledger.Ledger(tmp_path / "l.sqlite")
    row = Entry(time.time(), "api.openai.com", "openai", "openai-chat", "gpt-4.1", "on", "compressed",
                tokens_before=1000, tokens_after=400)
    started = time.perf_counter()
    for _ in range(2000):
        book.add(row)
    per_row_us = (time.perf_counter() - started) / 2000 * 1e6
    book.close()
    print(f"\nledger add: {per_row_us:.1f} µs per row")
    assert per_row_us < 200
    assert sum(1 for _ in ledger.read(tmp_path / "l.sqlite")) == 2000


def test_replies_are_what_the_apis_send() -> None:
    """The fake's Gemini array stream is one JSON array once joined (as the real one is)."""
    path = "/v1beta/models/gemini-2.5-flash:streamGenerateContent"
    req = Received("POST", path, [], json.dumps({}).encode())
    reply = reply_for(req, COUNTS)
    assert reply.events is not None
    assert [c["usageMetadata"]["candidatesTokenCount"] for c in json.loads(b"".join(reply.events))] == [1, 40]
