"""What the engine returns: the new body (or None) and what it did to every slot."""

from __future__ import annotations

from dataclasses import dataclass, field

from wiretrim.compression.jsonspan import Path
from wiretrim.compression.tokens import TokenCounter

# Why a slot came out as it did. "compressed" and "memo" mean it was rewritten.
SlotReason = str


@dataclass(frozen=True, slots=True)
class SlotOutcome:
    path: Path
    kind: str
    role: str
    reason: (
        SlotReason  # compressed | memo | memo_original | too_small | no_gain | protected | guard:<name> | ...
    )
    transforms: tuple[str, ...]
    original: str
    emitted: str  # == original unless rewritten
    memo_key: bytes | None = None  # the slot's first-emission memo key; None if it never reached the memo

    @property
    def rewritten(self) -> bool:
        return self.emitted != self.original


@dataclass(frozen=True, slots=True)
class RewriteResult:
    body: bytes | None  # None: forward the original bytes
    skipped: str | None = None  # a request-level reason nothing was considered
    slots: tuple[SlotOutcome, ...] = ()
    model: str | None = None
    stream: bool = False

    @property
    def changed(self) -> bool:
        return self.body is not None

    @property
    def rewritten_slots(self) -> tuple[SlotOutcome, ...]:
        return tuple(s for s in self.slots if s.rewritten)


@dataclass(frozen=True, slots=True)
class SlotTokens:
    path: Path
    reason: SlotReason
    transforms: tuple[str, ...]
    before: int
    after: int


@dataclass(frozen=True, slots=True)
class Accounting:
    """Exact token counts of the prompt text the engine looked at (slots), before and after."""

    tokens_before: int
    tokens_after: int
    slots: tuple[SlotTokens, ...] = field(default_factory=tuple)

    @property
    def tokens_saved(self) -> int:
        return self.tokens_before - self.tokens_after

    @property
    def saved_ratio(self) -> float:
        return self.tokens_saved / self.tokens_before if self.tokens_before else 0.0


def measure(result: RewriteResult, counter: TokenCounter) -> Accounting:
    """Count tokens of every slot before and after; meant to run off the request's critical path."""
    rows = []
    for s in result.slots:
        before = counter.count(s.original)
        after = counter.count(s.emitted) if s.rewritten else before
        rows.append(SlotTokens(s.path, s.reason, s.transforms, before, after))
    return Accounting(sum(r.before for r in rows), sum(r.after for r in rows), tuple(rows))
