"""Section 4: time to the first SSE event, and how late events arrive while a big body compresses.

Time to first event: a small streaming chat request (nothing to rewrite) whose response is two
events and ``[DONE]``, 10 ms apart; the time runs from sending the request to the first
complete event. Targets: direct; bare mitmdump as it comes (it buffers whole responses, so
its first event arrives with the last); bare mitmdump with the one-line hook a user adds to
stream (``flow.response.stream = True``), the fair baseline; the addon in `off` and `on`.
Interleaved like the latency section.

Stall: a stream of 30 events, 50 ms apart, through the addon while another client's big body
is being compressed (time budget raised so the engine runs to the end); each event's delay
is its arrival here minus its send time at the upstream (one clock: same process). With the
engine in a worker process the stream should not notice; `off` is the reference.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass, field
from typing import Any

from wiretrim.bench import bodies
from wiretrim.bench.proxies import Lab, Proxy
from wiretrim.bench.stats import median

TARGETS: tuple[tuple[str, str | None, bool], ...] = (  # name, addon mode, stream hook
    ("bare mitmdump (buffers)", None, False),
    ("bare mitmdump + stream hook", None, True),
    ("addon off", "off", False),
    ("addon on", "on", False),
)
DIRECT = "direct"
STALL_EVENTS, STALL_INTERVAL_S = 30, 0.05


@dataclass
class Stall:
    target: str
    max_ms: list[float] = field(default_factory=list)  # per round: the worst event delay
    median_ms: list[float] = field(default_factory=list)
    big_ms: list[float] = field(default_factory=list)  # how long the big request took
    actions: list[str] = field(default_factory=list)


@dataclass
class StreamFigures:
    first_event: dict[str, list[float]]
    stalls: list[Stall]
    big_size: int
    requests: int
    notes: list[str]
    seconds: float = 0.0


def run(lab: Lab, requests: int, rounds: int, big_size: int, progress: Callable[[str], None]
        ) -> StreamFigures:
    started = time.perf_counter()
    notes: list[str] = []
    up = lab.upstream
    body = bodies.stream_chat()
    names = [DIRECT, *(name for name, _, _ in TARGETS)]
    first: dict[str, list[float]] = {name: [] for name in names}
    up.n_events, up.interval_s = 2, 0.01
    try:
        with ExitStack() as stack:
            progress("streams: starting four proxies")
            proxies: dict[str, Proxy | None] = {DIRECT: None}
            for name, mode, hook in TARGETS:
                proxies[name] = stack.enter_context(lab.proxy(name.split(" (")[0].replace(" ", "-"), mode,
                                                              stream=hook))
            clients = {name: stack.enter_context(lab.client(p)) for name, p in proxies.items()}
            on = proxies["addon on"]
            assert on is not None
            for i in range(-3, requests):  # three untimed rounds first
                order = names[i % len(names):] + names[: i % len(names)]
                for name in order:
                    logged = on.log.count()
                    ms = clients[name].first_event(body)
                    if name == "addon on" and not on.log.wait_for(logged + 1):  # its accounting is done
                        notes.append("addon on: no log line after 120 s")
                    if i >= 0:
                        first[name].append(ms)
                lab.forget()
        stalls = []
        for name, mode in (("addon off", "off"), ("addon on", "on")):
            progress(f"streams: {name}, an SSE stream while a {big_size / 1e6:.0f} MB body is compressed")
            stall = Stall(name)
            with lab.proxy(f"stall-{mode}", mode, overrides={"budget_ms": 60_000}) as proxy:
                for r in range(rounds):
                    big = bodies.logs_chat(big_size + r)  # new content each round: no memo hit
                    logged = proxy.log.count()
                    delays, big_ms = _stall(lab, proxy, big)
                    stall.max_ms.append(max(delays))
                    stall.median_ms.append(median(delays))
                    stall.big_ms.append(big_ms)
                    if mode == "on":
                        proxy.log.wait_for(logged + 3)  # the stream, the connect request, the big one
                stall.actions = list(proxy.log.actions)
            stalls.append(stall)
    finally:
        up.n_events, up.interval_s = 5, 0.0
    return StreamFigures(first, stalls, big_size, requests, notes, time.perf_counter() - started)


def _stall(lab: Lab, proxy: Proxy, big: bytes) -> tuple[list[float], float]:
    """Per-event delays (ms) of a paced stream while `big` goes through; and the big request's time."""
    up = lab.upstream
    up.n_events, up.interval_s = STALL_EVENTS, STALL_INTERVAL_S
    connected, streaming = threading.Event(), threading.Event()
    result: dict[str, Any] = {}
    sent_before = len(up.sent)

    def stream() -> None:
        connected.wait(30)
        with lab.client(proxy) as c:
            c.conn.request("POST", bodies.OPENAI_CHAT_PATH, bodies.stream_chat(), c.HEADERS)
            response = c.conn.getresponse()
            arrivals: list[float] = []
            data = b""
            while chunk := response.read1(65536):
                now = time.perf_counter()
                streaming.set()
                data += chunk
                arrivals += [now] * (data.count(b"\n\n") - len(arrivals))
        result["arrivals"], result["data"] = arrivals, data

    def compress() -> None:
        with lab.client(proxy) as c:
            c.post(bodies.small_chat())  # connect first: a new connection's TLS setup is not measured
            connected.set()
            streaming.wait(30)
            t = time.perf_counter()
            c.post(big)
            result["big_ms"] = (time.perf_counter() - t) * 1000

    threads = [threading.Thread(target=stream), threading.Thread(target=compress)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    sent = next(s for s in up.sent[sent_before:] if s.body == result["data"])
    delays = [(a - s) * 1000 for a, s in zip(result["arrivals"], sent.chunk_times, strict=True)]
    lab.forget()
    return delays, result["big_ms"]
