"""The ledger: rows round-trip, writes happen off the caller's thread, a broken file fails open."""

from __future__ import annotations

import logging
import sqlite3
import threading
from pathlib import Path

import pytest

from wiretrim import ledger
from wiretrim.ledger import Entry, Ledger


def entry(ts: float = 1_800_000_000.0, **fields: object) -> Entry:
    base: dict[str, object] = {
        "ts": ts,
        "host": "api.openai.com",
        "provider": "openai",
        "shape": "openai-chat",
        "model": "gpt-4.1",
        "mode": "on",
        "action": "compressed",
    }
    return Entry(**{**base, **fields})  # type: ignore[arg-type]


def test_rows_come_back_as_they_were_written(tmp_path: Path) -> None:
    rows = [
        entry(
            tokens_before=1000,
            tokens_after=400,
            input_tokens=5000,
            output_tokens=20,
            cache_read_tokens=4096,
            cache_write_tokens=0,
            cost_usd=0.0042,
            saved_usd=0.0012,
            latency_ms=3.5,
            compress_ms=3.5,
            status=200,
            stream=True,
        ),
        entry(ts=1_800_000_001.0, action="skipped", reason="signed:sigv4", model=None, count_only=True),
    ]
    book = Ledger(tmp_path / "sub" / "ledger.sqlite")  # the directory is made
    for row in rows:
        book.add(row)
    book.close()
    assert list(ledger.read(tmp_path / "sub" / "ledger.sqlite")) == rows
    assert rows[0].tokens_saved == 600 and rows[1].tokens_saved is None


def test_since_selects_rows_by_time(tmp_path: Path) -> None:
    book = Ledger(tmp_path / "l.sqlite")
    for ts in (100.0, 200.0, 300.0):
        book.add(entry(ts=ts))
    assert book.flush()
    assert [e.ts for e in ledger.read(tmp_path / "l.sqlite", since=200.0)] == [200.0, 300.0]
    book.close()


def test_rows_are_written_by_the_ledgers_own_thread(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    writers: set[str] = set()
    real = sqlite3.Connection.executemany

    class Spy(sqlite3.Connection):
        def executemany(self, *args: object) -> sqlite3.Cursor:  # type: ignore[override]
            writers.add(threading.current_thread().name)
            return real(self, *args)  # type: ignore[arg-type]

    original_connect = sqlite3.connect
    monkeypatch.setattr(ledger.sqlite3, "connect", lambda *a, **k: original_connect(*a, factory=Spy, **k))
    book = Ledger(tmp_path / "l.sqlite")
    book.add(entry())
    book.close()
    assert writers == {"wiretrim-ledger"}


def test_a_ledger_that_cannot_be_opened_logs_once_and_drops_rows(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING)
    (tmp_path / "file").write_text("not a directory")
    book = Ledger(tmp_path / "file" / "ledger.sqlite")
    for _ in range(5):
        book.add(entry())  # never raises
    assert book.flush()
    book.close()
    assert book.broken
    (record,) = caplog.records
    assert "cannot be written" in record.getMessage() and "no more rows" in record.getMessage()


def test_a_file_that_is_not_a_ledger_is_refused_on_read_and_on_write(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    other = tmp_path / "other.sqlite"
    db = sqlite3.connect(other)
    db.execute("PRAGMA user_version = 7")
    db.close()
    book = Ledger(other)
    book.add(entry())
    book.close()
    assert book.broken and "schema version 7" in caplog.text
    with pytest.raises(sqlite3.Error):
        list(ledger.read(other))


def test_reading_a_missing_ledger_says_so(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        list(ledger.read(tmp_path / "none.sqlite"))


def test_the_stored_columns_hold_no_prompt_or_header_fields(tmp_path: Path) -> None:
    book = Ledger(tmp_path / "l.sqlite")
    book.close()
    db = sqlite3.connect(tmp_path / "l.sqlite")
    columns = {row[1] for row in db.execute("PRAGMA table_info(requests)")}
    db.close()
    assert columns.isdisjoint({"path", "headers", "body", "prompt", "query", "authorization", "url"})
    assert {"host", "model", "tokens_before", "cost_usd", "latency_ms", "status"} <= columns
