"""First-emission memo: once a slot has been forwarded, later requests forward the same text.

Keys are a hash of the slot's kind, its context and its original text; values are the text
that was forwarded ("" stands for "the original, unchanged"). Config and compressor
version are deliberately not in the key, so an upgrade never rewrites history that a
provider has already cached. Bounded in memory; optionally persisted in SQLite.
"""

from __future__ import annotations

import hashlib
import sqlite3
import threading
import time
from collections import OrderedDict
from pathlib import Path
from typing import Protocol

ORIGINAL = ""  # stored value meaning "forwarded unchanged"


def key(kind: str, context: str, text: str | bytes) -> bytes:
    """The memo key; `text` may also be given as its UTF-8 bytes (the same key, no second encoding)."""
    h = hashlib.sha256()
    for part in (kind, context):
        h.update(part.encode("utf-8", "surrogatepass"))
        h.update(b"\x00")
    h.update(text if isinstance(text, bytes) else text.encode("utf-8", "surrogatepass"))
    return h.digest()


class Memo(Protocol):
    def get(self, key: bytes) -> str | None: ...

    def put(self, key: bytes, emitted: str) -> None: ...


class MemoryMemo:
    """LRU bounded by entries and by the bytes of the stored texts."""

    def __init__(self, max_entries: int = 200_000, max_bytes: int = 256 * 1024 * 1024) -> None:
        self._data: OrderedDict[bytes, str] = OrderedDict()
        self._bytes = 0
        self._max_entries = max_entries
        self._max_bytes = max_bytes
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._data)

    def get(self, key: bytes) -> str | None:
        with self._lock:
            value = self._data.get(key)
            if value is not None:
                self._data.move_to_end(key)
            return value

    def put(self, key: bytes, emitted: str) -> None:
        with self._lock:
            old = self._data.pop(key, None)
            if old is not None:
                self._bytes -= len(old)
            self._data[key] = emitted
            self._bytes += len(emitted)
            while self._data and (len(self._data) > self._max_entries or self._bytes > self._max_bytes):
                _, dropped = self._data.popitem(last=False)
                self._bytes -= len(dropped)


class SqliteMemo:
    """A MemoryMemo in front of a SQLite file, so first emissions survive restarts.

    Rows older than `ttl_s` are ignored and pruned; the provider caches this protects live
    at most a day, so the default keeps a week.
    """

    def __init__(self, path: str | Path, ttl_s: int = 7 * 86400, front: MemoryMemo | None = None) -> None:
        self._front = front or MemoryMemo()
        self._ttl_s = ttl_s
        self._lock = threading.Lock()
        self._db = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.execute(
            "CREATE TABLE IF NOT EXISTS memo"
            " (key BLOB PRIMARY KEY, emitted TEXT NOT NULL, stored REAL NOT NULL)"
        )
        self._db.execute("DELETE FROM memo WHERE stored < ?", (time.time() - ttl_s,))

    def get(self, key: bytes) -> str | None:
        value = self._front.get(key)
        if value is not None:
            return value
        with self._lock:
            row = self._db.execute(
                "SELECT emitted FROM memo WHERE key = ? AND stored >= ?", (key, time.time() - self._ttl_s)
            ).fetchone()
        if row is None:
            return None
        self._front.put(key, row[0])
        return str(row[0])

    def put(self, key: bytes, emitted: str) -> None:
        self._front.put(key, emitted)
        with self._lock:
            self._db.execute(
                "INSERT OR REPLACE INTO memo (key, emitted, stored) VALUES (?, ?, ?)",
                (key, emitted, time.time()),
            )

    def close(self) -> None:
        with self._lock:
            self._db.close()
