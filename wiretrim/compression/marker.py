"""The one omission-marker grammar.

Every piece of text the engine leaves out is replaced, at the place of the gap, by a
marker in the units of the source: ``[… 412 similar lines omitted (lines 120–531) …]``,
``[… 288 items omitted (items 12–299) …]``, ``[… same 40 lines as the tool result of
message 3 …]``. Markers always start with ``[… `` and end with `` …]`` so a reader, a test
or the model can find them all with :data:`PATTERN`.
"""

from __future__ import annotations

import re

OPEN = "[… "
CLOSE = " …]"

PATTERN = re.compile(r"\[… (?P<body>[^\n]*?) …\]")
_OMITTED = re.compile(r"^(?P<count>\d+) (?P<unit>[^()\n]+?) omitted(?: \((?P<where>[^\n]*)\))?$")


def omitted(count: int, unit: str, where: str | None = None) -> str:
    """A marker for `count` units of `unit` left out, optionally saying where they were."""
    detail = f" ({where})" if where else ""
    return f"{OPEN}{count} {unit} omitted{detail}{CLOSE}"


def span(first: int, last: int, unit: str = "lines") -> str:
    """``lines 120–531`` (or ``line 7`` when first == last), 1-based and inclusive."""
    if first == last:
        return f"{unit.rstrip('s')} {first}"
    return f"{unit} {first}–{last}"


def note(text: str) -> str:
    """A marker carrying a free sentence (for references to earlier content)."""
    return f"{OPEN}{text}{CLOSE}"


def find(text: str) -> list[str]:
    """The bodies of all markers in `text`, in order."""
    return [m.group("body") for m in PATTERN.finditer(text)]


def parse_omitted(body: str) -> tuple[int, str, str | None] | None:
    """(count, unit, where) of an omission marker body, or None if it is another kind of marker."""
    m = _OMITTED.match(body)
    if m is None:
        return None
    return int(m.group("count")), m.group("unit"), m.group("where")
