from __future__ import annotations

import pytest

from wiretrim.compression import marker
from wiretrim.compression.transforms import by_name
from wiretrim.compression.transforms._api import TransformParams
from wiretrim.compression.transforms.diff import DIFF

LOSSY = TransformParams(level="balanced", lossy_above_tokens=0)
AGGRESSIVE = TransformParams(level="aggressive", lossy_above_tokens=0)

GIT_SHOW = """\
commit 3f9c2a71d0b84e6a5c1f2e8d7b6a5c4d3e2f1a0b
Author: Mira Okafor <mira.okafor@example.org>
Date:   Thu Mar 7 14:02:51 2024 +0100

    cache: evict by size, not by entry count

    The old limit counted entries, so a few large blobs could exhaust memory.

diff --git a/kestrel/cache.py b/kestrel/cache.py
index 1a2b3c4d..5e6f7a8b 100644
--- a/kestrel/cache.py
+++ b/kestrel/cache.py
@@ -12,14 +12,16 @@ from kestrel.clock import monotonic
 class BlobCache:
     \"\"\"An in-memory cache of decoded blobs, keyed by digest.\"\"\"
 
-    def __init__(self, max_entries: int = 512) -> None:
-        self.max_entries = max_entries
+    def __init__(self, max_bytes: int = 64 * 1024 * 1024) -> None:
+        self.max_bytes = max_bytes
+        self.used_bytes = 0
         self._items: OrderedDict[str, bytes] = OrderedDict()
         self._hits = 0
         self._misses = 0
         self._created = monotonic()
         self._lock = threading.Lock()
         self._name = "blob-cache"
-        self._evictions = 0
+        self._evicted_bytes = 0
+        self._evictions = 0
         self._closed = False
         self._owner = None

diff --git a/tests/test_cache.py b/tests/test_cache.py
index 9c8d7e6f..0a1b2c3d 100644
--- a/tests/test_cache.py
+++ b/tests/test_cache.py
@@ -40,7 +40,7 @@ def test_hit_and_miss(cache):
     cache.put("a", b"x")
     assert cache.get("a") == b"x"
     assert cache.get("b") is None
-    assert cache.stats() == {"hits": 1, "misses": 1}
+    assert cache.stats() == {"hits": 1, "misses": 1, "evicted_bytes": 0}
     cache.close()
     assert cache.closed
     assert not cache._items
\\ No newline at end of file
"""

GIT_LOG_P = """\
commit aa11bb22cc33dd44ee55ff66aa77bb88cc99dd00
Author: Jonas Lind <jonas@lind.dev>
Date:   Mon Feb 5 09:15:00 2024 +0000

    rename settings module to config

diff --git a/kestrel/settings.py b/kestrel/config.py
similarity index 96%
rename from kestrel/settings.py
rename to kestrel/config.py
index 4d5e6f70..8a9b0c1d 100644
--- a/kestrel/settings.py
+++ b/kestrel/config.py
@@ -1,6 +1,6 @@
 \"\"\"Runtime settings, read once at start-up.\"\"\"
 
-DEFAULT_PORT = 8080
+DEFAULT_PORT = 8443
 DEFAULT_HOST = "127.0.0.1"
 LOG_LEVEL = "info"
 WORKERS = 4

commit 0123456789abcdef0123456789abcdef01234567
Author: Mira Okafor <mira.okafor@example.org>
Date:   Fri Feb 2 17:40:12 2024 +0100

    add a health endpoint

diff --git a/kestrel/health.py b/kestrel/health.py
new file mode 100644
index 00000000..3c4d5e6f
--- /dev/null
+++ b/kestrel/health.py
@@ -0,0 +1,4 @@
+from kestrel.http import Response
+
+def health(request):
+    return Response(200, b"ok")

commit fedcba9876543210fedcba9876543210fedcba98
Author: Jonas Lind <jonas@lind.dev>
Date:   Thu Feb 1 08:00:00 2024 +0000

    drop the legacy shim

diff --git a/kestrel/legacy.py b/kestrel/legacy.py
deleted file mode 100644
index 7e8f9a0b..00000000
--- a/kestrel/legacy.py
+++ /dev/null
@@ -1,3 +0,0 @@
-# Kept for callers of kestrel < 2.0.
-from kestrel.config import *  # noqa: F401,F403
-WARN_ON_IMPORT = True
"""


def _changed(text: str) -> list[str]:
    """Every line a question could ask for: headers, hunk headers and +/- lines."""
    keep = []
    in_message = False
    for line in text.split("\n"):
        if line.startswith(("commit ", "Author:", "Date:")):
            in_message = line.startswith("Date:")
            keep.append(line)
        elif in_message and line.startswith("    "):
            keep.append(line)
        elif line.startswith("diff "):
            in_message = False
            keep.append(line)
        elif line.startswith(
            ("diff --git", "index ", "--- ", "+++ ", "@@ ", "+", "-", "\\", "rename ", "new file")
        ):
            keep.append(line)
    return keep


def _is_subsequence(short: list[str], long: list[str]) -> bool:
    it = iter(long)
    return all(any(x == y for y in it) for x in short)


def test_registered() -> None:
    assert by_name("diff") is DIFF


@pytest.mark.parametrize("text", [GIT_SHOW, GIT_LOG_P])
def test_detects_diffs(text: str) -> None:
    assert DIFF.detect(text) >= 0.8


def test_detects_commit_log_without_patches() -> None:
    log = "\n".join(
        line for line in GIT_LOG_P.split("\n") if line.startswith(("commit", "Author", "Date", "    ", ""))
    )
    log = log.split("\ndiff")[0] + "\n"
    assert 0.5 <= DIFF.detect(log) < 0.8


@pytest.mark.parametrize(
    "text",
    [
        "",
        "We should commit to a date for the release.\nThe hunk header looks like @@ -1 +1 @@.\n" * 20,
        "def main():\n    return 0\n" * 40,
        "2024-02-01 08:00:00 INFO started\n" * 50,
        # A short diff inside a long prose answer: the router should split, not us.
        "Some notes about the change.\n" * 80 + GIT_SHOW.split("diff --git a/tests")[0],
    ],
)
def test_does_not_claim_other_text(text: str) -> None:
    assert DIFF.detect(text) < 0.5


@pytest.mark.parametrize("text", [GIT_SHOW, GIT_LOG_P])
def test_lossless_and_small_texts_are_untouched(text: str) -> None:
    assert DIFF.apply(text, TransformParams(level="lossless", lossy_above_tokens=0)) is text
    assert DIFF.apply(text, TransformParams(level="balanced")) is text  # under the size budget


def test_balanced_folds_far_context_and_keeps_every_change() -> None:
    out = DIFF.apply(GIT_SHOW, LOSSY)
    assert out != GIT_SHOW
    out_lines = out.split("\n")
    for line in _changed(GIT_SHOW):
        assert line in out_lines, line
    assert "mira.okafor@example.org" in out
    assert "3f9c2a71d0b84e6a5c1f2e8d7b6a5c4d3e2f1a0b" in out
    # Kept lines are whole input lines, in input order.
    kept = [line for line in out_lines if not marker.find(line)]
    assert _is_subsequence(kept, GIT_SHOW.split("\n"))
    # Markers count exactly the lines that went missing.
    omitted = 0
    for body in marker.find(out):
        parsed = marker.parse_omitted(body)
        assert parsed is not None
        count, unit, _where = parsed
        assert unit in ("context line", "context lines")
        omitted += count
    assert omitted == len(GIT_SHOW.split("\n")) - len(kept)


def test_balanced_exact_hunk() -> None:
    out = DIFF.apply(GIT_SHOW, LOSSY)
    expected = """\
@@ -12,14 +12,16 @@ from kestrel.clock import monotonic
[… 2 context lines omitted …]
 
-    def __init__(self, max_entries: int = 512) -> None:
-        self.max_entries = max_entries
+    def __init__(self, max_bytes: int = 64 * 1024 * 1024) -> None:
+        self.max_bytes = max_bytes
+        self.used_bytes = 0
         self._items: OrderedDict[str, bytes] = OrderedDict()
[… 4 context lines omitted …]
         self._name = "blob-cache"
-        self._evictions = 0
+        self._evicted_bytes = 0
+        self._evictions = 0
         self._closed = False
         self._owner = None
"""
    assert expected in out


def test_no_newline_note_keeps_its_line() -> None:
    out = DIFF.apply(GIT_SHOW, LOSSY)
    assert out.endswith("     assert not cache._items\n\\ No newline at end of file\n")


def test_aggressive_keeps_no_context_around_changes() -> None:
    out = DIFF.apply(GIT_SHOW, AGGRESSIVE)
    assert "         self._items: OrderedDict[str, bytes] = OrderedDict()" not in out.split("\n")
    for line in _changed(GIT_SHOW):
        assert line in out.split("\n")
    assert len(out) < len(DIFF.apply(GIT_SHOW, LOSSY))


def test_kept_terms_keep_their_context_lines() -> None:
    params = TransformParams(level="balanced", lossy_above_tokens=0, keep_terms=frozenset({"_hits"}))
    out = DIFF.apply(GIT_SHOW, params)
    assert "         self._hits = 0" in out.split("\n")


def test_log_with_renames_new_and_deleted_files() -> None:
    out = DIFF.apply(GIT_LOG_P, LOSSY)
    out_lines = out.split("\n")
    for line in _changed(GIT_LOG_P):
        assert line in out_lines, line
    for line in ("similarity index 96%", "new file mode 100644", "deleted file mode 100644"):
        assert line in out_lines


def test_hunk_whose_counts_do_not_add_up_is_left_alone() -> None:
    broken = GIT_SHOW.replace("@@ -12,14 +12,16 @@", "@@ -12,40 +12,42 @@")
    out = DIFF.apply(broken, LOSSY)
    assert "@@ -12,40 +12,42 @@" in out
    start = broken.index("@@ -12,40")
    end = broken.index("diff --git a/tests")
    assert broken[start:end] in out


def test_deterministic() -> None:
    assert DIFF.apply(GIT_LOG_P + GIT_SHOW, LOSSY) == DIFF.apply(GIT_LOG_P + GIT_SHOW, LOSSY)


def test_crlf_text_is_not_broken() -> None:
    text = GIT_SHOW.replace("\n", "\r\n")
    out = DIFF.apply(text, LOSSY)
    for line in _changed(GIT_SHOW):
        assert line + "\r" in out.split("\n")


def test_no_newline_note_stays_after_its_change() -> None:
    text = (
        "diff --git a/VERSION b/VERSION\n"
        "index 1111111..2222222 100644\n"
        "--- a/VERSION\n"
        "+++ b/VERSION\n"
        "@@ -1,4 +1,4 @@\n"
        " # release line kept for the packaging scripts of downstream distributions\n"
        " # bump together with the changelog entry and the signed release tag\n"
        " # (see docs/releasing.md for the full checklist before tagging)\n"
        "-2.3.1\n"
        "\\ No newline at end of file\n"
        "+2.4.0\n"
        "\\ No newline at end of file\n"
    )
    out = DIFF.apply(text, AGGRESSIVE)
    assert out.endswith("-2.3.1\n\\ No newline at end of file\n+2.4.0\n\\ No newline at end of file\n")
    assert "[… 3 context lines omitted …]" in out


def test_output_cut_inside_a_hunk_is_still_folded_safely() -> None:
    cut = GIT_SHOW[: GIT_SHOW.index("         self._closed = False")]
    out = DIFF.apply(cut, LOSSY)
    for line in _changed(cut):
        assert line in out.split("\n")
    assert out.endswith(
        '         self._name = "blob-cache"\n'
        "-        self._evictions = 0\n"
        "+        self._evicted_bytes = 0\n"
        "+        self._evictions = 0\n"
    )
