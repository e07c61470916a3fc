from __future__ import annotations

import pytest

from wiretrim.compression import marker
from wiretrim.compression.transforms import by_name
from wiretrim.compression.transforms._api import TransformParams
from wiretrim.compression.transforms.terminal import TERMINAL, clean, collapse_repeats, redraw

PARAMS = TransformParams(level="lossless")

PYTEST_ANSI = (
    "\x1b[1m============================= test session starts ==============================\x1b[0m\n"
    "platform linux -- Python 3.12.3, pytest-8.2.0, pluggy-1.5.0\n"
    "rootdir: /srv/kestrel\n"
    "collected 42 items\n"
    "\n"
    "tests/test_cache.py \x1b[32m.\x1b[0m\x1b[32m.\x1b[0m\x1b[31mF\x1b[0m\x1b[32m.\x1b[0m\x1b[32m"
    "                                        [  9%]\x1b[0m\n"
    "tests/test_store.py \x1b[32m.\x1b[0m\x1b[32m.\x1b[0m\x1b[32m.\x1b[0m\x1b[32m"
    "                                        [ 16%]\x1b[0m\n"
    "\n"
    "=================================== FAILURES ===================================\n"
    "\x1b[31m\x1b[1m______________________________ test_evict_by_size ______________________________\x1b[0m\n"
    "\n"
    "    def test_evict_by_size():\n"
    ">       assert cache.evictions == 2\n"
    "\x1b[1m\x1b[31mE       assert 3 == 2\x1b[0m\n"
    "\n"
    "\x1b[1m\x1b[31mtests/test_cache.py\x1b[0m:41: AssertionError\n"
    "\x1b[31mFAILED\x1b[0m tests/test_cache.py::\x1b[1mtest_evict_by_size\x1b[0m - assert 3 == 2\n"
    "\x1b[31m========================= \x1b[31m\x1b[1m1 failed\x1b[0m, \x1b[32m41 passed\x1b[0m"
    "\x1b[31m in 0.48s\x1b[0m\x1b[31m =========================\x1b[0m\n"
)
PYTEST_PLAIN = (
    "============================= test session starts ==============================\n"
    "platform linux -- Python 3.12.3, pytest-8.2.0, pluggy-1.5.0\n"
    "rootdir: /srv/kestrel\n"
    "collected 42 items\n"
    "\n"
    "tests/test_cache.py ..F.                                        [  9%]\n"
    "tests/test_store.py ...                                        [ 16%]\n"
    "\n"
    "=================================== FAILURES ===================================\n"
    "______________________________ test_evict_by_size ______________________________\n"
    "\n"
    "    def test_evict_by_size():\n"
    ">       assert cache.evictions == 2\n"
    "E       assert 3 == 2\n"
    "\n"
    "tests/test_cache.py:41: AssertionError\n"
    "FAILED tests/test_cache.py::test_evict_by_size - assert 3 == 2\n"
    "========================= 1 failed, 41 passed in 0.48s =========================\n"
)

TQDM = (
    "Downloading model.bin:   0%|          | 0.00/4.20M [00:00<?, ?B/s]\r"
    "Downloading model.bin:  50%|█████     | 2.10M/4.20M [00:01<00:01, 2.10MB/s]\r"
    "Downloading model.bin: 100%|██████████| 4.20M/4.20M [00:02<00:00, 2.10MB/s]\n"
    "saved to /tmp/model.bin\n"
)

CURL = """\
  % Total    % Received % Xferd  Average Speed   Time    Time     Time  Current
                                 Dload  Upload   Total   Spent    Left  Speed
  0     0    0     0    0     0      0      0 --:--:-- --:--:-- --:--:--     0
 43 1208k   43  520k    0     0   611k      0  0:00:01 --:--:--  0:00:01  611k
100 1208k  100 1208k    0     0  1032k      0  0:00:01  0:00:01 --:--:-- 1032k
"""


def test_registered_by_name():
    assert by_name("terminal") is TERMINAL


def test_ansi_pytest_output_is_stripped():
    assert TERMINAL.detect(PYTEST_ANSI) >= 0.5
    assert TERMINAL.apply(PYTEST_ANSI, PARAMS) == PYTEST_PLAIN


def test_progress_bar_keeps_final_state():
    assert TERMINAL.detect(TQDM) >= 0.5
    out = TERMINAL.apply(TQDM, PARAMS)
    assert out == (
        "Downloading model.bin: 100%|██████████| 4.20M/4.20M [00:02<00:00, 2.10MB/s]\n"
        "saved to /tmp/model.bin\n"
    )


@pytest.mark.parametrize(
    ("line", "shown"),
    [
        ("abcdef\rxy", "xycdef"),  # a shorter redraw leaves the old tail, as on a terminal
        ("Collecting flask\r\x1b[KCollecting flask (from -r req.txt)", "Collecting flask (from -r req.txt)"),
        ("50%\r\x1b[2K100%", "100%"),
        ("spin |\x08/\x08-\x08\\\x08done", "spin done"),
        ("\x1b]0;build: step 3\x07step 3 ok", "step 3 ok"),
        ("text with a CRLF ending\r", "text with a CRLF ending\r"),
        ("\x1b[1;31merror\x1b[0m: linker failed\r", "error: linker failed\r"),
        ("progress 10%\rprogress 20%\rprogress 30%\r", "progress 30%\r"),
        ("plain line", "plain line"),
    ],
)
def test_redraw(line, shown):
    assert redraw(line) == shown


def test_curl_progress_table_kept():
    # Captured without a tty, curl's table is plain lines: every one of them stays.
    assert TERMINAL.apply(CURL, PARAMS) is CURL
    assert clean(CURL) == CURL


def test_identical_run_collapses_with_marker_in_place():
    text = "starting db\n" + "Waiting for postgres at db:5432 (connection refused)...\n" * 25 + "db is up\n"
    out = TERMINAL.apply(text, PARAMS)
    assert out == (
        "starting db\n"
        "Waiting for postgres at db:5432 (connection refused)...\n"
        "[… 24 repeats of the line above omitted (lines 3–26) …]\n"
        "db is up\n"
    )
    body = marker.find(out)[0]
    assert marker.parse_omitted(body) == (24, "repeats of the line above", "lines 3–26")


def test_repeated_block_collapses():
    frames = '  File "/srv/app/tree.py", line 12, in walk\n    return walk(node.child)\n'
    error = "RecursionError: maximum recursion depth exceeded\n"
    text = "Traceback (most recent call last):\n" + frames * 30 + error
    out = clean(text)
    assert out.count("return walk(node.child)") == 1
    (body,) = marker.find(out)
    assert marker.parse_omitted(body) == (58, "lines", "lines 4–61: the 2 lines above, 29 more times")
    assert out.endswith(error)


def test_blank_runs_and_short_repeats_stay():
    text = "a\n\n\n\n\nb\nok\nok\nc\n"
    assert clean(text) == text
    assert TERMINAL.apply(text, PARAMS) is text


def test_collapse_repeats_min_lines():
    lines = ["x" * 80, "x" * 80, "y"]
    note = marker.omitted(1, "repeat of the line above", "line 2")
    assert collapse_repeats(lines) == [(0, "x" * 80), (-1, note), (2, "y")]
    assert collapse_repeats(lines, min_lines=2) == [(0, "x" * 80), (1, "x" * 80), (2, "y")]


def test_clean_is_lossless_for_what_is_shown():
    text = PYTEST_ANSI + TQDM + "retrying\n" * 12
    out = clean(text)
    expanded = []
    for line in out.split("\n"):
        bodies = marker.find(line)
        parsed = marker.parse_omitted(bodies[0]) if bodies else None
        if parsed is not None:
            expanded.extend([expanded[-1]] * parsed[0])
        else:
            expanded.append(line)
    shown = "\n".join(redraw(x) for x in text.split("\n"))
    assert "\n".join(expanded) == shown


@pytest.mark.parametrize(
    "text",
    [
        "def main():\n    return 0\n",
        "Flask is a lightweight WSGI web application framework.\n",
        "a,b\n1,2\n3,4\n",
    ],
)
def test_not_detected(text):
    assert TERMINAL.detect(text) < 0.5
    assert TERMINAL.apply(text, PARAMS) is text


def test_never_empty():
    assert TERMINAL.apply("\x1b[0m", PARAMS) == "\x1b[0m"
    assert clean("\r") == "\r"
    assert clean("\x1b[2K") == "\x1b[2K"  # what would show is nothing: the input comes back
