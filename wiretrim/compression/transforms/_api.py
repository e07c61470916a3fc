"""The contract every content transform keeps.

A transform sees one text (a tool result, a user message, or a segment of one) and
nothing else: no JSON envelope, no HTTP, no provider. It must be

* pure and deterministic: the same text and params always give the same string;
* line-faithful: lines that are kept stay whole lines, with their own text;
* honest: every omission leaves a marker from :mod:`wiretrim.compression.marker` at the
  place of the gap, in the source's units;
* safe: it returns the input unchanged when it has nothing to gain, and never returns an
  empty string for a non-empty input.

``apply`` may drop lines or items only when :func:`lossy_allowed` says so.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from itertools import accumulate
from typing import ClassVar, Literal, Protocol

from wiretrim.compression.tokens import estimate

Level = Literal["lossless", "balanced", "aggressive"]
LEVELS: tuple[Level, ...] = ("lossless", "balanced", "aggressive")


@dataclass(frozen=True, slots=True)
class TransformParams:
    level: Level = "balanced"
    # Estimated tokens above which a text may lose lines or items (the size budget).
    lossy_above_tokens: int = 1500
    # Lower-cased words of the latest user request before this text: ids, names, paths,
    # error strings. A line or item containing one of them is always kept.
    keep_terms: frozenset[str] = field(default_factory=frozenset)
    # Name of the tool whose result this is, when the request says (e.g. "bash", "grep").
    tool_name: str | None = None


class Transform(Protocol):
    """A content transform. It may also declare ``max_score: ClassVar[float]``, the highest
    score its detect() can return: the router then skips its detect() when that cannot beat
    the best score found so far (ties go to the earlier transform), which changes nothing."""

    name: ClassVar[str]

    def detect(self, text: str) -> float:
        """0.0 "not mine" to 1.0 "certain"; cheap, never raises on odd input."""
        ...

    def apply(self, text: str, params: TransformParams) -> str:
        """The rewritten text, or `text` itself when there is nothing to gain."""
        ...


def lossy_allowed(text: str, params: TransformParams) -> bool:
    """True when `text` is over the size budget and the level permits dropping content."""
    return params.level != "lossless" and estimate(text) >= params.lossy_above_tokens


def mentions_kept_term(line: str, params: TransformParams) -> bool:
    """True when `line` contains one of the words the latest user request asked about."""
    if not params.keep_terms:
        return False
    low = line.lower()
    return any(term in low for term in params.keep_terms)


def lines_mentioning_kept_terms(lines: Sequence[str], params: TransformParams) -> set[int]:
    """Indexes of the `lines` for which :func:`mentions_kept_term` is true."""
    if not params.keep_terms:
        return set()
    return set(first_hits(lines, params.keep_terms, lower=True))


def first_hits(lines: Sequence[str], needles: Iterable[str], *, lower: bool = False) -> dict[int, int]:
    """For each of the `lines` that contains one of `needles`, the offset of the first one.

    Lines are lower-cased first when `lower` (offsets are then in the lower-cased line). The
    same as searching every line for every needle, but with one scan of the joined text per
    needle, which on long texts is many times faster.
    """
    texts = list(map(str.lower, lines)) if lower else lines
    hits: dict[int, int] = {}
    joined = "\n".join(texts)
    # starts[k] is where line k begins in `joined`; starts[-1] lies past its end.
    starts = list(accumulate((len(t) + 1 for t in texts), initial=0))
    for needle in needles:
        if not needle or "\n" in needle:  # in every line, or could span two lines of `joined`
            found = ((k, t.find(needle)) for k, t in enumerate(texts))
        else:
            found = _each_line_once(joined, starts, needle)
        for k, offset in found:
            if offset >= 0 and offset < hits.get(k, offset + 1):
                hits[k] = offset
    return hits


def _each_line_once(joined: str, starts: list[int], needle: str) -> Iterator[tuple[int, int]]:
    """(line, offset) of the first occurrence of `needle` in each line of `joined` holding one."""
    i = joined.find(needle)
    while i != -1:
        k = bisect_right(starts, i) - 1
        yield k, i - starts[k]
        i = joined.find(needle, starts[k + 1])
