from __future__ import annotations

import gzip
import zlib

import brotli
import pytest
from mitmproxy.net import encoding

from tests.addon.conftest import api_flow
from wiretrim.addon import flowio
from wiretrim.addon.flowio import NotRewritableError

try:
    from compression import zstd  # type: ignore[import-not-found]
except ImportError:
    from backports import zstd

BODY = b'{"model":"m","messages":[{"role":"user","content":"' + b"hello world " * 200 + b'"}]}'
MB = 1024 * 1024


@pytest.mark.parametrize("coding", ["gzip", "deflate", "br", "zstd"])
def test_decodes_what_mitmproxy_encodes(coding: str) -> None:
    assert flowio.decode(encoding.encode(BODY, coding), coding, MB) == BODY


def test_deflate_without_zlib_header_is_read_like_mitmproxy_does() -> None:
    raw = zlib.compressobj(wbits=-15)
    data = raw.compress(BODY) + raw.flush()
    assert flowio.decode(data, "deflate", MB) == BODY


def test_every_gzip_member_and_zstd_frame_is_read() -> None:
    assert flowio.decode(gzip.compress(b"ab") + gzip.compress(b"cd"), "gzip", MB) == b"abcd"
    assert flowio.decode(zstd.compress(b"ab") + zstd.compress(b"cd"), "zstd", MB) == b"abcd"


@pytest.mark.parametrize("coding", ["gzip", "br", "zstd"])
def test_a_compression_bomb_stops_at_the_cap(coding: str) -> None:
    bomb = encoding.encode(b"\0" * (64 * MB), coding)
    assert len(bomb) < MB // 2  # ratio >= 128
    with pytest.raises(NotRewritableError) as e:
        flowio.decode(bomb, coding, MB)
    assert e.value.reason == "too_large"


@pytest.mark.parametrize("coding", ["gzip", "deflate", "br", "zstd"])
def test_broken_or_truncated_streams_are_not_rewritten(coding: str) -> None:
    data = encoding.encode(BODY, coding)
    for broken in (data[: len(data) // 2], b"not compressed at all"):
        with pytest.raises(NotRewritableError) as e:
            flowio.decode(broken, coding, MB)
        assert e.value.reason == "content_encoding"


def test_gzip_with_trailing_garbage_is_not_rewritten() -> None:
    with pytest.raises(NotRewritableError):
        flowio.decode(gzip.compress(BODY) + b"junk", "gzip", MB)


@pytest.mark.parametrize(
    ("header", "expected"),
    [(None, None), ("identity", None), ("GZIP", "gzip"), (" br ", "br"), ("zstd", "zstd"),
     ("deflate", "deflate")],
)
def test_content_coding(header: str | None, expected: str | None) -> None:
    f = api_flow("https://api.openai.com/v1/chat/completions", BODY,
                 {"content-encoding": header} if header is not None else None)
    assert flowio.content_coding(f.request) == expected


@pytest.mark.parametrize("header", ["gzip, br", "compress", "x-gzip", "aes128gcm"])
def test_unknown_or_stacked_codings_are_refused(header: str) -> None:
    f = api_flow("https://api.openai.com/v1/chat/completions", BODY, {"content-encoding": header})
    with pytest.raises(NotRewritableError) as e:
        flowio.content_coding(f.request)
    assert e.value.reason == "content_encoding"


def test_two_content_encoding_headers_are_stacked() -> None:
    f = api_flow("https://api.openai.com/v1/chat/completions", BODY)
    f.request.headers.add("content-encoding", "gzip")
    f.request.headers.add("content-encoding", "gzip")
    with pytest.raises(NotRewritableError):
        flowio.content_coding(f.request)


def test_take_refuses_streamed_and_oversized_bodies() -> None:
    f = api_flow("https://api.openai.com/v1/chat/completions", BODY)
    assert flowio.take(f.request, MB) == (BODY, None)
    with pytest.raises(NotRewritableError, match="too_large"):
        flowio.take(f.request, len(BODY) - 1)
    f.request.raw_content = None  # what mitmproxy leaves when it streamed the body on
    with pytest.raises(NotRewritableError, match="streamed_body"):
        flowio.take(f.request, MB)


@pytest.mark.parametrize("coding", ["gzip", "deflate", "br", "zstd"])
async def test_commit_re_encodes_with_the_same_coding_and_fixes_the_length(coding: str) -> None:
    f = api_flow("https://api.openai.com/v1/chat/completions", encoding.encode(BODY, coding),
                 {"content-encoding": coding})
    new = BODY.replace(b"hello world ", b"hi ")
    await flowio.commit(f.request, new, coding)
    assert f.request.headers["content-encoding"] == coding
    assert f.request.headers["content-length"] == str(len(f.request.raw_content or b""))
    assert flowio.decode(f.request.raw_content or b"", coding, MB) == new


async def test_commit_keeps_chunked_requests_chunked() -> None:
    f = api_flow("https://api.openai.com/v1/chat/completions", BODY, {"transfer-encoding": "chunked"})
    del f.request.headers["content-length"]
    await flowio.commit(f.request, b"{}", None)
    assert f.request.raw_content == b"{}"
    assert "content-length" not in f.request.headers
    assert f.request.headers["transfer-encoding"] == "chunked"


def test_brotli_output_limit_is_respected() -> None:
    data = brotli.compress(b"x" * (4 * MB))
    with pytest.raises(NotRewritableError, match="too_large"):
        flowio.decode(data, "br", MB)
