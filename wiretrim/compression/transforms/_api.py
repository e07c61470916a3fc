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

from dataclasses import dataclass, field
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
