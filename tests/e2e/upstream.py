"""A fake LLM API over TLS on 127.0.0.1:0, in its own threads; it records what it receives.

It answers OpenAI chat completions and Anthropic messages (JSON, or SSE when the body asks for
a stream), paces streamed events with a fixed interval, and records the bytes and send time of
every chunk, so a test can compare what the client got with what was sent, and when.
"""

from __future__ import annotations

import json
import socket
import ssl
import struct
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from tests.e2e.tls import TestPKI


@dataclass
class Received:
    method: str
    path: str
    headers: list[tuple[str, str]]
    body: bytes  # as on the wire (still content-encoded), without chunked framing

    def header(self, name: str) -> str | None:
        return next((v for k, v in self.headers if k.lower() == name.lower()), None)

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class Reply:
    status: int = 200
    headers: list[tuple[str, str]] = field(default_factory=list)
    body: bytes = b""  # sent with Content-Length unless `events` is set
    events: list[bytes] | None = None  # sent one chunk each (Transfer-Encoding: chunked)
    interval_s: float = 0.0  # pause between events (pacing, not synchronisation)
    reset_after: int | None = None  # send this many events, then reset the connection (TCP RST)
    reset_when: threading.Event | None = None  # ... once this is set (the client saw them)


@dataclass
class Sent:
    path: str
    status: int
    body: bytes
    chunk_times: list[float]  # perf_counter after each chunk was flushed


def sse(events: list[tuple[str | None, Any]]) -> list[bytes]:
    out = []
    for name, data in events:
        payload = data if isinstance(data, str) else json.dumps(data)
        out.append((f"event: {name}\n" if name else "").encode() + f"data: {payload}\n\n".encode())
    return out


def openai_reply(req: Received, n_events: int, interval_s: float) -> Reply:
    doc = req.json()
    if doc.get("stream"):
        chunks = [
            {"id": "chatcmpl-1", "object": "chat.completion.chunk", "created": 1, "model": doc["model"],
             "choices": [{"index": 0, "delta": {"content": f"part{i} "}, "finish_reason": None}]}
            for i in range(n_events)
        ]
        events: list[tuple[str | None, Any]] = [(None, c) for c in chunks]
        return Reply(headers=[("content-type", "text/event-stream")],
                     events=[*sse(events), b"data: [DONE]\n\n"], interval_s=interval_s)
    body = {
        "id": "chatcmpl-1", "object": "chat.completion", "created": 1, "model": doc["model"],
        "choices": [{"index": 0, "message": {"role": "assistant", "content": "There are 20 rows."},
                     "finish_reason": "stop"}],
        "usage": {"prompt_tokens": 100, "completion_tokens": 5, "total_tokens": 105},
    }
    headers = [("content-type", "application/json"), ("x-upstream", "fake")]
    return Reply(headers=headers, body=json.dumps(body).encode())


def anthropic_reply(req: Received, n_events: int, interval_s: float) -> Reply:
    doc = req.json()
    usage = {"input_tokens": 100, "output_tokens": 5}
    if doc.get("stream"):
        events: list[tuple[str | None, Any]] = [
            ("message_start", {"type": "message_start", "message": {
                "id": "msg_1", "type": "message", "role": "assistant", "content": [], "model": doc["model"],
                "stop_reason": None, "stop_sequence": None, "usage": usage}}),
            ("content_block_start", {"type": "content_block_start", "index": 0,
                                     "content_block": {"type": "text", "text": ""}}),
            *[("content_block_delta", {"type": "content_block_delta", "index": 0,
                                       "delta": {"type": "text_delta", "text": f"part{i} "}})
              for i in range(n_events)],
            ("content_block_stop", {"type": "content_block_stop", "index": 0}),
            ("message_delta", {"type": "message_delta",
                               "delta": {"stop_reason": "end_turn", "stop_sequence": None},
                               "usage": {"output_tokens": 5}}),
            ("message_stop", {"type": "message_stop"}),
        ]
        return Reply(headers=[("content-type", "text/event-stream")], events=sse(events),
                     interval_s=interval_s)
    body = {"id": "msg_1", "type": "message", "role": "assistant", "model": doc["model"],
            "content": [{"type": "text", "text": "There are 20 rows."}], "stop_reason": "end_turn",
            "stop_sequence": None, "usage": usage}
    return Reply(headers=[("content-type", "application/json")], body=json.dumps(body).encode())


class Upstream:
    def __init__(self, pki: TestPKI) -> None:
        self.received: list[Received] = []
        self.sent: list[Sent] = []
        self.n_events = 5
        self.interval_s = 0.0
        self.status: int | None = None  # force this status (with a JSON error body)
        self.handler: Callable[[Received], Reply] | None = None  # overrides everything when set
        self.got_request = threading.Condition()
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(pki.server_cert, pki.server_key)
        ctx.set_alpn_protocols(["http/1.1"])
        self._server = _Server(("127.0.0.1", 0), _Handler, ctx, self)
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05},
                                        daemon=True)
        self._thread.start()

    def reset(self) -> None:
        self.received.clear()
        self.sent.clear()
        self.n_events, self.interval_s, self.status, self.handler = 5, 0.0, None, None

    def reply_for(self, req: Received) -> Reply:
        if self.handler is not None:
            return self.handler(req)
        if self.status is not None:
            err = {"error": {"type": "invalid_request_error", "message": "rejected by the fake upstream"}}
            return Reply(self.status, [("content-type", "application/json")], json.dumps(err).encode())
        path = req.path.partition("?")[0]
        if req.method == "POST" and path.endswith("/chat/completions"):
            return openai_reply(req, self.n_events, self.interval_s)
        if req.method == "POST" and path.endswith("/messages"):
            return anthropic_reply(req, self.n_events, self.interval_s)
        return Reply(headers=[("content-type", "application/json")], body=b'{"ok": true}')

    def wait_for(self, n: int, timeout: float = 10.0) -> list[Received]:
        """Block until `n` requests have arrived (for threads that must not poll)."""
        with self.got_request:
            if not self.got_request.wait_for(lambda: len(self.received) >= n, timeout):
                raise TimeoutError(f"upstream got {len(self.received)} requests, not {n}")
        return self.received

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, addr: tuple[str, int], handler: type, ctx: ssl.SSLContext, upstream: Upstream) -> None:
        super().__init__(addr, handler)
        self.ctx = ctx
        self.upstream = upstream

    def finish_request(self, request: Any, client_address: Any) -> None:
        # The TLS handshake happens here, in the connection's thread, not in the accept loop.
        try:
            tls = self.ctx.wrap_socket(request, server_side=True)
        except (ssl.SSLError, OSError):
            return
        tls.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        super().finish_request(tls, client_address)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    def do_POST(self) -> None:
        self._handle()

    def do_GET(self) -> None:
        self._handle()

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def _read_body(self) -> bytes:
        if self.headers.get("transfer-encoding", "").lower() == "chunked":
            parts = []
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip(), 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    return b"".join(parts)
                parts.append(self.rfile.read(size))
                self.rfile.readline()
        return self.rfile.read(int(self.headers.get("content-length") or 0))

    def _reset(self, reply: Reply) -> None:
        """Abort the connection mid-response: linger 0 makes close() send a RST, not a FIN."""
        if reply.reset_when is not None:
            reply.reset_when.wait(10)
        self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.connection.close()
        self.close_connection = True

    def _handle(self) -> None:
        up = self.server.upstream
        req = Received(self.command, self.path, list(self.headers.items()), self._read_body())
        with up.got_request:
            up.received.append(req)
            up.got_request.notify_all()
        reply = up.reply_for(req)
        self.send_response(reply.status)
        for k, v in reply.headers:
            self.send_header(k, v)
        times: list[float] = []
        if reply.events is None:
            self.send_header("content-length", str(len(reply.body)))
            self.end_headers()
            self.wfile.write(reply.body)
            self.wfile.flush()
            times.append(time.perf_counter())
            body = reply.body
        else:
            self.send_header("transfer-encoding", "chunked")
            self.end_headers()
            self.wfile.flush()
            for i, event in enumerate(reply.events):
                if i == reply.reset_after:
                    self._reset(reply)
                    return
                if i and reply.interval_s:
                    time.sleep(reply.interval_s)  # pacing of the stream under test
                self.wfile.write(b"%x\r\n%s\r\n" % (len(event), event))
                self.wfile.flush()
                times.append(time.perf_counter())
            self.wfile.write(b"0\r\n\r\n")
            self.wfile.flush()
            body = b"".join(reply.events)
        up.sent.append(Sent(self.path, reply.status, body, times))
