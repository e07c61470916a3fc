"""The compression engine a configuration describes, for the proxy's worker and the commands."""

from __future__ import annotations

from typing import Literal

from wiretrim.compression import Engine
from wiretrim.compression.memo import Memo, MemoryMemo, SqliteMemo
from wiretrim.compression.tokens import TiktokenCounter
from wiretrim.config import Settings

MemoChoice = Literal["configured", "memory", "none"]


def build_engine(settings: Settings, memo: MemoChoice = "configured") -> Engine:
    """An engine with tiktoken counts and a memo: the configured one (in memory, or SQLite when
    `memo.path` is set), a new empty one in memory (offline runs that must not carry decisions
    over between runs), or none."""
    m = settings.memo
    store: Memo | None = None
    if memo != "none":
        store = MemoryMemo(m.max_entries, int(m.max_mb * 1024 * 1024))
        if memo == "configured" and m.path is not None:
            store = SqliteMemo(m.path, m.ttl_hours * 3600, store)
    return Engine(settings.engine_settings(), TiktokenCounter(settings.compression.encoding), store)
