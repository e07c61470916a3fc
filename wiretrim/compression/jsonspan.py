"""Parse a request body once and locate the byte span of any string literal in it.

The engine never re-serialises a body. It parses the bytes to find the prompt text, then
writes changed strings back at the byte spans of their literals (see :mod:`splice`), in
the body's own escaping style. Bodies it cannot do that for safely raise :class:`BodyError`
with a short reason, and the caller forwards the original bytes.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

Path = tuple[str | int, ...]

# One JSON string literal, unrolled so long strings don't backtrack per character, and
# possessive: a literal has one way to match, so no backtracking state is kept (faster).
_STRING_LITERAL = re.compile(rb'"[^"\\]*+(?:\\.[^"\\]*+)*+"', re.DOTALL)
# `_SKIP_RUN` literals and the JSON punctuation before each, in one match.
_SKIP_RUN = 64
_LITERAL_RUN = re.compile(rb'(?:[^"]*+"[^"\\]*+(?:\\.[^"\\]*+)*+"){%d}' % _SKIP_RUN, re.DOTALL)
_HEX_LETTER_ESCAPE = re.compile(rb"\\u(?=[0-9]{0,3}[a-fA-F])([0-9a-fA-F]{4})")
_HTML_ESCAPES = (b"\\u003c", b"\\u003e", b"\\u0026", b"\\u003C", b"\\u003E")
_NON_ASCII = re.compile(rb"[\x80-\xff]")
_LOWER_HEX_ESCAPE = re.compile(r"(?<!\\)((?:\\\\)*)\\u([0-9a-f]{4})")


class BodyError(ValueError):
    """The body is not something the engine may rewrite; `reason` is a short log token."""

    def __init__(self, reason: str, detail: str = "") -> None:
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason


def _strict_object(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    obj = dict(pairs)
    if len(obj) != len(pairs):
        # Which duplicate wins differs between servers; rewriting such a body is a guess.
        raise BodyError("duplicate_keys")
    return obj


def _reject_constant(name: str) -> Any:
    raise BodyError("non_finite_number", name)


@dataclass(frozen=True, slots=True)
class EscapeStyle:
    """How the body's encoder wrote strings, so new strings are written the same way."""

    ascii_only: bool
    escape_slash: bool
    escape_html: bool
    upper_hex: bool

    def encode(self, text: str) -> bytes:
        """The JSON string literal (with quotes) for `text`, in this style."""
        literal = json.dumps(text, ensure_ascii=self.ascii_only)
        if self.escape_slash:
            literal = literal.replace("/", "\\/")
        if self.escape_html:
            literal = literal.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
        if self.upper_hex:
            # Only real escapes: in `\\u00ab` the backslash is text and "u00ab" stays as written.
            literal = _LOWER_HEX_ESCAPE.sub(lambda m: m.group(1) + "\\u" + m.group(2).upper(), literal)
        return literal.encode("utf-8")


def _first_escape(raw: bytes, needles: tuple[bytes, ...]) -> int:
    r"""Offset of the first of `needles` (each starting with a backslash) that is a real escape.

    A needle preceded by an odd run of backslashes is text (`\\/` is an escaped backslash,
    then a slash), not an escape. Returns len(raw) when there is none.
    """
    best = len(raw)
    for needle in needles:
        i = raw.find(needle)
        while i != -1 and i < best:
            j = i
            while j > 0 and raw[j - 1] == 0x5C:
                j -= 1
            if (i - j) % 2 == 0:
                best = i
                break
            i = raw.find(needle, i + 1)
    return best


@dataclass(frozen=True, slots=True)
class StyleFacts:
    r"""Where each escaping habit first shows in a body, so a literal's style can be read
    from the bytes up to it: a body that grows at the end (the next request of the same
    conversation) then writes the same slot the same way."""

    non_ascii: int  # offset of the first raw byte >= 0x80 (len(raw) when none; likewise below)
    slash: int  # first `\/` escape
    html: int  # first `\u003c`-style escape
    hex_letter: int  # first `\uXXXX` escape with a hex letter ...
    upper_hex: bool  # ... and whether its letters are upper case

    def at(self, end: int) -> EscapeStyle:
        """The style of a literal ending at byte `end`, judged by the bytes before `end`."""
        return EscapeStyle(
            ascii_only=self.non_ascii >= end,
            escape_slash=self.slash < end,
            escape_html=self.html < end,
            upper_hex=self.upper_hex and self.hex_letter < end,
        )


def _first_non_ascii(raw: bytes, chunk: int = 1 << 16) -> int:
    # isascii() runs at memory speed; the regex only searches the first chunk that fails it.
    for start in range(0, len(raw), chunk):
        if not raw[start : start + chunk].isascii():
            m = _NON_ASCII.search(raw, start, start + chunk)
            assert m is not None
            return m.start()
    return len(raw)


def scan_style(raw: bytes) -> StyleFacts:
    """Where the body first shows each escaping habit (see StyleFacts)."""
    hex_letter, upper = len(raw), False
    # Escapes of digits only (most CJK text, when escaped) say nothing about letter case.
    for h in _HEX_LETTER_ESCAPE.finditer(raw):
        j = i = h.start()
        while j > 0 and raw[j - 1] == 0x5C:
            j -= 1
        if (i - j) % 2 == 0:
            hex_letter, upper = i, h.group(1) != h.group(1).lower()
            break
    return StyleFacts(
        non_ascii=_first_non_ascii(raw),
        slash=_first_escape(raw, (b"\\/",)),
        html=_first_escape(raw, _HTML_ESCAPES) if b"\\u00" in raw else len(raw),  # one scan for all five
        hex_letter=hex_letter,
        upper_hex=upper,
    )


def detect_style(raw: bytes) -> EscapeStyle:
    """The style of the whole body (of a literal at its very end)."""
    return scan_style(raw).at(len(raw))


@dataclass(frozen=True, slots=True)
class Document:
    raw: bytes
    value: Any

    def spans(self, paths: Iterable[Path]) -> dict[Path, tuple[int, int]]:
        """Byte spans (start, end) of the string literals at `paths` (each must hold a string)."""
        wanted = set(paths)
        if not wanted:
            return {}
        indices = _literal_indices(self.value, wanted)
        missing = wanted - indices.keys()
        if missing:
            raise KeyError(f"no string at {sorted(map(str, missing))[:3]}")
        by_index = {i: p for p, i in indices.items()}
        out = {by_index[n]: span for n, span in _nth_literals(self.raw, sorted(by_index))}
        if len(out) != len(wanted):
            raise BodyError("span_mismatch")
        return out

    def style_facts(self) -> StyleFacts:
        return scan_style(self.raw)


def _nth_literals(raw: bytes, ordinals: list[int]) -> Iterator[tuple[int, tuple[int, int]]]:
    """(n, span) of the n-th string literal of `raw` (a parsed JSON text), for ascending `ordinals`.

    Outside a literal a JSON text has no quote, so literals follow one another: runs of
    literals before the next wanted one are skipped `_SKIP_RUN` at a time by one regex call.
    """
    pos = n = 0  # `n` is the ordinal of the first literal at or after `pos`
    for target in ordinals:
        while target - n >= _SKIP_RUN and (run := _LITERAL_RUN.match(raw, pos)) is not None:
            pos, n = run.end(), n + _SKIP_RUN
        while n <= target:
            m = _STRING_LITERAL.search(raw, pos)
            if m is None:
                return
            if n == target:
                yield n, m.span()
            pos, n = m.end(), n + 1


def parse(raw: bytes) -> Document:
    """Parse a JSON request body; BodyError for anything the engine must not touch."""
    if not raw:
        raise BodyError("empty_body")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as e:
        raise BodyError("invalid_utf8", str(e)) from None
    if text.startswith("\ufeff"):
        raise BodyError("byte_order_mark")
    try:
        value = json.loads(text, object_pairs_hook=_strict_object, parse_constant=_reject_constant)
    except BodyError:
        raise
    except RecursionError:
        raise BodyError("too_deep") from None
    except ValueError as e:  # JSONDecodeError, and int strings over the interpreter's digit limit
        raise BodyError("invalid_json", str(e)[:80]) from None
    if not isinstance(value, dict):
        raise BodyError("not_an_object")
    return Document(raw=raw, value=value)


def _literal_indices(value: Any, wanted: set[Path]) -> dict[Path, int]:
    """Ordinal of each wanted string among all string literals (keys included), in document order."""
    found: dict[Path, int] = {}
    counter = 0
    # Iterative walk in document order: (path, value) pairs pushed in reverse. A key is
    # counted under the path None, which no wanted path equals (a string marker could be a key).
    stack: list[tuple[Path | None, Any]] = [((), value)]
    while stack:
        path, node = stack.pop()
        if path is None:  # a key
            counter += 1
        elif isinstance(node, str):
            if path in wanted:
                found[path] = counter
                if len(found) == len(wanted):
                    break
            counter += 1
        elif isinstance(node, dict):
            pending: list[tuple[Path | None, Any]] = []
            for key, child in node.items():
                pending.append((None, key))
                pending.append(((*path, key), child))
            stack.extend(reversed(pending))
        elif isinstance(node, list):
            stack.extend(reversed([((*path, i), child) for i, child in enumerate(node)]))
    return found
