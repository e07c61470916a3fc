"""Unified diffs, `git show` and `git log -p`: context lines far from a change fold into markers.

What a reader asks a diff about stays verbatim at every level: commit headers (full hash,
`Author:` with e-mail, `Date:`, the message), file headers (`diff --git`, `index`, mode,
rename and copy lines, `---`/`+++`), `--stat` lines, hunk headers, every `+`/`-` line and
every `\\ No newline at end of file` note.

There is no lossless step that pays: the only redundancy left in a git diff is the file
header (`---`/`+++` repeat the `diff --git` paths), and those lines must stay whole. The
`index <blob>..<blob> <mode>` lines are kept too: they carry the file mode and the only
link to the blobs (`git show <blob>`, three-way `git apply`), and the in-place marker a
drop would need costs more than half of the line (about 9 of 14 tokens).

When the text may lose lines (see `lossy_allowed`), a context line is kept only when it
is within `context` lines of a change (1 at "balanced", 0 at "aggressive"), mentions a
kept term, is the first or last line of the text, or carries a `\\ No newline` note. Each
run of dropped context lines becomes one marker counting them, so line numbers stay
computable from the hunk header. A run whose marker would cost about as much as its lines
stays as it is, and so does a single line at "balanced". Hunks are parsed by their header
counts; a hunk whose counts do not add up, and combined (`@@@`) hunks, pass through
untouched. Commit logs without patches are claimed too and come back as they are, so that
no lossy transform touches their hashes and e-mails.
"""

from __future__ import annotations

import re
from typing import ClassVar

from wiretrim.compression.transforms._api import TransformParams, lossy_allowed, mentions_kept_term
from wiretrim.compression.transforms._context import Fold, fold_context, fold_for

_HUNK = re.compile(r"@@ -(\d+)(?:,(\d+))? \+(\d+)(?:,(\d+))? @@")
_HEX7 = re.compile(r"[0-9a-f]{7}")
_DETECT_LINES = 200
_COMMIT = re.compile(r"commit [0-9a-f]{7,64}(?: \(.*\))?\r?$")
_COMMIT_FIELD = re.compile(r"(?:Merge|Author|AuthorDate|Commit|CommitDate|Date):\s")
_STAT = re.compile(r" \S.* \| +(?:\d+ ?[+-]*|Bin\b.*)\r?$|\s*\d+ files? changed")
_FILE_HEADER = (
    "diff ",
    "index ",
    "--- ",
    "+++ ",
    "new file mode ",
    "deleted file mode ",
    "old mode ",
    "new mode ",
    "similarity index ",
    "dissimilarity index ",
    "rename from ",
    "rename to ",
    "copy from ",
    "copy to ",
    "Binary files ",
)


def _last_content_line(lines: list[str]) -> int:
    """Index of the last line with text (a trailing newline leaves an empty last element)."""
    k = len(lines) - 1
    while k > 0 and not lines[k].strip():
        k -= 1
    return k


def _has_sign(text: str) -> bool:
    """True when some line starts a hunk, a git file header or a commit header (substring scans only)."""
    if text.startswith(("@@ -", "diff --git ")) or "\n@@ -" in text or "\ndiff --git " in text:
        return True
    i = 0 if text.startswith("commit ") else text.find("\ncommit ")
    while i != -1:
        if _HEX7.match(text, text.index("commit ", i) + 7):
            return True
        i = text.find("\ncommit ", i + 1)
    return False


def _hunk_end(lines: list[str], start: int, old: int, new: int) -> int | None:
    """Index after the body of the hunk whose header is at `start`; None if its counts don't fit."""
    j = start + 1
    n = len(lines)
    while j < n and (old > 0 or new > 0):
        line = lines[j]
        c = line[:1]
        if (c == " " or line in ("", "\r")) and old > 0 and new > 0:
            old -= 1
            new -= 1
        elif c == "-" and old > 0:
            old -= 1
        elif c == "+" and new > 0:
            new -= 1
        elif c != "\\":
            return None
        j += 1
    if old > 0 or new > 0:
        # The text ends inside the hunk (output cut short): what we saw is still a hunk.
        return j if j == n else None
    while j < n and lines[j].startswith("\\"):
        j += 1
    return j


def _hunks(lines: list[str]) -> list[tuple[int, int]]:
    """(first body line, end) of every well-formed single-parent hunk, in order."""
    out: list[tuple[int, int]] = []
    pos = 0
    for i in [k for k, line in enumerate(lines) if line.startswith("@@ -")]:
        if i < pos:
            continue  # a removed line that reads "@@ -..." inside an earlier hunk
        m = _HUNK.match(lines[i])
        if m is None:
            continue
        old = int(m.group(2)) if m.group(2) is not None else 1
        new = int(m.group(4)) if m.group(4) is not None else 1
        end = _hunk_end(lines, i, old, new)
        if end is not None:
            out.append((i + 1, end))
            pos = end
    return out


def _coverage(lines: list[str], hunks: list[tuple[int, int]]) -> float:
    """Share of non-blank lines that belong to diff structure (headers, hunks, messages, stats)."""
    in_hunk = 0
    for start, end in hunks:
        in_hunk += end - start + 1  # body and header
    structural = in_hunk
    other = 0
    pos = 0
    saw_commit = False
    for start, end in [*hunks, (len(lines) + 1, len(lines) + 1)]:
        for k in range(pos, start - 1):
            line = lines[k]
            if not line.strip():
                continue
            if _COMMIT.match(line):
                saw_commit = True
                structural += 1
            elif (
                line.startswith(_FILE_HEADER)
                or _COMMIT_FIELD.match(line)
                or _STAT.match(line)
                or (saw_commit and line.startswith("    "))
            ):
                structural += 1
            else:
                other += 1
        pos = end
    total = structural + other
    return structural / total if total else 0.0


class Diff:
    name: ClassVar[str] = "diff"
    max_score: ClassVar[float] = 0.95  # the highest score detect() returns

    def detect(self, text: str) -> float:
        if not _has_sign(text):
            return 0.0
        # The first lines tell: a diff is diff from its start (a longer preamble scores low).
        lines = text.split("\n", _DETECT_LINES)[:_DETECT_LINES]
        hunks = _hunks(lines)
        coverage = _coverage(lines, hunks)
        if hunks:
            return round(0.2 + 0.75 * coverage, 3)
        # Commit logs and --stat without patches: claimed (so nothing lossy touches
        # hashes and e-mails) only when they clearly are one.
        if coverage >= 0.8 and any(_COMMIT.match(line) for line in lines[:200]):
            return 0.7
        return 0.0

    def apply(self, text: str, params: TransformParams) -> str:
        if not lossy_allowed(text, params):
            return text
        fold = fold_for(params.level)
        lines = text.split("\n")
        hunks = _hunks(lines)
        if not hunks:
            return text
        out: list[str] = []
        pos = 0
        for start, end in hunks:
            out.extend(lines[pos:start])
            out.extend(_trim_hunk(lines, start, end, fold, params))
            pos = end
        out.extend(lines[pos:])
        result = "\n".join(out)
        return result if len(result) < len(text) and result.strip() else text


def _trim_hunk(lines: list[str], start: int, end: int, fold: Fold, params: TransformParams) -> list[str]:
    body = lines[start:end]
    n = len(body)
    # Changes and their `\ No newline` notes anchor the context around them.
    anchor = [line[:1] in ("+", "-", "\\") for line in body]
    last_line = _last_content_line(lines) - start  # body index of the text's last line (kept)
    terms = bool(params.keep_terms)

    def pinned(i: int) -> bool:
        # The line a `\ No newline` note speaks about, the text's last line, kept terms.
        return (
            i == last_line
            or (i + 1 < n and body[i + 1].startswith("\\"))
            or (terms and mentions_kept_term(body[i], params))
        )

    return fold_context(body, anchor, fold, pinned)


DIFF = Diff()
