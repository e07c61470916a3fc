"""Usage from a response body, read as it passes: decode, frame, pick, merge."""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Iterable

from wiretrim.usage import decoding, framing
from wiretrim.usage.fields import REPORTERS, Raw, Usage

logger = logging.getLogger(__name__)


def media_type(content_type: str | None) -> str:
    return (content_type or "").partition(";")[0].strip().lower()


class UsageReader:
    """Feed it a response body chunk by chunk (as on the wire), then `finish` for the usage.

    It never raises from `feed` or `finish`: a body it cannot read just has no usage. Memory
    is bounded by the framer's limit, whatever the length of the stream.
    """

    def __init__(self, shape: str, content_type: str | None, content_encoding: str | None = None,
                 limit: int = framing.DEFAULT_LIMIT) -> None:
        self._reporter = REPORTERS.get(shape)
        self._raw: Raw = {}
        self._model: str | None = None
        self._failed: str | None = None
        self._decoder: decoding.Decoder | None = None
        self._framer: framing.Framer | None = None
        if self._reporter is None:
            self._failed = f"shape {shape}"
            return
        try:
            self._decoder = decoding.for_coding(content_encoding)
        except decoding.UnsupportedCodingError:
            self._failed = "content_encoding"
            return
        self._framer = framing.for_media_type(media_type(content_type), self._reporter.marker, limit)

    def feed(self, chunk: bytes) -> None:
        if self._failed is not None or self._decoder is None or self._framer is None:
            return
        try:
            for piece in self._decoder.feed(chunk):
                self._take(self._framer.feed(piece))
        except Exception as e:  # a corrupt stream: stop reading it, the bytes still pass
            self._failed = type(e).__name__

    def finish(self) -> Usage | None:
        """The usage the body reported, or None. Call once, after the last chunk."""
        if self._failed is None and self._framer is not None:
            try:
                self._take(self._framer.close())
            except Exception as e:
                self._failed = type(e).__name__
        if self._failed is not None:
            logger.debug("wiretrim: no usage from the response: %s", self._failed)
        if self._reporter is None or not self._raw:
            return None
        usage = dataclasses.replace(self._reporter.usage(self._raw), model=self._model)
        return None if usage.empty else usage

    def _take(self, docs: Iterable[object]) -> None:
        assert self._reporter is not None
        for doc in docs:
            # Later values win: Anthropic's message_delta updates message_start's counts, and
            # Gemini's chunks carry running totals.
            self._raw.update(self._reporter.pick(doc))
            self._model = self._reporter.model(doc) or self._model


def read_body(body: bytes, shape: str, content_type: str | None, content_encoding: str | None = None,
              limit: int = framing.DEFAULT_LIMIT) -> Usage | None:
    """The usage in a complete response body (still content-encoded, as on the wire)."""
    reader = UsageReader(shape, content_type, content_encoding, limit)
    reader.feed(body)
    return reader.finish()
