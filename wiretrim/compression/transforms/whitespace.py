"""Trailing spaces and tabs at line ends: the safe default for text nothing else claims.

Lines are never removed here (blank lines carry line numbers in code and file reads).
"""

from __future__ import annotations

import re
from typing import ClassVar

from wiretrim.compression.transforms._api import TransformParams

_TRAILING = re.compile(r"[ \t]+$", re.MULTILINE)


class Whitespace:
    name: ClassVar[str] = "whitespace"

    def detect(self, text: str) -> float:
        return 0.1 if (" \n" in text or "\t\n" in text or text.endswith((" ", "\t"))) else 0.0

    def apply(self, text: str, params: TransformParams) -> str:
        if not self.detect(text):
            return text
        out = _TRAILING.sub("", text)
        return out if out.strip() else text


WHITESPACE = Whitespace()
