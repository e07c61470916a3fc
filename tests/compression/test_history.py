from wiretrim.compression import marker
from wiretrim.compression.history import RUN_LINES, History


def _file(n: int, tag: str = "x") -> list[str]:
    return [f"    result_{tag}_{k} = compute({k}, scale=factor * {k}, name='{tag}-{k}')" for k in range(n)]


def test_a_run_sent_earlier_becomes_one_marker_naming_where_it_stands():
    earlier = _file(40)
    history = History()
    history.add("the tool result in message 3", "\n".join(earlier))
    again = ["$ cat app.py", *earlier[5:35], "exit 0"]
    out = history.replace_repeats("\n".join(again))
    lines = out.split("\n")
    assert lines[0] == "$ cat app.py" and lines[-1] == "exit 0"
    assert len(lines) == 3
    body = marker.find(lines[1])[0]
    assert marker.parse_omitted(body) == (30, "lines", "same as lines 6–35 of the tool result in message 3")


def test_short_or_thin_repeats_stay():
    history = History()
    history.add("the tool result in message 1", "\n".join(_file(RUN_LINES - 1)))
    short = "\n".join(_file(RUN_LINES - 1))
    assert history.replace_repeats(short) == short
    blank = "\n".join(["}"] * 40)
    history.add("the tool result in message 2", blank)
    assert history.replace_repeats(blank) == blank


def test_nothing_repeated_returns_the_same_text():
    history = History()
    history.add("the tool result in message 1", "\n".join(_file(30, "a")))
    text = "\n".join(_file(30, "b"))
    assert history.replace_repeats(text) is text


def test_the_first_place_a_run_was_sent_is_the_one_named():
    history = History()
    history.add("the tool result in message 1", "\n".join(_file(20)))
    history.add("the tool result in message 2", "\n".join(_file(20)))
    out = history.replace_repeats("\n".join(_file(20)))
    assert "message 1" in out and "message 2" not in out


def test_digest_follows_what_was_added():
    a, b = History(), History()
    a.add("x", "one")
    b.add("x", "one")
    assert a.digest() == b.digest()
    b.add("y", "two")
    assert a.digest() != b.digest()


def test_a_repeat_starting_between_indexed_windows_is_found_whole():
    earlier = _file(60)
    history = History()
    history.add("the tool result in messages[2]", "\n".join(earlier))
    for offset in range(4):  # the index holds every fourth window; matches grow backwards
        again = ["header", *earlier[offset + 1 : offset + 1 + 30]]
        out = history.replace_repeats("\n".join(again)).split("\n")
        assert out[0] == "header" and len(out) == 2
        count, _, where = marker.parse_omitted(marker.find(out[1])[0])
        assert count == 30
        assert where == f"same as lines {offset + 2}–{offset + 31} of the tool result in messages[2]"
