from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from wiretrim.compression import marker
from wiretrim.compression.transforms import by_name
from wiretrim.compression.transforms._api import TransformParams
from wiretrim.compression.transforms.prose import PROSE

LOSSLESS, BALANCED, AGGRESSIVE = (
    TransformParams(level=level, lossy_above_tokens=0) for level in ("lossless", "balanced", "aggressive")
)

RST = """\
Configuration Handling
======================================================

Applications need some kind of configuration. There are different settings   
you might want to change depending on the application environment like
toggling the debug mode, setting the secret key, and other such
environment-specific things.



Configuration Basics
--------------------

The :attr:`~flask.Flask.config` is actually a subclass of a dictionary and
can be modified just like any dictionary::

    app = Flask(__name__)
    app.config['TESTING'] = True


    app.config.update(
        TESTING=True,
    )

-----------------------------------------------------------------------------

=============
Builtin Values
=============

The following configuration values are used internally by the framework.
"""

RST_EXPECTED = """\
Configuration Handling
======================

Applications need some kind of configuration. There are different settings
you might want to change depending on the application environment like
toggling the debug mode, setting the secret key, and other such
environment-specific things.

Configuration Basics
--------------------

The :attr:`~flask.Flask.config` is actually a subclass of a dictionary and
can be modified just like any dictionary::

    app = Flask(__name__)
    app.config['TESTING'] = True


    app.config.update(
        TESTING=True,
    )

----------------

=============
Builtin Values
=============

The following configuration values are used internally by the framework.
"""

MARKDOWN = """\
# Retries

Requests are retried when the connection drops or the server answers with a 503.  
The delay between attempts doubles each time, up to the configured maximum.

| Option           | Type    | Default |
|:-----------------|--------:|:-------:|
| `timeout`        | `float` | `30.0`  |
| `retries`        | `int`   | `3`     |

```python
for attempt in range(3):


    send()
```
"""

MARKDOWN_EXPECTED = """\
# Retries

Requests are retried when the connection drops or the server answers with a 503.  
The delay between attempts doubles each time, up to the configured maximum.

| Option | Type | Default |
| :--- | ---: | :---: |
| `timeout` | `float` | `30.0` |
| `retries` | `int` | `3` |

```python
for attempt in range(3):


    send()
```
"""

PARAGRAPH = (
    "Sessions keep cookies, default headers and connection pools between requests,\n"
    "so repeated calls to the same host reuse one TCP connection instead of many."
)

RAG = f"""\
[1] docs/user/advanced.rst § Session Objects
Session Objects
---------------

{PARAGRAPH}

Use a session as a context manager to close its pool when you are done.

[2] docs/api.rst § Sessions
Sessions
--------

{PARAGRAPH}

The session exposes `mount` for transport adapters.
"""


def test_registered():
    assert by_name("prose") is PROSE


@pytest.mark.parametrize("params", [LOSSLESS, BALANCED], ids=["lossless", "balanced"])
def test_rst_loses_only_blank_noise(params):
    assert PROSE.apply(RST, params) == RST_EXPECTED


def test_markdown_keeps_hard_breaks_and_code_blocks():
    assert PROSE.apply(MARKDOWN, BALANCED) == MARKDOWN_EXPECTED


def test_every_sentence_survives_at_balanced():
    out = " ".join(PROSE.apply(RAG, BALANCED).split())
    assert out.count(" ".join(PARAGRAPH.split())) == 2


def test_aggressive_refers_back_to_a_repeated_paragraph():
    out = PROSE.apply(RAG, AGGRESSIVE)
    assert out.count("Sessions keep cookies") == 1
    [body] = marker.find(out)
    assert marker.parse_omitted(body) == (2, "repeated lines", "same as lines 5–6")
    assert "--------\n\n[… 2 repeated lines omitted (same as lines 5–6) …]\n\nThe session" in out


def test_aggressive_keeps_a_repeat_the_user_asked_about():
    params = TransformParams(level="aggressive", lossy_above_tokens=0, keep_terms=frozenset({"tcp"}))
    assert PROSE.apply(RAG, params).count("Sessions keep cookies") == 2


def test_aggressive_under_budget_drops_nothing():
    params = TransformParams(level="aggressive", lossy_above_tokens=10_000)
    assert PROSE.apply(RAG, params) is RAG


def test_nothing_to_gain_returns_the_input():
    assert PROSE.apply(RAG, BALANCED) is RAG


@pytest.mark.parametrize("text", [RST, MARKDOWN, RAG])
def test_detects_docs(text):
    assert 0.5 <= PROSE.detect(text) <= 0.7


CODE = '''\
def take(self, n: int = 1) -> bool:
    """Take `n` tokens if there are enough; True when taken."""
    now = time.monotonic()
    self.refill(now)
    if self.tokens < n:
        return False
    return True
'''

JSON = '[\n  {"rank": 1, "text": "Sessions keep cookies and default headers."},\n  {"rank": 2}\n]'

LOG = """\
2024-05-02 10:01:12,331 INFO  [main] Server started on port 8080 with four worker threads
2024-05-02 10:01:13,002 WARN  [pool-1] Connection pool is nearly exhausted for host db-1
2024-05-02 10:01:14,551 ERROR [pool-1] Timed out waiting for a connection after 30 seconds
"""


@pytest.mark.parametrize("text", [CODE, JSON, "<html><body><p>Hello there</p></body></html>", LOG[:20], ""])
def test_leaves_code_and_data(text):
    assert PROSE.detect(text) < 0.5


def test_deterministic():
    assert PROSE.apply(RST, BALANCED) == PROSE.apply(RST, BALANCED)


PROSE_PIECES = ["word", " ", "  ", "\n", "\n\n\n", "=" * 20, "-" * 30, "::", "    ", "```", "| a  |", "# "]


def words(text: str) -> list[str]:
    """The words, without rule characters (rules may shrink) or pipes (table padding may go)."""
    return re.sub(r"[=|-]", " ", text).split()


@given(st.lists(st.sampled_from(PROSE_PIECES), max_size=60).map("".join))
def test_any_text_keeps_its_words(text):
    for params in (BALANCED, AGGRESSIVE):
        out = PROSE.apply(text, params)
        assert out == PROSE.apply(text, params)
        assert out.strip() or not text.strip()
    assert words(PROSE.apply(text, BALANCED)) == words(text)
