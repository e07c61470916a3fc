"""Section 3: per-request latency through bare mitmdump and through the addon in each mode.

Four proxies run side by side (bare mitmdump, the addon in `off`, `shadow` and `on`), each with
its own keep-alive client, and a direct client to the fake upstream. Requests are interleaved:
round i sends one request of each size to each target, starting the round at target i mod 5,
so all of them see the same load. Added latency is a target's latency minus the median of the
direct requests of that size.

The bodies are the same bytes on every request (`bodies.rows_chat`), so in `on` mode the engine
answers from its memo after the first: the steady state of a conversation's history. Its time
for that body is measured in this process afterwards and shown beside the `on` rows: the
addon's own cost is what `on` adds over bare mitmdump beyond it. After each request to a
proxy with the addon, the next waits for the addon's log line, so its work after forwarding
(shadow rewrites, token counts) does not overlap the next measurement.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass, field

from wiretrim.addon import worker
from wiretrim.bench import bodies
from wiretrim.bench.proxies import Lab, Proxy
from wiretrim.bench.stats import median
from wiretrim.config import Settings
from wiretrim.engines import build_engine

TARGETS: tuple[tuple[str, str | None], ...] = (
    ("bare mitmdump", None), ("addon off", "off"), ("addon shadow", "shadow"), ("addon on", "on"),
)
DIRECT = "direct"


@dataclass
class Series:
    target: str
    size: int
    ms: list[float] = field(default_factory=list)
    unchanged: int = 0  # requests the upstream got byte for byte
    actions: Counter[str] = field(default_factory=Counter)  # from the addon's log lines
    addon_ms: list[float] = field(default_factory=list)  # the `ms` of those lines


@dataclass
class LatencyFigures:
    sizes: dict[int, int]  # nominal size -> body bytes
    series: dict[tuple[str, int], Series]
    engine_ms: dict[int, float]  # nominal size -> the engine's time for that body, memo warm
    engine_first_ms: dict[int, float]  # ... and on its first sight (memo empty)
    requests: int
    warmup: int
    notes: list[str]
    seconds: float = 0.0


def run(lab: Lab, sizes: tuple[int, ...], requests: int, warmup: int, settings: Settings,
        progress: Callable[[str], None]) -> LatencyFigures:
    started = time.perf_counter()
    payload = {size: bodies.rows_chat(size) for size in sizes}
    names = [DIRECT, *(name for name, _ in TARGETS)]
    series = {(name, size): Series(name, size) for name in names for size in sizes}
    notes: list[str] = []
    with ExitStack() as stack:
        progress("proxy: starting bare mitmdump and the addon in off, shadow and on modes")
        proxies: dict[str, Proxy | None] = {DIRECT: None}
        modes: dict[str, str | None] = {DIRECT: None, **dict(TARGETS)}
        for name, mode in TARGETS:
            proxies[name] = stack.enter_context(lab.proxy(name.replace(" ", "-"), mode))
        clients = {name: stack.enter_context(lab.client(p)) for name, p in proxies.items()}
        logged = dict.fromkeys(names, 0)

        def send(name: str, size: int, keep: bool) -> None:
            ms = clients[name].post(payload[size])
            proxy = proxies[name]
            if proxy is not None and modes[name] in ("shadow", "on"):  # a log line after its accounting
                logged[name] += 1
                if not proxy.log.wait_for(logged[name]):
                    notes.append(f"{name}: no log line after 120 s")
            if keep:
                s = series[(name, size)]
                s.ms.append(ms)
                s.unchanged += lab.upstream.received[-1].body == payload[size]
            lab.forget()

        for name in names:
            for size in sizes:
                for _ in range(warmup):
                    send(name, size, keep=False)
        progress(f"proxy: warm; {requests} interleaved rounds")
        for i in range(requests):
            order = names[i % len(names):] + names[: i % len(names)]
            for name in order:
                for size in sizes:
                    send(name, size, keep=True)
            if (i + 1) % 100 == 0:
                progress(f"proxy: {i + 1}/{requests} rounds")
        for name, proxy in proxies.items():
            if proxy is None:
                continue
            actions, ms = proxy.log.actions[-len(sizes) * requests:], proxy.log.ms[-len(sizes) * requests:]
            if name in ("addon shadow", "addon on"):
                # Rounds send the sizes in order, so the log lines alternate the same way.
                for k, (action, m) in enumerate(zip(actions, ms, strict=True)):
                    s = series[(name, sizes[k % len(sizes)])]
                    s.actions[action] += 1
                    s.addon_ms.append(m)
            notes += [f"{name}: {line}" for line in proxy.output if "error" in line.lower()][:5]
    engine_ms, engine_first = _engine_times(payload, settings, max(20, requests // 10))
    return LatencyFigures({s: len(b) for s, b in payload.items()}, series, engine_ms, engine_first, requests,
                          warmup, notes, time.perf_counter() - started)


def _engine_times(payload: dict[int, bytes], settings: Settings, n: int
                  ) -> tuple[dict[int, float], dict[int, float]]:
    """The engine's time per body in this process: first sight, then the median with its memo warm."""
    engine = build_engine(settings, "memory")
    for body in bodies.warmup_bodies():
        worker.run(engine, body, "openai-chat", False)
    first, warm = {}, {}
    for size, body in payload.items():
        t = time.perf_counter()
        worker.run(engine, body, "openai-chat", False)
        first[size] = (time.perf_counter() - t) * 1000
        samples = []
        for _ in range(n):
            t = time.perf_counter()
            worker.run(engine, body, "openai-chat", False)
            samples.append((time.perf_counter() - t) * 1000)
        warm[size] = median(samples)
    return warm, first
