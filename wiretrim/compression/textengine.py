"""Route one text to the transform that knows its content, or split it and route the parts.

Whole-text detection first; when no transform is confident, the text is split at blank
lines, adjacent blocks of the same content type are grouped, and each group goes to its
transform. Separators are kept byte for byte, so unclaimed parts come back unchanged.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass

from wiretrim.compression.transforms import TRANSFORMS, Transform, TransformParams
from wiretrim.compression.transforms.whitespace import WHITESPACE

logger = logging.getLogger(__name__)

_BLANK_SEPARATOR = re.compile(r"\n[ \t]*\n(?:[ \t]*\n)*")


@dataclass(frozen=True, slots=True)
class TextOutcome:
    text: str
    transforms: tuple[str, ...]


class TextEngine:
    def __init__(
        self,
        transforms: Sequence[Transform] = TRANSFORMS,
        threshold: float = 0.5,
        segment_min_chars: int = 600,
        fallback: Transform | None = WHITESPACE,
    ) -> None:
        self.transforms = tuple(t for t in transforms if t is not fallback)
        self.fallback = fallback
        self.threshold = threshold
        self.segment_min_chars = segment_min_chars

    def compress(self, text: str, params: TransformParams) -> TextOutcome:
        """The best rewrite of `text` the transforms find (possibly `text` itself)."""
        best = self._choose(text)
        if best is not None:
            out = self._apply(best, text, params)
            if out != text:
                return TextOutcome(out, (best.name,))
        return self._by_segments(text, params)

    def _choose(self, text: str) -> Transform | None:
        best: Transform | None = None
        best_score = self.threshold
        for t in self.transforms:
            try:
                score = t.detect(text)
            except Exception:  # a detector bug must not cost the whole slot
                logger.debug("detect failed in %s", t.name, exc_info=True)
                continue
            if score > best_score or (best is None and score >= best_score):
                best, best_score = t, score
        return best

    def _apply(self, transform: Transform, text: str, params: TransformParams) -> str:
        try:
            out = transform.apply(text, params)
        except Exception:
            logger.warning("transform %s failed; text left as it was", transform.name, exc_info=True)
            return text
        if not isinstance(out, str) or (text.strip() and not out.strip()):
            logger.warning("transform %s returned an empty result; text left as it was", transform.name)
            return text
        return out

    def _by_segments(self, text: str, params: TransformParams) -> TextOutcome:
        blocks: list[str] = []
        separators: list[str] = []
        cursor = 0
        for m in _BLANK_SEPARATOR.finditer(text):
            blocks.append(text[cursor : m.start()])
            separators.append(m.group())
            cursor = m.end()
        blocks.append(text[cursor:])
        if len(blocks) == 1:
            return self._fallback(text, params)

        labels = [self._choose(b) if b.strip() else None for b in blocks]
        pieces: list[str] = []
        used: list[str] = []
        i = 0
        while i < len(blocks):
            j = i
            # Group a run of blocks that the same transform claims; blank separators stay inside.
            while j + 1 < len(blocks) and labels[j + 1] is labels[i] and labels[i] is not None:
                j += 1
            group = "".join(blocks[k] + separators[k] for k in range(i, j)) + blocks[j]
            label = labels[i] if labels[i] is not None else self.fallback
            if label is not None and (labels[i] is None or len(group) >= self.segment_min_chars):
                out = self._apply(label, group, params)
                if out != group:
                    used.append(label.name)
                group = out
            pieces.append(group)
            if j < len(separators):
                pieces.append(separators[j])
            i = j + 1
        out_text = "".join(pieces)
        return TextOutcome(out_text, tuple(dict.fromkeys(used)))

    def _fallback(self, text: str, params: TransformParams) -> TextOutcome:
        if self.fallback is None:
            return TextOutcome(text, ())
        out = self._apply(self.fallback, text, params)
        return TextOutcome(out, (self.fallback.name,) if out != text else ())
