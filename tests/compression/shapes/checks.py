"""The properties every shape must keep, checked on one generated body.

* the shape's slots are exactly the allowlisted strings (`expected`), with their kinds, and
  each slot's text is the string at its path;
* the rewritten body parses, and with every slot string replaced by a placeholder it equals
  the input (same structure, same protected values);
* every byte outside the slots' literals is identical, and a slot that was not rewritten
  keeps its literal bytes;
* a rewritten literal follows the escaping habits of the bytes before it;
* the same input gives the same bytes, from the same engine (memo) and from a fresh one;
* a body with duplicate keys is skipped; a body with nothing to gain comes back as None.
"""

from __future__ import annotations

import copy
import dataclasses
import json
import re
from typing import Any

from hypothesis import strategies as st

from tests.compression import fuzzing
from tests.compression.support import (
    OPEN_GATES,
    ScriptedTextEngine,
    Style,
    dump,
    get_path,
    make_engine,
    masked,
)
from wiretrim.compression import EngineSettings, measure
from wiretrim.compression.jsonspan import Document, Path
from wiretrim.compression.memo import MemoryMemo
from wiretrim.compression.shapes import get as get_shape

styles = st.builds(
    Style,
    ascii=st.booleans(),
    slash=st.booleans(),
    html=st.booleans(),
    upper=st.booleans(),
    indent=st.sampled_from([None, None, 2]),
    colon=st.sampled_from([":", ": "]),
    comma=st.sampled_from([",", ", "]),
)

# Gates open and system text on, so that every kind of slot gets rewritten somewhere.
EVERYTHING = dataclasses.replace(OPEN_GATES, compress_system=True)
_HEX = re.compile(r"(?<!\\)((?:\\\\)*)\\u([0-9a-fA-F]{4})")


def has_duplicate_keys(raw: bytes) -> bool:
    found = False

    def hook(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        nonlocal found
        if len({k for k, _ in pairs}) != len(pairs):
            found = True
        return dict(pairs)

    json.loads(raw, object_pairs_hook=hook)
    return found


def check_slots(shape_name: str, value: dict[str, Any], expected: dict[Path, str]) -> None:
    slots = list(get_shape(shape_name).slots(value))
    got = {s.path: s.kind for s in slots}
    assert got == expected
    assert len(slots) == len(got), "a path was yielded twice"
    for s in slots:
        assert get_path(value, s.path) == s.text


def check_rewrite(shape_name: str, body: dict[str, Any], expected: dict[Path, str], style: Style) -> None:
    raw = dump(body, style)
    if style.dup_object is not None and has_duplicate_keys(raw):
        result = make_engine().rewrite(raw, shape_name)
        assert result.body is None
        assert result.skipped == "duplicate_keys"
        return
    value = json.loads(raw)
    check_slots(shape_name, value, expected)

    engine = make_engine(EVERYTHING, memo=MemoryMemo())
    result = engine.rewrite(raw, shape_name)
    if result.skipped:
        assert result.body is None
        return
    out = result.body
    # Same input, same bytes: again through the memo, and from an engine without one.
    assert engine.rewrite(raw, shape_name).body == out
    assert make_engine(EVERYTHING).rewrite(raw, shape_name).body == out
    # Nothing to gain (no transform helps, repeats are not referenced): the original goes out.
    idle_settings = dataclasses.replace(EVERYTHING, reference_repeats=False)
    idle = make_engine(idle_settings, text_engine=ScriptedTextEngine({})).rewrite(raw, shape_name)
    assert idle.body is None
    assert not idle.rewritten_slots

    rewritten = {o.path: o.emitted for o in result.slots if o.rewritten}
    assert set(rewritten) <= set(expected)
    if out is None:
        assert not rewritten
        return
    assert rewritten
    new_value = json.loads(out)
    assert masked(new_value, expected) == masked(value, expected)
    for path, text in rewritten.items():
        assert get_path(new_value, path) == text
    check_bytes(raw, value, out, new_value, list(expected), set(rewritten))


def check_bytes(
    raw: bytes, value: Any, out: bytes, new_value: Any, paths: list[Path], rewritten: set[Path]
) -> None:
    before = Document(raw, value).spans(paths)
    after = Document(out, new_value).spans(paths)
    order = sorted(paths, key=lambda p: before[p][0])
    cursor_in = cursor_out = 0
    for path in order:
        (s_in, e_in), (s_out, e_out) = before[path], after[path]
        assert raw[cursor_in:s_in] == out[cursor_out:s_out], f"bytes changed before {path}"
        literal_in, literal_out = raw[s_in:e_in], out[s_out:e_out]
        if path not in rewritten:
            assert literal_in == literal_out, f"untouched slot {path} re-encoded"
        else:
            check_style(raw[:e_in], literal_out)
        cursor_in, cursor_out = e_in, e_out
    assert raw[cursor_in:] == out[cursor_out:]


def check_style(prefix: bytes, literal: bytes) -> None:
    """The new literal writes text the way the bytes up to the old one did."""
    text = literal.decode("utf-8")
    escapes = [(m.group(2), int(m.group(2), 16)) for m in _HEX.finditer(text)]
    unescaped = re.sub(r"\\.", "", text)  # the characters written as themselves
    if prefix.isascii():
        assert literal.isascii()
    else:  # raw UTF-8 before it: non-ASCII stays raw (only surrogates and controls are escaped)
        assert all(code < 0x80 or 0xD800 <= code <= 0xDFFF for _, code in escapes)
    if _real_escape(prefix, b"\\/"):
        assert "/" not in unescaped
    else:
        assert "\\/" not in text.replace("\\\\", "")
    if any(_real_escape(prefix, e) for e in (b"\\u003c", b"\\u003e", b"\\u0026", b"\\u003C", b"\\u003E")):
        assert not set("<>&") & set(unescaped)
    digits_in_prefix = [
        m.group(2) for m in _HEX.finditer(prefix.decode("utf-8")) if re.search(r"[a-fA-F]", m.group(2))
    ]
    if digits_in_prefix and digits_in_prefix[0] != digits_in_prefix[0].lower():
        assert all(d == d.upper() for d, _ in escapes)
    else:
        assert all(d == d.lower() for d, _ in escapes)


def _real_escape(raw: bytes, needle: bytes) -> bool:
    text = raw.decode("utf-8")
    pattern = r"(?<!\\)(?:\\\\)*" + re.escape(needle.decode())
    return re.search(pattern, text) is not None


def check_all(shape_name: str, case: tuple[dict[str, Any], dict[Path, str]], style: Style) -> None:
    body, expected = case
    check_rewrite(shape_name, body, expected, style)


def check_any_object(shape_name: str, value: dict[str, Any]) -> None:
    """Any JSON object: inspect and slots never raise, and every slot is a string at its path."""
    shape = get_shape(shape_name)
    shape.inspect(value)
    for s in shape.slots(value):
        assert get_path(value, s.path) == s.text
    raw = json.dumps(value).encode()
    result = make_engine(EVERYTHING).rewrite(raw, shape_name)
    if result.body is not None:
        new_value = json.loads(result.body)
        paths = [s.path for s in shape.slots(value)]
        assert masked(new_value, paths) == masked(value, paths)


# -- the real engine: real transforms and tokenizer (issue 8) ----------------------------------


def with_texts(case: tuple[dict[str, Any], dict[Path, str]], texts: list[str | None]
               ) -> tuple[dict[str, Any], dict[Path, str]]:
    """The case with the slot strings replaced, in path order, by `texts` (None keeps one)."""
    body, expected = case
    body = copy.deepcopy(body)
    for path, text in zip(sorted(expected, key=repr), texts, strict=False):
        if text is not None:
            parent = get_path(body, path[:-1])
            parent[path[-1]] = text
    return body, expected


def check_real_engine(shape_name: str, case: tuple[dict[str, Any], dict[Path, str]], style: Style,
                      settings: EngineSettings) -> tuple[bytes, bool]:
    """The real engine on one body: no exception, the structure and every byte outside the
    rewritten slots kept, the same bytes again (memo) and from a new engine, and never more
    tokens than the input (nor more bytes, at the default gates). Returns the body it checked
    and whether it was rewritten."""
    body, expected = case
    raw = dump(body, style)
    engine = fuzzing.engine(settings)
    result = engine.rewrite(raw, shape_name)
    if style.dup_object is not None and has_duplicate_keys(raw):
        assert (result.body, result.skipped) == (None, "duplicate_keys")
        return raw, False
    if result.skipped:
        assert result.body is None
        return raw, False
    out = result.body
    assert engine.rewrite(raw, shape_name).body == out  # again, through the memo
    assert fuzzing.engine(settings).rewrite(raw, shape_name).body == out  # a new engine
    rewritten = {o.path: o.emitted for o in result.slots if o.rewritten}
    assert set(rewritten) <= set(expected)
    if out is None:
        assert not rewritten
        return raw, False
    acc = measure(result, fuzzing.counter())
    assert all(s.after < s.before for s in acc.slots if s.path in rewritten), "a rewritten slot costs more"
    assert acc.tokens_after < acc.tokens_before
    if settings.min_saved_tokens >= EngineSettings().min_saved_tokens:
        # With gates at their defaults the bytes shrink too. With a 1-token gate a marker may
        # replace a short text of costly characters: fewer tokens, a few more bytes.
        assert len(out) <= len(raw), "the rewritten body is larger"
    value, new_value = json.loads(raw), json.loads(out)
    assert masked(new_value, expected) == masked(value, expected)
    for path, text in rewritten.items():
        assert get_path(new_value, path) == text
    check_bytes(raw, value, out, new_value, list(expected), set(rewritten))
    return raw, True
