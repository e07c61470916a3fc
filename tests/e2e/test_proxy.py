"""End to end: official SDKs and raw clients -> a real mitmproxy with the addon -> a fake TLS upstream.

Clients are configured only through HTTPS_PROXY and SSL_CERT_FILE (a bundle with the proxy's
CA). They run in threads; the proxy runs on the test's event loop; the upstream in its own
threads, recording what it received and when it sent each chunk.
"""

from __future__ import annotations

import asyncio
import json
import logging
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

import anthropic
import httpx
import openai
import pytest
from mitmproxy.exceptions import OptionsError
from mitmproxy.net import encoding

from tests.addon import fakes
from tests.addon.bodies import EAGER, anthropic_tool_chat, encode, openai_tool_chat, pretty_rows, small_chat
from tests.e2e.conftest import Proxy
from tests.e2e.upstream import Upstream
from wiretrim.config import Settings
from wiretrim.engines import build_engine
from wiretrim.paths import ADDON_SCRIPT

Start = Callable[..., Any]
OPENAI = "https://api.openai.com/v1/chat/completions"
ANTHROPIC = "https://api.anthropic.com/v1/messages"


def offline_rewrite(client_body: bytes, shape: str = "openai-chat") -> bytes | None:
    """What the real engine makes of a body, computed here without the proxy."""
    return build_engine(Settings.model_validate(EAGER)).rewrite(client_body, shape).body


def openai_client() -> openai.OpenAI:
    return openai.OpenAI(api_key="sk-test-not-a-real-key", max_retries=0, timeout=30)


def anthropic_client() -> anthropic.Anthropic:
    return anthropic.Anthropic(api_key="sk-ant-test-not-a-real-key", max_retries=0, timeout=30)


def post(url: str, body: bytes, headers: dict[str, str] | None = None) -> httpx.Response:
    with httpx.Client(timeout=30) as c:  # trust_env: HTTPS_PROXY and SSL_CERT_FILE
        return c.post(url, content=body, headers={"content-type": "application/json", **(headers or {})})


def wiretrim_lines(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == "wiretrim"]


# -- the official SDKs ------------------------------------------------------------------------


async def test_openai_sdk_chat_and_stream_in_on_mode(start_proxy: Start, upstream: Upstream) -> None:
    proxy: Proxy = await start_proxy(EAGER, mode="on")
    doc = openai_tool_chat()

    def chat() -> bytes:
        raw = openai_client().chat.completions.with_raw_response.create(
            model=doc["model"], messages=doc["messages"]
        )
        assert raw.parse().choices[0].message.content == "There are 20 rows."
        return raw.http_response.content

    def stream() -> bytes:
        with openai_client().chat.completions.with_streaming_response.create(
            model=doc["model"], messages=doc["messages"], stream=True
        ) as response:
            return b"".join(response.iter_bytes())

    got = await asyncio.to_thread(chat)
    streamed = await asyncio.to_thread(stream)

    for i in range(2):
        client_body = proxy.client.requests[i].body
        assert client_body is not None
        assert upstream.received[i].body == offline_rewrite(client_body)  # the rewritten body went up
        assert len(upstream.received[i].body) < len(client_body)
    assert got == upstream.sent[0].body  # and the SDK got exactly what the upstream sent
    assert streamed == upstream.sent[1].body
    assert streamed.count(b"data: ") == 6


async def test_anthropic_sdk_chat_and_stream_in_on_mode(start_proxy: Start, upstream: Upstream) -> None:
    proxy: Proxy = await start_proxy(EAGER, mode="on")
    doc = anthropic_tool_chat()

    def chat() -> bytes:
        raw = anthropic_client().messages.with_raw_response.create(
            model=doc["model"], max_tokens=doc["max_tokens"], messages=doc["messages"]
        )
        assert raw.parse().content[0].text == "There are 20 rows."  # type: ignore[union-attr]
        return raw.http_response.content

    def stream() -> tuple[bytes, str]:
        c = anthropic_client()
        with c.messages.with_streaming_response.create(
            model=doc["model"], max_tokens=doc["max_tokens"], messages=doc["messages"], stream=True
        ) as response:
            raw = b"".join(response.iter_bytes())
        with c.messages.stream(
            model=doc["model"], max_tokens=doc["max_tokens"], messages=doc["messages"]
        ) as s:
            text = s.get_final_text()
        return raw, text

    got = await asyncio.to_thread(chat)
    streamed, text = await asyncio.to_thread(stream)

    assert text == "part0 part1 part2 part3 part4 "
    for i in range(3):
        client_body = proxy.client.requests[i].body
        assert client_body is not None
        assert upstream.received[i].body == offline_rewrite(client_body, "anthropic-messages")
        assert len(upstream.received[i].body) < len(client_body)
    assert got == upstream.sent[0].body
    assert streamed == upstream.sent[1].body


@pytest.mark.parametrize("mode", ["off", "shadow"])
async def test_off_and_shadow_forward_the_original(start_proxy: Start, upstream: Upstream, mode: str,
                                                   caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, "wiretrim")
    proxy: Proxy = await start_proxy(EAGER, mode=mode)
    o, a = openai_tool_chat(), anthropic_tool_chat()

    def calls() -> tuple[bytes, bytes]:
        r1 = openai_client().chat.completions.with_raw_response.create(
            model=o["model"], messages=o["messages"]
        )
        with openai_client().chat.completions.with_streaming_response.create(
            model=o["model"], messages=o["messages"], stream=True
        ) as response:
            streamed = b"".join(response.iter_bytes())
        anthropic_client().messages.create(model=a["model"], max_tokens=64, messages=a["messages"])
        return r1.http_response.content, streamed

    got, streamed = await asyncio.to_thread(calls)
    await proxy.addon.settled()
    assert [r.body for r in upstream.received] == [r.body for r in proxy.client.requests]
    assert (got, streamed) == (upstream.sent[0].body, upstream.sent[1].body)
    lines = wiretrim_lines(caplog)
    if mode == "off":
        assert lines == []
    else:
        assert len(lines) == 3 and all("mode=shadow action=compressed" in line for line in lines)


# -- streaming ---------------------------------------------------------------------------------


def event_arrivals(chunks: Any) -> tuple[bytes, list[float]]:
    """All bytes, and the time each SSE event (ended by a blank line) was complete."""
    data, times = b"", []
    for chunk in chunks:
        now = time.perf_counter()
        data += chunk
        times += [now] * (data.count(b"\n\n") - len(times))
    return data, times


async def test_sse_events_arrive_as_they_are_sent(start_proxy: Start, upstream: Upstream) -> None:
    await start_proxy(EAGER, mode="on")
    upstream.n_events, upstream.interval_s = 5, 0.2
    doc = openai_tool_chat()

    def stream() -> tuple[bytes, list[float]]:
        with openai_client().chat.completions.with_streaming_response.create(
            model=doc["model"], messages=doc["messages"], stream=True
        ) as response:
            return event_arrivals(response.iter_bytes())

    data, arrived = await asyncio.to_thread(stream)
    sent = upstream.sent[0].chunk_times
    assert data == upstream.sent[0].body and len(arrived) == len(sent) == 6  # 5 chunks and [DONE]
    first_delay = arrived[0] - sent[0]
    gaps = [(arrived[i] - arrived[i - 1]) - (sent[i] - sent[i - 1]) for i in range(1, 6)]
    print(f"\nSSE first-event delay {first_delay * 1000:.1f} ms; gap errors "
          f"{', '.join(f'{g * 1000:+.1f}' for g in gaps)} ms")
    assert first_delay < 0.1
    assert all(abs(g) < 0.05 for g in gaps)
    assert all(0.15 < arrived[i] - arrived[i - 1] < 0.25 for i in range(1, 5))


async def test_a_5mb_compression_does_not_hold_up_a_concurrent_stream(
    start_proxy: Start, upstream: Upstream, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, "wiretrim")
    await start_proxy({**EAGER, "budget_ms": 20000}, mode="on")  # the default executor, the real engine
    upstream.n_events, upstream.interval_s = 30, 0.05
    big = encode(openai_tool_chat(pretty_rows(16000, tag="big")))
    big = encode({**json.loads(big), "messages": json.loads(big)["messages"] * 3})
    assert len(big) > 5_000_000
    connected, first_event = threading.Event(), threading.Event()

    def stream() -> tuple[bytes, list[float]]:
        assert connected.wait(10)
        with httpx.Client(timeout=30) as c, c.stream(
            "POST", OPENAI,
            json={"model": "m", "stream": True, "messages": [{"role": "user", "content": "hi"}]},
        ) as response:
            def chunks() -> Any:
                for chunk in response.iter_bytes():
                    first_event.set()
                    yield chunk
            return event_arrivals(chunks())

    def compress() -> httpx.Response:
        with httpx.Client(timeout=30) as c:
            # Connect first: a new TLS connection stalls mitmproxy itself for a moment, and that
            # is not what this test measures.
            c.post(OPENAI, content=encode(small_chat()), headers={"content-type": "application/json"})
            connected.set()
            assert first_event.wait(10)
            return c.post(OPENAI, content=big, headers={"content-type": "application/json"})

    (data, arrived), response = await asyncio.gather(asyncio.to_thread(stream), asyncio.to_thread(compress))
    assert response.status_code == 200
    sse = next(s for s in upstream.sent if s.body == data)
    delays = [a - s for a, s in zip(arrived, sse.chunk_times, strict=True)]
    big_line = next(line for line in wiretrim_lines(caplog) if "action=compressed" in line)
    ms = float(big_line.split(" ms=")[1].split()[0])
    big_received = next(r for r in upstream.received if len(r.body) > 10000)
    print(f"\n5 MB compressed in {ms:.0f} ms ({len(big) / 1e6:.1f} -> {len(big_received.body) / 1e6:.2f} MB) "
          f"while the stream ran; event delay max {max(delays) * 1000:.1f} ms, median "
          f"{sorted(delays)[len(delays) // 2] * 1000:.1f} ms")
    assert ms > 150  # real work, and it happened while the stream was running:
    assert len(big_received.body) < len(big)
    assert max(delays) < 0.05


# -- byte identity ----------------------------------------------------------------------------


async def test_small_matched_and_unmatched_requests_arrive_byte_identical(
    start_proxy: Start, upstream: Upstream
) -> None:
    proxy: Proxy = await start_proxy(EAGER, mode="on")
    odd = b'{ "messages" : [ {"role":"user", "content":"Say hi.\\u00e9"} ],\n  "model":"gpt-4o-mini" }'

    def calls() -> None:
        with httpx.Client(timeout=30) as c:
            c.post(OPENAI, content=odd, headers={"content-type": "application/json", "X-Custom": "1"})
            c.post("https://api.openai.com/v1/embeddings", content=encode(openai_tool_chat()),
                   headers={"content-type": "application/json"})
            c.get("https://api.openai.com/v1/models", headers={"Authorization": "Bearer sk-x"})
            c.post("https://api.anthropic.com/v1/files", content=b"\x00\x01binary")
            c.post(OPENAI + "?trace=1", content=encode(small_chat()),
                   headers={"content-type": "application/json"})

    await asyncio.to_thread(calls)
    assert len(upstream.received) == len(proxy.client.requests) == 5
    for got, sent in zip(upstream.received, proxy.client.requests, strict=True):
        assert (got.method, got.path, got.headers) == (sent.method, sent.path, sent.headers)
        assert got.body == sent.body


# -- skips, encodings, fail-open -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("headers", "extra", "reason"),
    [
        ({"x-wiretrim": "off"}, {}, "bypass"),
        ({"authorization": "AWS4-HMAC-SHA256 Credential=AKIA/x, Signature=abc"}, {}, "signed:sigv4"),
        ({"content-digest": "sha-256=:abc=:"}, {}, "signed:content-digest"),
        ({"content-type": "text/plain"}, {}, "content_type"),
        ({"content-encoding": "compress"}, {}, "content_encoding"),
        ({}, {"n": 2}, "n>1"),
    ],
)
async def test_skip_rules_forward_the_original(
    start_proxy: Start, upstream: Upstream, caplog: pytest.LogCaptureFixture,
    headers: dict[str, str], extra: dict[str, Any], reason: str,
) -> None:
    caplog.set_level(logging.INFO, "wiretrim")
    proxy: Proxy = await start_proxy(EAGER, mode="on")
    client = encode(openai_tool_chat(**extra))
    response = await asyncio.to_thread(post, OPENAI, client, headers)
    assert response.status_code == 200
    assert upstream.received[0].body == client
    sent_headers = [h for h in proxy.client.requests[0].headers if h[0].lower() != "x-wiretrim"]
    assert upstream.received[0].headers == sent_headers  # the bypass header is the only one removed
    assert f"action=skipped:{reason} " in wiretrim_lines(caplog)[0]


@pytest.mark.parametrize("coding", ["gzip", "zstd"])
async def test_encoded_request_bodies_are_rewritten_in_their_coding(
    start_proxy: Start, upstream: Upstream, coding: str
) -> None:
    await start_proxy(EAGER, mode="on")
    plain = encode(openai_tool_chat())
    await asyncio.to_thread(post, OPENAI, encoding.encode(plain, coding), {"content-encoding": coding})
    got = upstream.received[0]
    assert got.header("content-encoding") == coding
    assert got.header("content-length") == str(len(got.body))
    assert encoding.decode(got.body, coding) == offline_rewrite(plain)


async def test_an_engine_that_raises_fails_open(
    start_proxy: Start, upstream: Upstream, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, "wiretrim")
    await start_proxy(EAGER, mode="on", factory=fakes.raising_engine)
    client = encode(openai_tool_chat())
    response = await asyncio.to_thread(post, OPENAI, client)
    assert response.status_code == 200 and response.content == upstream.sent[0].body
    assert upstream.received[0].body == client
    (record,) = [r for r in caplog.records if r.name == "wiretrim"]
    assert record.levelno == logging.WARNING and "action=failed:RuntimeError" in record.getMessage()


async def test_an_engine_over_budget_fails_open_in_time(
    start_proxy: Start, upstream: Upstream, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, "wiretrim")
    slow = partial(fakes.sleepy_engine, delay_s=2.0)
    await start_proxy({**EAGER, "budget_ms": 100}, mode="on", factory=slow)
    client = encode(openai_tool_chat())
    started = time.perf_counter()
    response = await asyncio.to_thread(post, OPENAI, client)
    took = time.perf_counter() - started
    assert response.status_code == 200 and upstream.received[0].body == client
    assert took < 1.0
    assert "action=failed:budget" in wiretrim_lines(caplog)[0]


async def test_a_rejected_rewrite_stops_rewrites_of_its_route(
    start_proxy: Start, upstream: Upstream, caplog: pytest.LogCaptureFixture
) -> None:
    await start_proxy(EAGER, mode="on")
    upstream.status = 400
    first = await asyncio.to_thread(post, OPENAI, encode(openai_tool_chat()))
    assert first.status_code == 400 and first.content == upstream.sent[0].body  # the error reaches the client
    assert upstream.received[0].body != encode(openai_tool_chat())  # it had been rewritten
    upstream.status = None
    second = encode(openai_tool_chat(pretty_rows(tag="after")))
    assert (await asyncio.to_thread(post, OPENAI, second)).status_code == 200
    assert upstream.received[1].body == second
    assert "breaker open provider=openai model=gpt-4o-mini status=400" in caplog.text


# -- configuration ----------------------------------------------------------------------------


async def test_changing_the_mode_at_run_time(start_proxy: Start, upstream: Upstream) -> None:
    proxy: Proxy = await start_proxy(EAGER, mode="on")
    bodies = [encode(openai_tool_chat(pretty_rows(tag=f"t{i}"))) for i in range(4)]

    async def send(body: bytes) -> bytes:
        await asyncio.to_thread(post, OPENAI, body)
        return upstream.received[-1].body

    assert await send(bodies[0]) != bodies[0]
    proxy.set(wiretrim_mode="off")
    assert await send(bodies[1]) == bodies[1]
    proxy.set(wiretrim_mode="shadow")
    assert await send(bodies[2]) == bodies[2]
    proxy.set(wiretrim_mode="on")
    assert await send(bodies[3]) != bodies[3]
    await proxy.addon.settled()
    assert await send(bodies[2]) == bodies[2]  # went out unchanged in shadow: stays unchanged


async def test_a_bad_config_at_run_time_is_rejected(start_proxy: Start, tmp_path: Path) -> None:
    proxy: Proxy = await start_proxy(EAGER, mode="on")
    before = proxy.addon.setup
    bad = tmp_path / "bad.yaml"
    bad.write_text("budget_ms: soon\n")
    with pytest.raises(OptionsError, match=r"^wiretrim_config: .*bad\.yaml: budget_ms: "):
        proxy.set(wiretrim_config=str(bad))
    assert proxy.addon.setup == before


def test_a_bad_config_file_stops_mitmdump_with_one_line(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("mode: on\ncompression:\n  level: extreme\n")
    mitmdump = Path(sys.executable).parent / "mitmdump"
    proc = subprocess.run(
        [str(mitmdump), "--listen-host", "127.0.0.1", "-p", "0", "--set", f"confdir={tmp_path}",
         "-s", str(ADDON_SCRIPT), "--set", f"wiretrim_config={bad}"],
        capture_output=True, text=True, timeout=60, cwd=tmp_path,
    )
    out = proc.stdout + proc.stderr
    assert proc.returncode == 1
    assert "Traceback" not in out
    (line,) = [line for line in out.splitlines() if "wiretrim_config" in line]
    assert line.endswith(f"wiretrim_config: {bad}: compression.level: Input should be 'lossless', "
                         "'balanced' or 'aggressive'")
