"""The bench's printed report: Markdown tables, one per section, then the issue's targets.

Markdown so that a run can be pasted into the README as it is. Sections that did not run
say why in one line. Nothing here judges a run by failing it: "met" is a column.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from wiretrim.bench.corpus import CaseTime, CorpusFigures
from wiretrim.bench.latency import DIRECT, LatencyFigures
from wiretrim.bench.latency import TARGETS as LATENCY_TARGETS
from wiretrim.bench.memory import Footprint, MemoryFigures
from wiretrim.bench.sessions import SessionFigures
from wiretrim.bench.stats import median, pct, ratio
from wiretrim.bench.streams import StreamFigures

MB = 1_000_000
LONG_SESSION = 50  # requests: the "50-turn session"


@dataclass
class Target:
    what: str
    measured: str
    met: bool | None  # None: not measured in this run


@dataclass
class Report:
    lines: list[str] = field(default_factory=list)
    targets: list[Target] = field(default_factory=list)

    def add(self, *lines: str) -> None:
        self.lines.extend(lines)

    def table(self, header: Sequence[str], rows: Iterable[Sequence[str]]) -> None:
        self.lines.append("| " + " | ".join(header) + " |")
        self.lines.append("|" + "|".join("---" if i == 0 else "---:" for i in range(len(header))) + "|")
        for row in rows:
            self.lines.append("| " + " | ".join(row) + " |")
        self.lines.append("")

    def skipped(self, title: str, why: str) -> None:
        self.add(f"### {title}", "", f"Not run: {why}.", "")

    def target(self, what: str, measured: str, met: bool | None) -> None:
        self.targets.append(Target(what, measured, met))

    def text(self) -> str:
        out = list(self.lines)
        if self.targets:
            out += ["### Targets (issue 6)", ""]
            out.append("| target | measured | met |")
            out.append("|---|---|---|")
            for t in self.targets:
                met = "–" if t.met is None else ("yes" if t.met else "**no**")
                out.append(f"| {t.what} | {t.measured} | {met} |")
            out.append("")
        return "\n".join(out)


def num(x: float, digits: int = 2) -> str:
    return "–" if x is None or math.isnan(x) else f"{x:.{digits}f}"


def times(x: float) -> str:
    return "–" if x is None or math.isnan(x) else f"{x:.2f}×"


def size_label(n: int) -> str:
    return f"{n / 1000:.0f} KB" if n < MB else f"{n / MB:.1f} MB"


# -- 1. engine on the corpus --------------------------------------------------------------


def corpus(r: Report, f: CorpusFigures) -> None:
    peer = f.peer is not None
    r.add(f"### 1. Engine on the corpus (`{f.directory}`, {len(f.times)} cases, {f.seconds:.0f} s)", "")
    r.add("Per-case ms as each compressor reports it, in a warm process, one pass; on each case ours runs "
          "right before Headroom's. Ours: `Engine.rewrite` on the body bytes (JSON parsing included), "
          "built-in settings, no memo. Headroom: `headroom.compress()` through "
          "`shared/bench/peers/headroom_adapter.py` (conversion and compression of the parsed body). "
          "MB/s: the category's body bytes over the sum of its case times.", "")
    if f.peer_note:
        r.add(f"Headroom: {f.peer_note}.", "")
    header = ["category", "cases", "MB", "ours p50 ms", "ours p95 ms", "ours MB/s"]
    if peer:
        header += ["Headroom p50 ms", "Headroom p95 ms", "Headroom MB/s", "p50 ours/Headroom",
                   "p95 ours/Headroom"]
    rows = []
    groups = [(c, [t for t in f.times if t.case.category == c]) for c in f.categories]
    for name, group in [*groups, ("**all**", f.times)]:
        rows.append(_corpus_row(name, group, peer))
    r.table(header, rows)
    if not f.times:
        return
    ours = [t.ours_ms for t in f.times]
    if peer:
        theirs = [t.peer_ms for t in f.times if t.peer_ms is not None]
        p50, p95 = ratio(median(ours), median(theirs)), ratio(pct(ours, 95), pct(theirs, 95))
        r.target("engine p50 ≤ 0.4× Headroom's (same run)",
                 f"{num(median(ours), 1)} vs {num(median(theirs), 1)} ms: {times(p50)}", p50 <= 0.4)
        r.target("engine p95 ≤ 0.5× Headroom's (same run)",
                 f"{num(pct(ours, 95), 1)} vs {num(pct(theirs, 95), 1)} ms: {times(p95)}", p95 <= 0.5)
    else:
        alone = f"ours p50 {num(median(ours), 1)} ms, p95 {num(pct(ours, 95), 1)} ms; Headroom not run"
        r.target("engine p50 ≤ 0.4×, p95 ≤ 0.5× Headroom's", alone, None)


def _corpus_row(name: str, group: list[CaseTime], peer: bool) -> list[str]:
    size = sum(t.size for t in group)
    ours = [t.ours_ms for t in group]
    row = [name, str(len(group)), num(size / MB), num(median(ours), 1), num(pct(ours, 95), 1),
           num(size / MB / (sum(ours) / 1000) if ours else math.nan, 1)]
    if peer:
        theirs = [t.peer_ms for t in group if t.peer_ms is not None]
        row += [num(median(theirs), 1), num(pct(theirs, 95), 1),
                num(size / MB / (sum(theirs) / 1000) if theirs else math.nan, 1),
                times(ratio(median(ours), median(theirs))), times(ratio(pct(ours, 95), pct(theirs, 95)))]
    return row


# -- 2. sessions --------------------------------------------------------------------------


def sessions(r: Report, f: SessionFigures) -> None:
    n = sum(len(t.ms) for t in f.times)
    r.add(f"### 2. Sessions replayed request by request (`{f.directory}`, {len(f.times)} sessions, "
          f"{n} requests, {f.seconds:.0f} s)", "")
    r.add("Each session through a fresh engine with the first-emission memo on, as the proxy's worker "
          f"runs it (`on` mode), {f.repeats} time(s). First and last: timed back to back after the "
          "replay (the first on a fresh engine), medians; last/first: the median of the pairs' ratios. "
          "Slowest and mean: over the session's requests, each the median of its replays.", "")
    if f.skipped:
        r.add(f"Not sessions (skipped): {', '.join(f.skipped)}.", "")
    rows = []
    for t in f.times:
        s = t.session
        rows.append([s.id, s.shape, str(len(s.requests)), f"{len(s.requests[-1]) / 1000:.0f}", num(t.first),
                     num(t.last), times(t.growth), num(max(t.ms), 1), num(sum(t.ms) / len(t.ms))])
    r.table(["session", "shape", "requests", "last body KB", "first ms", "last ms", "last/first",
             "slowest ms", "mean ms"], rows)
    long = [t for t in f.times if len(t.ms) >= LONG_SESSION]
    judged = long or f.times
    if judged:
        worst = max(judged, key=lambda t: t.growth)
        scope = f"sessions of ≥ {LONG_SESSION} requests ({len(long)})" if long else \
            f"no session has {LONG_SESSION} requests; all {len(judged)}"
        r.target("last request ≤ 2× the first (50-turn sessions)",
                 f"{scope}: worst {worst.session.id} {times(worst.growth)}", worst.growth <= 2)


# -- 3. proxy latency ---------------------------------------------------------------------


def latency(r: Report, f: LatencyFigures) -> None:
    sizes = list(f.sizes)
    r.add(f"### 3. Per-request latency through the proxy ({f.seconds:.0f} s)", "")
    both = " and ".join(f"{f.sizes[s]:,} B" for s in sizes)
    r.add(f"HTTPS through mitmdump (keep-alive, CONNECT) to a local TLS fake upstream; chat requests of "
          f"{both} whose tool result is pretty-printed JSON rows; "
          f"{f.requests} interleaved rounds after {f.warmup} warm-up requests per target and size. "
          "Added = latency − the direct median. × bare: median latency over bare mitmdump's; "
          "added ÷ bare's: the same for added latency. The same body on every request: in `on` mode "
          "the engine answers from its memo after the first.", "")
    bare = {s: median(f.series[("bare mitmdump", s)].ms) for s in sizes}
    direct = {s: median(f.series[(DIRECT, s)].ms) for s in sizes}
    rows = []
    for name in [DIRECT, *(n for n, _ in LATENCY_TARGETS)]:
        for s in sizes:
            x = f.series[(name, s)]
            med, p99 = median(x.ms), pct(x.ms, 99)
            add_med, add_p99 = med - direct[s], p99 - direct[s]
            is_proxy = name != DIRECT
            upstream = f"{x.unchanged}/{len(x.ms)}"
            log = ", ".join(f"{a} {c}" for a, c in x.actions.most_common()) or "–"
            if x.addon_ms:
                log += f"; logged ms p50 {num(median(x.addon_ms))}"
            rows.append([name, size_label(f.sizes[s]), num(med), num(p99),
                         num(add_med) if is_proxy else "–", num(add_p99) if is_proxy else "–",
                         times(ratio(med, bare[s])) if is_proxy else "–",
                         times(ratio(add_med, bare[s] - direct[s])) if is_proxy else "–", upstream, log])
    r.table(["target", "size", "median ms", "p99 ms", "added median ms", "added p99 ms", "× bare",
             "added ÷ bare's", "upstream got the original", "addon log"], rows)
    engine = "; ".join(f"{size_label(f.sizes[s])} {num(f.engine_ms[s])} ms (first sight "
                       f"{num(f.engine_first_ms[s], 1)} ms)" for s in sizes)
    r.add(f"Engine time for the same bodies in this process, memo warm: {engine}.", "")
    on_over = {s: median(f.series[("addon on", s)].ms) - bare[s] - f.engine_ms[s] for s in sizes}
    held = {s: median(f.series[("addon on", s)].addon_ms) - f.engine_ms[s] for s in sizes}
    r.add("`on` − bare − engine (what the addon adds beyond the engine, as the client sees it): "
          + "; ".join(f"{size_label(f.sizes[s])} {num(on_over[s])} ms" for s in sizes)
          + ". The addon's logged time (body complete to forwarded: worker round trip, engine, splice "
          "into the request) − engine: "
          + "; ".join(f"{size_label(f.sizes[s])} {num(held[s])} ms" for s in sizes)
          + ". The difference between the two is spent around the response (reading its usage, then "
          "token counts, log line and ledger, which wait for it) and in scheduling the extra threads "
          "and processes.", "")
    for note in f.notes:
        r.add(f"Note: {note}", "")
    off = {s: ratio(median(f.series[("addon off", s)].ms) - direct[s], bare[s] - direct[s]) for s in sizes}
    off_total = {s: ratio(median(f.series[("addon off", s)].ms), bare[s]) for s in sizes}
    r.target("`off` ≤ 1.05× bare mitmdump",
             "added ÷ bare's: " + ", ".join(f"{size_label(f.sizes[s])} {times(off[s])}" for s in sizes)
             + " (latency: " + ", ".join(f"{times(off_total[s])}" for s in sizes) + ")",
             all(v <= 1.05 for v in off.values()))
    r.target("`on` adds the engine's time + ≤ 0.5 ms",
             ", ".join(f"{size_label(f.sizes[s])} +{num(on_over[s])} ms" for s in sizes),
             all(v <= 0.5 for v in on_over.values()))


# -- 4. streaming -------------------------------------------------------------------------


def streams(r: Report, f: StreamFigures) -> None:
    r.add(f"### 4. Streaming ({f.seconds:.0f} s)", "")
    r.add(f"Time to the first SSE event of a small streaming chat request (2 events and `[DONE]`, 10 ms "
          f"apart), {f.requests} interleaved rounds. The stream hook is the one line a user of bare "
          "mitmdump adds (`flow.response.stream = True`); without it mitmdump buffers the response.", "")
    base = median(f.first_event["bare mitmdump + stream hook"])
    rows = []
    for name, ms in f.first_event.items():
        rows.append([name, num(median(ms)), num(pct(ms, 90)), num(pct(ms, 99)),
                     "–" if name == "direct" else f"{median(ms) - base:+.2f}"])
    r.table(["target", "first event median ms", "p90 ms", "p99 ms", "median − bare with hook, ms"], rows)
    if f.stalls:
        r.add(f"An SSE stream (30 events, 50 ms apart) through the addon while another client's "
              f"{size_label(f.big_size)} request is compressed (budget raised to 60 s); delay = arrival − "
              "upstream send time.", "")
        r.table(["target", "rounds", "worst event delay ms", "median event delay ms", "big request ms",
                 "addon log"],
                [[s.target, str(len(s.max_ms)), num(max(s.max_ms), 1), num(median(s.median_ms), 1),
                  num(median(s.big_ms), 0), ", ".join(f"{a} {c}" for a, c in Counter(s.actions).most_common())
                  or "–"] for s in f.stalls])
    for note in f.notes:
        r.add(f"Note: {note}", "")
    deltas = {n: median(f.first_event[n]) - base for n in ("addon off", "addon on")}
    r.target("first SSE event through the addon within 1 ms of bare mitmdump",
             ", ".join(f"{n} {v:+.2f} ms" for n, v in deltas.items()) + " (vs bare with the stream hook)",
             all(v <= 1.0 for v in deltas.values()))


# -- 5. memory ----------------------------------------------------------------------------


def memory(r: Report, f: MemoryFigures) -> None:
    r.add(f"### 5. Memory while {f.bodies} requests of {size_label(f.size)} pass ({f.seconds:.0f} s)", "")
    r.add("Resident memory (RSS) after a warm-up (idle) and its peak while the requests pass one after "
          "another (kernel VmHWM, reset after the warm-up). Engine processes: what the proxy started "
          "(the worker, the forkserver it comes from, multiprocessing's resource tracker), peaks summed. "
          "Δ/body: (peak − idle) ÷ body size. mitmproxy frees a finished flow only when Python's cyclic "
          "garbage collector runs; the \"collected\" rows run it after every response (a measuring aid "
          "in the bench's helper script), which leaves what one request in flight costs.", "")
    rows = [_memory_row(fp, f.size) for fp in f.footprints]
    r.table(["target", "proxy idle MiB", "proxy peak MiB", "proxy Δ/body", "engine procs", "engine idle MiB",
             "engine peak MiB", "engine Δ/body", "sum Δ/body", "request ms p50", "addon log"], rows)
    for note in f.notes:
        r.add(f"Note: {note}", "")
    by_name = {fp.target: fp for fp in f.footprints}
    on = by_name.get("addon on")
    if on is not None:
        proxy = _delta(on.proxy_peak_kb, on.proxy_idle_kb, f.size)
        total = proxy + _delta(on.engine_peak_kb, on.engine_idle_kb, f.size)
        measured = f"addon on: proxy {times(proxy)}, proxy + engine {times(total)}"
        collected = by_name.get("addon on, collected")
        if collected is not None:
            measured += (f"; flows collected after each response: proxy "
                         f"{times(_delta(collected.proxy_peak_kb, collected.proxy_idle_kb, f.size))}")
        bare = by_name.get("bare mitmdump")
        if bare is not None:
            measured += f"; bare mitmdump {times(_delta(bare.proxy_peak_kb, bare.proxy_idle_kb, f.size))}"
        r.target("peak RSS above idle ≤ 3× the body size", measured, total <= 3)


def _delta(peak_kb: int, idle_kb: int, size: int) -> float:
    return (peak_kb - idle_kb) * 1024 / size


def _memory_row(fp: Footprint, size: int) -> list[str]:
    proxy = (fp.proxy_peak_kb - fp.proxy_idle_kb) * 1024 / size
    engine = (fp.engine_peak_kb - fp.engine_idle_kb) * 1024 / size
    log = ", ".join(f"{a} {c}" for a, c in fp.actions.most_common()) or "–"
    if fp.addon_ms:
        log += f"; logged ms p50 {num(median(fp.addon_ms), 0)}"
    return [fp.target, num(fp.proxy_idle_kb / 1024, 0), num(fp.proxy_peak_kb / 1024, 0), times(proxy),
            str(fp.engine_processes), num(fp.engine_idle_kb / 1024, 0), num(fp.engine_peak_kb / 1024, 0),
            times(engine) if fp.engine_processes else "–", times(proxy + engine),
            num(median(fp.request_ms), 0), log]
