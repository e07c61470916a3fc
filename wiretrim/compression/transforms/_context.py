"""Context lines around anchors (diff changes, grep matches): keep a few, mark the rest.

Shared by the diff and search transforms, which differ only in what an anchor is and which
lines must never be folded away.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import NamedTuple

from wiretrim.compression import marker
from wiretrim.compression.tokens import estimate

# A dropped run must save at least this many estimated tokens beyond its marker's cost.
_MIN_GAIN_TOKENS = 3
_MARK_TOKENS = estimate(marker.omitted(100, "context lines"))


class Fold(NamedTuple):
    context: int  # context lines kept on each side of an anchor
    min_run: int  # shortest run of lines one marker may replace


# A single line is folded only at "aggressive": its marker would save a few tokens at most.
FOLDS = {"balanced": Fold(1, 2), "aggressive": Fold(0, 1)}


def fold_for(level: str) -> Fold:
    return FOLDS.get(level, FOLDS["balanced"])


def fold_context(
    lines: Sequence[str],
    anchor: Sequence[bool],
    fold: Fold,
    pinned: Callable[[int], bool],
) -> list[str]:
    """`lines` with each run of non-anchor lines farther than `fold.context` from an anchor
    replaced by a marker counting them; lines for which `pinned(i)` holds stay and split the run.
    """
    n = len(lines)
    out: list[str] = []
    k = 0
    while k < n:
        j = k
        if anchor[k]:
            while j < n and anchor[j]:
                j += 1
            out.extend(lines[k:j])
            k = j
            continue
        while j < n and not anchor[j]:
            j += 1
        # lines[k:j] is a run of context lines between anchors or the edges.
        lo = k + fold.context if k > 0 else k
        hi = j - fold.context if j < n else j
        if hi - lo < fold.min_run:
            out.extend(lines[k:j])
        else:
            out.extend(lines[k:lo])
            run_start = lo
            for i in range(lo, hi):
                if pinned(i):
                    out.extend(_marked(lines[run_start:i], fold.min_run))
                    out.append(lines[i])
                    run_start = i + 1
            out.extend(_marked(lines[run_start:hi], fold.min_run))
            out.extend(lines[hi:j])
        k = j
    return out


def _marked(run: Sequence[str], min_run: int) -> list[str]:
    """`run` itself, or one marker counting its lines when that saves tokens."""
    if len(run) < min_run or estimate("\n".join(run)) < _MARK_TOKENS + _MIN_GAIN_TOKENS:
        return list(run)
    return [marker.omitted(len(run), "context line" if len(run) == 1 else "context lines")]
