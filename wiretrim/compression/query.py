"""The words of the latest user request that a lossy step must never drop.

Only distinctive terms count: text in backticks or quotes, and words that look like
identifiers, paths, numbers or error names. Plain English words would match nearly every
line and protect nothing in particular.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from functools import lru_cache

_QUOTED = re.compile(r"`([^`\n]{2,80})`|\"([^\"\n]{3,80})\"|'([^'\n]{3,80})'")
_WORD = re.compile(r"[A-Za-z0-9_./:\-#@$]+")
_DISTINCT = re.compile(r"[0-9_./:#@$]|[a-z][A-Z]|^[A-Z]{2,}[a-z]*$")
_MAX_TERMS = 32


def keep_terms(query: str) -> frozenset[str]:
    """Lower-cased distinctive terms of `query`, at most 32 (the first ones win)."""
    if not query:
        return frozenset()
    # Every request of a conversation asks again about the same few texts: remember them,
    # but not texts so long that holding a few dozen would cost real memory.
    return _remembered_terms(query) if len(query) <= _REMEMBER_CHARS else _terms(query)


_REMEMBER_CHARS = 64 * 1024


@lru_cache(maxsize=64)
def _remembered_terms(query: str) -> frozenset[str]:
    return _terms(query)


def _terms(query: str) -> frozenset[str]:
    seen: dict[str, None] = {}
    for t in _candidates(query):
        low = t.lower().strip()
        if len(low) >= 3:
            seen.setdefault(low, None)
        if len(seen) >= _MAX_TERMS:
            break
    return frozenset(seen)


def _candidates(query: str) -> Iterator[str]:
    """Quoted text, then distinctive words, in order (lazily: a long query stops at 32 terms)."""
    for m in _QUOTED.finditer(query):
        yield next(g for g in m.groups() if g)
    for m in _WORD.finditer(query):
        w = m.group().strip(".:,-/")
        if len(w) >= 3 and _DISTINCT.search(w):
            yield w


def digest(terms: frozenset[str]) -> str:
    """A stable text form of the terms, for memo keys (sorted: sets have no stable order)."""
    return "\x1f".join(sorted(terms))
