"""grep / ripgrep results: context lines lose their repeated path; far context folds when allowed.

Match lines are the records of a search and are never changed or dropped: each keeps its
whole `path:line:text`, so `src/flask/sessions.py:150:` stays findable, and every matched
file stays named. Nothing is fused, reordered or renumbered; every line keeps its own
number and text.

Plain match-only output (grep without `-C`) has nothing to gain and comes back as it is;
it is still claimed, so that no lossy transform drops a record.

Lossless step (every level). In `grep -rn -C` / `rg -n -C` output every line of a
`--`-separated group comes from one file, so a context line `path-12-text` becomes
`12-text`, the form grep itself prints for a single file. This is done only for a group
whose lines all start with the same path (taken from a match line of the group), carry
consecutive line numbers and include at least one match, so the path is never in doubt.
One note at the top says so. `--` separators stay: they delimit the groups.

Lossy step (when `lossy_allowed`). Context lines farther than `context` lines from a
match (1 at "balanced", 0 at "aggressive") are replaced, run by run, by a marker counting
them, unless they mention a kept term or are the first or last line of the text. A run
whose marker would cost about as much as its lines stays, and so does a single line at
"balanced". The same applies to `rg --heading` and single-file `grep -n -C` output
(`12:text` / `12-text` lines).
"""

from __future__ import annotations

import re
from typing import ClassVar, NamedTuple

from wiretrim.compression import marker
from wiretrim.compression.transforms._api import TransformParams, lossy_allowed, mentions_kept_term
from wiretrim.compression.transforms._context import Fold, fold_context, fold_for

# A path has no whitespace and no ':' (a Windows drive prefix aside) and is followed by the line number.
_MATCH = re.compile(r"((?:[A-Za-z]:[\\/])?[^\s:]+):(\d+):")
# `12:text` / `12-text`: rg --heading bodies and single-file grep -n.
_BARE = re.compile(r"(\d+)([:-])")
_PATHISH = re.compile(r"[^\s:]*[A-Za-z_/.][^\s:]*")
_SEP = "--"
_NOTE = marker.note("context lines below show only N-text; their path is on their group's match lines")
# Factor paths only when that saves clearly more than the note costs.
_MIN_FACTOR_CHARS = 3 * len(_NOTE)
_DETECT_LINES = 200

# Line kinds inside a group.
_M = "m"  # match: kept whole, always
_C = "c"  # context


def _groups(lines: list[str]) -> list[tuple[int, int]]:
    """[start, end) of each run of lines between `--` separators and blank lines."""
    out: list[tuple[int, int]] = []
    start = 0
    for k, line in enumerate(lines):
        if line == _SEP or not line.strip():
            if k > start:
                out.append((start, k))
            start = k + 1
    if len(lines) > start:
        out.append((start, len(lines)))
    return out


def _prefixed(lines: list[str], start: int, end: int) -> tuple[str, list[str]] | None:
    """(path, kinds) when lines[start:end] is one file's grep group with consecutive numbers."""
    tries = 0
    for k in range(start, end):
        m = _MATCH.match(lines[k])
        if m is None:
            continue
        kinds = _verify(lines, start, end, m.group(1), int(m.group(2)) - (k - start))
        if kinds is not None:
            return m.group(1), kinds
        tries += 1
        if tries == 3:  # a context line's text may look like a match; 3 tries are plenty
            return None
    return None


def _verify(lines: list[str], start: int, end: int, path: str, first: int) -> list[str] | None:
    """Kinds when every line is `path:N:` or `path-N-` with N counting up from `first`."""
    kinds: list[str] = []
    number = first
    for k in range(start, end):
        line = lines[k]
        if line.startswith(f"{path}-{number}-"):
            kinds.append(_C)
        elif line.startswith(f"{path}:{number}:"):
            kinds.append(_M)
        else:
            return None
        number += 1
    return kinds


def _bare(lines: list[str], start: int, end: int) -> list[str] | None:
    """Kinds when lines[start:end] are `12:text` / `12-text` lines with consecutive numbers."""
    kinds: list[str] = []
    expected = -1
    for k in range(start, end):
        m = _BARE.match(lines[k])
        if m is None:
            return None
        value = int(m.group(1))
        if expected >= 0 and value != expected:
            return None
        expected = value + 1
        kinds.append(_M if m.group(2) == ":" else _C)
    if _M not in kinds:
        return None
    return kinds


def _last_content_line(lines: list[str]) -> int:
    """Index of the last line with text (a trailing newline leaves an empty last element)."""
    k = len(lines) - 1
    while k > 0 and not lines[k].strip():
        k -= 1
    return k


def _heading(line: str) -> bool:
    """True for an `rg --heading` file line: one path-like word with a `/` or a `.`."""
    return _PATHISH.fullmatch(line) is not None and ("/" in line or "." in line)


class _Group(NamedTuple):
    start: int
    end: int
    path: str | None  # set for `path:N:` groups, None for `N:` (rg --heading, single file)
    kinds: list[str] | None  # None: not search output; left as it is


def _parse(lines: list[str]) -> list[_Group]:
    groups: list[_Group] = []
    for start, end in _groups(lines):
        found = _prefixed(lines, start, end)
        if found is not None:
            groups.append(_Group(start, end, found[0], found[1]))
            continue
        kinds = _bare(lines, start, end)
        if kinds is None and end - start > 1 and _heading(lines[start]):
            # rg --heading starts each file's first group with the path on its own line.
            kinds = _bare(lines, start + 1, end)
            if kinds is not None:
                start += 1
        groups.append(_Group(start, end, None, kinds))
    return groups


class Search:
    name: ClassVar[str] = "search"
    max_score: ClassVar[float] = 0.95  # the highest score detect() returns

    def detect(self, text: str) -> float:
        if ":" not in text:
            return 0.0
        lines = text.split("\n", _DETECT_LINES)[:_DETECT_LINES]
        rows = sum(1 for line in lines if line.strip())
        if rows == 0:
            return 0.0
        if not any(_MATCH.match(line) or _BARE.match(line) for line in lines):
            return 0.0  # no line looks like a record: nothing below would count one
        separators = lines.count(_SEP)
        grouped = bare = headings = plain = 0
        with_context = bare_context = False
        for group in _parse(lines):
            size = group.end - group.start
            if group.kinds is None:
                # Plain `path:line:text` lines: grep without -C (or compiler and linter output).
                plain += sum(
                    1
                    for line in lines[group.start : group.end]
                    if (m := _MATCH.match(line)) is not None and _PATHISH.fullmatch(m.group(1))
                )
            elif group.path is not None:
                grouped += size
                with_context = with_context or _C in group.kinds
            else:
                bare += size
                bare_context = bare_context or _C in group.kinds
                if group.start > 0 and _heading(lines[group.start - 1]):
                    headings += 1
        share = (grouped + plain + separators) / rows
        if with_context and share >= 0.6:
            return round(0.6 + 0.35 * share, 3)
        if grouped + plain >= 2 and share >= 0.6:
            # Match lines only (grep without -C; compiler and linter `path:line:` output looks
            # the same): nothing to gain, but claimed so that no lossy transform drops a record.
            return 0.75
        # rg --heading / single-file grep -n -C: numbered lines are only search output when
        # context lines and separators (or file headings) show it; a numbered file view has neither.
        share = (bare + separators + headings) / rows
        if bare_context and (separators or headings) and share >= 0.8:
            return round(0.5 + 0.4 * share, 3)
        return 0.0

    def apply(self, text: str, params: TransformParams) -> str:
        lines = text.split("\n")
        groups = _parse(lines)
        factored_chars = sum(
            (len(g.path) + 1) * g.kinds.count(_C) for g in groups if g.path is not None and g.kinds
        )
        factor = factored_chars >= _MIN_FACTOR_CHARS
        lossy = lossy_allowed(text, params)
        if not factor and not lossy:
            return text
        fold = fold_for(params.level)
        last = _last_content_line(lines)
        out: list[str] = [_NOTE] if factor else []
        pos = 0
        for start, end, path, kinds in groups:
            out.extend(lines[pos:start])
            pos = end
            if kinds is None:
                out.extend(lines[start:end])
                continue
            group = lines[start:end]
            if path is not None and factor:
                cut = len(path) + 1
                group = [line[cut:] if kind == _C else line for line, kind in zip(group, kinds, strict=True)]
            if lossy and _C in kinds:
                group = _fold(group, kinds, start, last, fold, lines, params)
            out.extend(group)
        out.extend(lines[pos:])
        result = "\n".join(out)
        return result if len(result) < len(text) and result.strip() else text


def _fold(
    group: list[str],
    kinds: list[str],
    start: int,
    last: int,
    fold: Fold,
    lines: list[str],
    params: TransformParams,
) -> list[str]:
    """`group` with runs of context lines farther than `fold.context` from a match replaced by markers."""
    terms = bool(params.keep_terms)

    def pinned(i: int) -> bool:
        # The text's first and last lines, kept terms.
        return start + i in (0, last) or (terms and mentions_kept_term(lines[start + i], params))

    return fold_context(group, [kind == _M for kind in kinds], fold, pinned)


SEARCH = Search()
