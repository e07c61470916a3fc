"""Parse a request body once and locate the byte span of any string literal in it.

The engine never re-serialises a body. It parses the bytes to find the prompt text, then
writes changed strings back at the byte spans of their literals (see :mod:`splice`), in
the body's own escaping style. Bodies it cannot do that for safely raise :class:`BodyError`
with a short reason, and the caller forwards the original bytes.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

Path = tuple[str | int, ...]

# One JSON string literal, unrolled so long strings don't backtrack per character.
_STRING_LITERAL = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"', re.DOTALL)
_HEX_ESCAPE = re.compile(rb"\\u([0-9a-fA-F]{4})")
_HTML_ESCAPES = (b"\\u003c", b"\\u003e", b"\\u0026", b"\\u003C", b"\\u003E")


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
            literal = re.sub(r"\\u([0-9a-f]{4})", lambda m: "\\u" + m.group(1).upper(), literal)
        return literal.encode("utf-8")


def detect_style(raw: bytes) -> EscapeStyle:
    has_raw_utf8 = any(b >= 0x80 for b in raw) if len(raw) < 4096 else not raw.isascii()
    match = None
    for m in _HEX_ESCAPE.finditer(raw):
        if any(c in b"abcdefABCDEF" for c in m.group(1)):
            match = m
            break
    upper = bool(match and match.group(1) != match.group(1).lower())
    return EscapeStyle(
        ascii_only=not has_raw_utf8,
        escape_slash=b"\\/" in raw,
        escape_html=any(e in raw for e in _HTML_ESCAPES),
        upper_hex=upper,
    )


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
        out: dict[Path, tuple[int, int]] = {}
        last = max(by_index)
        for n, m in enumerate(_STRING_LITERAL.finditer(self.raw)):
            path = by_index.get(n)
            if path is not None:
                out[path] = m.span()
            if n >= last:
                break
        if len(out) != len(wanted):
            raise BodyError("span_mismatch")
        return out

    def style(self) -> EscapeStyle:
        return detect_style(self.raw)


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
    # Iterative walk in document order: (path, value) pairs pushed in reverse.
    stack: list[tuple[Path, Any]] = [((), value)]
    while stack:
        path, node = stack.pop()
        if isinstance(node, str):
            if path in wanted:
                found[path] = counter
                if len(found) == len(wanted):
                    break
            counter += 1
        elif isinstance(node, dict):
            pending: list[tuple[Path, Any]] = []
            for key, child in node.items():
                pending.append(((*path, "\x00key"), key))
                pending.append(((*path, key), child))
            stack.extend(reversed(pending))
        elif isinstance(node, list):
            stack.extend(reversed([((*path, i), child) for i, child in enumerate(node)]))
    return found
