"""Route one text to the transform that knows its content, or split it and route the parts.

Terminal escape codes and carriage-return redraws are removed first (a terminal would not
show them). Then whole-text detection: a transform that claims the text decides alone,
even when it leaves it unchanged (that is how code and listings are protected). When no
transform is confident, the text is cut at blank lines into windows of a few KB, each
window is routed on its own, and adjacent windows of the same type are rewritten together.
Separators are kept byte for byte, so unclaimed parts come back unchanged.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass

from wiretrim import tracebacks
from wiretrim.compression.transforms import TRANSFORMS, Transform, TransformParams
from wiretrim.compression.transforms.terminal import redraw
from wiretrim.compression.transforms.whitespace import WHITESPACE

logger = logging.getLogger(__name__)

_BLANK_SEPARATOR = re.compile(r"\n[ \t]*\n(?:[ \t]*\n)*")
_TERMINAL_CODES = ("\x1b", "\r", "\x08")


@dataclass(frozen=True, slots=True)
class TextOutcome:
    text: str
    transforms: tuple[str, ...]


def strip_terminal_codes(text: str) -> str:
    """`text` as a terminal shows it: escapes removed, redraws replayed (CRLF endings kept)."""
    if not any(c in text for c in _TERMINAL_CODES):
        return text
    if "\x1b" not in text and "\x08" not in text and text.count("\r") == text.count("\r\n"):
        return text
    out = "\n".join(redraw(line) for line in text.split("\n"))
    return out if out.strip() else text


class TextEngine:
    def __init__(
        self,
        transforms: Sequence[Transform] = TRANSFORMS,
        threshold: float = 0.5,
        window_chars: int = 2000,
        fallback: Transform | None = WHITESPACE,
    ) -> None:
        self.transforms = tuple(t for t in transforms if t is not fallback)
        self.threshold = threshold
        self.window_chars = window_chars
        self.fallback = fallback

    def compress(self, text: str, params: TransformParams) -> TextOutcome:
        """The best rewrite of `text` the transforms find (possibly `text` itself)."""
        clean = strip_terminal_codes(text)
        used: tuple[str, ...] = ("terminal",) if clean != text else ()
        best = self._choose(clean)
        if best is not None:
            out = self._apply(best, clean, params)
            return TextOutcome(out, used + ((best.name,) if out != clean else ()))
        segmented = self._by_windows(clean, params)
        return TextOutcome(segmented.text, used + segmented.transforms)

    def _choose(self, text: str) -> Transform | None:
        best: Transform | None = None
        best_score = self.threshold
        for t in self.transforms:
            if best is not None and getattr(t, "max_score", 1.0) <= best_score:
                continue  # it cannot win: a tie goes to the earlier transform
            try:
                score = t.detect(text)
            except Exception as e:  # a detector bug must not cost the whole slot
                # Never exc_info: the message may quote the text (tracebacks.py).
                logger.debug("detect failed in %s: %s", t.name, tracebacks.scrubbed(e))
                continue
            if score > best_score or (best is None and score >= best_score):
                best, best_score = t, score
        return best

    def _apply(self, transform: Transform, text: str, params: TransformParams) -> str:
        try:
            out = transform.apply(text, params)
        except Exception as e:
            logger.warning(
                "transform %s failed; text left as it was: %s", transform.name, tracebacks.scrubbed(e)
            )
            return text
        if not isinstance(out, str) or (text.strip() and not out.strip()):
            logger.warning("transform %s returned an empty result; text left as it was", transform.name)
            return text
        return out

    def _windows(self, text: str) -> tuple[list[str], list[str]]:
        """Blank-line-separated windows of at least `window_chars`, and the separators between them."""
        windows: list[str] = []
        separators: list[str] = []
        start = 0
        for m in _BLANK_SEPARATOR.finditer(text):
            if m.start() - start >= self.window_chars:
                windows.append(text[start : m.start()])
                separators.append(m.group())
                start = m.end()
        windows.append(text[start:])
        return windows, separators

    def _by_windows(self, text: str, params: TransformParams) -> TextOutcome:
        windows, separators = self._windows(text)
        if len(windows) == 1:
            return self._fallback(text, params)
        labels = [self._choose(w) for w in windows]
        pieces: list[str] = []
        used: list[str] = []
        i = 0
        while i < len(windows):
            j = i
            # A run of windows that the same transform claims is rewritten as one text.
            while j + 1 < len(windows) and labels[i] is not None and labels[j + 1] is labels[i]:
                j += 1
            group = "".join(windows[k] + separators[k] for k in range(i, j)) + windows[j]
            label = labels[i] if labels[i] is not None else self.fallback
            if label is not None:
                out = self._apply(label, group, params)
                if out != group:
                    used.append(label.name)
                group = out
            pieces.append(group)
            if j < len(separators):
                pieces.append(separators[j])
            i = j + 1
        return TextOutcome("".join(pieces), tuple(dict.fromkeys(used)))

    def _fallback(self, text: str, params: TransformParams) -> TextOutcome:
        if self.fallback is None:
            return TextOutcome(text, ())
        out = self._apply(self.fallback, text, params)
        return TextOutcome(out, (self.fallback.name,) if out != text else ())
