"""Usage read from recorded-looking responses of every API family, however the bytes are cut."""

from __future__ import annotations

import gzip
import zlib
from pathlib import Path

import brotli
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from mitmproxy.net import encoding

from wiretrim.usage import Usage, UsageReader, read_body

FIXTURES = Path(__file__).parent / "fixtures"
SSE, JSON, NDJSON = "text/event-stream; charset=utf-8", "application/json", "application/x-ndjson"

CASES = [
    # fixture, shape, content type, usage (input includes cached; output includes thinking)
    ("openai-chat.stream.sse", "openai-chat", SSE, Usage(5321, 42, 4992, None, "gpt-4.1-2025-04-14")),
    ("openai-chat.json", "openai-chat", JSON, Usage(1830, 7, 1664, None, "gpt-4o-mini-2024-07-18")),
    ("deepseek-chat.json", "openai-chat", JSON, Usage(2210, 3, 2176, None, "deepseek-chat")),
    ("openai-responses.stream.sse", "openai-responses", SSE,
     Usage(24180, 311, 23936, None, "gpt-5.4-2026-03-05")),
    ("openai-responses.json", "openai-responses", JSON, Usage(812, 2, 0, None, "gpt-5.4-mini-2026-03-05")),
    ("anthropic.stream.sse", "anthropic-messages", SSE,
     Usage(12 + 1933 + 40211, 87, 40211, 1933, "claude-sonnet-4-5-20250929")),
    ("anthropic-cumulative.stream.sse", "anthropic-messages", SSE,
     Usage(9, 14, 0, 0, "claude-haiku-4-5-20251001")),
    ("anthropic.json", "anthropic-messages", JSON,
     Usage(320 + 18044, 9, 18044, 0, "claude-opus-4-5-20251101")),
    ("gemini.stream.sse", "gemini", SSE, Usage(30512, 19 + 120, 28660, None, "gemini-2.5-pro")),
    ("gemini.stream.json", "gemini", JSON, Usage(4100, 11, 2048, None, "gemini-2.5-flash")),
    ("gemini.json", "gemini", JSON, Usage(950, 2, None, None, "gemini-2.0-flash")),
    ("cohere.stream.sse", "cohere", SSE, Usage(1204, 3, 1024, None)),
    ("cohere.json", "cohere", JSON, Usage(61, 4, None, None)),
    ("ollama.stream.ndjson", "ollama", NDJSON, Usage(2048, 57, None, None, "qwen3:8b")),
    ("ollama.json", "ollama", JSON, Usage(26, 3, None, None, "llama3.2")),
]


def body(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def read_in_chunks(
    data: bytes, cuts: list[int], shape: str, ctype: str, coding: str | None = None
) -> Usage | None:
    reader = UsageReader(shape, ctype, coding)
    last = 0
    for cut in sorted(set(cuts)):
        reader.feed(data[last:cut])
        last = cut
    reader.feed(data[last:])
    return reader.finish()


@pytest.mark.parametrize(("name", "shape", "ctype", "expected"), CASES, ids=[c[0] for c in CASES])
def test_usage_of_a_whole_body(name: str, shape: str, ctype: str, expected: Usage) -> None:
    assert read_body(body(name), shape, ctype) == expected


@pytest.mark.parametrize(("name", "shape", "ctype", "expected"), CASES, ids=[c[0] for c in CASES])
def test_usage_fed_one_byte_at_a_time(name: str, shape: str, ctype: str, expected: Usage) -> None:
    data = body(name)
    assert read_in_chunks(data, list(range(len(data))), shape, ctype) == expected


@settings(max_examples=40, deadline=None)
@given(case=st.sampled_from(CASES), cuts=st.lists(st.integers(0, 6000), max_size=30))
def test_usage_does_not_depend_on_where_chunks_end(
    case: tuple[str, str, str, Usage], cuts: list[int]
) -> None:
    name, shape, ctype, expected = case
    data = body(name)
    assert read_in_chunks(data, [c % (len(data) + 1) for c in cuts], shape, ctype) == expected


@pytest.mark.parametrize("coding", ["gzip", "deflate", "br", "zstd"])
@pytest.mark.parametrize("name", ["openai-chat.stream.sse", "gemini.stream.json", "anthropic.json"])
def test_content_encoded_bodies_are_decoded_as_they_pass(name: str, coding: str) -> None:
    _, shape, ctype, expected = next(c for c in CASES if c[0] == name)
    data = encoding.encode(body(name), coding)
    assert read_in_chunks(data, list(range(0, len(data), 7)), shape, ctype, coding) == expected


def test_raw_deflate_without_a_zlib_header_is_read_too() -> None:
    raw = zlib.compressobj(wbits=-15)
    data = raw.compress(body("openai-chat.json")) + raw.flush()
    expected = Usage(1830, 7, 1664, None, "gpt-4o-mini-2024-07-18")
    assert read_body(data, "openai-chat", JSON, "deflate") == expected


def test_a_gzip_bomb_is_inflated_in_bounded_pieces() -> None:
    # A 64 MB document in 64 KB on the wire: dropped once past the limit, never held whole.
    doc = b'{"pad": "' + b"x" * (64 << 20) + b'", "usage": {"prompt_tokens": 5}}'
    data = gzip.compress(doc)
    assert len(data) < 100_000
    reader = UsageReader("openai-chat", JSON, "gzip", limit=1 << 20)
    for i in range(0, len(data), 4096):
        reader.feed(data[i : i + 4096])
        assert len(reader._framer._buf) <= (1 << 20) + 64 * 1024  # type: ignore[union-attr]
    assert reader.finish() is None  # too big to look at: no usage


def test_brotli_output_is_bounded_per_piece() -> None:
    from wiretrim.usage import decoding

    pieces = list(decoding.for_coding("br").feed(brotli.compress(b"x" * 1_000_000)))
    assert b"".join(pieces) == b"x" * 1_000_000
    assert max(len(p) for p in pieces) <= 2 * decoding.PIECE  # brotli overshoots its limit a little


@pytest.mark.parametrize(
    ("data", "shape", "ctype", "coding"),
    [
        (b"data: {not json\n\ndata: [DONE]\n\n", "openai-chat", SSE, None),
        (b"\x00\xff garbage", "openai-chat", JSON, "gzip"),  # not gzip at all
        (b'{"usage": {"prompt_tokens": 5}}', "openai-chat", JSON, "compress"),  # a coding nobody reads
        (b'{"usage": {"prompt_tokens": 5}}', "bedrock-converse", JSON, None),  # a shape nobody reads
        (b'{"error": {"message": "overloaded"}}', "anthropic-messages", JSON, None),
        (b"", "gemini", JSON, None),
    ],
)
def test_unreadable_bodies_have_no_usage_and_never_raise(
    data: bytes, shape: str, ctype: str, coding: str | None
) -> None:
    assert read_body(data, shape, ctype, coding) is None


def test_an_oversized_event_is_skipped_and_later_ones_still_count() -> None:
    big = b'data: {"usage": {"prompt_tokens": 1}, "pad": "' + b"x" * 5000 + b'"}\n\n'
    last = b'data: {"choices": [], "usage": {"prompt_tokens": 7, "completion_tokens": 2}}\n\n'
    assert read_body(big + last, "openai-chat", SSE, limit=1000) == Usage(7, 2, None, None)


def test_a_long_stream_is_read_in_bounded_memory() -> None:
    """Ten thousand deltas (8 MB) through the reader: its buffers never hold more than an event."""
    reader = UsageReader("anthropic-messages", SSE)
    start = (FIXTURES / "anthropic.stream.sse").read_bytes().split(b"\n\n")[0] + b"\n\n"
    delta = (b'event: content_block_delta\ndata: {"type":"content_block_delta","index":0,'
             b'"delta":{"type":"text_delta","text":"' + b"y" * 700 + b'"}}\n\n')
    reader.feed(start)
    framer = reader._framer
    for _ in range(10_000):
        reader.feed(delta)
        assert len(framer._lines._buf) == 0 and framer._data == []  # type: ignore[union-attr]
    reader.feed(b'event: message_delta\ndata: {"type":"message_delta","usage":{"output_tokens":9000}}\n\n')
    assert reader.finish() == Usage(12 + 1933 + 40211, 9000, 40211, 1933, "claude-sonnet-4-5-20250929")
