"""`wiretrim stats --chart`: savings over time as a PNG (matplotlib, from the `chart` extra)."""

from __future__ import annotations

import os
from collections.abc import Sequence
from datetime import datetime, timedelta

from wiretrim.ledger import Entry

# Bucket widths to choose from, smallest first: the chart uses the smallest that gives at most
# MAX_BUCKETS bars, so a ten-minute session and a month of traffic both read well.
_WIDTHS = (10, 60, 300, 900, 3600, 6 * 3600, 86400, 7 * 86400)
MAX_BUCKETS = 60


class ChartUnavailableError(RuntimeError):
    """matplotlib is not installed."""


def bucket_width(first: float, last: float) -> int:
    span = max(last - first, 1.0)
    return next((w for w in _WIDTHS if span / w <= MAX_BUCKETS), _WIDTHS[-1])


def draw(entries: Sequence[Entry], path: str | os.PathLike[str], title: str = "wiretrim savings") -> None:
    """Write a PNG: tokens sent and saved per time bucket, and the running total of dollars saved.

    Raises ChartUnavailableError without matplotlib, ValueError without entries.
    """
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.dates as mdates
        import matplotlib.pyplot as plt
    except ImportError:
        raise ChartUnavailableError(
            "the chart needs matplotlib: pip install 'wiretrim[chart]' (make venv installs it)"
        ) from None
    rows = sorted((e for e in entries if not e.count_only), key=lambda e: e.ts)
    if not rows:
        raise ValueError("no requests to chart")
    width = bucket_width(rows[0].ts, rows[-1].ts)
    buckets: dict[int, list[int]] = {}
    for e in rows:
        b = buckets.setdefault(int(e.ts // width), [0, 0, 0])  # sent uncached, sent cached, removed
        cached, uncached, saved = _split(e)
        b[0] += uncached
        b[1] += cached
        b[2] += saved
    keys = sorted(buckets)
    x = [datetime.fromtimestamp(k * width + width / 2) for k in keys]
    bar = width / 86400 * 0.8  # matplotlib dates are in days

    fig, (top, bottom) = plt.subplots(2, 1, figsize=(9, 6), sharex=True, height_ratios=(1, 1.3))
    fig.suptitle(title)
    times = [datetime.fromtimestamp(e.ts) for e in rows]
    priced = any(e.saved_usd is not None or e.cost_usd is not None for e in rows)
    running, total = [], 0.0
    for e in rows:
        total += (e.saved_usd or 0.0) if priced else max(0, e.tokens_saved or 0)
        running.append(total)
    top.step(times, running, where="post", color="tab:green")
    top.fill_between(times, running, step="post", color="tab:green", alpha=0.15)
    top.set_ylabel("$ saved (cumulative)" if priced else "tokens saved (cumulative)")
    top.grid(alpha=0.3)
    uncached = [buckets[k][0] for k in keys]
    cached = [buckets[k][1] for k in keys]
    sent = [u + c for u, c in zip(uncached, cached, strict=True)]
    saved = [buckets[k][2] for k in keys]
    bottom.bar(x, uncached, width=bar, color="tab:gray", label="prompt tokens sent, uncached")
    bottom.bar(x, cached, width=bar, bottom=uncached, color="silver", label="sent, read from the cache")
    bottom.bar(x, saved, width=bar, bottom=sent, color="tab:green", label="removed by wiretrim")
    bottom.set_ylabel(f"tokens per {_label(width)}")
    bottom.legend(loc="upper left", frameon=False)
    bottom.grid(axis="y", alpha=0.3)
    pad = timedelta(seconds=width)
    start, end = datetime.fromtimestamp(keys[0] * width), datetime.fromtimestamp((keys[-1] + 1) * width)
    bottom.set_xlim(start - pad, end + pad)
    bottom.xaxis.set_major_formatter(mdates.ConciseDateFormatter(bottom.xaxis.get_major_locator()))
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def _split(e: Entry) -> tuple[int, int, int]:
    """(cached, uncached, removed) prompt tokens of one request: the provider's usage when the
    response reported it, else the prompt text the engine examined."""
    saved = max(0, e.tokens_saved or 0)
    if e.input_tokens is None:
        return 0, (e.tokens_before or 0) - saved, saved
    # In shadow mode the provider billed the original prompt, removed tokens included.
    sent = e.input_tokens if e.mode == "on" else max(0, e.input_tokens - saved)
    cached = min(sent, e.cache_read_tokens or 0)
    return cached, sent - cached, saved


def _label(width: int) -> str:
    for unit, seconds in (("week", 7 * 86400), ("day", 86400), ("hour", 3600), ("min", 60)):
        if width % seconds == 0:
            n = width // seconds
            return unit if n == 1 else f"{n} {unit}"
    return f"{width} s"


__all__ = ["MAX_BUCKETS", "ChartUnavailableError", "bucket_width", "draw"]
