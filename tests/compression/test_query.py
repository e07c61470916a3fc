import os
import subprocess
import sys

from hypothesis import given
from hypothesis import strategies as st

from wiretrim.compression.query import digest, keep_terms


def test_empty():
    assert keep_terms("") == frozenset()
    assert digest(frozenset()) == ""


def test_distinctive_terms_only():
    terms = keep_terms(
        'Why does `test_login` fail with "ConnectionRefusedError" in auth/views.py at line 42 '
        "since commit 3f2a9c1? The getUserName call and HTTP_TIMEOUT look fine to me."
    )
    assert {
        "test_login",
        "connectionrefusederror",
        "auth/views.py",
        "3f2a9c1",
        "getusername",
        "http_timeout",
    } <= terms
    for plain in ("why", "does", "fail", "the", "look", "fine", "call", "since"):
        assert plain not in terms


def test_quoted_text_is_kept_whole_and_lower_cased():
    assert "connection reset by peer" in keep_terms("the log says 'Connection reset by peer' twice")
    assert "make test" in keep_terms("run `make test` again")


def test_trailing_punctuation_is_stripped():
    assert "src/app.py" in keep_terms("see src/app.py.")
    assert "v1.2.3" in keep_terms("upgrade to v1.2.3:")


def test_at_most_32_terms_first_ones_win():
    text = " ".join(f"id_{i:03d}" for i in range(100))
    terms = keep_terms(text)
    assert len(terms) == 32
    assert "id_000" in terms and "id_031" in terms and "id_032" not in terms


def test_short_terms_are_dropped():
    assert keep_terms("a1 b_ x/ `ab`") == frozenset()


@given(st.lists(st.text(min_size=1, max_size=10), max_size=10))
def test_digest_is_order_free(words):
    assert digest(frozenset(words)) == digest(frozenset(reversed(words)))


def test_digest_is_the_same_in_another_process():
    code = (
        "from wiretrim.compression.query import keep_terms, digest;"
        "print(digest(keep_terms('fix `a_b` c_d e/f.py 0x1F KEY_ERROR getX \"quoted words\"')))"
    )
    outs = {
        subprocess.run(
            [sys.executable, "-c", code],
            env={**os.environ, "PYTHONHASHSEED": seed},
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        for seed in ("1", "2", "3")
    }
    assert len(outs) == 1
