import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.compression.support import Style, dump
from wiretrim.compression import splice
from wiretrim.compression.jsonspan import parse
from wiretrim.compression.splice import Edit

texts = st.text(alphabet=st.characters(codec="utf-8"), max_size=30)
styles = st.builds(
    Style,
    ascii=st.booleans(),
    slash=st.booleans(),
    html=st.booleans(),
    upper=st.booleans(),
    indent=st.sampled_from([None, 2]),
)
bodies = st.dictionaries(
    st.text(max_size=6),
    st.one_of(
        texts,
        st.integers(),
        st.lists(st.one_of(texts, st.none(), st.floats(allow_nan=False, allow_infinity=False)), max_size=4),
    ),
    min_size=1,
    max_size=6,
)


def string_paths(value, path=()):
    if isinstance(value, str):
        yield path
    elif isinstance(value, dict):
        for k, v in value.items():
            yield from string_paths(v, (*path, k))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            yield from string_paths(v, (*path, i))


def test_no_edits_gives_the_same_object():
    raw = b'{"a": "b"}'
    assert splice.apply(raw, []) is raw


@given(bodies, styles)
def test_no_edits_identical_bytes(body, style):
    raw = dump(body, style)
    assert splice.apply(raw, ()) == raw


@given(bodies, styles, st.data())
def test_bytes_outside_spans_never_change_and_output_parses(body, style, data):
    raw = dump(body, style)
    doc = parse(raw)
    paths = list(string_paths(doc.value))
    chosen = data.draw(st.lists(st.sampled_from(paths), unique=True) if paths else st.just([]))
    spans = doc.spans(chosen)
    facts = doc.style_facts()
    new_texts = {p: data.draw(texts) for p in chosen}
    edits = [Edit(*spans[p], facts.at(spans[p][1]).encode(new_texts[p])) for p in chosen]
    out = splice.apply(raw, reversed(edits))  # any order in, sorted inside
    new = json.loads(out)
    for p in chosen:
        node = new
        for step in p:
            node = node[step]
        assert node == new_texts[p]
    # Outside the spans, byte for byte.
    cursor_in = cursor_out = 0
    for p in sorted(chosen, key=lambda p: spans[p][0]):
        start, end = spans[p]
        gap = raw[cursor_in:start]
        assert out[cursor_out : cursor_out + len(gap)] == gap
        literal = facts.at(end).encode(new_texts[p])
        cursor_out += len(gap)
        assert out[cursor_out : cursor_out + len(literal)] == literal
        cursor_out += len(literal)
        cursor_in = end
    assert out[cursor_out:] == raw[cursor_in:]


@given(texts, texts)
def test_ascii_bodies_stay_ascii(before, after):
    raw = dump({"x": before, "y": "z"}, Style(ascii=True))
    out = _replace(raw, ("x",), after + "é😀")
    assert out.isascii()
    assert json.loads(out)["x"] == after + "é😀"


@given(texts)
def test_raw_utf8_bodies_stay_raw(after):
    raw = dump({"x": "naïve", "y": "z"}, Style())
    out = _replace(raw, ("x",), after + "é😀")
    assert "é😀".encode() in out
    assert b"\\u00e9" not in out


@given(texts)
def test_slash_escaping_bodies_keep_it(after):
    raw = dump({"url": "https://example.com/a", "y": "z"}, Style(slash=True))
    out = _replace(raw, ("y",), after + "a/b")
    assert b"a\\/b" in out
    assert b"/" not in out.replace(b"\\/", b"")


@given(texts)
def test_go_style_bodies_keep_it(after):
    raw = dump({"html": "<b>bold</b> & more", "y": "z"}, Style(html=True))
    out = _replace(raw, ("y",), after + "</a>&")
    assert b"\\u003c/a\\u003e\\u0026" in out
    assert not {b"<", b">", b"&"} & {bytes([c]) for c in out}


def test_overlapping_or_outside_edits_raise():
    raw = b'{"a": "bcd"}'
    with pytest.raises(ValueError, match="overlapping"):
        splice.apply(raw, [Edit(6, 11, b'"x"'), Edit(8, 12, b'"y"')])
    with pytest.raises(ValueError):
        splice.apply(raw, [Edit(6, 99, b'"x"')])
    with pytest.raises(ValueError):
        splice.apply(raw, [Edit(8, 6, b'"x"')])


def _replace(raw: bytes, path: tuple, text: str) -> bytes:
    doc = parse(raw)
    ((start, end),) = doc.spans([path]).values()
    return splice.apply(raw, [Edit(start, end, doc.style_facts().at(end).encode(text))])
