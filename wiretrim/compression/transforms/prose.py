"""Markdown, reStructuredText and plain prose (docs, RAG passages).

Lossless at "lossless" and "balanced"; nothing a reader sees as text changes:

* trailing spaces and tabs go (outside reStructuredText a hard break keeps two spaces);
* runs of blank lines between paragraphs shrink to one blank line (never inside code);
* decoration rules longer than a token shrink: an underline to its title's length (still
  valid RST and Markdown), a standalone rule to 16 characters;
* Markdown pipe tables lose their alignment padding (see :mod:`.table`).

Hard-wrapped paragraphs are not re-joined: that saves about one token per joined line
(1–3% on RST docs) but breaks the line-for-line match an agent needs to edit the file.

At "aggressive", over the size budget, a paragraph that repeats an earlier one word for
word becomes a marker naming the lines it repeats.
"""

from __future__ import annotations

import re
from typing import ClassVar

from wiretrim.compression import marker
from wiretrim.compression.transforms._api import TransformParams, lossy_allowed, mentions_kept_term
from wiretrim.compression.transforms.code import is_code_line
from wiretrim.compression.transforms.table import rewrite_pipe_tables

_DETECT_LINES = 150
_WORD = re.compile(r"[A-Za-z][A-Za-z'’-]*")
_MARKUP_START = re.compile(r"\s*(?:#{1,6} \S|[-*+] \S|\d+[.)] \S|\.\. [\w-]+::|\.\. _|>\s|```|~~~)")
_MARKUP_ANY = re.compile(r":\w+:`|``\w|\]\(|::$")
# reStructuredText has no hard line breaks: trailing spaces there are only noise.
_RST_CUE = re.compile(r"^\.\. [\w-]+::|^\.\. _|:\w+:`|::$", re.M)
_RULE = re.compile(r"([=\-~^\"'`#*+_.:])\1{15,}")
# JSON or markup, not prose (a "[1] docs/x.rst" passage header is prose).
_DATA_START = re.compile(r"\s*(?:[{<]|\[\s*(?:[\[{\"\]]|-?\d[\d.eE+-]*\s*,))")
_FENCE = re.compile(r"\s*(`{3,}|~{3,})")
# Standalone rules keep this many characters: one token in cl100k, and valid everywhere.
RULE_KEEP = 16
# Shorter paragraphs are never replaced by a reference (a marker would not pay).
MIN_REPEAT_CHARS = 80


def _is_prose_line(line: str) -> bool:
    """A line of running text: several words, mostly letters and spaces, nothing code-like."""
    body = line.strip()
    if "_" in body:
        return False
    words = _WORD.findall(body)
    if len(words) < 5:
        return False
    letters = sum(map(len, words)) + len(words) - 1
    # The regexes last: most lines have already failed a cheaper test.
    return letters >= 0.85 * len(body) and not is_code_line(body)


def _is_markup(line: str) -> bool:
    return bool(_MARKUP_START.match(line) or _MARKUP_ANY.search(line) or _RULE.fullmatch(line.strip()))


class Prose:
    name: ClassVar[str] = "prose"
    max_score: ClassVar[float] = 0.7  # the highest score detect() returns

    def detect(self, text: str) -> float:
        if _DATA_START.match(text):
            return 0.0
        lines = text.split("\n", _DETECT_LINES)[:_DETECT_LINES]
        rows = [line for line in lines if line.strip()]
        if len(rows) < 3:
            return 0.0
        bodies = [line.strip() for line in rows]
        total = sum(map(len, bodies))
        prose = sum(len(body) for body in bodies if _is_prose_line(body))
        # Shares of characters, not lines: docs interleave prose with many short code lines.
        share = prose / total
        if share >= 0.4:
            return 0.7 if any(map(_is_markup, rows)) else 0.65
        if share >= 0.25 and sum(map(_is_markup, rows)) * 10 >= len(rows):
            return 0.55
        return 0.0

    def apply(self, text: str, params: TransformParams) -> str:
        lines = text.split("\n")
        if params.level == "aggressive" and lossy_allowed(text, params):
            lines = _drop_repeats(lines, params)
        out = _tidy(lines, hard_breaks=_RST_CUE.search(text) is None)
        result = "\n".join(out)
        if result == text or not result.strip():
            return text
        return result


def _code_mask(lines: list[str]) -> list[bool]:
    """True for lines inside fenced or indented code (literal blocks included), and for fences."""
    mask = [False] * len(lines)
    fence: str | None = None
    for i, line in enumerate(lines):
        m = _FENCE.match(line)
        if fence is not None:
            mask[i] = True
            if m is not None and m.group(1)[0] == fence[0] and len(m.group(1)) >= len(fence):
                fence = None
            continue
        if m is not None:
            fence = m.group(1)
            mask[i] = True
        elif line[:1] in (" ", "\t") and line.strip():
            mask[i] = True
    return mask


def _tidy(lines: list[str], hard_breaks: bool) -> list[str]:
    """The lossless steps: trailing blanks, blank-line runs, long rules, padded pipe tables."""
    code = _code_mask(lines)
    out: list[str] = []
    out_code: list[bool] = []
    n = len(lines)
    for i, line in enumerate(lines):
        body = line.rstrip(" \t")
        if not body:
            # A second blank line in a row goes, unless next to code (where blank lines are content).
            if out and not out[-1] and not _code_near(lines, code, i):
                continue
            out.append("")
            out_code.append(False)
            continue
        tail = line[len(body) :]
        nxt = lines[i + 1] if i + 1 < n else ""
        if hard_breaks and tail.startswith("  ") and not tail.strip(" ") and nxt.strip() and not code[i]:
            body += "  "  # a Markdown hard break
        if not code[i]:
            body = _shorten_rule(body, lines, i)
        out.append(body)
        out_code.append(code[i])
    return _tables_outside_code(out, out_code)


def _code_near(lines: list[str], code: list[bool], i: int) -> bool:
    """True when blank line `i` is in code or the nearest non-blank line on either side is code."""
    if code[i]:
        return True
    for step in (-1, 1):
        j = i + step
        while 0 <= j < len(lines) and not lines[j].strip():
            j += step
        if 0 <= j < len(lines) and code[j]:
            return True
    return False


def _shorten_rule(body: str, lines: list[str], i: int) -> str:
    """A long decoration rule shortened where its length carries no meaning."""
    if _RULE.fullmatch(body) is None:
        return body
    prev = lines[i - 1].rstrip() if i > 0 else ""
    nxt = lines[i + 1].rstrip() if i + 1 < len(lines) else ""
    after = lines[i + 2].rstrip() if i + 2 < len(lines) else ""
    before = lines[i - 2].rstrip() if i > 1 else ""
    if prev and _RULE.fullmatch(prev) is None:
        # An underline: RST wants it at least as long as the title; an overline pair must match.
        if before == body or not prev.isascii():
            return body
        return body[: max(len(prev), 3)]
    if nxt and after == body:
        return body  # the overline of an overlined title
    if not prev and not nxt:
        return body[:RULE_KEEP]
    return body


def _tables_outside_code(lines: list[str], code: list[bool]) -> list[str]:
    """Padded Markdown pipe tables rewritten, only in stretches of non-code lines."""
    if not any("|" in line for line in lines):
        return lines
    out: list[str] = []
    i = 0
    while i < len(lines):
        j = i
        while j < len(lines) and code[j] == code[i]:
            j += 1
        chunk = lines[i:j]
        out.extend(chunk if code[i] else rewrite_pipe_tables(chunk))
        i = j
    return out


def _drop_repeats(lines: list[str], params: TransformParams) -> list[str]:
    """Paragraphs that repeat an earlier one word for word, replaced by a marker naming it."""
    seen: dict[str, tuple[int, int]] = {}
    out: list[str] = []
    i = 0
    n = len(lines)
    while i < n:
        if not lines[i].strip():
            out.append(lines[i])
            i += 1
            continue
        j = i
        while j < n and lines[j].strip():
            j += 1
        para = lines[i:j]
        key = " ".join(" ".join(para).split())
        first = seen.get(key)
        if first is None or len(key) < MIN_REPEAT_CHARS or any(mentions_kept_term(ln, params) for ln in para):
            seen.setdefault(key, (i + 1, j))
            out.extend(para)
        else:
            count = j - i
            unit = "repeated lines" if count > 1 else "repeated line"
            out.append(marker.omitted(count, unit, "same as " + marker.span(*first)))
        i = j
    return out


PROSE = Prose()
