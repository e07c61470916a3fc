"""Write changed strings back into the original bytes; every byte outside the spans stays."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Edit:
    start: int
    end: int
    literal: bytes  # the complete new JSON string literal, quotes included


def apply(raw: bytes, edits: Iterable[Edit]) -> bytes:
    """`raw` with each edit's span replaced; ValueError if spans overlap or fall outside."""
    ordered = sorted(edits, key=lambda e: e.start)
    if not ordered:
        return raw
    pieces: list[bytes] = []
    cursor = 0
    for edit in ordered:
        if edit.start < cursor or edit.end < edit.start or edit.end > len(raw):
            raise ValueError(f"bad or overlapping span {edit.start}:{edit.end}")
        pieces.append(raw[cursor : edit.start])
        pieces.append(edit.literal)
        cursor = edit.end
    pieces.append(raw[cursor:])
    return b"".join(pieces)
