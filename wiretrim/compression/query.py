"""The words of the latest user request that a lossy step must never drop.

Only distinctive terms count: text in backticks or quotes, and words that look like
identifiers, paths, numbers or error names. Plain English words would match nearly every
line and protect nothing in particular.
"""

from __future__ import annotations

import re

_QUOTED = re.compile(r"`([^`\n]{2,80})`|\"([^\"\n]{3,80})\"|'([^'\n]{3,80})'")
_WORD = re.compile(r"[A-Za-z0-9_./:\-#@$]+")
_DISTINCT = re.compile(r"[0-9_./:#@$]|[a-z][A-Z]|^[A-Z]{2,}[a-z]*$")
_MAX_TERMS = 32


def keep_terms(query: str) -> frozenset[str]:
    """Lower-cased distinctive terms of `query`, at most 32 (the first ones win)."""
    if not query:
        return frozenset()
    terms: list[str] = []
    for m in _QUOTED.finditer(query):
        terms.append(next(g for g in m.groups() if g))
    for w in _WORD.findall(query):
        w = w.strip(".:,-/")
        if len(w) >= 3 and _DISTINCT.search(w):
            terms.append(w)
    seen: dict[str, None] = {}
    for t in terms:
        low = t.lower().strip()
        if len(low) >= 3:
            seen.setdefault(low, None)
        if len(seen) >= _MAX_TERMS:
            break
    return frozenset(seen)


def digest(terms: frozenset[str]) -> str:
    """A stable text form of the terms, for memo keys (sorted: sets have no stable order)."""
    return "\x1f".join(sorted(terms))
