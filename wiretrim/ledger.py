"""The savings ledger: one SQLite row per matched request, written off the event loop.

A row holds what the proxy did and what the provider billed: host, provider, model, mode,
action, token counts, the response's usage, dollars, the latency the rewrite added and the
status code. Never prompt text, headers, the query string or anything secret.

Rows are queued by the proxy and written by one thread in small transactions. A ledger that
cannot be written (a read-only disk, a corrupt file) says so once and drops rows from then
on: it never fails or slows a flow.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import queue
import sqlite3
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

logger = logging.getLogger(__name__)

VERSION = 1
_BATCH = 256  # rows per transaction, at most


@dataclass(frozen=True, slots=True)
class Entry:
    ts: float  # unix time the request reached the proxy
    host: str
    provider: str
    shape: str
    model: str | None
    mode: str  # on | shadow
    action: str  # compressed | unchanged | skipped | failed
    reason: str | None = None  # why skipped or failed
    count_only: bool = False  # a token-count route: nothing is billed
    stream: bool = False  # the response was streamed
    status: int | None = None  # None: no response (the connection failed)
    tokens_before: int | None = None  # prompt text the engine looked at, before and after
    tokens_after: int | None = None
    input_tokens: int | None = None  # the provider's usage (input includes cached tokens)
    output_tokens: int | None = None
    cache_read_tokens: int | None = None
    cache_write_tokens: int | None = None
    cost_usd: float | None = None  # what the usage cost at the price table's prices
    saved_usd: float | None = None  # tokens saved, priced as uncached input
    latency_ms: float = 0.0  # time the rewrite held the request back (0 in shadow mode)
    compress_ms: float = 0.0  # time the rewrite took

    @property
    def tokens_saved(self) -> int | None:
        if self.tokens_before is None or self.tokens_after is None:
            return None
        return self.tokens_before - self.tokens_after


_FIELDS = tuple(f.name for f in dataclasses.fields(Entry))
_SCHEMA = """
CREATE TABLE IF NOT EXISTS requests (
    id INTEGER PRIMARY KEY,
    ts REAL NOT NULL,
    host TEXT NOT NULL,
    provider TEXT NOT NULL,
    shape TEXT NOT NULL,
    model TEXT,
    mode TEXT NOT NULL,
    action TEXT NOT NULL,
    reason TEXT,
    count_only INTEGER NOT NULL,
    stream INTEGER NOT NULL,
    status INTEGER,
    tokens_before INTEGER,
    tokens_after INTEGER,
    input_tokens INTEGER,
    output_tokens INTEGER,
    cache_read_tokens INTEGER,
    cache_write_tokens INTEGER,
    cost_usd REAL,
    saved_usd REAL,
    latency_ms REAL NOT NULL,
    compress_ms REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS requests_ts ON requests(ts);
"""
_INSERT = f"INSERT INTO requests ({', '.join(_FIELDS)}) VALUES ({', '.join('?' * len(_FIELDS))})"


def _row(entry: Entry) -> tuple[object, ...]:
    return tuple(getattr(entry, name) for name in _FIELDS)


def _open(path: Path) -> sqlite3.Connection:
    path.parent.mkdir(parents=True, exist_ok=True)
    db = sqlite3.connect(path, timeout=5, check_same_thread=False)
    # WAL: `wiretrim stats` reads while the proxy writes.
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=NORMAL")
    version = db.execute("PRAGMA user_version").fetchone()[0]
    if version not in (0, VERSION):
        db.close()
        raise sqlite3.DatabaseError(f"ledger schema version {version}, this wiretrim writes {VERSION}")
    db.executescript(_SCHEMA)
    db.execute(f"PRAGMA user_version = {VERSION}")
    db.commit()
    return db


class Ledger:
    """Appends entries to the SQLite file at `path` from a thread of its own."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self._queue: queue.SimpleQueue[Entry | threading.Event | None] = queue.SimpleQueue()
        self._broken = False
        self._closed = False
        self._thread = threading.Thread(target=self._run, name="wiretrim-ledger", daemon=True)
        self._thread.start()

    @property
    def broken(self) -> bool:
        return self._broken

    def add(self, entry: Entry) -> None:
        """Queue a row; returns at once (a few microseconds) and never raises."""
        if not self._broken and not self._closed:
            self._queue.put(entry)

    def flush(self, timeout: float = 10.0) -> bool:
        """Block until every row queued so far is written (or dropped); False on timeout."""
        if not self._thread.is_alive():
            return True
        done = threading.Event()
        self._queue.put(done)
        return done.wait(timeout)

    def close(self, timeout: float = 10.0) -> None:
        """Write what is queued and stop the thread."""
        if self._closed:
            return
        self._closed = True
        self._queue.put(None)
        self._thread.join(timeout)

    def _run(self) -> None:
        db: sqlite3.Connection | None = None
        try:
            db = _open(self.path)
        except (sqlite3.Error, OSError) as e:
            self._fail(e)
        while True:
            item = self._queue.get()
            batch: list[Entry] = []
            waiters: list[threading.Event] = []
            stop = False
            while True:
                if item is None:
                    stop = True
                elif isinstance(item, threading.Event):
                    waiters.append(item)
                else:
                    batch.append(item)
                if stop or len(batch) >= _BATCH:
                    break
                try:
                    item = self._queue.get_nowait()
                except queue.Empty:
                    break
            if batch and db is not None and not self._broken:
                try:
                    with db:
                        db.executemany(_INSERT, [_row(e) for e in batch])
                except (sqlite3.Error, OSError) as e:
                    self._fail(e)
            for waiter in waiters:
                waiter.set()
            if stop:
                break
        if db is not None:
            db.close()

    def _fail(self, error: BaseException) -> None:
        if not self._broken:
            self._broken = True
            logger.warning("wiretrim: the ledger %s cannot be written (%s); no more rows are recorded",
                           self.path, error)


def read(path: str | os.PathLike[str], since: float | None = None) -> Iterator[Entry]:
    """The entries of the ledger at `path` (from `since`, a unix time), oldest first.

    Raises FileNotFoundError when there is no ledger, sqlite3.Error when it is not one.
    """
    file = Path(path)
    if not file.is_file():
        raise FileNotFoundError(str(file))
    db = sqlite3.connect(f"{file.resolve().as_uri()}?mode=ro", uri=True)
    try:
        sql = f"SELECT {', '.join(_FIELDS)} FROM requests"
        args: tuple[float, ...] = ()
        if since is not None:
            sql += " WHERE ts >= ?"
            args = (since,)
        for values in db.execute(sql + " ORDER BY ts, id", args):
            row = dict(zip(_FIELDS, values, strict=True))
            row["count_only"] = bool(row["count_only"])
            row["stream"] = bool(row["stream"])
            yield Entry(**row)
    finally:
        db.close()


__all__ = ["Entry", "Ledger", "read"]
