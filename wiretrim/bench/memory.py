"""Section 5: the proxy's memory while large request bodies pass through (Linux only).

One proxy at a time, bare mitmdump then the addon in `on` mode (time budget raised so every
body takes the whole path: worker, splice, the new body upstream). After a short warm-up its
resident memory is the idle figure; the kernel's peak counter (VmHWM) is then reset and
`bodies` requests of `size` bytes (log lines, which the engine compresses) are sent one after
another, each waiting for the addon's log line. The peak above idle is reported for the
mitmdump process and for the processes it started (the engine worker, the forkserver it comes
from and multiprocessing's resource tracker; their peaks are summed), and as a multiple of
the body size.

mitmproxy frees a finished flow only when Python's cyclic garbage collector runs (the flow and
its connection's layers refer to each other), so several finished 5 MB flows can be resident
at once. Both targets are therefore run twice: as they are, and with the bench helper running
the collector after every response, which shows what one request in flight costs.
"""

from __future__ import annotations

import sys
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

from wiretrim.bench import bodies
from wiretrim.bench.proxies import Client, Lab, Proxy, reset_peak, rss_kb

TARGETS: tuple[tuple[str, str | None, bool], ...] = (  # name, mode, collect after each response
    ("bare mitmdump", None, False), ("addon on", "on", False),
    ("bare mitmdump, collected", None, True), ("addon on, collected", "on", True),
)


@dataclass
class Footprint:
    target: str
    proxy_idle_kb: int = 0
    proxy_peak_kb: int = 0
    engine_idle_kb: int = 0  # summed over the proxy's child processes
    engine_peak_kb: int = 0
    engine_processes: int = 0
    request_ms: list[float] = field(default_factory=list)
    actions: Counter[str] = field(default_factory=Counter)
    addon_ms: list[float] = field(default_factory=list)


@dataclass
class MemoryFigures:
    size: int
    bodies: int
    footprints: list[Footprint]
    notes: list[str]
    seconds: float = 0.0


def available() -> str | None:
    """None when this machine can run the section, else why not."""
    if not sys.platform.startswith("linux"):
        return "reads /proc (Linux only)"
    return None


def run(lab: Lab, size: int, n: int, progress: Callable[[str], None]) -> MemoryFigures:
    started = time.perf_counter()
    body = bodies.logs_chat(size)
    notes: list[str] = []
    footprints = []
    for name, mode, collect in TARGETS:
        progress(f"memory: {name}, {n} requests of {len(body) / 1e6:.1f} MB")
        with lab.proxy(f"memory-{mode or 'bare'}", mode, collect=collect, overrides={"budget_ms": 60_000}
                       ) as proxy, lab.client(proxy) as client:
            footprints.append(_measure(lab, proxy, client, name, mode, body, n, notes))
    return MemoryFigures(len(body), n, footprints, notes, time.perf_counter() - started)


def _measure(lab: Lab, proxy: Proxy, client: Client, name: str, mode: str | None, body: bytes, n: int,
             notes: list[str]) -> Footprint:
    logs = mode in ("shadow", "on")
    warm = bodies.rows_chat(20_000)
    for _ in range(3):
        client.post(warm)
    if logs:
        proxy.log.wait_for(3)
    lab.forget()
    fp = Footprint(name)
    engine_pids = proxy.engine_pids()
    fp.engine_processes = len(engine_pids)
    fp.proxy_idle_kb = rss_kb(proxy.pid)[0]
    fp.engine_idle_kb = sum(rss_kb(pid)[0] for pid in engine_pids)
    for pid in [proxy.pid, *engine_pids]:
        reset_peak(pid)
    for k in range(n):
        fp.request_ms.append(client.post(body))
        lab.forget()
        if logs and not proxy.log.wait_for(3 + k + 1):
            notes.append(f"{name}: no log line after 120 s")
    fp.proxy_peak_kb = rss_kb(proxy.pid)[1]
    alive = [pid for pid in engine_pids if pid in proxy.engine_pids()]
    if len(alive) != len(engine_pids):
        notes.append(f"{name}: an engine process was replaced during the run; its peak is not counted")
    fp.engine_peak_kb = sum(rss_kb(pid)[1] for pid in alive)
    if logs:
        fp.actions.update(proxy.log.actions[3:])
        fp.addon_ms = proxy.log.ms[3:]
    return fp
