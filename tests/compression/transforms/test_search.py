from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from wiretrim.compression import marker
from wiretrim.compression.transforms import by_name
from wiretrim.compression.transforms._api import TransformParams
from wiretrim.compression.transforms.search import SEARCH

LOSSLESS = TransformParams(level="lossless", lossy_above_tokens=0)
LOSSY = TransformParams(level="balanced", lossy_above_tokens=0)
AGGRESSIVE = TransformParams(level="aggressive", lossy_above_tokens=0)

GREP_RN = """\
kestrel/cache.py:14:class BlobCache:
kestrel/cache.py:88:    def evict(self, digest: str) -> None:
kestrel/http/server.py:31:from kestrel.cache import BlobCache
kestrel/http/server.py:57:        self.cache = BlobCache(max_bytes=settings.cache_bytes)
tests/test_cache.py:9:from kestrel.cache import BlobCache
tests/test_cache.py:22:    cache = BlobCache(max_bytes=1024)
"""

GREP_C2 = """\
kestrel/cache.py-12-
kestrel/cache.py-13-
kestrel/cache.py:14:class BlobCache:
kestrel/cache.py-15-    \"\"\"An in-memory cache of decoded blobs, keyed by digest.\"\"\"
kestrel/cache.py-16-
--
kestrel/http/server.py-29-import logging
kestrel/http/server.py-30-
kestrel/http/server.py:31:from kestrel.cache import BlobCache
kestrel/http/server.py-32-from kestrel.config import DEFAULT_PORT
kestrel/http/server.py-33-from kestrel.health import health
--
kestrel/http/server.py-55-    def __init__(self, settings: Settings) -> None:
kestrel/http/server.py-56-        self.settings = settings
kestrel/http/server.py:57:        self.cache = BlobCache(max_bytes=settings.cache_bytes)
kestrel/http/server.py:58:        self.routes = {"/health": health}
kestrel/http/server.py-59-        self.started = False
kestrel/http/server.py-60-        self.log = logging.getLogger(__name__)
--
tests/test_cache.py-7-import pytest
tests/test_cache.py-8-
tests/test_cache.py:9:from kestrel.cache import BlobCache
tests/test_cache.py-10-
tests/test_cache.py-11-
"""

# The same search with -C4: far context that the lossy step may fold.
GREP_C4 = """\
kestrel/http/server.py-51-class Server:
kestrel/http/server.py-52-    \"\"\"Serves blobs over HTTP; one instance per process.\"\"\"
kestrel/http/server.py-53-
kestrel/http/server.py-54-    default_timeout_seconds = 30.0
kestrel/http/server.py:55:    def __init__(self, settings: Settings) -> None:
kestrel/http/server.py-56-        self.settings = settings
kestrel/http/server.py-57-        self.cache = BlobCache(max_bytes=settings.cache_bytes)
kestrel/http/server.py-58-        self.routes = {"/health": health, "/metrics": metrics_endpoint}
kestrel/http/server.py-59-        self.started = False
--
tests/test_server.py-40-def test_server_starts_and_answers_health_checks(tmp_path):
tests/test_server.py-41-    settings = Settings(port=0, cache_bytes=4096, data_dir=tmp_path)
tests/test_server.py-42-    server = Server(settings)
tests/test_server.py-43-    server.start()
tests/test_server.py:44:    assert server.__init__ is not None
tests/test_server.py-45-    response = server.handle(Request("GET", "/health"))
tests/test_server.py-46-    assert response.status == 200
tests/test_server.py-47-    assert response.body == b"ok"
tests/test_server.py-48-    server.stop()
"""

RG_HEADING = """\
kestrel/http/server.py
51-class Server:
52-    \"\"\"Serves blobs over HTTP; one instance per process.\"\"\"
53-
54-    default_timeout_seconds = 30.0
55:    def __init__(self, settings: Settings) -> None:
56-        self.settings = settings
57-        self.cache = BlobCache(max_bytes=settings.cache_bytes)
58-        self.routes = {"/health": health, "/metrics": metrics_endpoint}
59-        self.started = False
--
120-    def stop(self) -> None:
121:        self.__init__ = None
122-        self.started = False

tests/test_server.py
40-def test_server_starts_and_answers_health_checks(tmp_path):
41-    settings = Settings(port=0, cache_bytes=4096, data_dir=tmp_path)
42-    server = Server(settings)
43-    server.start()
44:    assert server.__init__ is not None
45-    response = server.handle(Request("GET", "/health"))
46-    assert response.status == 200
47-    assert response.body == b"ok"
48-    server.stop()
"""


def _grep_lines(text: str) -> tuple[list[str], list[tuple[str, str, str]]]:
    """(match lines, (path, number, text) of context lines) of grep -rn -C output."""
    matches, context = [], []
    for line in text.split("\n"):
        if line in ("", "--"):
            continue
        path, colon, rest = line.partition(".py:")
        if colon and rest.split(":", 1)[0].isdigit():
            matches.append(line)
            continue
        path, _, rest = line.partition(".py-")
        number, _, body = rest.partition("-")
        context.append((path + ".py", number, body))
    return matches, context


def _omitted_total(text: str) -> int:
    total = 0
    for body in marker.find(text):
        parsed = marker.parse_omitted(body)
        if parsed is not None:
            assert parsed[1] in ("context line", "context lines")
            total += parsed[0]
    return total


def test_registered() -> None:
    assert by_name("search") is SEARCH


@pytest.mark.parametrize("text", [GREP_C2, GREP_C4, RG_HEADING])
def test_detects_search_output(text: str) -> None:
    assert SEARCH.detect(text) >= 0.8


def test_plain_match_lines_are_claimed_and_left_alone() -> None:
    assert 0.7 <= SEARCH.detect(GREP_RN) < 0.8
    for params in (LOSSLESS, LOSSY, AGGRESSIVE):
        assert SEARCH.apply(GREP_RN, params) is GREP_RN


@pytest.mark.parametrize(
    "text",
    [
        "",
        "2015-10-18 18:01:47,978 INFO [main] org.apache.Foo: started\n" * 30,
        "Jun 14 15:16:01 combo sshd(pam_unix)[19939]: authentication failure\n" * 30,
        # A numbered file view (SWE-agent style) has no context lines and no separators.
        "\n".join(f"{n}:    value_{n} = compute({n})" for n in range(100, 160)),
        "def main():\n    return {'a': 1}\n" * 30,
        "The match at line 12: nothing to see.\n" * 20,
    ],
)
def test_does_not_claim_other_text(text: str) -> None:
    assert SEARCH.detect(text) < 0.5


def test_lossless_factors_context_paths_exactly() -> None:
    out = SEARCH.apply(GREP_C2, LOSSLESS)
    expected = (
        "[… context lines below show only N-text; their path is on their group's match lines …]\n"
        "12-\n"
        "13-\n"
        "kestrel/cache.py:14:class BlobCache:\n"
        '15-    """An in-memory cache of decoded blobs, keyed by digest."""\n'
        "16-\n"
        "--\n"
        "29-import logging\n"
        "30-\n"
        "kestrel/http/server.py:31:from kestrel.cache import BlobCache\n"
        "32-from kestrel.config import DEFAULT_PORT\n"
        "33-from kestrel.health import health\n"
        "--\n"
        "55-    def __init__(self, settings: Settings) -> None:\n"
        "56-        self.settings = settings\n"
        "kestrel/http/server.py:57:        self.cache = BlobCache(max_bytes=settings.cache_bytes)\n"
        'kestrel/http/server.py:58:        self.routes = {"/health": health}\n'
        "59-        self.started = False\n"
        "60-        self.log = logging.getLogger(__name__)\n"
        "--\n"
        "7-import pytest\n"
        "8-\n"
        "tests/test_cache.py:9:from kestrel.cache import BlobCache\n"
        "10-\n"
        "11-\n"
    )
    assert out == expected


@pytest.mark.parametrize("params", [LOSSLESS, LOSSY, AGGRESSIVE])
def test_match_lines_stay_whole_and_context_keeps_its_own_number(params: TransformParams) -> None:
    for text in (GREP_C2, GREP_C4):
        out = SEARCH.apply(text, params)
        out_lines = out.split("\n")
        matches, context = _grep_lines(text)
        for line in matches:
            assert line in out_lines
        kept_context = 0
        for _path, number, body in context:
            if f"{number}-{body}" in out_lines:
                kept_context += 1
        assert kept_context + _omitted_total(out) == len(context)


def test_balanced_folds_only_runs_worth_a_marker() -> None:
    out = SEARCH.apply(GREP_C4, LOSSY)
    assert '52-    """Serves blobs over HTTP; one instance per process."""' not in out
    assert "54-    default_timeout_seconds = 30.0" in out.split("\n")  # next to the match
    assert "[… 2 context lines omitted …]" in out
    assert "kestrel/http/server.py:55:    def __init__(self, settings: Settings) -> None:" in out.split("\n")


def test_first_and_last_lines_survive_folding() -> None:
    out = SEARCH.apply(GREP_C4, AGGRESSIVE)
    assert out.split("\n")[1] == "51-class Server:"  # after the note
    assert out.endswith("\n48-    server.stop()\n")


def test_rg_heading_keeps_headings_and_folds_context_when_allowed() -> None:
    assert SEARCH.apply(RG_HEADING, LOSSLESS) is RG_HEADING
    out = SEARCH.apply(RG_HEADING, AGGRESSIVE)
    lines = out.split("\n")
    assert lines[0] == "kestrel/http/server.py"
    assert "tests/test_server.py" in lines
    for line in (
        "55:    def __init__(self, settings: Settings) -> None:",
        "121:        self.__init__ = None",
    ):
        assert line in lines
    assert "44:    assert server.__init__ is not None" in lines
    assert _omitted_total(out) > 0
    assert len(out) < len(RG_HEADING)


def test_kept_terms_keep_context_lines() -> None:
    params = TransformParams(
        level="aggressive", lossy_above_tokens=0, keep_terms=frozenset({"default_timeout"})
    )
    out = SEARCH.apply(GREP_C4, params)
    assert "54-    default_timeout_seconds = 30.0" in out.split("\n")


def test_paths_with_dashes_and_numbers() -> None:
    text = (
        "docs/release-2-notes.md-3-First line of context\n"
        "docs/release-2-notes.md-4-Second line of context\n"
        "docs/release-2-notes.md:5:The flag --max-3-retries was removed.\n"
        "docs/release-2-notes.md-6-Third line of context\n"
        "docs/release-2-notes.md-7-Fourth line of context\n"
    ) * 1
    out = SEARCH.apply(text * 1, LOSSLESS)
    # Too little to factor: the note would cost more than the paths it saves.
    assert out is text
    many = "--\n".join(
        text.replace(":5:", f":{n + 5}:")
        .replace("-3-F", f"-{n + 3}-F")
        .replace("-4-S", f"-{n + 4}-S")
        .replace("-6-T", f"-{n + 6}-T")
        .replace("-7-F", f"-{n + 7}-F")
        for n in range(0, 100, 10)
    )
    out = SEARCH.apply(many, LOSSLESS)
    assert "docs/release-2-notes.md:45:The flag --max-3-retries was removed." in out.split("\n")
    assert "43-First line of context" in out.split("\n")
    assert "docs/release-2-notes.md-43-First line of context" not in out


def test_group_that_is_not_one_file_is_left_verbatim() -> None:
    text = GREP_C2.replace("kestrel/cache.py-16-", "kestrel/other.py-16-")
    out = SEARCH.apply(text, LOSSLESS)
    assert "kestrel/other.py-16-" in out
    assert "kestrel/cache.py-15-" in out  # the whole group stays as it was
    assert "\n29-import logging\n" in out  # other groups are still factored


def test_context_text_that_looks_like_a_match() -> None:
    group = "src/a.py-10-x=d[1:2:3]\nsrc/a.py:11:y = 1\nsrc/a.py-12-z = 2\n--\n"
    text = group * 30
    out = SEARCH.apply(text, LOSSLESS)
    assert "10-x=d[1:2:3]" in out.split("\n")
    assert "src/a.py:11:y = 1" in out.split("\n")


def test_non_consecutive_numbers_are_left_verbatim() -> None:
    text = "src/a.py-10-one\nsrc/a.py:12:two\nsrc/a.py-13-three\n--\n" * 30
    assert SEARCH.apply(text, LOSSLESS) is text


def test_same_output_in_another_process() -> None:
    code = (
        "import sys; from tests.compression.transforms.test_search import GREP_C4, GREP_C2, AGGRESSIVE;"
        "from wiretrim.compression.transforms.search import SEARCH;"
        "sys.stdout.write(repr((SEARCH.detect(GREP_C2), SEARCH.apply(GREP_C4 + GREP_C2, AGGRESSIVE))))"
    )
    root = Path(__file__).resolve().parents[3]
    outputs = set()
    for seed in ("1", "2"):
        env = {**os.environ, "PYTHONHASHSEED": seed}
        run = subprocess.run(
            [sys.executable, "-c", code], cwd=root, env=env, capture_output=True, text=True, check=True
        )
        outputs.add(run.stdout)
    assert len(outputs) == 1
    assert repr((SEARCH.detect(GREP_C2), SEARCH.apply(GREP_C4 + GREP_C2, AGGRESSIVE))) in outputs
