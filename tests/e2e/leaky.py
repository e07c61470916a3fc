"""Test-only engines whose failures quote the request, to prove no log repeats them (issue 8).

Module-level factories: the process runner sends them to its worker, which imports this module.
"""

from __future__ import annotations

from typing import Any, ClassVar

from tests.addon.fakes import WordCounter
from wiretrim.compression import Engine, RewriteResult
from wiretrim.compression.memo import MemoryMemo
from wiretrim.compression.textengine import TextEngine
from wiretrim.compression.transforms import TransformParams
from wiretrim.config import Settings


class QuotingEngine(Engine):
    """Raises like a parser that quotes what it could not read."""

    def rewrite(self, body: Any, shape: str, *, record: bool = True) -> RewriteResult:
        raise ValueError(f"cannot read {bytes(body)[:4000]!r}")


class QuotingTransform:
    """Claims every text, then fails quoting it (as ``int(line)`` would)."""

    name: ClassVar[str] = "quoting"

    def detect(self, text: str) -> float:
        return 1.0

    def apply(self, text: str, params: TransformParams) -> str:
        raise ValueError(f"invalid literal for int() with base 10: {text[:4000]!r}")


def quoting_engine(settings: Settings) -> Engine:
    return QuotingEngine(settings.engine_settings(), WordCounter(), MemoryMemo())


def quoting_transform_engine(settings: Settings) -> Engine:
    engine = Engine(settings.engine_settings(), WordCounter(), MemoryMemo())
    engine.text_engine = TextEngine((QuotingTransform(),), fallback=None)
    return engine
