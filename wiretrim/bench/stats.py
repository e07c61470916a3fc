"""Percentiles and ratios of timing samples."""

from __future__ import annotations

import math
from collections.abc import Sequence


def pct(values: Sequence[float], q: float) -> float:
    """The q-th percentile (0-100), linear between the two nearest ranks; NaN when empty."""
    if not values:
        return math.nan
    ordered = sorted(values)
    pos = (len(ordered) - 1) * q / 100
    low = math.floor(pos)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (pos - low)


def median(values: Sequence[float]) -> float:
    return pct(values, 50)


def ratio(a: float, b: float) -> float:
    """a / b, NaN when either is missing or b is zero."""
    if math.isnan(a) or math.isnan(b) or b == 0:
        return math.nan
    return a / b
