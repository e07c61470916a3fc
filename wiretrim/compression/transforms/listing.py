"""Directory listings (`ls -la`, `ls -R`, `ls`, `find`, `tree`): claimed so nothing lossy touches them.

Dropping an entry makes an agent believe a file is missing, and reflowing `ls -l`
columns turns them into bare numbers, so a listing keeps every line as it is at
"lossless" and "balanced": this transform claims listings in `detect` and returns them
unchanged. Nothing lossless pays off while lines stay verbatim: the columns of `ls -l`
are the information, and `ls -R` and `tree` already print each directory once.

At "aggressive" only, a `find`-style list of paths whose lines share directories is
regrouped: each directory is printed once (ending in `/`), followed by the names in it,
indented by two spaces, in the original order (a directory that comes back later is
printed again). A note at the top says how to read it. This saves about a third of the
tokens on deep trees, but the full paths no longer appear as lines, which is why the
default levels leave the list alone. It is skipped when any name starts or ends with
whitespace or the grouping would save less than a quarter of the text.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import ClassVar

from wiretrim.compression import marker
from wiretrim.compression.transforms._api import TransformParams

_LONG = re.compile(r"[-dlcbpsD][rwxsStT-]{9}[.+@]?\s+\d+\s")
_TOTAL = re.compile(r"total \d+(?:[.,]\d+)?[KMGT]?$")
_TREE = re.compile(r"(?:[│| ]   )*(?:[├└]──|[|`]--) ")
_TREE_SUMMARY = re.compile(r"\d+ director(?:y|ies)(?:, \d+ files?)?$")
_PATH = re.compile(r"(?:\.{1,2}/|/|~/)?[\w.@+~-]+(?:/[\w.@+ ~,-]+)*/?")
_NAME = re.compile(r"[\w.@+~-][\w.@+~,-]*/?")
_HEADER = re.compile(r"\S.*:$")
# Listings are uniform: their first lines tell.
_DETECT_LINES = 80
_NOTE = marker.note("paths grouped by directory: each indented name is inside the directory line above it")
_MIN_SAVED_SHARE = 0.25


def _most(rows: list[str], test: Callable[[str], object]) -> bool:
    """True when `test` holds for at least 60% of `rows`; stops once that cannot be."""
    misses_allowed = len(rows) * 4 // 10
    for line in rows:
        if not test(line):
            misses_allowed -= 1
            if misses_allowed < 0:
                return False
    return True


def _is_path_list(lines: list[str]) -> bool:
    """True when every non-blank line is a path and most of them name a directory part."""
    rows = [line for line in lines if line.strip()]
    if len(rows) < 3 or not all(map(_PATH.fullmatch, rows)):
        return False
    with_slash = sum(1 for line in rows if "/" in line.rstrip("/"))
    return with_slash * 10 >= len(rows) * 6


class Listing:
    name: ClassVar[str] = "listing"
    max_score: ClassVar[float] = 0.9  # the highest score detect() returns

    def detect(self, text: str) -> float:
        lines = [line.rstrip("\r") for line in text.split("\n", _DETECT_LINES)[:_DETECT_LINES]]
        rows = [line for line in lines if line.strip()]
        if len(rows) < 3:
            return 0.0
        n = len(rows)
        if _most(rows, lambda line: _LONG.match(line) or _TOTAL.match(line)):
            return 0.9
        if _most(rows, lambda line: _TREE.match(line) or _TREE_SUMMARY.match(line)):
            return 0.9
        if _is_path_list(lines):
            return 0.8
        # What is left are `ls` and `ls -R`: every line a name or a "dir:" header.
        if not all(line.endswith(":") or _NAME.fullmatch(line) for line in rows):
            return 0.0
        headers = [line for line in rows if _HEADER.fullmatch(line) and _PATH.fullmatch(line[:-1])]
        names = sum(1 for line in rows if _NAME.fullmatch(line))
        if len(headers) >= 2 and len(headers) + names == n and any("/" in line for line in headers):
            return 0.8  # ls -R
        if names == n and sum(1 for line in rows if "." in line or line.endswith("/")) * 2 >= n:
            return 0.6  # ls, one name a line
        return 0.0

    def apply(self, text: str, params: TransformParams) -> str:
        if params.level != "aggressive":
            return text
        lines = text.split("\n")
        trailing = lines[-1] == ""
        if trailing:
            lines.pop()
        if not _is_path_list(lines) or any(not line.strip() for line in lines):
            return text
        out = [_NOTE]
        current: str | None = None
        for line in lines:
            directory, slash, name = line.rstrip("/").rpartition("/")
            if name != name.strip():
                return text
            if not slash:
                # A top-level entry such as find's "." stays as it is; one ending in "/"
                # would read as a directory heading, so such a list is left alone.
                if line.endswith("/"):
                    return text
                out.append(line)
                current = None
                continue
            name = line[len(directory) + 1 :]
            if directory + "/" != current:
                current = directory + "/"
                out.append(current)
            out.append("  " + name)
        if trailing:
            out.append("")
        result = "\n".join(out)
        if len(result) > len(text) * (1 - _MIN_SAVED_SHARE):
            return text
        return result


LISTING = Listing()
