"""The engines the bench builds: the proxy's engine settings, with or without an in-memory memo."""

from __future__ import annotations

from wiretrim.compression import Engine
from wiretrim.compression.memo import MemoryMemo
from wiretrim.compression.tokens import TiktokenCounter
from wiretrim.config import Settings


def fresh(settings: Settings, *, memo: bool) -> Engine:
    """A new engine with its own token-count cache; its memo (if any) is in memory and empty.

    Always in memory: a SQLite memo from the config would carry decisions over between runs.
    """
    m = settings.memo
    store = MemoryMemo(m.max_entries, int(m.max_mb * 1024 * 1024)) if memo else None
    return Engine(settings.engine_settings(), TiktokenCounter(settings.compression.encoding), store)
