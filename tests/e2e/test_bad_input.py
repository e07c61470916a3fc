"""Bad request bodies through a real proxy (issue 8): what the client framed is what the upstream gets.

The addon-level table is in tests/addon/test_bad_input.py; here the bodies cross real sockets
(client -> mitmproxy with the addon in `on` mode -> the fake TLS upstream), including the cases
only a socket can produce: a Content-Length that lies in either direction.
"""

from __future__ import annotations

import asyncio
import gzip
import hashlib
import json
import logging
import socket
import ssl
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.addon.bodies import EAGER, encode, openai_tool_chat, pretty_rows
from tests.e2e.conftest import Proxy
from tests.e2e.upstream import Received, Reply, Upstream

Start = Callable[..., Any]
OPENAI = "https://api.openai.com/v1/chat/completions"
MB = 1024 * 1024
TOOL = pretty_rows(40)


def size_reply(req: Received) -> Reply:
    """Answers anything (the default fake parses the body) with what it received."""
    digest = hashlib.sha256(req.body).hexdigest()
    return Reply(
        200,
        [("content-type", "application/json")],
        json.dumps({"received": len(req.body), "sha256": digest}).encode(),
    )


def post(body: bytes, headers: dict[str, str] | None = None) -> httpx.Response:
    with httpx.Client(timeout=60) as c:
        return c.post(OPENAI, content=body, headers={"content-type": "application/json", **(headers or {})})


def wiretrim_lines(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == "wiretrim"]


BAD = [
    ("truncated", encode(openai_tool_chat(TOOL))[:-100], {}, "invalid_json"),
    ("invalid UTF-8", encode(openai_tool_chat(TOOL)).replace(b"r-7", b"r-\xff"), {}, "invalid_utf8"),
    (
        "duplicate keys",
        encode(openai_tool_chat(TOOL)).replace(b'"model"', b'"model": "x", "model"'),
        {},
        "duplicate_keys",
    ),
    ("NaN", encode(openai_tool_chat(TOOL))[:-1] + b', "temperature": NaN}', {}, "non_finite_number"),
    ("10,000 levels", b'{"messages": [], "x": ' + b"[" * 10_000 + b"]" * 10_000 + b"}", {}, "too_deep"),
    ("empty", b"", {}, "empty_body"),
    ("gzip bomb", gzip.compress(b" " * (8 * MB), 9) * 128, {"content-encoding": "gzip"}, "too_large"),
    ("unknown coding", encode(openai_tool_chat(TOOL)), {"content-encoding": "x-snappy"}, "content_encoding"),
]


async def test_bad_bodies_reach_the_upstream_as_sent(
    start_proxy: Start, upstream: Upstream, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, "wiretrim")
    proxy: Proxy = await start_proxy(EAGER, mode="on")
    upstream.handler = size_reply
    for i, (name, body, headers, reason) in enumerate(BAD):
        response = await asyncio.to_thread(post, body, headers)
        assert response.status_code == 200, name
        assert response.content == upstream.sent[i].body, name
        assert upstream.received[i].body == body, name
        sent_headers = proxy.client.requests[i].headers
        assert upstream.received[i].headers == sent_headers, name
        await proxy.addon.settled()
        assert f" action=skipped:{reason} " in wiretrim_lines(caplog)[i], name
    assert len(wiretrim_lines(caplog)) == len(BAD)


async def test_a_50_mb_body_passes_whole(
    start_proxy: Start, upstream: Upstream, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, "wiretrim")
    await start_proxy(EAGER, mode="on")
    upstream.handler = size_reply
    body = encode(openai_tool_chat(TOOL * (50 * MB // len(TOOL))))
    assert len(body) > 50 * MB
    response = await asyncio.to_thread(post, body)
    assert response.json() == {"received": len(body), "sha256": hashlib.sha256(body).hexdigest()}
    assert " action=skipped:too_large " in wiretrim_lines(caplog)[0]


# -- a Content-Length that lies (raw sockets) --------------------------------------------------


class TunnelClient:
    """An HTTP/1.1 client that writes raw bytes through the proxy's CONNECT tunnel over TLS."""

    def __init__(self, proxy_port: int, bundle: Path, host: str = "api.openai.com") -> None:
        raw = socket.create_connection(("127.0.0.1", proxy_port), timeout=10)
        raw.sendall(f"CONNECT {host}:443 HTTP/1.1\r\nHost: {host}:443\r\n\r\n".encode())
        head = b""
        while b"\r\n\r\n" not in head:
            chunk = raw.recv(4096)
            assert chunk, "proxy closed the tunnel"
            head += chunk
        assert head.startswith(b"HTTP/1.1 200"), head
        self.sock = ssl.create_default_context(cafile=str(bundle)).wrap_socket(raw, server_hostname=host)

    def send(self, data: bytes) -> None:
        self.sock.sendall(data)

    def read_all(self) -> bytes:
        """Everything until the proxy closes the connection."""
        out = b""
        while True:
            try:
                chunk = self.sock.recv(65536)
            except (ssl.SSLError, ConnectionError):
                return out
            if not chunk:
                return out
            out += chunk

    def close(self) -> None:
        self.sock.close()


def request_head(length: int) -> bytes:
    return (
        b"POST /v1/chat/completions HTTP/1.1\r\nHost: api.openai.com\r\n"
        b"Content-Type: application/json\r\nContent-Length: %d\r\n\r\n" % length
    )


async def test_content_length_shorter_than_the_body(
    start_proxy: Start, upstream: Upstream, caplog: pytest.LogCaptureFixture
) -> None:
    """The proxy frames the request as the client declared it, like the API server would:
    the declared bytes go upstream untouched, the rest is a malformed next request."""
    caplog.set_level(logging.INFO, "wiretrim")
    proxy: Proxy = await start_proxy(EAGER, mode="on")
    upstream.handler = size_reply
    body = encode(openai_tool_chat(TOOL))
    declared = len(body) // 2

    def exchange() -> bytes:
        client = TunnelClient(proxy.port, proxy.bundle)
        client.send(request_head(declared) + body + b"\r\n\r\n")
        got = client.read_all()
        client.close()
        return got

    got = await asyncio.to_thread(exchange)
    assert [r.body for r in upstream.received] == [body[:declared]]
    first = got.split(b"\r\n\r\n", 1)[1][: len(upstream.sent[0].body)]
    assert got.startswith(b"HTTP/1.1 200") and first == upstream.sent[0].body
    assert b"HTTP/1.1 400" in got[len(upstream.sent[0].body) :]  # the leftover bytes are no request
    await proxy.addon.settled()
    assert [line.split(" action=")[1].split()[0] for line in wiretrim_lines(caplog)] == [
        "skipped:invalid_json"
    ]


async def test_content_length_longer_than_the_body(
    start_proxy: Start, upstream: Upstream, caplog: pytest.LogCaptureFixture
) -> None:
    """A body that never completes is never forwarded (not even the part that came), and the
    proxy keeps serving other clients while it waits and after the client gives up."""
    caplog.set_level(logging.INFO, "wiretrim")
    proxy: Proxy = await start_proxy(EAGER, mode="on")
    upstream.handler = size_reply
    body = encode(openai_tool_chat(TOOL))

    def waiting_client() -> TunnelClient:
        client = TunnelClient(proxy.port, proxy.bundle)
        client.send(request_head(len(body) + 1000) + body)
        return client

    stuck = await asyncio.to_thread(waiting_client)
    other = await asyncio.to_thread(post, encode(openai_tool_chat(pretty_rows(tag="other"))))
    assert other.status_code == 200 and other.content == upstream.sent[0].body
    await asyncio.to_thread(stuck.close)  # gives up: the proxy sees the body end early
    again = await asyncio.to_thread(post, encode(openai_tool_chat(pretty_rows(tag="again"))))
    assert again.status_code == 200
    assert len(upstream.received) == 2
    assert all(r.body != body and not body.startswith(r.body) for r in upstream.received)
    await asyncio.wait_for(proxy.addon.settled(), 10)
    assert len(wiretrim_lines(caplog)) == 2  # the two complete requests; the broken one never matched
