"""The only place that reads or writes a request body.

Reading decodes the one content coding mitmproxy can also re-encode (gzip, deflate, br,
zstd), with the decoded size capped (a small gzip bomb must not become gigabytes in the
proxy). Writing assigns ``request.content`` once: mitmproxy re-encodes it with the same
coding and fixes Content-Length. ``raw_content`` is never assigned: it would leave a stale
Content-Length and desynchronise the upstream connection.
"""

from __future__ import annotations

import asyncio
import zlib

import brotli
from mitmproxy import http
from mitmproxy.net import encoding

try:
    from compression import zstd  # type: ignore[import-not-found]  # Python 3.14+
except ImportError:
    from backports import zstd  # what mitmproxy itself uses before 3.14

CODINGS = ("gzip", "deflate", "br", "zstd")


class NotRewritableError(Exception):
    """The body is not something to rewrite; `reason` is the log token."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def content_coding(request: http.Request) -> str | None:
    """The request's one content coding, None for identity.

    NotRewritableError("content_encoding") when it is unknown or stacked (``gzip, br``).
    """
    values = request.headers.get_all("content-encoding")
    if not values:
        return None
    if len(values) > 1 or "," in values[0]:
        raise NotRewritableError("content_encoding")
    coding = values[0].strip().lower()
    if coding in ("", "identity"):
        return None
    if coding not in CODINGS:
        raise NotRewritableError("content_encoding")
    return coding


def decode(raw: bytes, coding: str, limit: int) -> bytes:
    """`raw` decoded. NotRewritableError: too_large past `limit` bytes, content_encoding if broken."""
    try:
        out = _DECODERS[coding](raw, limit)
    except (zlib.error, brotli.error, zstd.ZstdError, EOFError):
        raise NotRewritableError("content_encoding") from None
    if len(out) > limit:
        raise NotRewritableError("too_large")
    return out


def _members(raw: bytes, limit: int, wbits: int) -> bytes:
    """Concatenated gzip members / zlib streams, as a server would read them."""
    parts: list[bytes] = []
    size = 0
    rest = raw
    while rest:
        d = zlib.decompressobj(wbits)
        chunk = d.decompress(rest, limit + 1 - size)
        size += len(chunk)
        parts.append(chunk)
        if size > limit:
            return b"".join(parts)
        if not d.eof:
            raise zlib.error("truncated stream")
        rest = d.unused_data
    return b"".join(parts)


def _gzip(raw: bytes, limit: int) -> bytes:
    return _members(raw, limit, 47)  # 32 + 15: gzip or zlib header, detected


def _deflate(raw: bytes, limit: int) -> bytes:
    # Like mitmproxy: a zlib stream, or failing that a raw deflate stream.
    try:
        return _members(raw, limit, 15)
    except zlib.error:
        return _members(raw, limit, -15)


def _brotli(raw: bytes, limit: int) -> bytes:
    d = brotli.Decompressor()
    out = d.process(raw, output_buffer_limit=limit + 1)
    if len(out) <= limit and not d.is_finished():
        raise brotli.error("truncated stream")
    return out


def _zstd(raw: bytes, limit: int) -> bytes:
    parts: list[bytes] = []
    size = 0
    rest = raw
    while rest:
        d = zstd.ZstdDecompressor()
        chunk = d.decompress(rest, max_length=limit + 1 - size)
        size += len(chunk)
        parts.append(chunk)
        if size > limit:
            break
        if not d.eof:
            raise EOFError("truncated frame")
        rest = d.unused_data
    return b"".join(parts)


_DECODERS = {"gzip": _gzip, "deflate": _deflate, "br": _brotli, "zstd": _zstd}


def take(request: http.Request, limit: int) -> tuple[bytes, str | None]:
    """The raw body and its content coding (None for identity), before any decoding.

    Raises NotRewritableError: streamed_body (mitmproxy streamed it on), too_large, content_encoding.
    """
    raw = request.raw_content
    if raw is None:
        raise NotRewritableError("streamed_body")
    if len(raw) > limit:
        raise NotRewritableError("too_large")
    return raw, content_coding(request)


async def decoded(raw: bytes, coding: str | None, limit: int) -> bytes:
    """The body `take` returned, decoded off the event loop. Raises NotRewritableError."""
    if coding is None:
        return raw
    return await asyncio.to_thread(decode, raw, coding, limit)


async def commit(request: http.Request, body: bytes, coding: str | None) -> None:
    """Forward `body` (decoded) instead of the original, re-encoded with the request's coding."""
    if coding is not None:
        # Encode once in a thread first: mitmproxy's encoder keeps the last result, so the
        # assignment below finds it instead of compressing megabytes on the event loop.
        await asyncio.to_thread(encoding.encode, body, request.headers["content-encoding"])
    # Assign once, after the body is complete: mitmproxy forwards partial edits if we raise.
    request.content = body
