"""Terminal output as a terminal would finally show it: a lossless pre-pass.

Three rewrites, none of which loses what a person at the terminal would have seen:

* ANSI escape sequences (colours, cursor moves, window titles) are removed;
* carriage-return and backspace redraws (progress bars, spinners) are replayed on a line
  buffer, so only the final state of each line stays (erase-line codes are honoured);
* a run of identical lines, or of an identical block of up to :data:`MAX_PERIOD` lines
  (a recursion in a stack trace), keeps its first copy and a marker with the count, in
  line units, where the run was.

Progress tables printed as plain lines (curl, wget) are ordinary lines and are kept.
:func:`clean` is the pre-pass a router may run on tool output before a content
transform; :mod:`~wiretrim.compression.transforms.logs` runs the same steps itself.
It is not meant for file reads: an agent that edits a file needs its repeated lines.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from itertools import pairwise
from typing import ClassVar

from wiretrim.compression import marker
from wiretrim.compression.transforms._api import TransformParams

# Blocks longer than this are not searched for repeats (a Java or Python frame is 1-2 lines).
MAX_PERIOD = 8

# CSI (colours, cursor), OSC (titles, hyperlinks), DCS/PM/APC strings, charset picks, 2-byte escapes.
_ESC = re.compile(
    r"\x1b(?:\[[0-?]*[ -/]*[@-~]|\][^\x07\x1b]*(?:\x07|\x1b\\)?|[PX^_][^\x1b]*(?:\x1b\\)?"
    r"|[()*+][0-9A-Za-z]|[@-Z\\-_])"
)
# What the line replay acts on: text runs, CR, BS, and escape sequences.
_PIECE = re.compile(r"[^\r\x08\x1b]+|\r|\x08|" + _ESC.pattern + r"|\x1b")
_CSI = re.compile(r"\x1b\[([0-9;]*)([A-Za-z])")
_SPECIAL = ("\x1b", "\r", "\b")


def redraw(line: str) -> str:
    """What a terminal shows for one line (no newline inside): escapes gone, redraws replayed."""
    if not any(c in line for c in _SPECIAL):
        return line
    ending = ""
    if line.endswith("\r"):  # a CRLF ending is not a redraw; keep it as it was
        line, ending = line[:-1], "\r"
    if "\r" not in line and "\b" not in line:
        return _ESC.sub("", line).replace("\x1b", "") + ending
    buf: list[str] = []
    pos = 0
    for m in _PIECE.finditer(line):
        piece = m.group()
        if piece == "\r":
            pos = 0
        elif piece == "\b":
            pos = max(0, pos - 1)
        elif piece[0] == "\x1b":
            pos = _csi(piece, buf, pos)
        else:
            if pos > len(buf):
                buf.extend(" " * (pos - len(buf)))
            buf[pos : pos + len(piece)] = piece
            pos += len(piece)
    return "".join(buf).rstrip(" ") + ending if buf else ending


def _csi(seq: str, buf: list[str], pos: int) -> int:
    """Apply the cursor and erase codes that change what stays visible; returns the new column."""
    m = _CSI.fullmatch(seq)
    if m is None:
        return pos
    arg, op = m.groups()
    n = int(arg) if arg.isdigit() else 0
    if op == "K":  # erase in line: 0 = to the end, 1 = to the cursor, 2 = all
        if n == 0:
            del buf[pos:]
        elif n == 1:
            buf[: pos + 1] = " " * min(pos + 1, len(buf))
        else:
            buf.clear()
    elif op == "G":  # cursor to column n (1-based)
        return max(0, (n or 1) - 1)
    elif op == "C":
        return pos + (n or 1)
    elif op == "D":
        return max(0, pos - (n or 1))
    return pos


def collapse_repeats(lines: Sequence[str], start: int = 1, min_lines: int = 1) -> list[tuple[int, str]]:
    """Runs of a repeated line or block, cut to the first copy plus a marker.

    Returns ``(index, text)`` pairs: the 0-based index of a kept line in `lines`, or -1 for
    a marker. `start` is the line number of ``lines[0]`` in the source, for the markers. A run
    is cut only when it omits at least `min_lines` lines and the marker is shorter than they
    are. Blank lines never form a run on their own.
    """
    n = len(lines)
    # Distance to the next equal line: a run of period p needs lines[i + p] == lines[i].
    gap = [n] * n
    last: dict[str, int] = {}
    for k in range(n - 1, -1, -1):
        j = last.get(lines[k])
        if j is not None:
            gap[k] = j - k
        last[lines[k]] = k
    out: list[tuple[int, str]] = []
    i = 0
    while i < n:
        if gap[i] > MAX_PERIOD:
            out.append((i, lines[i]))
            i += 1
            continue
        best_p, best_reps = 0, 0
        for p in range(gap[i], MAX_PERIOD + 1):
            if i + 2 * p > n:
                break
            j = i + p
            while j < n and lines[j] == lines[j - p]:
                j += 1
            reps = (j - i - p) // p
            if reps and reps * p > best_reps * best_p:
                best_p, best_reps = p, reps
        if best_p:
            first = i + best_p
            last_k = first + best_p * best_reps - 1
            if not any(lines[k].strip() for k in range(i, first)):
                # Blank runs stay (line numbers hang on them); skip them whole, in linear time.
                out.extend((k, lines[k]) for k in range(i, last_k + 1))
                i = last_k + 1
                continue
            note = _repeat_marker(best_p, best_reps, first + start, last_k + start)
            omitted = sum(len(lines[k]) + 1 for k in range(first, last_k + 1))
            if omitted > len(note) + 8 and best_p * best_reps >= min_lines:
                out.extend((k, lines[k]) for k in range(i, first))
                out.append((-1, note))
                i = last_k + 1
                continue
        out.append((i, lines[i]))
        i += 1
    return out


def _repeat_marker(period: int, reps: int, first: int, last: int) -> str:
    where = marker.span(first, last)
    if period == 1:
        unit = "repeat of the line above" if reps == 1 else "repeats of the line above"
        return marker.omitted(reps, unit, where)
    return marker.omitted(reps * period, "lines", f"{where}: the {period} lines above, {reps} more times")


def clean(text: str) -> str:
    """`text` with escapes stripped, redraws replayed and repeated runs collapsed (lossless)."""
    lines = text.split("\n")
    if any(c in text for c in _SPECIAL):
        lines = [redraw(line) for line in lines]
    out = "\n".join(t for _, t in collapse_repeats(lines))
    return out if out.strip() else text


class Terminal:
    name: ClassVar[str] = "terminal"
    max_score: ClassVar[float] = 0.7  # the highest score detect() returns

    def detect(self, text: str) -> float:
        escapes = text.count("\x1b[")
        redraws = text.count("\r") - text.count("\r\n")
        if escapes >= 3 or redraws >= 2:
            return 0.7
        lines = text.split("\n", 2000)
        runs = sum(1 for a, b in pairwise(lines) if a == b and a.strip())
        if runs >= 5 and runs * 10 >= len(lines):
            return 0.55
        return 0.2 if escapes or redraws or runs else 0.0

    def apply(self, text: str, params: TransformParams) -> str:
        out = clean(text)
        return out if len(out) < len(text) else text


TERMINAL = Terminal()
