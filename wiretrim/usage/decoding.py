"""Undoing a response's Content-Encoding chunk by chunk, in bounded pieces.

The chunks a stream observer sees are the bytes on the wire; a JSON response without a
length (streamed like any other) is often gzip- or brotli-encoded. Output comes in pieces of
at most `PIECE` bytes, so a small chunk that inflates hugely never sits in memory whole.
"""

from __future__ import annotations

import sys
import zlib
from collections.abc import Iterator
from typing import Protocol

import brotli

if sys.version_info >= (3, 14):
    from compression import zstd
else:
    from backports import zstd

PIECE = 64 * 1024


class UnsupportedCodingError(ValueError):
    """A Content-Encoding this module cannot undo (a list of codings, or an unknown one)."""


class Decoder(Protocol):
    def feed(self, data: bytes) -> Iterator[bytes]: ...


class Identity:
    def feed(self, data: bytes) -> Iterator[bytes]:
        if data:
            yield data


class Zlib:
    """gzip and deflate (zlib-wrapped, or raw as some servers send it)."""

    def __init__(self, gzip: bool) -> None:
        self._gzip = gzip
        self._obj = zlib.decompressobj(31 if gzip else 15)
        self._first = True

    def feed(self, data: bytes) -> Iterator[bytes]:
        if self._first and data and not self._gzip and (data[0] & 0x0F) != 8:
            self._obj = zlib.decompressobj(-15)  # "deflate" without the zlib header
        self._first = self._first and not data
        while data and not self._obj.eof:
            out = self._obj.decompress(data, PIECE)
            data = self._obj.unconsumed_tail
            if out:
                yield out


class Brotli:
    def __init__(self) -> None:
        self._obj = brotli.Decompressor()

    def feed(self, data: bytes) -> Iterator[bytes]:
        if not data:
            return
        out = self._obj.process(data, output_buffer_limit=PIECE)
        while out:
            yield out
            if self._obj.is_finished():
                return
            # Output held back by the limit comes with empty input, until there is none.
            out = self._obj.process(b"", output_buffer_limit=PIECE)


class Zstd:
    def __init__(self) -> None:
        self._obj = zstd.ZstdDecompressor()

    def feed(self, data: bytes) -> Iterator[bytes]:
        while not self._obj.eof:
            out = self._obj.decompress(data, max_length=PIECE)
            data = b""
            if out:
                yield out
            if self._obj.needs_input:
                return


def for_coding(coding: str | None) -> Decoder:
    """The decoder for a Content-Encoding header value; raises UnsupportedCodingError."""
    name = (coding or "").strip().lower()
    if name in ("", "identity", "none"):
        return Identity()
    if name in ("gzip", "x-gzip"):
        return Zlib(gzip=True)
    if name == "deflate":
        return Zlib(gzip=False)
    if name == "br":
        return Brotli()
    if name == "zstd":
        return Zstd()
    raise UnsupportedCodingError(name)
