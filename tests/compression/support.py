"""Test doubles and a JSON writer for engine tests: no tiktoken, no real transforms.

`dump` writes a body the way different clients do (compact or indented, ASCII-escaped or raw
UTF-8, `\\/`, Go's `\\u003c`, upper-case hex, number lexemes as given), independently of the
engine's own encoder, so tests can check that a rewrite keeps the body's habits.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

from wiretrim.compression import Engine, EngineSettings
from wiretrim.compression.jsonspan import Path
from wiretrim.compression.textengine import TextEngine, TextOutcome
from wiretrim.compression.transforms import TransformParams

# Characters that probe every escaping habit: HTML-sensitive, slash, BMP and astral non-ASCII.
CUT_TAIL = " [cut </a>&é/😀]"


class FakeCounter:
    """About four characters a token, like real tokenizers on English prose."""

    name = "fake"

    def count(self, text: str) -> int:
        return (len(text) + 3) // 4


class CutTransform:
    """Keeps the first half of any text of 8+ characters and appends CUT_TAIL."""

    name: ClassVar[str] = "test-cut"

    def detect(self, text: str) -> float:
        return 1.0

    def apply(self, text: str, params: TransformParams) -> str:
        if len(text) < 8:
            return text
        return text[: len(text) // 2] + CUT_TAIL


class UpperTransform:
    """A different compressor, to stand for a new version or config: upper-cases half the text."""

    name: ClassVar[str] = "test-upper"

    def detect(self, text: str) -> float:
        return 1.0

    def apply(self, text: str, params: TransformParams) -> str:
        return text[: len(text) // 2].upper() + " [upper]"


class ScriptedTextEngine:
    """A text engine that answers from a table (text -> candidate), to drive guards directly."""

    def __init__(self, table: Mapping[str, str]) -> None:
        self.table = dict(table)
        self.calls: list[tuple[str, TransformParams]] = []

    def compress(self, text: str, params: TransformParams) -> TextOutcome:
        self.calls.append((text, params))
        out = self.table.get(text, text)
        return TextOutcome(out, ("scripted",) if out != text else ())


# Gates off: every slot is considered and any saving at all is kept.
OPEN_GATES = EngineSettings(
    min_slot_tokens=0, min_saved_tokens=1, min_saved_ratio=0.0, exact_gate_below_chars=1 << 30
)


def make_engine(
    settings: EngineSettings = OPEN_GATES,
    *,
    memo: Any = None,
    transform: Any = None,
    text_engine: Any = None,
) -> Engine:
    engine = Engine(settings, FakeCounter(), memo)
    if text_engine is not None:
        engine.text_engine = text_engine
    else:
        engine.text_engine = TextEngine((transform or CutTransform(),), fallback=None)
    return engine


# -- a JSON writer with client habits ---------------------------------------------------------


@dataclass(frozen=True)
class Num:
    """A number written exactly as `lexeme` (`1.0`, `1e3`, `-0`, 30-digit integers, ...)."""

    lexeme: str


@dataclass(frozen=True)
class Style:
    ascii: bool = False  # non-ASCII as \uXXXX (surrogate pairs above the BMP)
    slash: bool = False  # "/" as \/
    html: bool = False  # < > & as \u003c \u003e \u0026 (Go's encoding/json)
    upper: bool = False  # upper-case hex digits in \u escapes
    indent: int | None = None
    colon: str = ":"
    comma: str = ","
    dup_object: int | None = None  # write the first key of the n-th non-empty object twice


_SHORT = {"\n": "\\n", "\t": "\\t", "\r": "\\r", "\b": "\\b", "\f": "\\f"}


def _hex(code: int, style: Style) -> str:
    digits = f"{code:04X}" if style.upper else f"{code:04x}"
    return "\\u" + digits


def encode_string(text: str, style: Style) -> str:
    out = ['"']
    for ch in text:
        code = ord(ch)
        if ch == '"':
            out.append('\\"')
        elif ch == "\\":
            out.append("\\\\")
        elif ch == "/" and style.slash:
            out.append("\\/")
        elif ch in "<>&" and style.html:
            out.append(_hex(code, style))
        elif ch in _SHORT:
            out.append(_SHORT[ch])
        elif code < 0x20 or 0xD800 <= code <= 0xDFFF:
            out.append(_hex(code, style))
        elif code >= 0x80 and style.ascii:
            if code > 0xFFFF:
                code -= 0x10000
                out.append(_hex(0xD800 + (code >> 10), style) + _hex(0xDC00 + (code & 0x3FF), style))
            else:
                out.append(_hex(code, style))
        else:
            out.append(ch)
    out.append('"')
    return "".join(out)


def dump(value: Any, style: Style = Style()) -> bytes:
    counter = [0]

    def write(node: Any, depth: int) -> str:
        pad = "" if style.indent is None else "\n" + " " * (style.indent * (depth + 1))
        end = "" if style.indent is None else "\n" + " " * (style.indent * depth)
        if isinstance(node, Num):
            return node.lexeme
        if node is True:
            return "true"
        if node is False:
            return "false"
        if node is None:
            return "null"
        if isinstance(node, int | float):
            return json.dumps(node)
        if isinstance(node, str):
            return encode_string(node, style)
        if isinstance(node, list):
            if not node:
                return "[]"
            return "[" + style.comma.join(pad + write(v, depth + 1) for v in node) + end + "]"
        if isinstance(node, dict):
            if not node:
                return "{}"
            items = [
                pad + encode_string(k, style) + style.colon + write(v, depth + 1) for k, v in node.items()
            ]
            if style.dup_object is not None and counter[0] == style.dup_object:
                items.insert(0, items[0])
            counter[0] += 1
            return "{" + style.comma.join(items) + end + "}"
        raise TypeError(type(node))

    return write(value, 0).encode("utf-8")


def plain(value: Any) -> Any:
    """`value` with Num lexemes turned into what json.loads makes of them."""
    return json.loads(dump(value))


# -- paths ------------------------------------------------------------------------------------


def get_path(value: Any, path: Path) -> Any:
    for step in path:
        value = value[step]
    return value


PLACEHOLDER = "\x00slot"


def masked(value: Any, paths: Iterable[Path]) -> Any:
    """A copy of `value` with the string at every path replaced by one placeholder."""
    out = copy.deepcopy(value)
    for path in paths:
        parent = get_path(out, path[:-1])
        assert isinstance(parent[path[-1]], str), path
        parent[path[-1]] = PLACEHOLDER
    return out
