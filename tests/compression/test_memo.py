import threading

import pytest

from wiretrim.compression import memo
from wiretrim.compression.memo import ORIGINAL, MemoryMemo, SqliteMemo


def test_key_separates_kind_context_and_text():
    keys = {
        memo.key("tool_result", "", "abc"),
        memo.key("user_text", "", "abc"),
        memo.key("tool_result", "terms", "abc"),
        memo.key("tool_result", "", "abd"),
        memo.key("tool_result", "", "abc "),
    }
    assert len(keys) == 5
    assert memo.key("tool_result", "ctx", "abc") == memo.key("tool_result", "ctx", "abc")
    assert len(memo.key("k", "c", "t")) == 32


def test_key_accepts_lone_surrogates():
    assert memo.key("tool_result", "", "\ud800") != memo.key("tool_result", "", "\udc00")


def test_memory_memo_get_put():
    m = MemoryMemo()
    assert m.get(b"k") is None
    m.put(b"k", "emitted")
    m.put(b"o", ORIGINAL)
    assert (m.get(b"k"), m.get(b"o"), len(m)) == ("emitted", ORIGINAL, 2)


def test_memory_memo_evicts_least_recently_used_by_entries():
    m = MemoryMemo(max_entries=2)
    m.put(b"a", "1")
    m.put(b"b", "2")
    assert m.get(b"a") == "1"  # a is now the most recent
    m.put(b"c", "3")
    assert (m.get(b"a"), m.get(b"b"), m.get(b"c")) == ("1", None, "3")


def test_memory_memo_evicts_by_bytes():
    m = MemoryMemo(max_bytes=10)
    m.put(b"a", "x" * 6)
    m.put(b"b", "y" * 6)
    assert (m.get(b"a"), m.get(b"b"), len(m)) == (None, "y" * 6, 1)
    m.put(b"b", "z")  # replacing an entry releases its bytes
    m.put(b"c", "w" * 9)
    assert (m.get(b"b"), m.get(b"c")) == ("z", "w" * 9)


def test_memory_memo_is_thread_safe():
    m = MemoryMemo(max_entries=500)

    def work(n: int) -> None:
        for i in range(2000):
            m.put(f"{n}-{i}".encode(), "v" * (i % 7))
            m.get(f"{n}-{i // 2}".encode())

    threads = [threading.Thread(target=work, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(m) == 500


def test_sqlite_memo_persists(tmp_path):
    path = tmp_path / "m.sqlite"
    first = SqliteMemo(path)
    first.put(b"k", "emitted")
    first.put(b"o", ORIGINAL)
    first.close()
    second = SqliteMemo(path)
    assert (second.get(b"k"), second.get(b"o"), second.get(b"x")) == ("emitted", ORIGINAL, None)
    second.close()


def test_sqlite_memo_keeps_what_was_recorded_last_on_disk_as_in_memory(tmp_path):
    # The engine records a slot once; a later put is a correction (the proxy forwarded the
    # original after all, e.g. in shadow mode), and disk must agree with memory after a restart.
    path = tmp_path / "m.sqlite"
    store = SqliteMemo(path)
    store.put(b"k", "compressed")
    store.put(b"k", "")
    assert store.get(b"k") == ""
    store.close()
    reopened = SqliteMemo(path)
    assert reopened.get(b"k") == ""
    reopened.close()


def test_sqlite_memo_reads_through_when_the_front_forgot(tmp_path):
    store = SqliteMemo(tmp_path / "m.sqlite", front=MemoryMemo(max_entries=1))
    store.put(b"a", "1")
    store.put(b"b", "2")  # evicts a from the in-memory front
    assert store.get(b"a") == "1"
    store.close()


def test_sqlite_memo_expires_old_rows(tmp_path, monkeypatch):
    path = tmp_path / "m.sqlite"
    now = [1_000_000.0]
    monkeypatch.setattr(memo.time, "time", lambda: now[0])
    store = SqliteMemo(path, ttl_s=100)
    store.put(b"k", "v")
    store.close()
    now[0] += 50
    fresh = SqliteMemo(path, ttl_s=100)
    assert fresh.get(b"k") == "v"
    fresh.close()
    now[0] += 100
    stale = SqliteMemo(path, ttl_s=100)  # pruned on open
    assert stale.get(b"k") is None
    stale.close()


@pytest.mark.parametrize("value", ["", "ünïcode ✓", "a\x00b", "x" * 100_000])
def test_sqlite_memo_round_trips_texts(tmp_path, value):
    store = SqliteMemo(tmp_path / "m.sqlite")
    store.put(b"k", value)
    store.close()
    again = SqliteMemo(tmp_path / "m.sqlite")
    assert again.get(b"k") == value
    again.close()
