import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.compression.support import Style, dump
from wiretrim.compression.jsonspan import BodyError, EscapeStyle, detect_style, parse, scan_style

any_text = st.text(alphabet=st.characters(codec=None, exclude_categories=()), max_size=40)


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        (b"", "empty_body"),
        (b"\xc3\x28", "invalid_utf8"),
        (b"\xef\xbb\xbf{}", "byte_order_mark"),
        (b'{"a": {"b": 1, "b": 1}}', "duplicate_keys"),
        (b'{"a": Infinity}', "non_finite_number"),
        (b'{"a": -Infinity}', "non_finite_number"),
        (b'"just a string"', "not_an_object"),
        (b"{} {}", "invalid_json"),
        (b'{"a": 1' + b"0" * 5000 + b"}", "invalid_json"),
        (b'{"a":' * 50_000 + b"1" + b"}" * 50_000, "too_deep"),
    ],
)
def test_parse_rejects(raw, reason):
    with pytest.raises(BodyError) as info:
        parse(raw)
    assert info.value.reason == reason


def test_parse_accepts_huge_numbers_and_keeps_the_bytes():
    raw = b'{"a": 1E+400, "b": 123456789012345678901234567890, "c": -0, "d": 1.0}'
    doc = parse(raw)
    assert doc.raw is raw
    assert doc.value["b"] == 123456789012345678901234567890


def test_spans_of_values_not_of_equal_keys():
    raw = b'{"content": "content", "x": ["content", {"content": "y"}], "z": "content"}'
    doc = parse(raw)
    spans = doc.spans([("content",), ("x", 0), ("x", 1, "content"), ("z",)])
    assert {p: raw[s:e] for p, (s, e) in spans.items()} == {
        ("content",): b'"content"',
        ("x", 0): b'"content"',
        ("x", 1, "content"): b'"y"',
        ("z",): b'"content"',
    }
    # Keys are literals too: the value after a key is found, not the key.
    assert spans[("content",)][0] == raw.index(b'"content"', 2)


def test_a_key_spelled_like_an_internal_marker_is_still_a_key():
    raw = b'{"r": {"\\u0000key": "value", "b": "x"}}'
    doc = parse(raw)
    assert list(doc.value["r"]) == ["\x00key", "b"]
    spans = doc.spans([("r", "\x00key"), ("r", "b")])
    assert [raw[s:e] for s, e in spans.values()] == [b'"value"', b'"x"']


def test_spans_with_escapes_inside_literals():
    raw = b'{"a": "q\\"uote \\\\", "b": "\\u00e9\\ud83d\\ude00", "c": "x\\/y"}'
    doc = parse(raw)
    spans = doc.spans([("a",), ("b",), ("c",)])
    assert [raw[s:e] for s, e in spans.values()] == [
        b'"q\\"uote \\\\"',
        b'"\\u00e9\\ud83d\\ude00"',
        b'"x\\/y"',
    ]


def test_spans_of_non_strings_raise():
    doc = parse(b'{"a": 1, "b": "x"}')
    with pytest.raises(KeyError):
        doc.spans([("a",)])
    with pytest.raises(KeyError):
        doc.spans([("missing",)])
    assert doc.spans([]) == {}


@given(
    st.recursive(
        st.one_of(st.none(), st.booleans(), st.integers(), any_text),
        lambda c: st.lists(c, max_size=4) | st.dictionaries(any_text, c, max_size=4),
        max_leaves=20,
    ),
    st.booleans(),
    st.sampled_from([None, 1]),
)
def test_every_string_span_decodes_to_its_value(value, ascii_only, indent):
    body = {"root": value}
    raw = json.dumps(body, ensure_ascii=ascii_only, indent=indent).encode("utf-8", "surrogatepass")
    try:
        doc = parse(raw)
    except BodyError as e:  # raw lone surrogates are not UTF-8
        assert e.reason == "invalid_utf8"
        return
    paths = []

    def walk(node, path):
        if isinstance(node, str):
            paths.append(path)
        elif isinstance(node, dict):
            for k, v in node.items():
                walk(v, (*path, k))
        elif isinstance(node, list):
            for i, v in enumerate(node):
                walk(v, (*path, i))

    walk(doc.value, ())
    spans = doc.spans(paths)
    for path, (s, e) in spans.items():
        node = doc.value
        for step in path:
            node = node[step]
        assert json.loads(raw[s:e]) == node


# -- escaping style ---------------------------------------------------------------------------


def test_detect_style():
    assert detect_style(b'{"a": "plain"}') == EscapeStyle(True, False, False, False)
    assert detect_style('{"a": "é"}'.encode()) == EscapeStyle(False, False, False, False)
    assert detect_style(b'{"a": "\\u00e9"}') == EscapeStyle(True, False, False, False)
    assert detect_style(b'{"a": "\\u00E9"}') == EscapeStyle(True, False, False, True)
    assert detect_style(b'{"a": "a\\/b"}').escape_slash
    assert detect_style(b'{"a": "\\u003cb\\u003e"}').escape_html


def test_escaped_backslashes_are_not_escapes():
    # A backslash as text, then "/" or "u003c": neither is the writer's habit.
    style = detect_style(b'{"a": "C:\\\\/x \\\\u003c \\\\u00AB"}')
    assert (style.escape_slash, style.escape_html, style.upper_hex) == (False, False, False)
    style = detect_style(b'{"a": "\\\\\\/"}')  # an escaped backslash, then an escaped slash
    assert style.escape_slash


def test_style_is_read_from_the_bytes_before_a_literal():
    raw = '{"a": "plain", "b": "\\u00E9 a\\/b \\u003c", "c": "ü"}'.encode()
    facts = scan_style(raw)
    early = facts.at(raw.index(b'"plain"') + 7)
    assert early == EscapeStyle(ascii_only=True, escape_slash=False, escape_html=False, upper_hex=False)
    middle = facts.at(raw.index(b'"c"'))
    assert middle == EscapeStyle(ascii_only=True, escape_slash=True, escape_html=True, upper_hex=True)
    assert facts.at(len(raw)).ascii_only is False


@pytest.mark.parametrize(
    ("style", "text", "literal"),
    [
        (EscapeStyle(True, False, False, False), "é😀</a>&\n", b'"\\u00e9\\ud83d\\ude00</a>&\\n"'),
        (EscapeStyle(False, False, False, False), "é😀</a>&\n", '"é😀</a>&\\n"'.encode()),
        (EscapeStyle(False, True, False, False), "a/b", b'"a\\/b"'),
        (EscapeStyle(False, False, True, False), "<a & b>", b'"\\u003ca \\u0026 b\\u003e"'),
        (EscapeStyle(True, False, False, True), "é\x1f", b'"\\u00E9\\u001F"'),
        # A backslash as text followed by "u00ab" is not an escape: its letters keep their case.
        (EscapeStyle(True, False, False, True), "\\u00ab é", b'"\\\\u00ab \\u00E9"'),
    ],
)
def test_encode(style, text, literal):
    assert style.encode(text) == literal
    assert json.loads(literal) == text


@given(any_text, st.booleans(), st.booleans(), st.booleans(), st.booleans())
def test_encode_round_trips(text, ascii_only, slash, html, upper):
    literal = EscapeStyle(ascii_only, slash, html, upper).encode(text)
    if ascii_only:
        assert literal.isascii()
    assert json.loads(literal) == text


@given(any_text, st.booleans(), st.booleans(), st.booleans(), st.booleans())
def test_detect_style_of_a_body_written_in_that_style(text, ascii_only, slash, html, upper):
    raw = dump({"a": text}, Style(ascii=ascii_only, slash=slash, html=html, upper=upper))
    style = detect_style(raw)
    if not raw.isascii():
        assert not style.ascii_only
    assert style.escape_slash == (slash and "/" in text)
    assert style.escape_html == (html and any(c in text for c in "<>&"))
