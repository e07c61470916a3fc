from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from wiretrim.compression.transforms import by_name
from wiretrim.compression.transforms._api import TransformParams
from wiretrim.compression.transforms.code import CODE

LEVELS = [
    TransformParams(level=level, lossy_above_tokens=0) for level in ("lossless", "balanced", "aggressive")
]
BALANCED = LEVELS[1]

SOURCE = '''\
"""Token bucket rate limiting."""

from __future__ import annotations

import time
from dataclasses import dataclass


@dataclass
class Bucket:
    """Holds up to `capacity` tokens, refilled at `rate` per second."""

    capacity: int
    rate: float
    tokens: float = 0.0

    def take(self, n: int = 1) -> bool:
        """Take `n` tokens if there are enough; True when taken."""
        now = time.monotonic()
        self.refill(now)
        if self.tokens < n:
            return False
        self.tokens -= n
        return True
'''


def cat_n(text: str) -> str:
    return "".join(f"{i:6d}\t{line}\n" for i, line in enumerate(text.splitlines(), 1))


def arrow(text: str) -> str:
    return "".join(f"{i:6d}→{line}\n" for i, line in enumerate(text.splitlines(), 1))


SWE_WINDOW = """\
[File: /repo/src/limits/bucket.py (120 lines total)]
(40 more lines above)
41:    def take(self, n: int = 1) -> bool:
42:        \"\"\"Take `n` tokens if there are enough; True when taken.\"\"\"
43:        now = time.monotonic()
44:        self.refill(now)
45:        if self.tokens < n:
46:            return False
(74 more lines below)
"""

GO = """\
package limits

import (
\t"sync"
\t"time"
)

type Bucket struct {
\tmu       sync.Mutex
\ttokens   float64
\tcapacity float64
}

func (b *Bucket) Take(n float64) bool {
\tb.mu.Lock()
\tdefer b.mu.Unlock()
\tif b.tokens < n {
\t\treturn false
\t}
\tb.tokens -= n
\treturn true
}
"""

PROSE = """\
The bucket starts empty and fills at a steady rate. When a request arrives it takes
one token, and when there are no tokens left the request has to wait or is refused.
This keeps bursts short while allowing the average rate the operator configured.
"""

GREP = """\
src/limits/bucket.py:17:    def take(self, n: int = 1) -> bool:
src/limits/bucket.py:30:    def refill(self, now: float) -> None:
src/limits/window.py:12:    def take(self, key: str) -> bool:
"""

DIFF = """\
diff --git a/src/limits/bucket.py b/src/limits/bucket.py
--- a/src/limits/bucket.py
+++ b/src/limits/bucket.py
@@ -20,3 +20,3 @@ class Bucket:
-        if self.tokens <= n:
+        if self.tokens < n:
             return False
"""

LOG = """\
17/06/09 20:10:52 INFO storage.BlockManager: Found block rdd_2_4 locally (size=9.2 KB; free=353.9 KB)
17/06/09 20:10:53 WARN executor.Executor: Task 7 failed (attempt=2); retrying with backoff=4s
17/06/09 20:10:55 INFO executor.Executor: Finished task 7.1 in stage 3.0 (TID 41). 2119 bytes result sent
"""

JSON = '{\n  "capacity": 10,\n  "rate": 2.5,\n  "keys": ["a", "b"]\n}\n'


def test_registered():
    assert by_name("code") is CODE


@pytest.mark.parametrize(
    ("text", "score"),
    [(cat_n(SOURCE), 0.95), (arrow(SOURCE), 0.95), (SWE_WINDOW, 0.95), (SOURCE, 0.8), (GO, 0.8)],
    ids=["cat-n", "arrow", "swe-agent", "python", "go"],
)
def test_detects_code_by_syntax(text, score):
    assert CODE.detect(text) == score


@pytest.mark.parametrize(
    "text",
    [PROSE, GREP, DIFF, LOG, JSON, "x", ""],
    ids=["prose", "grep", "diff", "log", "json", "x", "empty"],
)
def test_leaves_other_text_to_others(text):
    assert CODE.detect(text) < 0.5


@pytest.mark.parametrize("params", LEVELS, ids=lambda p: p.level)
def test_numbered_read_loses_only_number_padding(params):
    out = CODE.apply(cat_n(SOURCE), params)
    assert out.splitlines() == [f"{i}\t{line}" for i, line in enumerate(SOURCE.splitlines(), 1)]


def test_arrow_numbers_keep_their_arrow():
    out = CODE.apply(arrow(SOURCE), BALANCED)
    assert out.startswith('1→"""Token bucket rate limiting."""\n2→\n3→from __future__')
    assert "17→    def take(self, n: int = 1) -> bool:\n" in out


def test_every_line_and_statement_survives_verbatim():
    text = cat_n(SOURCE)
    out = CODE.apply(text, LEVELS[2])
    assert out.count("\n") == text.count("\n")
    for line in SOURCE.splitlines():
        assert line.rstrip() in out


def test_trailing_whitespace_goes_but_indentation_stays():
    text = "def f():   \n\tx = 1\t\n    return x  \r\n"
    assert CODE.apply(text, BALANCED) == "def f():\n\tx = 1\n    return x\r\n"


def test_nothing_to_gain_returns_the_input():
    assert CODE.apply(SOURCE, BALANCED) is SOURCE
    assert CODE.apply(SWE_WINDOW, BALANCED) is SWE_WINDOW


def test_numbered_blank_lines_keep_their_separator():
    text = "     1\tx = 1\n     2\t\n     3\ty = 2\n"
    assert CODE.apply(text, BALANCED) == "1\tx = 1\n2\t\n3\ty = 2\n"


def test_lines_without_a_number_in_a_numbered_read_stay():
    text = cat_n(SOURCE) + "... (file truncated)\n"
    out = CODE.apply(text, BALANCED)
    assert out.endswith("24\t        return True\n... (file truncated)\n")


def test_deterministic():
    text = cat_n(SOURCE)
    assert CODE.apply(text, BALANCED) == CODE.apply(text, BALANCED)


CODE_PIECES = ["def f():", "    ", "\t", "x = 1", "  ", "\n", "     7\t", "  12→", "\r", "}", "é"]


@given(st.lists(st.sampled_from(CODE_PIECES), max_size=60).map("".join))
def test_any_text_keeps_its_lines_and_words(text):
    out = CODE.apply(text, BALANCED)
    assert out == CODE.apply(text, BALANCED)
    assert out.count("\n") == text.count("\n")
    assert out.split() == text.split()
