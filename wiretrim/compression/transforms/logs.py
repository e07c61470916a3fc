"""Log text: lines that differ only in their values become a template and short rows of values.

Lossless first. A frequent line shape gets one legend line, placed before its first row, and
each line of that shape becomes a row of its values::

    TA = 081109 {} {} INFO dfs.DataNode$DataXceiver: Receiving block {} src: {} dest: {}
    TA 203519 143 blk_7503483334202473044 /10.251.215.16:55695 /10.251.215.16:50010

Values keep their original order and each is a whole space-delimited token (never split or
merged); the legend keeps the exact spacing, and ``{2}`` stands for a value repeated in every
row, so each line can be rebuilt byte for byte. Line order is kept. A template ending in ``{*}``
covers only the line's header (timestamp, pid, level, component): the rest of the row is the
message, verbatim. One marker note on top says how to read rows.

A message goes into a legend only where it stays whole: when it is the same on every row, or
when the line carries a unique id (a token of six or more characters with a digit that occurs
nowhere else in the text, such as a block id or an IP:port) and is neither a warning nor a
failure. Any other line keeps its words together in a header row, because a line known by its
words is asked about by its words. Stack traces, the first and last lines, lines mentioning a
kept term, and lines of a rare shape stay verbatim. Warning, error and failure lines also stay
verbatim when they are rare (at most :data:`RARE_SEVERE_SHARE` of the lines): then they are the
news in the log. Where they are the bulk of it (a log of repeated warnings) they may become rows
like any other line. ``Logs(verbatim_severe="always")`` keeps every one of them as it was (it
saves about a third less on the corpus), ``"never"`` templates them all.

Stack traces are recognised here (Python, Java and .NET ``at`` frames, Go and Rust panics) so
that none of their lines become rows; their recursion is a repeated block like any other, so
the terminal pre-pass (:mod:`.terminal`) that runs first collapses it, together with escapes,
redraws and runs of identical lines, to one copy and a marker in source lines.

Lossy, only when :func:`lossy_allowed`: inside a run of consecutive rows of one template whose
message is the same on every row (and no warning or failure), the middle rows give way to a
marker that counts them in source lines. At "aggressive" this extends to rows of values.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass
from itertools import chain, count
from typing import ClassVar, Literal

from wiretrim.compression import marker
from wiretrim.compression.transforms._api import (
    TransformParams,
    first_hits,
    lines_mentioning_kept_terms,
    lossy_allowed,
)
from wiretrim.compression.transforms.terminal import collapse_repeats, redraw

# Detection reads this many lines from the start: enough to tell a log, cheap on big texts.
_DETECT_LINES = 150

# A date or clock in the first 48 characters of a line. Every form starts with a digit, and
# three only at the line's start: searching from the first digit is several times faster.
_STAMP_REACH = 48
_STAMP_AT_START = re.compile(r"\d{6} \d{6}\b|\s*\[\s*\d+\.\d+\]|\d{10}(?:\.\d+)?\b")
_STAMP_ANYWHERE = re.compile(
    r"\d{4}[-/.]\d{1,2}[-/.]\d{1,2}|(?<!\d)\d{1,2}:\d{2}:\d{2}|(?<!\d)\d{2}/\d{2}/\d{2,4}\b"
)
# A token that belongs to a timestamp or its padding: numbers, dates, clocks, day and month names.
_TS_TOKEN = re.compile(
    r"[\[(]?(?:[+-]?\d[\d:.,/+\-TZ_]*|(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun|Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct"
    r"|Nov|Dec)[a-z]*,?|-|\|)[\])]?:?"
)
# A level word at the start of a token: INFO, [notice], WARNING:root:..., error[E0308]:, npm ERR!
_LEVEL_TOKEN = re.compile(r"[\[(<]?([A-Za-z]{1,9})(?![\w.$\-])")
LEVELS = frozenset({
    "TRACE", "DEBUG", "DBG", "FINE", "FINER", "FINEST", "VERBOSE", "INFO", "INF", "NOTICE", "WARN", "WRN",
    "WARNING", "ERROR", "ERR", "SEVERE", "FATAL", "FTL", "CRITICAL", "CRIT", "ALERT", "EMERG", "PANIC",
})
SEVERE_LEVELS = frozenset({
    "WARN", "WRN", "WARNING", "ERROR", "ERR", "SEVERE", "FATAL", "FTL", "CRITICAL", "CRIT", "ALERT", "EMERG",
    "PANIC",
})
_LETTER_LEVELS = {"V": "VERBOSE", "D": "DEBUG", "I": "INFO", "W": "WARN", "E": "ERROR", "F": "FATAL"}
# Failure words: how logs without levels (syslog, build output) say something went wrong.
_FAILURE = re.compile(
    r"(?i)\b(?:errors?|fail(?:s|ed|ure|ures|ing)?|fatal|exceptions?|panic(?:ked)?|abort(?:ed|ing)?|crash(?:ed)?"
    r"|denied|refused|time[ds]? ?out|unable|cannot|can't|could ?n[o']t|not found|invalid|corrupt(?:ed)?"
    r"|broken|killed|unreachable|critical|severe|warn(?:ing)?s?|alert|rejected|segfault|segmentation fault"
    r"|traceback|out of memory|oom)\b"
)
# _FAILURE for lower-cased ASCII text: the same matches, several times faster.
_FAILURE_LOWER = re.compile(_FAILURE.pattern.removeprefix("(?i)"))
# A severe level in a line's header, for the verbatim_severe mode.
_SEVERE_WORD = re.compile(
    r"\b(?:WARN|WRN|WARNING|ERROR|ERR|SEVERE|FATAL|FTL|CRITICAL|CRIT|ALERT|EMERG|PANIC)\b"
    r"|\[(?:warn|warning|error|crit|alert|emerg)\]|(?<=\d) [WEF] "
)
# A line's header is searched for a severe level within this many characters; each match
# starts with one of the cues, and substring scans are far cheaper than the regex.
_SEVERE_REACH = 100
_SEVERE_CUES = (
    "WARN", "WRN", "ERR", "SEVERE", "FATAL", "FTL", "CRIT", "ALERT", "EMERG", "PANIC",
    "[warn", "[error", "[crit", "[alert", "[emerg", " W ", " E ", " F ",
)
# Cheap stems to try before the regex (its alternation is slow on long text).
_FAILURE_STEMS = (
    "err", "fail", "fatal", "exception", "panic", "abort", "crash", "denied", "refused", "time", "unable",
    "cannot", "can't", "could", "not found", "invalid", "corrupt", "broken", "killed", "unreachable",
    "critical", "severe", "warn", "alert", "reject", "segfault", "segmentation", "traceback", "memory", "oom",
)


def _has_failure(text: str) -> bool:
    low = text.lower()
    return any(map(low.__contains__, _FAILURE_STEMS)) and _FAILURE.search(text) is not None


# Lines that start a stack trace, and indented frame lines that belong to one.
_TRACE_START = re.compile(
    r"Traceback \(most recent call last\)|Caused by: |Exception in thread |goroutine \d+ \[|panic: "
    r"|thread '[^']*' panicked|stack backtrace:|During handling of the above|The above exception was"
    r"|[\w.$]+(?:Exception|Error|Throwable)\b(?::|$)"
)
_FRAME = re.compile(r"\s+(?:at |File \"|\.\.\. \d+ (?:more|common frames))|\t/\S+:\d+|\s*Suppressed: ")
# Inside a trace, Go prints each frame's function unindented: main.lookup(...), created by main.main.
_GO_FRAME = re.compile(r"[\w.$/*()\[\]{}-]+\(.*\)$|created by ")
_DIGIT = re.compile(r"\d")
_PLACEHOLDER = re.compile(r"\{\d*\}|\{\*\}")
# Lines with the same text once digits (and the dashes of negative ids) are gone may share a template.
_KEY = str.maketrans("", "", "0123456789-")

# A template needs this many rows, and must save this many tokens beyond its legend.
MIN_ROWS = 2
MIN_GAIN = 8.0
# Token cost of a row's "T12 " prefix, and characters per token of the text a template removes.
_ROW_COST = 3.0
_CHARS_PER_TOKEN = 3.5
# Repeated lines a marker must stand for (the terminal pre-pass).
_REPEAT_MIN = 3
# Template names: "T" and a letter is one token (cl100k); "T25" is two.
_NAMES = [f"T{c}" for c in "ABCDEFGHIKLMNOPRSTUVWXYZ"]
# Rows a lossy run keeps at each end, and the fewest rows worth a marker.
_RUN_EDGE = 1
_RUN_MIN_DROP = 3
_NOTE = marker.note(
    '"TA a b" rows below are log lines: template TA with its {} filled by a, b in order, {*} by the rest'
)
_NOTE_COPIES = marker.note(
    '"TA a b" rows below are log lines: template TA with its {} filled by a, b in order, {*} by the rest,'
    " {2} by the 2nd value again"
)


@dataclass(slots=True)
class _Template:
    rows: list[int]  # item positions
    cells: list[list[str]]  # per row: its line split on single spaces (a header row: `width` cells + message)
    width: int  # cells the template covers
    slots: list[int]  # cells that vary
    rest: bool  # the row carries the message after the covered cells
    copies: dict[int, int]  # cell -> the earlier slot whose value it repeats in every row
    severe: bool = False
    same_message: bool = False
    name: str = ""
    defined: bool = False


SevereLines = Literal["always", "rare", "never"]
# Warning and failure lines at most this share of a log stay verbatim under "rare".
RARE_SEVERE_SHARE = 0.1


class Logs:
    """The log transform; `verbatim_severe` decides when warning and failure lines stay as they were.

    A warning or error that is not kept verbatim becomes a row whose message stays whole (in
    the legend or in the row), never a row of values, and it is never dropped.
    """

    name: ClassVar[str] = "logs"
    max_score: ClassVar[float] = 0.95  # the highest score detect() returns

    def __init__(self, verbatim_severe: SevereLines = "rare") -> None:
        self.verbatim_severe = verbatim_severe

    def detect(self, text: str) -> float:
        seen = logged = 0.0
        for line in text.split("\n", _DETECT_LINES)[:_DETECT_LINES]:
            if not line.strip():
                continue
            seen += 1
            if "\x1b" in line or "\r" in line:
                line = redraw(line)
            if line.count(" ") < 2 or line.lstrip()[:1] == "|":
                continue  # CSV rows and table cells carry dates too, but are not log lines
            if _has_stamp(line) or _level(line.split(None, 4)[:4], 0)[0] >= 0:
                logged += 1
            elif _FRAME.match(line) or _TRACE_START.match(line):
                logged += 0.8
        if seen < 4 or logged < 3:
            return 0.0
        return round(0.95 * logged / seen, 3)

    def apply(self, text: str, params: TransformParams) -> str:
        src = text.split("\n")
        if "\x1b" in text or "\r" in text or "\b" in text:
            src = [redraw(line) for line in src]
        # A repeated log line costs little as a row, so only longer runs are worth a marker.
        items = collapse_repeats(src, min_lines=_REPEAT_MIN)
        out = _Render(items, params, lossy_allowed(text, params), self.verbatim_severe).text()
        if len(out) >= len(text) or not out.strip():
            return text
        return out


def _has_stamp(line: str) -> bool:
    first = _DIGIT.search(line, 0, _STAMP_REACH)
    if first is None:
        return False
    return (
        _STAMP_AT_START.match(line, 0, _STAMP_REACH) is not None
        or _STAMP_ANYWHERE.search(line, first.start(), _STAMP_REACH) is not None
    )


def _level(toks: list[str], skipped: int) -> tuple[int, str, bool]:
    """(index, level, message starts inside the token) of the first level among the first ten tokens.

    The index is -1 when there is none.
    """
    for i, tok in enumerate(toks[:10]):
        m = _LEVEL_TOKEN.match(tok)
        if m is None:
            continue
        word = m.group(1)
        if len(word) == 1:
            if word not in _LETTER_LEVELS or not ((i >= 2 and i >= skipped) or tok[1:2] == "/"):
                continue
            level = _LETTER_LEVELS[word]
        else:
            level = word.upper()
            if level not in LEVELS:
                continue
        return i, level, bool(tok[m.end() :].strip("[]()<>:|!"))
    return -1, "", False


def _ts_prefix(toks: list[str]) -> int:
    k = 0
    while k < len(toks) and k < 8 and _TS_TOKEN.fullmatch(toks[k]):
        k += 1
    return k


def _header(toks: list[str]) -> tuple[int, int, str]:
    """(timestamp tokens, message start, level) of one line's tokens.

    The header is leading timestamp tokens, then a level and its component (``INFO
    dfs.DataNode:``, ``WARN [main:Foo@12] -``), or else up to a ``proc[pid]:`` token. When in
    doubt it is shorter: a header too long would cut into the message.
    """
    skipped = _ts_prefix(toks)
    at, level, inside = _level(toks, skipped)
    if at >= 0:
        if inside:
            return skipped, at, level  # INFO:root:message, error[E0308]: message
        head = at + 1
        if head < len(toks):
            nxt = toks[head]
            if nxt.endswith(":") and head + 1 < len(toks):
                head += 1
            elif nxt.startswith("["):
                end = next((k for k in range(head, min(head + 4, len(toks))) if toks[k].endswith("]")), -1)
                if end >= 0:
                    head = end + 1
        if head < len(toks) and toks[head] in ("-", ":", "|", "--"):
            head += 1
        return skipped, min(head, len(toks)), level
    for k in range(skipped, min(skipped + 5, len(toks))):
        if toks[k].endswith(":") and not _TS_TOKEN.fullmatch(toks[k]):
            return skipped, k + 1, ""
    return skipped, skipped, ""


def _cell_of(cells: list[str], token: int) -> int:
    """Index of the cell holding the `token`-th non-empty cell (len(cells) past the end)."""
    seen = 0
    for k, c in enumerate(cells):
        if c:
            if seen == token:
                return k
            seen += 1
    return len(cells)


def _severe_lines(lines: list[str]) -> set[int]:
    """Indexes of the lines with a severe level in their header, or a failure word anywhere.

    The same as testing each line with the regexes, only faster: the regexes run only on lines
    holding a cue or a stem, from the first one on (no match can start earlier).
    """
    severe: set[int] = set()
    for k, offset in first_hits([line[:_SEVERE_REACH] for line in lines], _SEVERE_CUES).items():
        if _SEVERE_WORD.search(lines[k], offset, _SEVERE_REACH):
            severe.add(k)
    for k, offset in first_hits(lines, _FAILURE_STEMS, lower=True).items():
        if k not in severe and _failure_from(lines[k], offset):
            severe.add(k)
    return severe


def _failure_from(line: str, stem_at: int) -> bool:
    """_FAILURE.search(line), given where the first failure stem of the lower-cased line starts."""
    if not line.isascii():
        return _FAILURE.search(line) is not None
    # In ASCII text, lower-casing is exactly what (?i) does, so offsets stay and the faster
    # case-sensitive pattern applies. Every failure word starts with its stem, except
    # "out of memory", which starts 7 characters before "memory".
    return _FAILURE_LOWER.search(line.lower(), max(0, stem_at - 7)) is not None


class _Render:
    """One pass over the items: which lines stay, which templates pay, and the output text."""

    def __init__(
        self, items: list[tuple[int, str]], params: TransformParams, lossy: bool, verbatim_severe: SevereLines
    ) -> None:
        self.items = items
        self.verbatim_severe = verbatim_severe
        self.params = params
        self.lossy = lossy
        self.templates: list[_Template] = []
        self.ids: set[str] = set()

    def text(self) -> str:
        items = self.items
        cands = self._candidates()
        if len(cands) < MIN_ROWS:
            return "\n".join(t for _, t in items)
        # Tokens that name one line: six or more characters with a digit, found once in the text.
        words = Counter("\n".join(t for _, t in items).split())
        self.ids = {
            w for w, c in words.items() if c == 1 and len(w) >= 6 and not w.isalpha() and _DIGIT.search(w)
        }
        exact: dict[str, list[int]] = {}
        keys = "\n".join(items[p][1] for p in cands).translate(_KEY).split("\n")
        for p, key in zip(cands, keys, strict=True):
            exact.setdefault(key, []).append(p)
        # Cells with a digit are values whatever their letters (R25-M0-NA, 0x1f): merge on that.
        groups: dict[tuple[str, ...], list[int]] = {}
        for key, ps in exact.items():
            cells = items[ps[0]][1].split(" ")
            shape = tuple(c if len(c) == len(k) else "\0" for c, k in zip(cells, key.split(" "), strict=True))
            groups.setdefault(shape, []).extend(ps)
        heads: dict[tuple[int, tuple[str, ...]], list[int]] = {}
        for shape, ps in groups.items():
            ps.sort()
            left, hcell = self._full(ps)
            if hcell > 0 and left:
                heads.setdefault((hcell, shape[:hcell]), []).extend(left)
        for (hcell, _), ps in heads.items():
            if len(ps) >= MIN_ROWS:
                ps.sort()
                self._header_rows(ps, hcell)
        if not self.templates:
            return "\n".join(t for _, t in items)
        return self._emit()

    def _candidates(self) -> list[int]:
        """Item positions that may become rows: no marker, blank, trace, kept term, first or last line."""
        cands: list[int] = []
        in_trace = False
        kept = lines_mentioning_kept_terms([line for _, line in self.items], self.params)
        for p, (i, line) in enumerate(self.items):
            if i < 0 or not line.strip():
                in_trace = False
                continue
            if line[0] in " \t":
                if in_trace or _FRAME.match(line):
                    in_trace = True
                    continue
            elif _TRACE_START.match(line) or (in_trace and _GO_FRAME.match(line)):
                in_trace = True
                continue
            else:
                in_trace = False
            if p in kept:
                continue
            cands.append(p)
        content = [p for p, (i, t) in enumerate(self.items) if i >= 0 and t.strip()]
        if self.verbatim_severe != "never":
            severe = {cands[k] for k in _severe_lines([self.items[p][1] for p in cands])}
            if self.verbatim_severe == "always" or len(severe) <= RARE_SEVERE_SHARE * len(content):
                cands = [p for p in cands if p not in severe]
        if content and cands:
            ends = (content[0], content[-1])
            cands = [p for p in cands if p not in ends]
        return cands

    def _full(self, ps: list[int]) -> tuple[list[int], int]:
        """Template the lines of one shape as far as that keeps their messages whole.

        Returns the lines left over and how many cells their header spans (0: none to template).
        """
        cells = [self.items[p][1].split(" ") for p in ps]
        toks = [c for c in cells[0] if c]
        skipped, head, level = _header(toks)
        hcell = _cell_of(cells[0], head) if 0 < head < len(toks) else 0
        if len(ps) < MIN_ROWS:
            return ps, hcell
        width = len(cells[0])
        tcell = _cell_of(cells[0], max(head, skipped))
        severe = level in SEVERE_LEVELS
        left: list[int] = []
        for idx, slots in _partition(cells, width, left):
            if not any(k >= hcell for k in slots):  # with no header found, the whole line is message
                self._accept(ps, cells, idx, width, slots, False, severe, True, left)
                continue
            # A unique id (block id, IP:port) names the line; its words may then go to the legend.
            named = [False] * len(idx)
            if not severe:
                ids = self.ids
                for k in slots:
                    if k < tcell:
                        continue
                    col = [cells[j][k] for j in idx]
                    if ids.isdisjoint(col):
                        continue
                    for n, v in enumerate(col):
                        if v in ids and self.items[ps[idx[n]]][1].count(v) == 1:
                            named[n] = True
            with_id = [j for n, j in enumerate(idx) if named[n]]
            if len(with_id) >= MIN_ROWS:
                id_slots = _slots(list(zip(*[cells[j] for j in with_id], strict=False)), width)
                if _has_failure(_legend(cells[with_id[0]], width, id_slots, {}, False)):
                    left.extend(with_id)  # a failure's words stay together, in a header row
                else:
                    self._accept(ps, cells, with_id, width, id_slots, False, False, False, left)
            else:
                left.extend(with_id)
            by_message: dict[tuple[str, ...], list[int]] = {}
            msg = [k for k in slots if k >= hcell]
            keys = zip(*([cells[j][k] for j in idx] for k in msg), strict=True)
            for n, key in enumerate(keys):
                if not named[n]:
                    by_message.setdefault(key, []).append(idx[n])
            for same in by_message.values():
                if len(same) < MIN_ROWS:
                    left.extend(same)
                else:
                    same_slots = _slots(list(zip(*[cells[j] for j in same], strict=False)), width)
                    self._accept(ps, cells, same, width, same_slots, False, severe, True, left)
        return sorted(ps[j] for j in left), hcell

    def _header_rows(self, ps: list[int], width: int) -> None:
        """Template the headers of lines that share one, each row carrying its message verbatim."""
        cells = [self.items[p][1].split(" ", width) for p in ps]
        toks = [c for c in cells[0][:width] if c]
        level = _level(toks, _ts_prefix(toks))[1]
        left: list[int] = []
        for idx, slots in _partition(cells, width, left):
            self._accept(ps, cells, idx, width, slots, True, level in SEVERE_LEVELS, False, left)

    def _accept(
        self,
        ps: list[int],
        cells: list[list[str]],
        idx: list[int],
        width: int,
        slots: list[int],
        rest: bool,
        severe: bool,
        same: bool,
        left: list[int],
    ) -> None:
        """Keep the template when its rows save more than its legend costs; else leave the rows over."""
        first = cells[idx[0]]
        if "{" in self.items[ps[idx[0]]][1] and any(
            _PLACEHOLDER.search(first[k]) for k in range(width) if k not in slots
        ):
            left.extend(idx)  # the legend would be ambiguous
            return
        copies: dict[int, int] = {}
        if len(slots) > 1:
            cols = list(zip(*[cells[j] for j in idx], strict=False))
            for a, k in enumerate(slots):
                if len(first[k]) > 3:  # a short value costs less than its reference
                    source = next((i for i in slots[:a] if i not in copies and cols[i] == cols[k]), -1)
                    if source >= 0:
                        copies[k] = source
        own = [k for k in slots if k not in copies]
        legend = _legend(first, width, own, copies, rest)
        # Every row loses the same constant text (copies aside): estimate from the first.
        removed = len(" ".join(first[:width])) - len(" ".join(first[k] for k in own))
        saved = (len(idx) * removed - len(legend)) / _CHARS_PER_TOKEN - _ROW_COST * len(idx)
        if saved < MIN_GAIN:
            left.extend(idx)
            return
        if same and not severe and _has_failure(legend):
            severe = True
        rows = [ps[j] for j in idx]
        kept = [cells[j] for j in idx]
        self.templates.append(_Template(rows, kept, width, own, rest, copies, severe, same))

    def _emit(self) -> str:
        row_of: dict[int, tuple[_Template, int]] = {}
        for tpl in self.templates:
            for j, p in enumerate(tpl.rows):
                row_of[p] = (tpl, j)
        out: list[str] = [_NOTE_COPIES if any(t.copies for t in self.templates) else _NOTE]
        # The busiest templates get the names that cost one token; the rest are numbered on. A name
        # that starts a line kept as it is would make that line read as a row: skip it.
        items = self.items
        taken = {items[p][1].split(" ", 1)[0] for p in range(len(items)) if p not in row_of}
        names = (name for name in chain(_NAMES, (f"T{n}" for n in count(1))) if name not in taken)
        for tpl in sorted(self.templates, key=lambda t: (-len(t.rows), t.rows[0])):
            tpl.name = next(names)
        p = 0
        while p < len(items):
            hit = row_of.get(p)
            if hit is None:
                out.append(items[p][1])
                p += 1
                continue
            tpl, j = hit
            if not tpl.defined:
                tpl.defined = True
                legend = _legend(tpl.cells[0], tpl.width, tpl.slots, tpl.copies, tpl.rest)
                out.append(f"{tpl.name} = {legend}")
            # Balanced drops only rows whose message the legend holds; aggressive drops values too.
            if self.lossy and not tpl.severe and (tpl.same_message or self.params.level == "aggressive"):
                end = p
                while end + 1 < len(items) and (nxt := row_of.get(end + 1)) is not None and nxt[0] is tpl:
                    if not tpl.same_message and _has_failure(items[end + 1][1]):
                        break  # a failure in a row's own message is never dropped
                    end += 1
                dropped = end - p + 1 - 2 * _RUN_EDGE
                if dropped >= _RUN_MIN_DROP:
                    out.extend(_row(tpl, row_of[q][1]) for q in range(p, p + _RUN_EDGE))
                    first, last = items[p + _RUN_EDGE][0] + 1, items[end - _RUN_EDGE][0] + 1
                    out.append(marker.omitted(dropped, f"{tpl.name} lines", marker.span(first, last)))
                    out.extend(_row(tpl, row_of[q][1]) for q in range(end - _RUN_EDGE + 1, end + 1))
                    p = end + 1
                    continue
            out.append(_row(tpl, j))
            p += 1
        return "\n".join(out)


def _partition(cells: list[list[str]], width: int, left: list[int]) -> list[tuple[list[int], list[int]]]:
    """Rows (indexes into `cells`) that can share a template, each set with its varying cells.

    A value most rows share becomes constant and the other rows are tried on their own; rows
    with an empty value in a varying cell, and sets too small, are added to `left`.
    """
    out: list[tuple[list[int], list[int]]] = []
    queue = [(list(range(len(cells))), 0)]
    while queue:
        idx, depth = queue.pop()
        if len(idx) < MIN_ROWS:
            left.extend(idx)
            continue
        cols = list(zip(*[cells[j] for j in idx], strict=False))
        slots = _slots(cols, width)
        # An empty value would vanish from a row of values.
        if any("" in cols[k] for k in slots):
            blank = {n for n in range(len(idx)) if any(not cols[k][n] for k in slots)}
            left.extend(j for n, j in enumerate(idx) if n in blank)
            queue.append(([j for n, j in enumerate(idx) if n not in blank], depth + 1))
            continue
        if depth < 3:
            # A value shared by enough rows to pay for a legend of its own becomes a constant there.
            legend = sum(len(c) + 1 for k, c in enumerate(cells[idx[0]][:width]) if k not in slots) + 4
            split = False
            for k in slots:
                col = cols[k]
                if len(set(col)) * 2 > len(col):
                    continue  # mostly distinct values (clocks, ids): nothing heavy to split on
                counts = Counter(col)
                heavy = {v for v, c in counts.items() if c >= MIN_ROWS and c * (len(v) + 1) > legend}
                if not heavy or (len(heavy) == 1 and counts[next(iter(heavy))] == len(col)):
                    continue
                parts: dict[str, list[int]] = {}
                for j, v in zip(idx, col, strict=True):
                    parts.setdefault(v if v in heavy else "\0", []).append(j)
                queue.extend((part, depth + 1) for part in parts.values())
                split = True
                break
            if split:
                continue
        out.append((idx, slots))
    out.sort()
    return out


def _slots(cols: list[tuple[str, ...]], width: int) -> list[int]:
    """The cells (below `width`) whose value is not the same in every row, from the columns."""
    return [k for k, col in enumerate(cols[:width]) if col.count(col[0]) != len(col)]


def _legend(cells: list[str], width: int, slots: list[int], copies: dict[int, int], rest: bool) -> str:
    """The template line: constant cells as they are, ``{}`` per value, ``{2}`` for a repeat of the 2nd."""
    parts = cells[:width]
    for k in slots:
        parts[k] = "{}"
    for k, source in copies.items():
        parts[k] = f"{{{slots.index(source) + 1}}}"
    if rest:
        parts.append("{*}")
    return " ".join(parts)


def _row(tpl: _Template, j: int) -> str:
    c = tpl.cells[j]
    values = [c[k] for k in tpl.slots]
    if tpl.rest:
        values.append(c[tpl.width])
    return " ".join([tpl.name, *values])


LOGS = Logs()
