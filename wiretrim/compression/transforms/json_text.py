"""JSON documents in tool output: minified, similar objects as tables, repeated values printed once.

A tool result that is one JSON document (possibly after a few short lines such as
``HTTP/1.1 200 OK`` or a code fence, and before a short closing line), or NDJSON (one JSON
object or array per line), is re-printed without losing anything:

* compact separators, non-ASCII as is, every number with its exact lexeme;
* an array of similar objects (or NDJSON lines, or an object whose values are similar
  objects) becomes a table: one header line naming the columns, then one JSON-array row
  per item (``"key":[…]`` per entry of an object). Strings stay quoted, so ``"1"`` and
  ``1`` differ; an empty cell is a key the item lacks, never confused with ``null``; nested
  objects with shared keys spread into ``parent.child`` columns; values equal in every row
  are said once, on an ``every item also has: {…}`` line;
* a container that occurs more than once, or the objects of a column where they repeat
  (the same ``user`` on 30 comments), is printed once in a definitions block as ``@N`` and
  referred to as ``@N`` (unquoted, so it cannot be mistaken for a string).

Strings are never shortened. Text that is not valid JSON, or JSON with duplicate keys or
NaN/Infinity, comes back unchanged. Only at level "aggressive", and over the size budget,
are ordinary rows of tables with at least 50 rows dropped: errors, rare values, numeric
outliers, rows naming a kept term, and the first and last rows stay, and each gap becomes
one ``[… N items omitted (items a–b) …]`` row in the table.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass, field
from json.encoder import encode_basestring, encode_basestring_ascii  # type: ignore[attr-defined]
from typing import Any, ClassVar

from wiretrim.compression import marker
from wiretrim.compression.tokens import estimate
from wiretrim.compression.transforms._api import TransformParams, lossy_allowed, mentions_kept_term


class _Num(str):
    """A number kept as its source lexeme (``1.0`` stays ``1.0``, ``1e3`` stays ``1e3``)."""

    __slots__ = ()


class _RejectedError(ValueError):
    """Valid-looking JSON we refuse to rewrite (duplicate keys, NaN, Infinity)."""


def _pairs(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    obj = dict(pairs)
    if len(obj) != len(pairs):
        raise _RejectedError("duplicate key")
    return obj


def _constant(name: str) -> Any:
    raise _RejectedError(name)


# A JSON integer's lexeme is exactly str(int(lexeme)) (no "+", no leading zeros), except
# "-0": integers stay plain ints, decoded in C, unless the text may hold a "-0".
_DECODER = json.JSONDecoder(parse_float=_Num, parse_constant=_constant, object_pairs_hook=_pairs)
_DECODER_NEG_ZERO = json.JSONDecoder(
    parse_float=_Num, parse_int=_Num, parse_constant=_constant, object_pairs_hook=_pairs
)
_NEG_ZERO = re.compile(r"-0(?![.\deE])")
_WS = " \t\r\n"
# Lone UTF-16 surrogates (from "\udXXX" escapes) cannot be written raw into UTF-8 text.
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")
_SURROGATE = re.compile("[\ud800-\udfff]")

# A short header (a status line, "Result:", a code fence) may precede the document,
# and a short remark follow it.
_MAX_HEAD_LINES = 8
_MAX_EDGE_CHARS = 600
# Work grows with the number of values (3–20 ms per 100 KB here): past this, leave the text alone.
_MAX_CHARS = 1_000_000
_MIN_ROWS = 2
_MIN_KEYED_ROWS = 3
_MIN_CONSTANT_ROWS = 3
_MIN_ALIAS_CHARS = 24
_ALIAS_REF_CHARS = 4
_FLATTEN_FILL = 0.8
_TABLE_FILL = 0.4
_MAX_FLATTEN_DEPTH = 3
# Objects of a column are printed once each, apart, only when that saves a quarter of
# the column: otherwise their keys spread into the table, where a reader sees them in the row.
_NORMALISE_GAIN = 0.75

# Lossy selection (aggressive level only).
_LOSSY_MIN_ROWS = 50
_KEEP_HEAD = 3
_KEEP_TAIL = 2
_RARE_MAX_DISTINCT = 4
_RARE_SHARE = 0.6
_OUTLIER_SIGMAS = 3.0
_ERROR_WORDS = re.compile(
    r"error|exception|fail|fatal|critical|panic|crash|abort|denied|rejected|timeout|timed out",
    re.IGNORECASE,
)


@dataclass(slots=True)
class _Column:
    name: str  # the header label: a key, or "parent.child" for a spread nested key
    cells: list[Any]  # one value per row, _ABSENT where the row lacks the key
    texts: list[str]  # each cell's compact JSON ("" where absent), before aliases
    nested: bool  # some cells are objects or arrays (which may print as aliases)
    normal: bool = False  # objects printed as @N, defined once each in a table of their own


@dataclass(slots=True)
class _Table:
    unit: str  # "items", "lines" or "objects"
    n: int
    columns: list[_Column]
    constants: list[_Column]  # equal in every row: printed once
    spread: bool  # some columns are "parent.child"
    missing: bool  # some cells are empty because the row lacks the key
    keep: list[bool] | None = None  # rows kept when lossy (None: all)
    labels: list[str] | None = None  # what each row starts with: '@3 ' (definitions) or '"key":'


@dataclass(slots=True)
class _Located:
    head: str
    tail: str
    root: Any
    lines: bool  # NDJSON: root is the list of line values
    ascii_only: bool  # strings holding lone surrogates must be \\u-escaped


@dataclass(slots=True)
class _Printer:
    """Decides how one document is laid out, then prints it.

    Every container's compact JSON (its "canonical text") is computed once; equal texts
    mean equal values, which is what constants and aliases are built on. A dry run over
    the layout counts how often each container would be printed; those printed more than
    once (when that saves characters) become aliases.
    """

    params: TransformParams
    lossy: bool
    ascii_only: bool
    canon: dict[int, str] = field(default_factory=dict)  # id(value) -> its compact JSON
    counts: dict[str, int] = field(default_factory=dict)  # compact JSON -> containers equal to it
    value_of: dict[str, Any] = field(default_factory=dict)  # compact JSON -> first such container
    keys: dict[str, str] = field(default_factory=dict)  # key -> its JSON string
    tables: dict[int, _Table] = field(default_factory=dict)  # id(list) -> its table
    table_below: dict[int, bool] = field(default_factory=dict)
    forced: dict[str, None] = field(default_factory=dict)  # objects of normalised columns
    seen: dict[str, int] = field(default_factory=dict)  # compact JSON -> times printed
    aliases: dict[str, str] = field(default_factory=dict)  # compact JSON -> "@N"
    alias_below: dict[int, bool] = field(default_factory=dict)
    # Only a container longer than the shortest alias can hold one.
    shortest_alias: float = math.inf

    # -- values as JSON text ---------------------------------------------------------------

    def string(self, s: str) -> str:
        if self.ascii_only and _SURROGATE.search(s):
            return str(encode_basestring_ascii(s))
        return str(encode_basestring(s))

    def key(self, k: str) -> str:
        text = self.keys.get(k)
        if text is None:
            text = self.keys[k] = self.string(k)
        return text

    def text(self, v: Any) -> str:
        """The compact JSON of a value inside the indexed document."""
        return self.canon[id(v)]

    def index(self, root: Any) -> None:
        """Compute and remember the compact JSON of every value in `root`, counting equal containers.

        Keyed by id(): every value of the parsed tree stays alive while the printer runs,
        and the few shared objects (None, True, False) have one text anyway.
        """
        canon, counts, value_of, keys = self.canon, self.counts, self.value_of, self.keys
        canon[id(_ABSENT)] = ""  # an absent cell prints empty
        enc = self.string if self.ascii_only else encode_basestring

        def scalar(x: Any) -> str:
            t = type(x)
            if t is str:
                return str(enc(x))
            if t is int:
                return str(x)
            if t is _Num:
                return str.__str__(x)
            if x is None:
                return "null"
            return "true" if x else "false"

        def index(v: Any) -> str:
            # Common scalars inline: this loop runs once per value of the document.
            parts = []
            if type(v) is dict:
                for k, x in v.items():
                    t = type(x)
                    if t is str:
                        s = enc(x)
                    elif t is int:
                        s = str(x)
                    elif t is dict or t is list:
                        s = index(x)
                    else:
                        s = scalar(x)
                    canon[id(x)] = s
                    kt = keys.get(k)
                    if kt is None:
                        kt = keys[k] = enc(k)
                    parts.append(kt + ":" + s)
                text = "{" + ",".join(parts) + "}"
            else:
                for x in v:
                    t = type(x)
                    if t is str:
                        s = enc(x)
                    elif t is int:
                        s = str(x)
                    elif t is dict or t is list:
                        s = index(x)
                    else:
                        s = scalar(x)
                    canon[id(x)] = s
                    parts.append(s)
                text = "[" + ",".join(parts) + "]"
            canon[id(v)] = text
            seen = counts.get(text)
            if seen is None:
                counts[text] = 1
                value_of[text] = v
            else:
                counts[text] = seen + 1
            return text

        index(root)

    def column(self, name: str, cells: list[Any], normal: bool = False) -> _Column:
        texts = list(map(self.canon.__getitem__, map(id, cells)))
        nested = any(t[:1] in ("{", "[") for t in texts)
        return _Column(name, cells, texts, nested, normal)

    def key_chars(self, v: dict[str, Any]) -> int:
        """Characters the keys of `v` take in its compact JSON (quotes, colons, braces)."""
        return 2 + sum(len(self.key(k)) + 2 for k in v)

    # -- layout ------------------------------------------------------------------------------

    def plan(self, v: Any, unit: str = "items") -> None:
        """Find what prints as tables: arrays of similar objects, and objects whose values are
        similar objects (a table keyed by name), in block position (not inside a cell)."""
        if isinstance(v, dict):
            table = None
            if len(v) >= _MIN_KEYED_ROWS and all(type(x) is dict for x in v.values()):
                items = list(v.values())
                keys = [self.key(k) + ":" for k in v]
                compact = len(self.canon[id(v)]) - sum(map(len, keys))
                table = self.table_for(items, "entries", compact, normalise=True)
            if table is None:
                for x in v.values():
                    if isinstance(x, dict | list):
                        self.plan(x)
                return
            table.labels = keys
        elif isinstance(v, list):
            items = v
            table = self.table_for(v, unit, len(self.canon[id(v)]), normalise=True)
            if table is None:
                return
        else:
            return
        self.tables[id(v)] = table
        if self.lossy:
            table.keep = self.select_rows(items, table)

    def table_for(self, items: list[Any], unit: str, compact: int, normalise: bool) -> _Table | None:
        """A table for `items` when they are similar objects and it is smaller than `compact`."""
        n = len(items)
        if n < _MIN_ROWS or not all(isinstance(x, dict) and x for x in items):
            return None
        keys: dict[str, None] = {}
        filled = 0
        for item in items:
            filled += len(item)
            for k in item:
                keys.setdefault(k)
        if filled < _TABLE_FILL * n * len(keys):
            return None
        may_spread = not any("." in k for k in keys)
        columns: list[_Column] = []
        for k in keys:
            cells = [item.get(k, _ABSENT) for item in items]
            columns.extend(self.spread(k, cells, may_spread, normalise, 1))
        table = _Table(unit, n, columns, [], spread=False, missing=False)
        self.factor_constants(table)
        if not table.columns:
            return None
        table.spread = any("." in c.name for c in table.columns + table.constants) and may_spread
        table.missing = any("" in c.texts for c in table.columns)
        if table.missing and len(table.columns) == 1:
            return None  # a row "[]" for an absent key reads too much like an empty array
        if self.table_chars(table) >= compact:
            return None
        return table

    def spread(
        self, name: str, cells: list[Any], may_spread: bool, normalise: bool, depth: int
    ) -> list[_Column]:
        """One column, or one per nested key when every row holds an object with mostly shared keys.

        A column of objects that repeat is instead normalised: each distinct object is
        printed once, in a table of its own, and the cells refer to it as @N.
        """
        one = [self.column(name, cells)]
        if not may_spread or depth > _MAX_FLATTEN_DEPTH or not all(isinstance(v, dict) and v for v in cells):
            return one
        sub: dict[str, None] = {}
        filled = 0
        for v in cells:
            filled += len(v)
            for k in v:
                sub.setdefault(k)
        if any("." in k for k in sub) or filled < _FLATTEN_FILL * len(cells) * len(sub):
            return one
        values = sum(len(self.canon[id(v)]) - self.key_chars(v) for v in cells)
        distinct: dict[str, dict[str, Any]] = {}
        for v in cells:
            distinct.setdefault(self.canon[id(v)], v)
        if len(distinct) < len(cells):
            if not normalise:
                return one
            normal = sum(len(t) - self.key_chars(v) for t, v in distinct.items())
            if normal + _ALIAS_REF_CHARS * len(cells) < _NORMALISE_GAIN * values:
                return [self.column(name, cells, normal=True)]
        if self.aliases and any(self.canon[id(v)] in self.aliases for v in cells):
            return one
        out: list[_Column] = []
        for k in sub:
            sub_cells = [v.get(k, _ABSENT) for v in cells]
            out.extend(self.spread(f"{name}.{k}", sub_cells, may_spread, normalise, depth + 1))
        return out

    def factor_constants(self, table: _Table) -> None:
        if table.n < _MIN_CONSTANT_ROWS:
            return
        varying: list[_Column] = []
        for col in table.columns:
            first = col.texts[0]
            if first and col.texts.count(first) == table.n:
                col.normal = False
                table.constants.append(col)
            else:
                varying.append(col)
        if varying:
            table.columns = varying
        else:  # every item is equal: keep them as rows rather than an empty table
            table.constants = []

    def table_chars(self, table: _Table) -> int:
        """A cheap size of the table before aliases: header, constants and cells."""
        size = 60 + sum(len(c.name) + 3 for c in table.columns)
        for col in table.constants:
            size += len(col.name) + 4 + len(col.texts[0])
        for col in table.columns:
            if col.normal:
                distinct = {self.canon[id(v)]: v for v in col.cells}
                size += sum(len(t) - self.key_chars(v) for t, v in distinct.items())
                size += _ALIAS_REF_CHARS * table.n
            else:
                size += sum(map(len, col.texts)) + table.n
        return size + 3 * table.n

    # -- lossy row selection (aggressive level only) --------------------------------------------

    def select_rows(self, items: list[Any], table: _Table) -> list[bool] | None:
        """Rows a reader must see: edges, errors, rare values, outliers, kept terms; None keeps all."""
        n = table.n
        if n < _LOSSY_MIN_ROWS:
            return None
        keep = [i < _KEEP_HEAD or i >= n - _KEEP_TAIL for i in range(n)]
        for i, item in enumerate(items):
            row = self.canon[id(item)]
            if table.labels is not None:
                row = table.labels[i] + row
            if _ERROR_WORDS.search(row) or mentions_kept_term(row, self.params):
                keep[i] = True
        for col in table.columns:
            self.keep_rare(col.texts, keep)
            self.keep_outliers(col.cells, keep)
        # A marker costs about what one row does: a gap of one row keeps its row.
        for i in range(1, n - 1):
            if not keep[i] and keep[i - 1] and keep[i + 1]:
                keep[i] = True
        return None if all(keep) else keep

    def keep_rare(self, texts: list[str], keep: list[bool]) -> None:
        """A value held by very few rows of a column with few values (a status, a flag) is an anomaly."""
        n = len(texts)
        tally: dict[str, list[int]] = {}
        for i, text in enumerate(texts):
            tally.setdefault(text, []).append(i)
            if len(tally) > _RARE_MAX_DISTINCT:
                return
        if len(tally) < 2 or max(len(rows) for rows in tally.values()) < _RARE_SHARE * n:
            return
        for rows in tally.values():
            if len(rows) <= max(1, n // 50):
                for i in rows:
                    keep[i] = True

    def keep_outliers(self, cells: list[Any], keep: list[bool]) -> None:
        nums: list[tuple[int, float]] = []
        for i, v in enumerate(cells):
            if type(v) is _Num or type(v) is int:
                x = float(v)
                if math.isfinite(x):
                    nums.append((i, x))
        if len(nums) < _LOSSY_MIN_ROWS // 2:  # too few numbers for a spread to mean anything
            return
        mean = sum(x for _, x in nums) / len(nums)
        sd = math.sqrt(sum((x - mean) ** 2 for _, x in nums) / len(nums))
        if sd == 0:
            return
        for i, x in nums:
            if abs(x - mean) > _OUTLIER_SIGMAS * sd:
                keep[i] = True

    # -- the dry run: which containers print more than once -------------------------------------

    def count_block(self, v: Any) -> None:
        table = self.tables.get(id(v))
        if table is not None:
            self.count_table(table)
        elif self.holds_table(v):
            for x in v.values():
                self.count_block(x)
        else:
            self.count_unit(v)

    def count_table(self, table: _Table) -> None:
        for col in table.constants:
            self.count_unit(col.cells[0])
        for col in table.columns:
            if not col.nested:
                continue
            for i, v in enumerate(col.cells):
                if table.keep is not None and not table.keep[i]:
                    continue
                if col.normal:
                    self.forced.setdefault(self.canon[id(v)])
                self.count_unit(v)

    def count_unit(self, v: Any) -> None:
        if type(v) is not dict and type(v) is not list:
            return
        text = self.canon[id(v)]
        if len(text) < _MIN_ALIAS_CHARS and text not in self.forced:
            return  # too short to alias, and so is everything inside it
        if self.counts[text] > 1 or text in self.forced:
            seen = self.seen.get(text, 0)
            self.seen[text] = seen + 1
            if seen:
                return
        for x in v.values() if type(v) is dict else v:
            if type(x) is dict or type(x) is list:
                self.count_unit(x)

    def choose_aliases(self) -> list[str]:
        """Name the repeated containers @1, @2, …; objects with the same keys get adjacent numbers."""
        chosen: list[tuple[int, str]] = []
        saved_total = 0
        for i, (text, times) in enumerate(self.seen.items()):
            saved = (times - 1) * len(text) - times * _ALIAS_REF_CHARS - 8
            if text in self.forced or (times > 1 and saved > 0):
                chosen.append((i, text))
                saved_total += max(saved, 0)
        if not self.forced and saved_total <= len(_ALIAS_HEADER):
            return []  # the definitions block would cost more than it saves
        groups: dict[tuple[str, ...] | int, list[str]] = {}
        for i, text in chosen:
            v = self.value_of[text]
            group: tuple[str, ...] | int = tuple(sorted(v)) if type(v) is dict else i
            groups.setdefault(group, []).append(text)
        order: list[str] = []
        for members in groups.values():
            for text in members:
                order.append(text)
                self.aliases[text] = f"@{len(order)}"
                self.shortest_alias = min(self.shortest_alias, len(text))
        return order

    # -- printing ------------------------------------------------------------------------------

    def holds_table(self, v: Any) -> bool:
        """True when a table prints somewhere inside the object `v` (memoised: asked at each level)."""
        if not isinstance(v, dict):
            return False
        hit = self.table_below.get(id(v))
        if hit is None:
            hit = any(
                isinstance(x, list | dict) and (id(x) in self.tables or self.holds_table(x))
                for x in v.values()
            )
            self.table_below[id(v)] = hit
        return hit

    def has_alias(self, v: Any) -> bool:
        """True when some container inside `v` prints as an alias."""
        hit = self.alias_below.get(id(v))
        if hit is None:
            hit = False
            for x in v.values() if type(v) is dict else v:
                if type(x) is dict or type(x) is list:
                    text = self.canon[id(x)]
                    if text in self.aliases or (len(text) > self.shortest_alias and self.has_alias(x)):
                        hit = True
                        break
            self.alias_below[id(v)] = hit
        return hit

    def unit(self, v: Any, out: list[str]) -> None:
        """Compact JSON of `v`, with @N for a repeated container."""
        text = self.canon[id(v)]
        if type(v) is not dict and type(v) is not list:
            out.append(text)
            return
        ref = self.aliases.get(text)
        if ref is not None:
            out.append(ref)
        elif len(text) > self.shortest_alias and self.has_alias(v):
            self.inside(v, out)
        else:
            out.append(text)

    def unit_text(self, v: Any) -> str:
        text = self.canon[id(v)]
        if type(v) is not dict and type(v) is not list:
            return text
        ref = self.aliases.get(text)
        if ref is not None:
            return ref
        if len(text) > self.shortest_alias and self.has_alias(v):
            part: list[str] = []
            self.inside(v, part)
            return "".join(part)
        return text

    def inside(self, v: Any, out: list[str]) -> None:
        """The container `v` itself, compact, with aliases for what it holds."""
        if isinstance(v, dict):
            out.append("{")
            for i, (k, x) in enumerate(v.items()):
                if i:
                    out.append(",")
                out.append(self.key(k))
                out.append(":")
                self.unit(x, out)
            out.append("}")
        else:
            out.append("[")
            for i, x in enumerate(v):
                if i:
                    out.append(",")
                self.unit(x, out)
            out.append("]")

    def block(self, v: Any, out: list[str]) -> None:
        """`v` at the top level or as a value of a top-level object: tables print here."""
        table = self.tables.get(id(v))
        if table is not None:
            self.print_table(table, out)
        elif self.holds_table(v):
            out.append("{")
            for i, (k, x) in enumerate(v.items()):
                if i:
                    out.append(",")
                out.append(self.key(k))
                out.append(":")
                if isinstance(x, dict | list) and (id(x) in self.tables or self.holds_table(x)):
                    out.append("\n")
                    self.block(x, out)
                    out.append("\n")
                else:
                    self.unit(x, out)
            out.append("}")
        else:
            self.unit(v, out)

    def print_table(self, table: _Table, out: list[str]) -> None:
        names = "[" + ",".join(self.string(c.name) for c in table.columns) + "]"
        if table.unit == "objects":  # definitions: rows labelled @N
            span = f"{table.labels[0].strip()}–{table.labels[-1].strip()}" if table.labels else ""
            header = f"{span} are these {table.n} objects, as rows; columns: {names}"
        elif table.unit == "entries":
            header = f'{table.n} entries as rows "key":[cells]; columns: {names}'
        else:
            header = f"{table.n} {table.unit} as rows; columns: {names}"
        notes = []
        if table.spread:
            notes.append('"a.b" is key b inside object a')
        if table.missing:
            notes.append("an empty cell means the key is absent")
        if any(c.normal for c in table.columns):
            notes.append("@N is an object defined above")
        if notes:
            header += "; " + "; ".join(notes)
        out.append(header)
        if table.constants:
            out.append(f"\nevery {_SINGULAR[table.unit]} also has: {{")
            for i, col in enumerate(table.constants):
                if i:
                    out.append(",")
                out.append(self.string(col.name))
                out.append(":")
                self.unit(col.cells[0], out)
            out.append("}")
        columns = table.columns
        if self.aliases:
            for col in columns:
                if col.nested:
                    col.texts = [self.unit_text(v) for v in col.cells]
        rows = map(",".join, zip(*[col.texts for col in columns], strict=True))
        if table.keep is None and table.labels is None:
            out.append("\n[")
            out.append("]\n[".join(rows))
            out.append("]")
            return
        gap = -1
        for r, row in enumerate(rows):
            if table.keep is not None and not table.keep[r]:
                if gap < 0:
                    gap = r
                continue
            if gap >= 0:
                self.print_gap(gap, r - 1, table.unit, out)
                gap = -1
            label = table.labels[r] if table.labels is not None else ""
            out.append(f"\n{label}[{row}]")
        if gap >= 0:
            self.print_gap(gap, table.n - 1, table.unit, out)

    def print_gap(self, first: int, last: int, unit: str, out: list[str]) -> None:
        out.append("\n")
        out.append(marker.omitted(last - first + 1, unit, marker.span(first + 1, last + 1, unit)))

    def print_definitions(self, order: list[str], out: list[str]) -> None:
        """The aliased values, once each: objects with the same keys as one table, others one per line."""
        out.append(_ALIAS_HEADER)
        i = 0
        while i < len(order):
            v = self.value_of[order[i]]
            j = i + 1
            if isinstance(v, dict):
                sig = sorted(v)
                while (
                    j < len(order)
                    and isinstance(self.value_of[order[j]], dict)
                    and sorted(self.value_of[order[j]]) == sig
                ):
                    j += 1
            members = [self.value_of[t] for t in order[i:j]]
            table = None
            if len(members) >= _MIN_ROWS:
                compact = sum(len(t) + 6 for t in order[i:j])
                table = self.table_for(members, "objects", compact, normalise=False)
            if table is not None:
                table.labels = [self.aliases[t] + " " for t in order[i:j]]
                out.append("\n")
                self.print_table(table, out)
            else:
                for text in order[i:j]:
                    out.append(f"\n{self.aliases[text]} = ")
                    # `inside`, not `unit`: a definition prints the value itself.
                    self.inside(self.value_of[text], out)
            i = j
        out.append("\n")

    def document(self, root: Any, lines: bool) -> str:
        """Count repeats with a dry run, name the aliases, then print definitions and body."""
        if lines and id(root) not in self.tables:
            for v in root:
                self.count_block(v)
        else:
            self.count_block(root)
        order = self.choose_aliases()
        out: list[str] = []
        if order:
            self.print_definitions(order, out)
        if lines and id(root) not in self.tables:
            for i, v in enumerate(root):
                if i:
                    out.append("\n")
                self.block(v, out)
        else:
            self.block(root, out)
        return "".join(out)


_SINGULAR = {"items": "item", "lines": "line", "entries": "entry", "objects": "object"}
_ALIAS_HEADER = "shared values, each printed once here; @N below stands for the value defined as @N:"


class _Absent:
    __slots__ = ()

    def __repr__(self) -> str:
        return "<absent>"


_ABSENT: Any = _Absent()


# -- finding the document -----------------------------------------------------------------------


_REJECTED: Any = object()


def _decoder(text: str) -> json.JSONDecoder:
    return _DECODER_NEG_ZERO if _NEG_ZERO.search(text) else _DECODER


def _start(text: str) -> int:
    """Offset of the `{` or `[` opening one of the first few lines, or -1."""
    pos = 0
    for _ in range(_MAX_HEAD_LINES + 1):
        if pos > _MAX_EDGE_CHARS:
            return -1
        i = pos
        while i < len(text) and text[i] in " \t\r\ufeff":
            i += 1
        if i < len(text) and text[i] in "{[":
            return i
        nl = text.find("\n", pos)
        if nl < 0:
            return -1
        pos = nl + 1
    return -1


def _short(tail: str, body_chars: int) -> bool:
    """A closing remark after the document: it starts on a new line and is small beside it."""
    rest = tail.lstrip(" \t\r")
    if not rest:
        return True
    return (
        rest[0] == "\n"
        and len(tail) <= min(_MAX_EDGE_CHARS, body_chars)
        and tail.strip(_WS).count("\n") < _MAX_HEAD_LINES
    )


def _locate(text: str) -> _Located | None:
    """The JSON document (or NDJSON lines) `text` consists of; _REJECTED for JSON we must not touch."""
    start = _start(text)
    if start < 0 or start > len(text) - start:
        return None
    ascii_only = _SURROGATE_ESCAPE.search(text) is not None
    try:
        root, end = _decoder(text).raw_decode(text, start)
    except _RejectedError:
        return _REJECTED
    except ValueError:
        return None
    if type(root) is not dict and type(root) is not list:
        return None
    tail = text[end:]
    if _short(tail, end - start):
        return _Located(text[:start], tail, root, lines=False, ascii_only=ascii_only)
    return _locate_lines(text, start, ascii_only)


def _locate_lines(text: str, start: int, ascii_only: bool) -> _Located | None:
    """NDJSON: every line from `start` on is one JSON object or array (a final newline allowed)."""
    body = text[start:]
    tail = ""
    if body.endswith("\n"):
        body, tail = body[:-1], "\n"
    values: list[Any] = []
    decoder = _decoder(body)
    for line in body.split("\n"):
        s = line.rstrip("\r")  # CRLF lines: the "\r" is whitespace between JSON values
        if not s or s[0] not in "{[" or s[-1] not in "}]":
            return None
        try:
            v, end = decoder.raw_decode(s)
        except _RejectedError:
            return _REJECTED
        except ValueError:
            return None
        if end != len(s):
            return None
        values.append(v)
    if len(values) < 2:
        return None
    return _Located(text[:start], tail, values, lines=True, ascii_only=ascii_only)


class JsonText:
    name: ClassVar[str] = "json"
    max_score: ClassVar[float] = 0.95  # the highest score detect() returns

    def __init__(self) -> None:
        # The router calls detect() then apply() on the same text: parse it once. A pure
        # memo of the last text (the parsed tree is never modified), so output is unaffected.
        self._last: tuple[str, _Located | None] = ("", None)

    def _find(self, text: str) -> _Located | None:
        if len(text) > _MAX_CHARS:
            return None
        last_text, found = self._last
        if last_text is text or (len(last_text) == len(text) and last_text == text):
            return found
        found = _locate(text)
        self._last = (text, found)
        return found

    def detect(self, text: str) -> float:
        try:
            found = self._find(text)
        except RecursionError:
            return 0.0
        if found is None:
            return 0.0
        if found is _REJECTED:
            # Ours to protect: JSON-shaped text nobody should rewrite line by line.
            return 0.6
        # Parsed whole: as sure as detection gets (JSON lines are JSON before they are log lines).
        return 0.95

    def apply(self, text: str, params: TransformParams) -> str:
        try:
            found = self._find(text)
            if found is None or found is _REJECTED:
                return text
            lossy = params.level == "aggressive" and lossy_allowed(text, params)
            printer = _Printer(params, lossy, found.ascii_only)
            printer.index(found.root)
            printer.plan(found.root, "lines" if found.lines else "items")
            if found.lines and id(found.root) not in printer.tables:
                for v in found.root:
                    printer.plan(v)
            body = printer.document(found.root, found.lines)
        except RecursionError:
            return text
        out = found.head + body + found.tail
        if out == text:
            return text
        # Most rewrites are far smaller; only a close call pays for the token estimate.
        if len(out) >= 0.9 * len(text) and estimate(out) >= estimate(text):
            return text
        return out


JSON_TEXT = JsonText()
