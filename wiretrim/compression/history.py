"""Runs of lines a slot repeats from text already sent earlier in the same request.

Agents re-read files, re-run commands and paste output back; the repeat costs tokens again
although the model has it a few messages up. A run of at least :data:`RUN_LINES` lines that
stands word for word in the text emitted for an earlier slot is replaced by one marker
naming where it stands (``[… 40 lines omitted (same as lines 10–49 of the tool result in
message 7) …]``). Only what was emitted earlier counts, so the reference points at text the
model actually sees; and only earlier slots, so a slot's rewrite depends on what precedes it
and stays the same in every later request of the conversation.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from itertools import accumulate
from typing import Any

from wiretrim.compression import marker
from wiretrim.compression.shapes import Slot

RUN_LINES = 12  # shorter repeats are not worth a marker
MIN_RUN_CHARS = 400  # nor are runs of blank or near-empty lines
# Windows are indexed every STRIDE lines (a repeat of RUN_LINES + STRIDE - 1 lines always holds
# one) and matches are grown in both directions, so the index costs a quarter of the lines.
STRIDE = 4


@dataclass(slots=True)
class _Source:
    label: str  # "the tool result in message 7"
    lines: list[str]


@dataclass(slots=True)
class History:
    """The emitted text of the slots seen so far in one request, indexed by line windows.

    The index is built lazily, the first time a slot is looked up, so a request whose new
    slots are all small (or memo hits) pays only for the digest.
    """

    _pending: list[tuple[str, str]] = field(default_factory=list)
    _sources: list[_Source] = field(default_factory=list)
    _index: dict[tuple[str, ...], tuple[int, int]] = field(default_factory=dict)
    _digest: Any = field(default_factory=hashlib.sha256)

    def digest(self) -> str:
        """A fingerprint of everything added so far (part of a slot's memo key)."""
        return self._digest.hexdigest()

    def add(self, label: str, text: str) -> None:
        """Record the text emitted for one slot."""
        self._digest.update(hashlib.sha256(text.encode("utf-8", "surrogatepass")).digest())
        if text.count("\n") + 1 >= RUN_LINES:
            self._pending.append((label, text))

    def _build(self) -> None:
        for label, text in self._pending:
            lines = text.split("\n")
            source = len(self._sources)
            self._sources.append(_Source(label, lines))
            # Visible characters before each line, so a window's are one subtraction.
            chars = list(accumulate((len(line.strip()) for line in lines), initial=0))
            for start in range(0, len(lines) - RUN_LINES + 1, STRIDE):
                if chars[start + RUN_LINES] - chars[start] < MIN_RUN_CHARS:
                    continue
                window = tuple(lines[start : start + RUN_LINES])
                if window not in self._index:
                    self._index[window] = (source, start)
        self._pending.clear()

    def replace_repeats(self, text: str) -> str:
        """`text` with each repeated run of lines replaced by a marker (or `text` itself)."""
        if self._pending:
            self._build()
        if not self._index:
            return text
        lines = text.split("\n")
        if len(lines) < RUN_LINES:
            return text
        out: list[str] = []
        raw_tail = 0  # how many of the last entries of `out` are lines[i - raw_tail : i] as they were
        i = 0
        changed = False
        while i < len(lines):
            hit = self._index.get(tuple(lines[i : i + RUN_LINES])) if i + RUN_LINES <= len(lines) else None
            if hit is None:
                out.append(lines[i])
                raw_tail += 1
                i += 1
                continue
            source_no, start = hit
            source = self._sources[source_no]
            # Grow the match backwards over lines still written out as they were, then forwards.
            back = 0
            while (
                back < min(STRIDE - 1, raw_tail, start)
                and lines[i - back - 1] == source.lines[start - back - 1]
            ):
                back += 1
            del out[len(out) - back :]
            first, begin = start - back, i - back
            length = RUN_LINES + back
            while (
                begin + length < len(lines)
                and first + length < len(source.lines)
                and lines[begin + length] == source.lines[first + length]
            ):
                length += 1
            where = f"same as {marker.span(first + 1, first + length)} of {source.label}"
            out.append(marker.omitted(length, "lines", where))
            raw_tail = 0
            i = begin + length
            changed = True
        return "\n".join(out) if changed else text


_NOUNS = {
    "tool_result": "tool result",
    "user_text": "user text",
    "system": "system text",
    "document": "document",
}


def source_label(slot: Slot) -> str:
    """How a marker names a slot: "the tool result in messages[7] for call_abc" (its place in the body)."""
    noun = _NOUNS.get(slot.kind, "text")
    path = slot.path
    where = f"{path[0]}[{path[1]}]" if len(path) >= 2 and isinstance(path[1], int) else str(path[0])
    call = f" for {slot.call_id}" if slot.call_id else ""
    return f"the {noun} in {where}{call}"
