"""`wiretrim replay`: what the proxy would have saved on traffic mitmproxy recorded.

Reads flow files (``mitmdump -w``), and runs every request the proxy would have matched
through the engine, in file order, with a fresh in-memory memo (so conversations replay as
they did live, and the proxy's own memo is never touched). A flow recorded through wiretrim in
``on`` mode carries the client's original body in its metadata: that is what is replayed.
Money comes from the price table; the actual bill, when a recorded response kept its body,
from the usage in it.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

from mitmproxy import http, io
from mitmproxy.exceptions import FlowReadException

from wiretrim.addon import flowio, gate
from wiretrim.addon.report import KEY
from wiretrim.compression import Engine, measure
from wiretrim.config import Settings
from wiretrim.endpoints import CustomEndpoint, match
from wiretrim.prices import PriceTable
from wiretrim.usage import read_body


@dataclass
class Line:
    requests: int = 0
    compressed: int = 0
    tokens_before: int = 0
    tokens_after: int = 0
    saved_usd: float | None = None
    billed_usd: float | None = None

    @property
    def tokens_saved(self) -> int:
        return self.tokens_before - self.tokens_after

    def add(self, compressed: bool, before: int, after: int, saved_usd: float | None,
            billed_usd: float | None) -> None:
        self.requests += 1
        self.compressed += compressed
        self.tokens_before += before
        self.tokens_after += after
        if saved_usd is not None:
            self.saved_usd = (self.saved_usd or 0.0) + saved_usd
        if billed_usd is not None:
            self.billed_usd = (self.billed_usd or 0.0) + billed_usd


@dataclass
class Replay:
    flows: int = 0  # HTTP flows read
    matched: int = 0
    lines: dict[tuple[str, str], Line] = field(default_factory=dict)  # (provider, model)
    total: Line = field(default_factory=Line)
    skipped: dict[str, int] = field(default_factory=dict)
    unreadable: list[str] = field(default_factory=list)  # files that were not (all) flow files

    def skip(self, reason: str) -> None:
        self.skipped[reason] = self.skipped.get(reason, 0) + 1


def original_body(flow: http.HTTPFlow, limit: int) -> bytes:
    """The body the client sent: the one wiretrim kept if it rewrote the request, else the
    recorded one, read and decoded as the proxy reads it. NotRewritableError when the proxy
    would have left it alone (too large, streamed, an encoding it cannot decode)."""
    seen = flow.metadata.get(KEY)
    kept = seen.get("original") if isinstance(seen, dict) else None
    if isinstance(kept, bytes):
        return kept
    raw, coding = flowio.take(flow.request, limit)
    return raw if coding is None else flowio.decode(raw, coding, limit)


def _read(file: BinaryIO) -> Iterator[Any]:
    yield from io.FlowReader(file).stream()


def replay_flow(flow: http.HTTPFlow, engine: Engine, prices: PriceTable, custom: Sequence[CustomEndpoint],
                out: Replay, max_body_bytes: int) -> None:
    r = flow.request
    endpoint = match(r.method, r.pretty_host, r.port, r.path, custom)
    if endpoint is None:
        return
    out.matched += 1
    reason = gate.skip_reason(r)
    if reason is not None:
        out.skip(reason)
        return
    try:
        body = original_body(flow, max_body_bytes)
    except flowio.NotRewritableError as e:
        out.skip(e.reason)
        return
    result = engine.rewrite(body, endpoint.shape)
    model = result.model or endpoint.model or "(unknown)"
    acc = measure(result, engine.counter) if result.slots else None
    compressed = result.body is not None and result.skipped is None
    before = acc.tokens_before if acc is not None else 0
    after = acc.tokens_after if acc is not None and compressed else before
    if result.skipped is not None:
        out.skip(result.skipped)
    usage = None
    response = flow.response
    if response is not None and response.raw_content:
        usage = read_body(response.raw_content, endpoint.shape, response.headers.get("content-type"),
                          response.headers.get("content-encoding"))
    count_only = endpoint.counts_tokens
    money = prices.money(model, usage, None if count_only else before - after)
    billed = None if count_only else money.cost
    for line in (out.lines.setdefault((endpoint.provider, model), Line()), out.total):
        line.add(compressed, before, after, money.saved, billed)


def run(paths: Sequence[str | os.PathLike[str]], engine: Engine, prices: PriceTable,
        custom: Sequence[CustomEndpoint] = (), console: Any = None,
        max_body_bytes: int = Settings().max_body_bytes) -> Replay:
    """Replay every flow of every file; a rich progress bar on `console` when given."""
    from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TimeRemainingColumn

    out = Replay()
    total = sum(Path(p).stat().st_size for p in paths)
    progress = Progress(TextColumn("replaying {task.fields[name]}"), BarColumn(), DownloadColumn(),
                        TextColumn("{task.fields[flows]} flows"), TimeRemainingColumn(),
                        console=console, transient=True, disable=console is None)
    with progress:
        task = progress.add_task("replay", total=total, name="", flows=0)
        done = 0
        for path in paths:
            with open(path, "rb") as file:
                try:
                    for flow in _read(file):
                        if isinstance(flow, http.HTTPFlow):
                            out.flows += 1
                            replay_flow(flow, engine, prices, custom, out, max_body_bytes)
                        progress.update(task, completed=done + file.tell(), name=Path(path).name,
                                        flows=out.flows)
                except FlowReadException:
                    out.unreadable.append(str(path))
            done += Path(path).stat().st_size
            progress.update(task, completed=done)
    return out


def render(out: Replay, console: Any) -> None:
    from rich import box
    from rich.table import Table

    def usd(x: float | None) -> str:
        return "—" if x is None else (f"${x:,.2f}" if abs(x) >= 1 else f"${x:,.4f}")

    def pct(line: Line) -> str:
        return f"{100 * line.tokens_saved / line.tokens_before:.1f}%" if line.tokens_before else "—"

    t = out.total
    table = Table(title=f"what wiretrim would have saved · {out.flows:,} flows, {out.matched:,} LLM requests",
                  box=box.SIMPLE_HEAVY, title_justify="left", show_footer=True)
    for header, footer in (("provider", "total"), ("model", ""), ("requests", f"{t.requests:,}"),
                           ("compressed", f"{t.compressed:,}"), ("tokens before", f"{t.tokens_before:,}"),
                           ("tokens after", f"{t.tokens_after:,}"), ("saved", pct(t)),
                           ("$ saved", usd(t.saved_usd)), ("$ billed (recorded)", usd(t.billed_usd))):
        justify = "left" if header in ("provider", "model") else "right"
        table.add_column(header, footer=footer, justify=justify)
    for (provider, model), line in sorted(out.lines.items(), key=lambda kv: -kv[1].tokens_saved):
        table.add_row(provider, model, f"{line.requests:,}", f"{line.compressed:,}",
                      f"{line.tokens_before:,}", f"{line.tokens_after:,}", pct(line), usd(line.saved_usd),
                      usd(line.billed_usd))
    console.print(table)
    if out.skipped:
        console.print("not rewritten: " + ", ".join(f"{k} {v}" for k, v in sorted(out.skipped.items())),
                      style="dim")
    console.print("tokens: prompt text the engine examined (tiktoken); $ saved: tokens saved at the "
                  "model's uncached input price; $ billed: usage in recorded response bodies.", style="dim")
    for path in out.unreadable:
        console.print(f"wiretrim: {path}: not a mitmproxy flow file (or truncated); read what it could",
                      style="yellow")


__all__ = ["Line", "Replay", "original_body", "render", "replay_flow", "run"]
