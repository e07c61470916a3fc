"""Tables with padded columns: alignment padding and border lines removed, columns kept recoverable.

* Pipe tables (Markdown, psql, MySQL): cells are cut at the ``|`` columns every row shares,
  trimmed and re-joined with `` | ``; ``+----+`` and ``----+----`` rules go, a Markdown
  header rule shrinks to ``---`` per column (colons kept).
* Space-aligned tables with a header (``docker ps``, ``kubectl get``, ``ps aux``, ``df``):
  a run of spaces that is blank in every row is a column gap and becomes one tab (tool
  output never holds tabs, so the tab cannot occur in a cell). Runs of spaces cost one
  token each in cl100k, so only the tab, which also joins the next cell's token, pays.
* CSV: quotes no field needs are dropped (re-parsing gives the same rows, checked).

Cell text is never changed, only the whitespace (or quotes) between cells, so the
whitespace-collapsed text of every row stays the same. Lossless at every level.
"""

from __future__ import annotations

import csv
import io
import re
from typing import ClassVar

from wiretrim.compression.transforms._api import TransformParams

_DETECT_LINES = 150
# Every ASCII character but the space to "1", the space to "0"; other characters follow.
_BITS = {i: "1" for i in range(128)} | {ord(" "): "0"}
_NOT_BIT = re.compile(r"[^01]")
_GAP = re.compile(r"0+")
_PIPE = re.compile(r"\|")
_RULE_CHARS = frozenset("-=+:| ")
_MD_RULE_CELL = re.compile(r"^:?-+:?$")
# A header line: labels and spaces only (checked before the costlier column analysis).
_HEADER = re.compile(r" *[A-Za-z%#_(][A-Za-z0-9%#_() .-]*")
# A column heading: a short label (``NAME``, ``%CPU``, ``CONTAINER ID``, ``PORT(S)``).
_LABEL = re.compile(r"[A-Za-z%#_(][A-Za-z0-9%#_() .-]{0,29}")
# Tables gain only when they lose at least this share of their characters.
MIN_GAIN = 0.05


class Table:
    name: ClassVar[str] = "table"
    max_score: ClassVar[float] = 0.85  # the highest score detect() returns

    def detect(self, text: str) -> float:
        lines = text.split("\n", _DETECT_LINES)[:_DETECT_LINES]
        rows = sum(1 for line in lines if line.strip())
        if rows < 3:
            return 0.0
        covered, kind = 0, ""
        for start, end in _runs(lines):
            for a, b, k, _ in _tables(lines, start, end):
                covered += b - a
                kind = kind or k
        if covered * 10 < rows * 6:
            return 0.0
        return {"pipe": 0.85, "aligned": 0.8, "csv": 0.7}.get(kind, 0.0)

    def apply(self, text: str, params: TransformParams) -> str:
        lines = text.split("\n")
        out: list[str] = []
        pos = 0
        for start, end in _runs(lines):
            for a, b, _, rewritten in _tables(lines, start, end):
                out.extend(lines[pos:a])
                out.extend(rewritten if rewritten is not None else lines[a:b])
                pos = b
        out.extend(lines[pos:])
        result = "\n".join(out)
        if len(result) > (1 - MIN_GAIN) * len(text) or not result.strip():
            return text
        return result


def rewrite_pipe_tables(lines: list[str]) -> list[str]:
    """`lines` with their padded pipe tables rewritten (for tables inside prose); the rest as is."""
    out: list[str] = []
    pos = 0
    for start, end in _runs(lines):
        for a, b, rewritten in _pipe_spans(lines, start, end):
            out.extend(lines[pos:a])
            out.extend(rewritten)
            pos = b
    out.extend(lines[pos:])
    return out


def _runs(lines: list[str]) -> list[tuple[int, int]]:
    """[start, end) of each run of non-blank lines."""
    runs = []
    start = None
    for i, line in enumerate(lines):
        if line.strip():
            if start is None:
                start = i
        elif start is not None:
            runs.append((start, i))
            start = None
    if start is not None:
        runs.append((start, len(lines)))
    return runs


def _tables(lines: list[str], start: int, end: int) -> list[tuple[int, int, str, list[str] | None]]:
    """The tables in one run of non-blank lines: [a, b) spans, kind and rewritten lines (None: keep)."""
    found: list[tuple[int, int, str, list[str] | None]] = [
        (a, b, "pipe", rewritten) for a, b, rewritten in _pipe_spans(lines, start, end)
    ]
    if found or end - start < 3:
        return found
    # A title line above, or a count line below, is not part of the table.
    for a, b in ((start, end), (start + 1, end), (start, end - 1)):
        header = lines[a]
        if b - a >= 3 and "  " in header.strip() and _HEADER.fullmatch(header):
            rewritten = _aligned(lines[a:b])
            if rewritten is not None:
                return [(a, b, "aligned", rewritten)]
    if _csv_rows(lines[start:end]) is not None:
        return [(start, end, "csv", _csv(lines[start:end]))]
    return []


def _pipe_spans(lines: list[str], start: int, end: int) -> list[tuple[int, int, list[str]]]:
    """Maximal stretches of lines holding a "|" or a rule that form a padded pipe table, rewritten."""
    found = []
    i = start
    while i < end:
        if "|" in lines[i] or _is_rule(lines[i]):
            j = i
            while j < end and ("|" in lines[j] or _is_rule(lines[j])):
                j += 1
            rewritten = _pipe(lines[i:j])
            if rewritten is not None:
                found.append((i, j, rewritten))
            i = j
        else:
            i += 1
    return found


def _is_rule(line: str) -> bool:
    """A border or header rule: ``+----+----+``, ``-----+-----``, ``|---|:--:|``."""
    body = line.strip()
    if len(body) < 3 or body[0] not in _RULE_CHARS or body[-1] not in _RULE_CHARS:
        return False
    return not body.strip("-=+:| ") and body.count("-") + body.count("=") >= 3


def _pipe(lines: list[str]) -> list[str] | None:
    """A pipe table with its padding removed, or None when `lines` are not one (or gain nothing)."""
    is_rule = [_is_rule(line) for line in lines]
    rows = [line for line, rule in zip(lines, is_rule, strict=True) if not rule]
    rules = [line for line, rule in zip(lines, is_rule, strict=True) if rule]
    if len(rows) < 2 or (not rules and len(rows) < 3):
        return None
    grid = [rule for rule in rules if "+" in rule]
    if len(grid) > 3 or any("=" in rule for rule in grid):
        return None  # an RST grid table: its rules separate multi-line rows
    seps = [m.start() for m in _PIPE.finditer(rows[0])]
    for row in rows[1:]:
        seps = [p for p in seps if p < len(row) and row[p] == "|"]
        if not seps:
            return None
    out = []
    for line, rule in zip(lines, is_rule, strict=True):
        if rule:
            if "+" not in line:  # psql and MySQL rules go; a Markdown one must stay
                out.append(_markdown_rule(line, seps))
            continue
        out.append(_join(line, _cut(line, seps)))
    if sum(map(len, out)) + len(out) >= (1 - MIN_GAIN) * (sum(map(len, lines)) + len(lines)):
        return None
    return out


def _markdown_rule(line: str, seps: list[int]) -> str:
    """A Markdown header rule with ``---`` per column (alignment colons kept)."""
    pieces = []
    for piece in _cut(line, seps):
        if _MD_RULE_CELL.match(piece):
            piece = (":" if piece.startswith(":") else "") + "---" + (":" if piece.endswith(":") else "")
        pieces.append(piece)
    return _join(line, pieces)


def _cut(line: str, seps: list[int]) -> list[str]:
    """The stripped pieces of `line` between the separator positions (first and last may be '')."""
    if line.count("|") == len(seps):  # every pipe separates: the common case
        return [piece.strip() for piece in line.split("|")]
    pieces = []
    prev = 0
    for s in seps:
        pieces.append(line[prev:s].strip())
        prev = s + 1
    pieces.append(line[prev:].strip())
    return pieces


def _join(line: str, pieces: list[str]) -> str:
    """The pieces re-joined with single-spaced pipes; a row opening with a pipe keeps its indent."""
    body = line.lstrip()
    indent = line[: len(line) - len(body)] if body.startswith("|") else ""
    return indent + " | ".join(pieces).strip()


def _aligned(lines: list[str]) -> list[str] | None:
    """A space-aligned table with a header line, its column gaps turned into tabs; else None."""
    if any("\t" in line or "|" in line for line in lines):
        return None
    width = max(len(line) for line in lines)
    mask = 0
    for line in lines:
        bits = line.translate(_BITS)
        if not bits.isascii():
            bits = _NOT_BIT.sub("1", bits)
        mask |= int(bits.ljust(width, "0") or "0", 2)
    bits = bin(mask)[2:].rjust(width, "0")
    first, last = bits.find("1"), bits.rfind("1")
    if first < 0:
        return None
    header = lines[0]
    # Each stretch of spaces between two headings holds one column boundary: the widest gap
    # that is blank in every line. A gap past the last heading would split the last column.
    best: dict[int, tuple[int, int]] = {}
    for m in _GAP.finditer(bits, first, last + 1):
        a, b = m.span()
        if not header[b:].strip() or not header[:a].strip():
            continue
        region = len(header[:a].rstrip())  # where the heading before the gap ends
        if region not in best or b - a > best[region][1] - best[region][0]:
            best[region] = (a, b)
    spans = []
    col = first
    for a, b in sorted(best.values()):
        spans.append((col, a))
        col = b
    spans.append((col, last + 1))
    if len(spans) < 2:
        return None
    labels = [header[a:b].strip() for a, b in spans]
    if not all(_LABEL.fullmatch(label) for label in labels):
        return None
    full = sum(1 for line in lines if sum(1 for a, b in spans if line[a:b].strip()) >= 2)
    if full * 10 < len(lines) * 9:
        return None
    indent = " " * first
    out = []
    for i, line in enumerate(lines):
        cells = [line[a:b].strip() for a, b in spans]
        if i == 1 and all(set(c) <= {"-", "="} for c in cells if c):
            continue  # a dashed rule under the header (pip list)
        while cells and not cells[-1]:
            cells.pop()
        out.append(indent + "\t".join(cells))
    if sum(map(len, out)) >= (1 - MIN_GAIN) * sum(map(len, lines)):
        return None
    return out


def _csv_rows(lines: list[str]) -> tuple[str, list[list[str]]] | None:
    """(delimiter, rows) when `lines` are CSV or TSV: one record a line, the same field count."""
    if len(lines) < 3:
        return None
    head = lines[:5]
    if all("\t" in line for line in head):
        delim = "\t"
    elif all("," in line for line in head):
        delim = ","
    else:
        return None
    try:
        rows = list(csv.reader(io.StringIO("\n".join(lines)), delimiter=delim, strict=True))
    except csv.Error:
        return None
    if len(rows) != len(lines) or len({len(r) for r in rows}) != 1:
        return None
    fields = len(rows[0])
    if fields < 2 or (fields < 3 and '"' not in "".join(head)):
        return None
    return delim, rows


def _csv(lines: list[str]) -> list[str] | None:
    """CSV rows without the quotes no field needs; None if not CSV or nothing to drop."""
    parsed = _csv_rows(lines)
    if parsed is None or not any('"' in line for line in lines):
        return None
    delim, rows = parsed
    out = [
        delim.join(_csv_field(value, line, delim) for value in row)
        for row, line in zip(rows, lines, strict=True)
    ]
    try:
        again = list(csv.reader(io.StringIO("\n".join(out)), delimiter=delim, strict=True))
    except csv.Error:
        return None
    if again != rows or sum(map(len, out)) >= (1 - MIN_GAIN) * sum(map(len, lines)):
        return None
    return out


def _csv_field(value: str, line: str, delim: str) -> str:
    plain = value and value == value.strip() and not any(c in value for c in (delim, '"', "\r", "\n"))
    if plain:
        return value
    if not value and '""' not in line:
        return ""
    return '"' + value.replace('"', '""') + '"'


TABLE = Table()
