"""`wiretrim stats`: the ledger summed up, as a rich table or as JSON.

Definitions, also printed under the table:

* tokens saved: prompt tokens the rewrite removed (shadow mode: would have removed), counted
  with the engine's tokenizer; token-count calls are left out.
* of prompt: tokens saved as a share of the prompt the client sent, on requests whose response
  reported usage (in ``on`` mode the provider billed the prompt minus the saved tokens).
* $ saved: tokens saved priced as uncached input. $ billed: the response's usage at the price
  table's prices, cache reads and writes at theirs. Models without a price have neither.
* cache hits: the share of billed prompt tokens the provider served from its cache.
"""

from __future__ import annotations

import re
import statistics
import time
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from wiretrim.ledger import Entry

By = Literal["provider", "model", "day"]
BY: tuple[str, ...] = ("provider", "model", "day")
_SPAN = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhdw])\s*$", re.I)
_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}


def parse_since(text: str, now: float | None = None) -> float:
    """``7d``, ``12h``, ``30m``, ``2w`` ago, or an ISO date/time; ValueError otherwise."""
    now = time.time() if now is None else now
    m = _SPAN.match(text)
    if m:
        return now - float(m.group(1)) * _SECONDS[m.group(2).lower()]
    try:
        return datetime.fromisoformat(text.strip()).timestamp()
    except ValueError:
        raise ValueError(
            f"--since {text!r}: use a span like 7d, 12h, 30m, 2w, or a date like 2026-11-01"
        ) from None


def _key(by: By) -> Callable[[Entry], str]:
    if by == "provider":
        return lambda e: e.provider
    if by == "model":
        return lambda e: e.model or "(unknown)"
    return lambda e: datetime.fromtimestamp(e.ts).strftime("%Y-%m-%d")


@dataclass
class Totals:
    requests: int = 0
    compressed: int = 0
    skipped: int = 0
    failed: int = 0
    shadow: int = 0
    tokens_before: int = 0  # prompt text the engine examined
    tokens_saved: int = 0
    prompt_tokens: int = 0  # the client's prompts, on requests with usage
    prompt_saved: int = 0  # tokens saved on those requests
    billed_input: int = 0
    cache_read: int = 0
    cache_write: int = 0
    output_tokens: int = 0
    saved_usd: float | None = None
    billed_usd: float | None = None
    latencies: list[float] = field(default_factory=list)

    def add(self, e: Entry) -> None:
        self.requests += 1
        self.compressed += e.action == "compressed"
        self.skipped += e.action == "skipped"
        self.failed += e.action == "failed"
        self.shadow += e.mode == "shadow"
        if e.mode == "on":
            self.latencies.append(e.latency_ms)
        saved = 0 if e.count_only else max(0, e.tokens_saved or 0)
        if not e.count_only:
            self.tokens_before += e.tokens_before or 0
            self.tokens_saved += saved
        if e.input_tokens is not None and not e.count_only:
            sent_original = e.mode != "on"  # shadow: the provider billed the original prompt
            self.prompt_tokens += e.input_tokens + (0 if sent_original else saved)
            self.prompt_saved += saved
            self.billed_input += e.input_tokens
            self.cache_read += e.cache_read_tokens or 0
            self.cache_write += e.cache_write_tokens or 0
            self.output_tokens += e.output_tokens or 0
        if e.saved_usd is not None:
            self.saved_usd = (self.saved_usd or 0.0) + e.saved_usd
        if e.cost_usd is not None:
            self.billed_usd = (self.billed_usd or 0.0) + e.cost_usd

    @property
    def saved_share(self) -> float | None:
        return self.prompt_saved / self.prompt_tokens if self.prompt_tokens else None

    @property
    def cache_hit_share(self) -> float | None:
        return self.cache_read / self.billed_input if self.billed_input else None

    def latency(self, q: float) -> float | None:
        if not self.latencies:
            return None
        if len(self.latencies) == 1:
            return self.latencies[0]
        return statistics.quantiles(self.latencies, n=100, method="inclusive")[int(q * 100) - 1]

    def as_dict(self) -> dict[str, Any]:
        return {
            "requests": self.requests, "compressed": self.compressed, "skipped": self.skipped,
            "failed": self.failed, "shadow_requests": self.shadow,
            "tokens_examined": self.tokens_before, "tokens_saved": self.tokens_saved,
            "prompt_tokens": self.prompt_tokens, "saved_share_of_prompt": _round(self.saved_share, 4),
            "billed_input_tokens": self.billed_input, "cache_read_tokens": self.cache_read,
            "cache_write_tokens": self.cache_write, "output_tokens": self.output_tokens,
            "cache_hit_share": _round(self.cache_hit_share, 4),
            "saved_usd": _round(self.saved_usd, 6), "billed_usd": _round(self.billed_usd, 6),
            "latency_added_ms_p50": _round(self.latency(0.5), 2),
            "latency_added_ms_p95": _round(self.latency(0.95), 2),
        }


def _round(value: float | None, digits: int) -> float | None:
    return None if value is None else round(value, digits)


@dataclass
class Summary:
    by: By
    since: float | None
    first: float | None = None
    last: float | None = None
    total: Totals = field(default_factory=Totals)
    groups: dict[str, Totals] = field(default_factory=dict)
    reasons: Counter[str] = field(default_factory=Counter)

    def as_dict(self) -> dict[str, Any]:
        return {
            "by": self.by, "since": self.since, "first": self.first, "last": self.last,
            "totals": self.total.as_dict(),
            "groups": [{self.by: k, **v.as_dict()} for k, v in self.groups.items()],
            "skip_reasons": dict(self.reasons.most_common()),
        }


def summarize(entries: Iterable[Entry], by: By = "provider", since: float | None = None) -> Summary:
    key = _key(by)
    s = Summary(by, since)
    for e in entries:
        s.first = e.ts if s.first is None else min(s.first, e.ts)
        s.last = e.ts if s.last is None else max(s.last, e.ts)
        s.total.add(e)
        s.groups.setdefault(key(e), Totals()).add(e)
        if e.action in ("skipped", "failed"):
            s.reasons[f"{e.action}: {e.reason or '-'}"] += 1
    s.groups = dict(sorted(s.groups.items(), key=lambda kv: (-kv[1].tokens_saved, kv[0])))
    if by == "day":
        s.groups = dict(sorted(s.groups.items()))
    return s


def _num(n: int) -> str:
    return f"{n:,}"


def _pct(x: float | None) -> str:
    return "—" if x is None else f"{100 * x:.1f}%"


def _usd(x: float | None) -> str:
    if x is None:
        return "—"
    return f"${x:,.2f}" if abs(x) >= 1 else f"${x:,.4f}"


def _ms(x: float | None) -> str:
    return "—" if x is None else f"{x:.0f} ms"


def render(summary: Summary, ledger: str, console: Any) -> None:
    """Print the summary with rich on `console` (a rich.console.Console)."""
    from rich import box
    from rich.table import Table

    s, t = summary, summary.total
    if not t.requests:
        console.print(f"wiretrim: no requests in {ledger}" + (" for that period" if s.since else ""))
        return
    fmt = "%Y-%m-%d %H:%M"
    assert s.first is not None and s.last is not None
    title = (f"wiretrim savings · {datetime.fromtimestamp(s.first).strftime(fmt)} to "
             f"{datetime.fromtimestamp(s.last).strftime(fmt)} · {t.requests:,} requests")
    table = Table(title=title, box=box.SIMPLE_HEAVY, title_justify="left", show_footer=True)
    cols = [
        (s.by, "total", "left"),
        ("requests", _num(t.requests), "right"),
        ("compressed", _num(t.compressed), "right"),
        ("tokens saved", _num(t.tokens_saved), "right"),
        ("of prompt", _pct(t.saved_share), "right"),
        ("$ saved", _usd(t.saved_usd), "right"),
        ("$ billed", _usd(t.billed_usd), "right"),
        ("cache hits", _pct(t.cache_hit_share), "right"),
        ("added p50/p95", f"{_ms(t.latency(0.5))} / {_ms(t.latency(0.95))}", "right"),
    ]
    for header, footer, justify in cols:
        table.add_column(header, footer=footer, justify=justify)  # type: ignore[arg-type]
    for name, g in s.groups.items():
        table.add_row(name, _num(g.requests), _num(g.compressed), _num(g.tokens_saved), _pct(g.saved_share),
                      _usd(g.saved_usd), _usd(g.billed_usd), _pct(g.cache_hit_share),
                      f"{_ms(g.latency(0.5))} / {_ms(g.latency(0.95))}")
    console.print(table)
    if s.reasons:
        reasons = Table(title="not compressed", box=box.SIMPLE, title_justify="left")
        reasons.add_column("action: reason")
        reasons.add_column("requests", justify="right")
        for reason, n in s.reasons.most_common():
            reasons.add_row(reason, _num(n))
        console.print(reasons)
    notes = ["$ saved: tokens saved at the model's uncached input price; $ billed: the usage the "
             "responses reported, cache reads and writes at their prices."]
    if t.shadow:
        notes.append(f"{t.shadow:,} shadow-mode requests: their savings are what `on` would have saved.")
    console.print("\n".join(notes), style="dim")


__all__ = ["BY", "Summary", "Totals", "parse_since", "render", "summarize"]
