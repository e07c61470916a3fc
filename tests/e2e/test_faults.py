"""Upstream faults through a real proxy (issue 8): the client sees what it would see going direct.

Each fault is played twice by the fake upstream: once to a client that talks to it directly,
once to a client that goes through mitmproxy with the addon in `on` mode (so the request was
rewritten on the way). The two clients must see the same status, headers and bytes, and fail
the same way; meanwhile the proxy keeps answering other clients. The stall is a parameter:
a few seconds in CI, the full 30 s under ``-m slow``.
"""

from __future__ import annotations

import asyncio
import json
import logging
import ssl
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import anthropic
import httpx
import openai
import pytest

from tests.addon.bodies import EAGER, anthropic_tool_chat, encode, openai_tool_chat, pretty_rows, small_chat
from tests.e2e import tls
from tests.e2e.conftest import Proxy
from tests.e2e.upstream import Received, Reply, Upstream, anthropic_reply, openai_reply, sse
from wiretrim.addon.breaker import Breaker
from wiretrim.endpoints import CustomEndpoint, intercept_patterns

Start = Callable[..., Any]
OPENAI_PATH = "/v1/chat/completions"
ANTHROPIC_PATH = "/v1/messages"
STALL_TOLERANCE_S = 1.0  # proxied minus direct time to the first byte, on a loaded 2-core CI box


def error_body(kind: str, message: str) -> bytes:
    return json.dumps({"error": {"type": kind, "message": message, "code": None}}).encode()


@dataclass
class Faults:
    """The fake upstream's answers: normal ones, unless the request names a fault (x-fault)."""

    stall_s: float = 3.0
    release: threading.Event = field(default_factory=threading.Event)  # ends stalls early at teardown
    gates: list[threading.Event] = field(default_factory=list)  # one per reset stream

    def __call__(self, req: Received) -> Reply:
        fault = req.header("x-fault")
        json_type = [("content-type", "application/json")]
        if fault == "500":
            return Reply(500, json_type, error_body("server_error", "The server had an error."))
        if fault == "529":
            body = {"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}
            return Reply(529, [*json_type, ("request-id", "req_529")], json.dumps(body).encode())
        if fault == "429":
            headers = [*json_type, ("retry-after", "7"), ("x-ratelimit-remaining-requests", "0")]
            return Reply(429, headers, error_body("rate_limit_exceeded", "Rate limit reached."))
        if fault == "400":
            return Reply(400, json_type, error_body("invalid_request_error", "Bad field."))
        if fault == "stall":
            self.release.wait(self.stall_s)  # the fault under test: nothing is sent meanwhile
        if fault == "reset":
            gate = threading.Event()
            self.gates.append(gate)
            events = sse([(None, {"i": i, "delta": f"part{i} "}) for i in range(6)])
            return Reply(
                headers=[("content-type", "text/event-stream")], events=events, reset_after=3, reset_when=gate
            )
        if req.path.partition("?")[0].endswith(ANTHROPIC_PATH):
            return anthropic_reply(req, 3, 0.0)
        return openai_reply(req, 3, 0.0)


@dataclass
class Seen:
    """What one client saw of one exchange."""

    status: int | None
    headers: list[tuple[str, str]]  # as received, minus Date (seconds tick between the two runs)
    body: bytes
    error: str | None  # the exception class when the exchange failed
    first_byte_s: float  # from sending to the response head (or to the failure)


def direct_client(pki: tls.TestPKI) -> httpx.Client:
    return httpx.Client(
        verify=ssl.create_default_context(cafile=str(pki.ca_cert)), trust_env=False, timeout=90
    )


def proxy_client() -> httpx.Client:
    return httpx.Client(timeout=90)  # trust_env: HTTPS_PROXY and SSL_CERT_FILE from start_proxy


def exchange(
    client: httpx.Client,
    url: str,
    body: bytes,
    headers: dict[str, str],
    on_chunk: Callable[[bytes], None] | None = None,
) -> Seen:
    started = time.perf_counter()
    status, got_headers, data, first = None, [], b"", 0.0
    try:
        with client.stream(
            "POST", url, content=body, headers={"content-type": "application/json", **headers}
        ) as r:
            first = time.perf_counter() - started
            status = r.status_code
            got_headers = [(k, v) for k, v in r.headers.multi_items() if k != "date"]
            for chunk in r.iter_raw():
                data += chunk
                if on_chunk is not None:
                    on_chunk(data)
    except httpx.TransportError as e:
        return Seen(status, got_headers, data, type(e).__name__, first or time.perf_counter() - started)
    return Seen(status, got_headers, data, None, first)


@pytest.fixture
def faults(upstream: Upstream) -> Iterator[Faults]:
    f = Faults()
    upstream.handler = f
    yield f
    f.release.set()
    for gate in f.gates:
        gate.set()


def other_client_is_served(body_tag: str, origin: str = "https://api.openai.com") -> None:
    """A normal request through the proxy, while a fault is in progress elsewhere."""
    body = encode(openai_tool_chat(pretty_rows(tag=body_tag)))
    with proxy_client() as c:
        r = c.post(origin + OPENAI_PATH, content=body, headers={"content-type": "application/json"})
    assert r.status_code == 200 and r.json()["choices"][0]["message"]["content"] == "There are 20 rows."


def both_ways(
    pki: tls.TestPKI,
    upstream: Upstream,
    path: str,
    body: bytes,
    headers: dict[str, str],
    on_chunk: Callable[[bytes], None] | None = None,
) -> tuple[Seen, Seen]:
    with direct_client(pki) as c:
        direct = exchange(c, f"https://127.0.0.1:{upstream.port}{path}", body, headers)
    with proxy_client() as c:
        proxied = exchange(
            c,
            "https://api.openai.com" + path if path == OPENAI_PATH else "https://api.anthropic.com" + path,
            body,
            headers,
            on_chunk,
        )
    return direct, proxied


# -- error statuses ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fault", "path", "status"),
    [("500", OPENAI_PATH, 500), ("529", ANTHROPIC_PATH, 529), ("429", OPENAI_PATH, 429)],
)
async def test_error_statuses_reach_the_client_as_sent(
    start_proxy: Start,
    upstream: Upstream,
    pki: tls.TestPKI,
    faults: Faults,
    fault: str,
    path: str,
    status: int,
) -> None:
    proxy: Proxy = await start_proxy(EAGER, mode="on")
    doc = openai_tool_chat() if path == OPENAI_PATH else anthropic_tool_chat()
    body = encode(doc)
    direct, proxied = await asyncio.to_thread(both_ways, pki, upstream, path, body, {"x-fault": fault})
    assert direct.status == proxied.status == status
    assert proxied.headers == direct.headers
    assert proxied.body == direct.body == upstream.sent[0].body
    assert direct.error is proxied.error is None
    assert upstream.received[1].body != body  # the proxied request had been rewritten
    # Not a breaker status: the route keeps being rewritten.
    await asyncio.to_thread(other_client_is_served, "after")
    assert upstream.received[-1].body != proxy.client.requests[-1].body


async def test_the_sdks_raise_the_same_errors_as_going_direct(
    start_proxy: Start, upstream: Upstream, pki: tls.TestPKI, faults: Faults
) -> None:
    await start_proxy(EAGER, mode="on")
    o, a = openai_tool_chat(), anthropic_tool_chat()

    def errors(direct: bool) -> list[tuple[type, int, bytes, str | None]]:
        base = f"https://127.0.0.1:{upstream.port}"
        if direct:
            verify = ssl.create_default_context(cafile=str(pki.ca_cert))
            oc = openai.OpenAI(
                api_key="sk-test",
                max_retries=0,
                base_url=f"{base}/v1",
                http_client=openai.DefaultHttpxClient(verify=verify, trust_env=False),
            )
            ac = anthropic.Anthropic(
                api_key="sk-ant-test",
                max_retries=0,
                base_url=base,
                http_client=anthropic.DefaultHttpxClient(verify=verify, trust_env=False),
            )
        else:  # the environment: HTTPS_PROXY and SSL_CERT_FILE
            oc = openai.OpenAI(api_key="sk-test", max_retries=0)
            ac = anthropic.Anthropic(api_key="sk-ant-test", max_retries=0)
        calls: list[Callable[[], Any]] = [
            lambda: oc.chat.completions.create(
                model=o["model"], messages=o["messages"], extra_headers={"x-fault": "500"}
            ),
            lambda: oc.chat.completions.create(
                model=o["model"], messages=o["messages"], extra_headers={"x-fault": "429"}
            ),
            lambda: ac.messages.create(
                model=a["model"], max_tokens=64, messages=a["messages"], extra_headers={"x-fault": "529"}
            ),
        ]
        out = []
        for call in calls:
            with pytest.raises((openai.APIStatusError, anthropic.APIStatusError)) as e:
                call()
            response = e.value.response
            out.append(
                (type(e.value), response.status_code, response.content, response.headers.get("retry-after"))
            )
        oc.close()
        ac.close()
        return out

    direct = await asyncio.to_thread(errors, True)
    proxied = await asyncio.to_thread(errors, False)
    assert proxied == direct
    assert [t.__name__ for t, *_ in direct] == ["InternalServerError", "RateLimitError", "OverloadedError"]
    assert direct[1][3] == "7"


# -- a connection reset in the middle of a stream ------------------------------------------------


async def test_a_reset_mid_stream_ends_the_stream_the_same_way(
    start_proxy: Start,
    upstream: Upstream,
    pki: tls.TestPKI,
    faults: Faults,
    capsys: pytest.CaptureFixture[str],
) -> None:
    await start_proxy(EAGER, mode="on")
    body = encode(openai_tool_chat(stream=True))
    served_meanwhile: list[bool] = []

    def on_chunk(data: bytes) -> None:
        if data.count(b"\n\n") == 3 and not faults.gates[-1].is_set():
            other_client_is_served("meanwhile")  # the stream is open and paused upstream
            served_meanwhile.append(True)
            faults.gates[-1].set()

    def run() -> tuple[Seen, Seen]:
        with direct_client(pki) as c:

            def open_gate(data: bytes) -> None:
                if data.count(b"\n\n") == 3:
                    faults.gates[-1].set()

            direct = exchange(
                c, f"https://127.0.0.1:{upstream.port}{OPENAI_PATH}", body, {"x-fault": "reset"}, open_gate
            )
        with proxy_client() as c:
            proxied = exchange(
                c, "https://api.openai.com" + OPENAI_PATH, body, {"x-fault": "reset"}, on_chunk
            )
        return direct, proxied

    direct, proxied = await asyncio.to_thread(run)
    assert direct.status == proxied.status == 200
    assert proxied.headers == direct.headers
    assert proxied.body == direct.body and direct.body.count(b"\n\n") == 3
    # Both fail as an incomplete body, never as a clean end of stream.
    assert direct.error is not None and proxied.error is not None
    assert issubclass(getattr(httpx, proxied.error), httpx.TransportError)
    assert served_meanwhile == [True]
    await asyncio.to_thread(other_client_is_served, "after")
    with capsys.disabled():
        print(
            f"\nreset after 3 events: direct {direct.error}, proxied {proxied.error}; "
            f"{len(direct.body)} bytes each"
        )


# -- an upstream that stalls before the first byte -----------------------------------------------


@pytest.mark.parametrize(
    "stall_s", [pytest.param(3.0, id="3s"), pytest.param(30.0, id="30s", marks=pytest.mark.slow)]
)
async def test_a_stalled_upstream_delays_only_its_own_client(
    start_proxy: Start,
    upstream: Upstream,
    pki: tls.TestPKI,
    faults: Faults,
    stall_s: float,
    capsys: pytest.CaptureFixture[str],
) -> None:
    await start_proxy(EAGER, mode="on")
    faults.stall_s = stall_s
    body = encode(openai_tool_chat())

    def stalled(direct: bool) -> Seen:
        if direct:
            with direct_client(pki) as c:
                return exchange(
                    c, f"https://127.0.0.1:{upstream.port}{OPENAI_PATH}", body, {"x-fault": "stall"}
                )
        with proxy_client() as c:
            return exchange(c, "https://api.openai.com" + OPENAI_PATH, body, {"x-fault": "stall"})

    def others_while_stalled() -> list[float]:
        times = []
        for i in range(3):
            started = time.perf_counter()
            other_client_is_served(f"during-{i}")
            times.append(time.perf_counter() - started)
        return times

    direct_task = asyncio.create_task(asyncio.to_thread(stalled, True))
    proxied_task = asyncio.create_task(asyncio.to_thread(stalled, False))
    others = await asyncio.to_thread(others_while_stalled)
    assert not proxied_task.done()  # the others were answered while the stalled request waited
    direct, proxied = await direct_task, await proxied_task
    assert direct.status == proxied.status == 200
    assert proxied.body == direct.body
    assert direct.error is proxied.error is None
    assert stall_s <= direct.first_byte_s
    assert abs(proxied.first_byte_s - direct.first_byte_s) < STALL_TOLERANCE_S
    assert max(others) < 2.0
    with capsys.disabled():
        print(
            f"\nstall {stall_s:.0f} s: first byte direct {direct.first_byte_s:.3f} s, proxied "
            f"{proxied.first_byte_s:.3f} s; 3 other requests meanwhile, slowest {max(others):.3f} s"
        )


# -- TLS failure upstream ------------------------------------------------------------------------


@pytest.fixture(scope="module")
def untrusted_upstream(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Upstream]:
    """An upstream whose certificate comes from a CA nobody here trusts."""
    up = Upstream(tls.make_pki(tmp_path_factory.mktemp("rogue-pki")))
    yield up
    up.close()


@pytest.mark.parametrize("strategy", ["eager", "lazy"])
async def test_a_tls_failure_upstream_fails_the_request_and_nothing_else(
    start_proxy: Start,
    upstream: Upstream,
    pki: tls.TestPKI,
    untrusted_upstream: Upstream,
    caplog: pytest.LogCaptureFixture,
    strategy: str,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Direct, the client's handshake fails. Through the proxy the client's handshake is with the
    proxy, so mitmproxy answers 502 with the same reason (whether it connects upstream at
    CONNECT, eager, as `wiretrim run` does, or at the first request, lazy). Nothing reaches the
    untrusted server, and other clients are served."""
    caplog.set_level(logging.INFO)
    # Both upstreams by their own address: with eager connections no redirect can step in.
    rogue, good = f"localhost:{untrusted_upstream.port}", f"localhost:{upstream.port}"
    endpoints = [f"{rogue}=openai-chat", f"{good}=openai-chat"]
    proxy: Proxy = await start_proxy(EAGER, mode="on", endpoints=endpoints)
    proxy.set(
        connection_strategy=strategy,
        allow_hosts=intercept_patterns([CustomEndpoint.parse(e) for e in endpoints]),
    )
    body = encode(openai_tool_chat())
    url = f"https://{rogue}{OPENAI_PATH}"

    def run() -> tuple[Seen, Seen]:
        with direct_client(pki) as c:
            direct = exchange(c, url, body, {})
        with proxy_client() as c:
            proxied = exchange(c, url, body, {})
        return direct, proxied

    direct, proxied = await asyncio.to_thread(run)
    assert direct.status is None and direct.error == "ConnectError"
    assert proxied.status == 502 and proxied.error is None
    assert b"Certificate verify failed: unable to get local issuer certificate" in proxied.body
    assert untrusted_upstream.received == []
    await asyncio.to_thread(other_client_is_served, "after-tls", f"https://{good}")
    assert [r for r in caplog.records if r.levelno >= logging.ERROR and r.name.startswith("wiretrim")] == []
    with capsys.disabled():
        print(
            f"\nTLS failure ({strategy}): direct {direct.error} after {direct.first_byte_s * 1000:.0f} ms; "
            f"proxied {proxied.status} after {proxied.first_byte_s * 1000:.0f} ms"
        )


# -- the circuit breaker, end to end -------------------------------------------------------------


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


async def test_a_400_after_a_rewrite_opens_the_breaker_for_that_route_only(
    start_proxy: Start, upstream: Upstream, faults: Faults, caplog: pytest.LogCaptureFixture, tmp_path: Path
) -> None:
    caplog.set_level(logging.INFO)
    proxy: Proxy = await start_proxy({**EAGER, "breaker": {"cooldown_s": 600}}, mode="on")
    clock = Clock()
    proxy.addon.breaker = Breaker(clock=clock)

    def call(tag: str, model: str = "gpt-4o-mini", fault: str | None = None) -> tuple[bytes, bytes, int]:
        messages = (
            small_chat()["messages"] if tag == "small" else openai_tool_chat(pretty_rows(tag=tag))["messages"]
        )
        client = openai.OpenAI(api_key="sk-test", max_retries=0)
        try:
            client.chat.completions.create(
                model=model, messages=messages, extra_headers={"x-fault": fault} if fault else None
            )
            status = 200
        except openai.BadRequestError as e:
            status = e.status_code
            assert e.response.content == upstream.sent[-1].body  # the SDK got the upstream's error
        return proxy.client.requests[-1].body or b"", upstream.received[-1].body, status

    sent, got, status = await asyncio.to_thread(call, "first", fault="400")
    assert status == 400 and got != sent  # a rewritten request was rejected
    await proxy.addon.settled()
    assert "breaker open provider=openai model=gpt-4o-mini status=400 cooldown_s=600" in caplog.text

    sent, got, status = await asyncio.to_thread(call, "second")
    assert status == 200 and got == sent  # same route: the original bytes
    sent, got, status = await asyncio.to_thread(call, "third", model="gpt-4o")
    assert status == 200 and got != sent  # another model is another route: still rewritten
    await proxy.addon.settled()
    assert "action=skipped:breaker" in caplog.text

    clock.now += 601  # the cool-down is over
    sent, got, status = await asyncio.to_thread(call, "fourth")
    assert status == 200 and got != sent
    # A 400 for a request that went out unchanged is about the client's own body: no breaker.
    caplog.clear()
    sent, got, status = await asyncio.to_thread(call, "small", fault="400")
    assert status == 400 and got == sent
    await proxy.addon.settled()
    assert "breaker open" not in caplog.text
    sent, got, status = await asyncio.to_thread(call, "fifth")
    assert status == 200 and got != sent
