"""Test engines and a fast token counter.

Engine factories here are module-level (or partials of module-level functions) because the
process runner pickles them into its worker process.
"""

from __future__ import annotations

import re
import time
from typing import Any

from wiretrim.compression import Engine, RewriteResult
from wiretrim.compression.memo import MemoryMemo
from wiretrim.config import Settings

_TOKEN = re.compile(r"\w+|[^\w\s]|\s+")


class WordCounter:
    """Counts words, punctuation and whitespace runs: cheap, and whitespace changes count."""

    name = "words"

    def count(self, text: str) -> int:
        return len(_TOKEN.findall(text))


def light_engine(settings: Settings) -> Engine:
    """The real engine without tiktoken."""
    return Engine(settings.engine_settings(), WordCounter(), MemoryMemo())


class RaisingEngine(Engine):
    def rewrite(self, body: Any, shape: str, *, record: bool = True) -> RewriteResult:
        raise RuntimeError("SECRET-PROMPT-TEXT in an exception message")


def raising_engine(settings: Settings) -> Engine:
    return RaisingEngine(settings.engine_settings(), WordCounter(), MemoryMemo())


class SleepyEngine(Engine):
    """Sleeps (releasing the GIL) before the real rewrite: a slow engine that blocks nothing."""

    delay_s = 0.0

    def rewrite(self, body: Any, shape: str, *, record: bool = True) -> RewriteResult:
        time.sleep(self.delay_s)
        return super().rewrite(body, shape, record=record)


def sleepy_engine(settings: Settings, delay_s: float = 1.0) -> Engine:
    engine = SleepyEngine(settings.engine_settings(), WordCounter(), MemoryMemo())
    engine.delay_s = delay_s
    return engine


class BurningEngine(Engine):
    """Spins in pure Python (holding the GIL) before the real rewrite, like a slow transform."""

    burn_s = 0.0

    def rewrite(self, body: Any, shape: str, *, record: bool = True) -> RewriteResult:
        end = time.perf_counter() + self.burn_s
        n = 0
        while time.perf_counter() < end:
            n += 1
        return super().rewrite(body, shape, record=record)


def burning_engine(settings: Settings, burn_s: float = 0.5) -> Engine:
    engine = BurningEngine(settings.engine_settings(), WordCounter(), MemoryMemo())
    engine.burn_s = burn_s
    return engine


def failing_factory(settings: Settings) -> Engine:
    raise RuntimeError("cannot build an engine")
