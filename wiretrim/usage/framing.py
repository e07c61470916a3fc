"""Cutting a response body, fed in arbitrary chunks, into the JSON documents it is made of.

Three framings cover the LLM APIs: Server-Sent Events (the data of each event), JSON lines
(Ollama), and plain JSON, which is one document or, for Gemini's ``streamGenerateContent``
without ``alt=sse``, an array whose elements arrive one by one. Memory stays bounded: a framer
holds at most one unfinished event, line or element (and drops one bigger than `limit`), never
the stream. Only documents that `marker` matches are handed back, so the JSON
parser runs on a few events of a stream, not on every token delta.
"""

from __future__ import annotations

import codecs
import json
import re
from collections.abc import Iterator
from typing import Any, Protocol

DEFAULT_LIMIT = 8 * 1024 * 1024  # bytes of one event, line or document; larger ones are skipped


class Framer(Protocol):
    def feed(self, data: bytes) -> Iterator[Any]: ...  # parsed documents completed by `data`

    def close(self) -> Iterator[Any]: ...  # documents completed by the end of the body


def _parse(raw: bytes | str) -> Any:
    try:
        return json.loads(raw)
    except ValueError:  # a keep-alive comment, "[DONE]", or a provider's non-JSON line
        return None


class _Lines:
    """Complete lines out of chunks, without their line ends; a line over `limit` is dropped."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._buf = bytearray()
        self._skipping = False  # inside a line that was too long

    def feed(self, data: bytes) -> Iterator[bytes]:
        start = 0
        while (end := data.find(b"\n", start)) != -1:
            piece = data[start:end]
            start = end + 1
            if self._skipping:
                self._skipping = False
                self._buf.clear()
                continue
            if self._buf:
                self._buf += piece
                line = bytes(self._buf)
                self._buf.clear()
            else:
                line = piece
            yield line[:-1] if line.endswith(b"\r") else line
        rest = data[start:]
        if rest and not self._skipping:
            if len(self._buf) + len(rest) > self.limit:
                self._skipping = True
                self._buf.clear()
            else:
                self._buf += rest

    def close(self) -> Iterator[bytes]:
        if self._buf and not self._skipping:
            line = bytes(self._buf)
            yield line[:-1] if line.endswith(b"\r") else line
        self._buf.clear()


class _LineFramer:
    """A framer of line-based streams: each complete line goes to `_line`, then `_end` at the end."""

    def __init__(self, marker: re.Pattern[bytes], limit: int = DEFAULT_LIMIT) -> None:
        self.marker = marker
        self.limit = limit
        self._lines = _Lines(limit)

    def feed(self, data: bytes) -> Iterator[Any]:
        for line in self._lines.feed(data):
            yield from self._line(line)

    def close(self) -> Iterator[Any]:
        for line in self._lines.close():
            yield from self._line(line)
        yield from self._end()

    def _line(self, line: bytes) -> Iterator[Any]:
        raise NotImplementedError

    def _end(self) -> Iterator[Any]:
        return iter(())


class SSE(_LineFramer):
    """The ``data:`` of each event (lines joined by newlines, as the spec says)."""

    def __init__(self, marker: re.Pattern[bytes], limit: int = DEFAULT_LIMIT) -> None:
        super().__init__(marker, limit)
        self._data: list[bytes] = []
        self._size = 0

    def _end(self) -> Iterator[Any]:
        return self._dispatch()

    def _line(self, line: bytes) -> Iterator[Any]:
        if not line:
            yield from self._dispatch()
        elif line.startswith(b"data:"):
            value = line[6:] if line.startswith(b"data: ") else line[5:]
            self._size += len(value) + 1
            if self._size <= self.limit:
                self._data.append(value)
        # event:, id:, retry: and ": comments" say nothing about usage.

    def _dispatch(self) -> Iterator[Any]:
        data, oversized = self._data, self._size > self.limit
        self._data, self._size = [], 0
        if data and not oversized:
            payload = b"\n".join(data)
            if self.marker.search(payload) and (doc := _parse(payload)) is not None:
                yield doc


class JSONLines(_LineFramer):
    """One JSON document per line (Ollama's streams, ``application/x-ndjson``)."""

    def _line(self, line: bytes) -> Iterator[Any]:
        if self.marker.search(line) and (doc := _parse(line)) is not None:
            yield doc


class JSONBody:
    """A JSON document, or the elements of a top-level array as each one completes.

    The elements are found with ``json``'s own C decoder (``raw_decode``), tried again when a
    chunk may have closed one; a single document is parsed once, at the end of the body.
    """

    def __init__(self, marker: re.Pattern[bytes], limit: int = DEFAULT_LIMIT) -> None:
        self.marker = re.compile(marker.pattern.decode())  # this framer works on text
        self.limit = limit
        self._text = codecs.getincrementaldecoder("utf-8")("replace")
        self._buf = ""
        self._array: bool | None = None  # unknown until the first character
        self._done = False  # the array closed, or the document was too big
        self._decoder = json.JSONDecoder()

    def feed(self, data: bytes) -> Iterator[Any]:
        if self._done:
            return
        new = self._text.decode(data)
        self._buf += new
        if self._array is None:
            self._buf = self._buf.lstrip()
            if not self._buf:
                return
            self._array = self._buf.startswith("[")
            if self._array:
                self._buf = self._buf[1:]
        if self._array and ("}" in new or "]" in new):
            yield from self._elements()
        if len(self._buf) > self.limit:
            self._done = True  # an element (or the document) too big to look at: give up on it
            self._buf = ""

    def close(self) -> Iterator[Any]:
        if self._done:
            return
        self._buf += self._text.decode(b"", final=True)
        if self._array:
            yield from self._elements()
        elif self.marker.search(self._buf) and (doc := _parse(self._buf)) is not None:
            yield doc
        self._buf = ""

    def _elements(self) -> Iterator[Any]:
        while True:
            text = self._buf.lstrip().removeprefix(",").lstrip()
            if text.startswith("]"):
                self._done = True
                self._buf = ""
                return
            try:
                doc, end = self._decoder.raw_decode(text)
            except ValueError:  # not complete yet (or not JSON: it will hit the limit)
                self._buf = text
                return
            self._buf = text[end:]
            if self.marker.search(text, 0, end):
                yield doc


def for_media_type(media_type: str, marker: re.Pattern[bytes], limit: int = DEFAULT_LIMIT) -> Framer:
    """The framer for a response's media type (lower case, without parameters)."""
    if media_type == "text/event-stream":
        return SSE(marker, limit)
    if media_type in ("application/x-ndjson", "application/ndjson", "application/jsonl",
                      "application/x-jsonlines", "application/json-seq"):
        return JSONLines(marker, limit)
    return JSONBody(marker, limit)
