"""Hypothesis strategies for the texts tools return: logs, JSON, listings, grep output, diffs,
tables, HTML, code, prose, terminal output, and arbitrary Unicode, alone or mixed.

They are rough on purpose (values drawn freely, lines cut short, formats interleaved), so a
fuzz run reaches every transform and the router's windowing, and the odd inputs in between.
"""

from __future__ import annotations

import json
import string
from typing import Any

from hypothesis import strategies as st

from wiretrim.compression.transforms import LEVELS, TransformParams

words = st.text(alphabet=string.ascii_letters + string.digits + "_-./:", min_size=1, max_size=12)
unicode_words = st.text(min_size=1, max_size=12).filter(lambda s: not any(c in s for c in "\n\r"))
anywords = st.one_of(words, words, words, unicode_words)
numbers = st.one_of(st.integers(-(10**6), 10**12), st.floats(allow_nan=False, allow_infinity=False)).map(str)
fields = st.one_of(anywords, numbers)


def lines_of(line: st.SearchStrategy[str], max_size: int = 80) -> st.SearchStrategy[str]:
    return st.lists(line, min_size=1, max_size=max_size).map("\n".join)


@st.composite
def log_line(draw: Any) -> str:
    ts = (
        f"2026-{draw(st.integers(1, 12)):02d}-{draw(st.integers(1, 28)):02d}T{draw(st.integers(0, 23)):02d}:"
        f"{draw(st.integers(0, 59)):02d}:{draw(st.integers(0, 59)):02d}.{draw(st.integers(0, 999)):03d}Z"
    )
    level = draw(st.sampled_from(["INFO", "DEBUG", "WARN", "ERROR", "info", "[INFO]", "E", ""]))
    template = draw(
        st.sampled_from(
            [
                "request {} served in {} ms",
                "user {} logged in from {}",
                "cache miss for key {} ({})",
                "retrying {} after {}",
                "{} {}",
                "Traceback (most recent call last):",
                '  File "{}", line {}',
            ]
        )
    )
    return f"{ts} {level} " + template.format(draw(fields), draw(fields))


logs = st.one_of(
    lines_of(log_line()),
    # The same few shapes many times: what log compression is for.
    st.tuples(st.lists(log_line(), min_size=1, max_size=4), st.integers(5, 120)).map(
        lambda t: "\n".join(t[0][i % len(t[0])].replace("served", f"served #{i}") for i in range(t[1]))
    ),
)

_json_leaves = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(10**20), 10**20),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=20),
)
json_values = st.recursive(
    _json_leaves,
    lambda c: st.lists(c, max_size=5) | st.dictionaries(st.text(max_size=10), c, max_size=5),
    max_leaves=40,
)
records = st.lists(
    st.fixed_dictionaries(
        {"id": st.integers(0, 10**6), "name": st.text(max_size=15)},
        optional={
            "tags": st.lists(words, max_size=3),
            "score": st.floats(allow_nan=False, allow_infinity=False),
            "extra": json_values,
        },
    ),
    min_size=1,
    max_size=40,
)


@st.composite
def json_docs(draw: Any) -> str:
    value = draw(st.one_of(json_values, records, st.builds(lambda r: {"data": r, "total": len(r)}, records)))
    style = draw(st.sampled_from(["pretty", "compact", "ndjson", "broken"]))
    if style == "ndjson" and isinstance(value, list):
        return "\n".join(json.dumps(v) for v in value) or "[]"
    text = json.dumps(
        value, indent=2 if style in ("pretty", "broken") else None, ensure_ascii=draw(st.booleans())
    )
    if style == "broken":  # a truncated tool output
        return text[: draw(st.integers(0, max(0, len(text) - 1)))]
    return text


@st.composite
def listing(draw: Any) -> str:
    rows = []
    for _ in range(draw(st.integers(1, 60))):
        perms = draw(st.sampled_from(["-rw-r--r--", "drwxr-xr-x", "-rwxr-xr-x", "lrwxrwxrwx"]))
        size = draw(st.integers(0, 10**9))
        rows.append(
            f"{perms}  1 user staff {size:>10} Nov 25 10:{draw(st.integers(0, 59)):02d} {draw(words)}"
        )
    head = draw(st.sampled_from(["", f"total {draw(st.integers(0, 9999))}\n"]))
    return head + "\n".join(rows)


paths = st.lists(words, min_size=1, max_size=5).map("/".join)
find_output = lines_of(paths.map(lambda p: "./" + p))


@st.composite
def grep_output(draw: Any) -> str:
    out = []
    for _ in range(draw(st.integers(1, 60))):
        sep = draw(st.sampled_from([":", "-"]))
        out.append(f"{draw(paths)}{sep}{draw(st.integers(1, 9999))}{sep}{draw(st.text(max_size=60))}")
        if draw(st.integers(0, 9)) == 0:
            out.append("--")
    return "\n".join(x.replace("\n", " ").replace("\r", " ") for x in out)


@st.composite
def diff(draw: Any) -> str:
    out = []
    for _ in range(draw(st.integers(1, 4))):
        name = draw(paths)
        out += [
            f"diff --git a/{name} b/{name}",
            "index 1234567..89abcde 100644",
            f"--- a/{name}",
            f"+++ b/{name}",
        ]
        for _ in range(draw(st.integers(1, 4))):
            a, n = draw(st.integers(1, 500)), draw(st.integers(1, 30))
            out.append(f"@@ -{a},{n} +{a},{n} @@ {draw(st.sampled_from(['', 'def f():', 'class A:']))}")
            for _ in range(n):
                out.append(
                    draw(st.sampled_from([" ", " ", " ", "+", "-"]))
                    + draw(st.text(max_size=50)).replace("\n", " ").replace("\r", " ")
                )
    return "\n".join(out)


@st.composite
def table(draw: Any) -> str:
    n_cols = draw(st.integers(2, 6))
    rows = draw(st.lists(st.lists(fields, min_size=n_cols, max_size=n_cols), min_size=1, max_size=40))
    style = draw(st.sampled_from(["aligned", "csv", "tsv", "markdown"]))
    if style == "csv":
        return "\n".join(",".join(r) for r in rows)
    if style == "tsv":
        return "\n".join("\t".join(r) for r in rows)
    widths = [max(len(r[i]) for r in rows) for i in range(n_cols)]
    if style == "markdown":
        lines = ["| " + " | ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)) + " |" for r in rows]
        return "\n".join([lines[0], "|" + "|".join("-" * (w + 2) for w in widths) + "|", *lines[1:]])
    return "\n".join("  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)) for r in rows)


@st.composite
def html(draw: Any) -> str:
    pieces = draw(
        st.lists(
            st.sampled_from(
                [
                    "<html>",
                    "<head><title>t</title></head>",
                    "<body>",
                    "<p>",
                    "</p>",
                    "<div class='x'>",
                    "</div>",
                    "<a href='https://example.com/a?b=1&c=2'>link</a>",
                    "<script>var x = 1 < 2;</script>",
                    "<br>",
                    "<table><tr><td>1</td><td>2</td></tr></table>",
                    "&amp;",
                    "&lt;",
                    "<!-- c -->",
                    "<ul><li>i</li></ul>",
                    "<pre>  code\n  more</pre>",
                    "</body></html>",
                    "<img src=x>",
                ]
            )
            | st.text(max_size=30),
            min_size=1,
            max_size=80,
        )
    )
    return "".join(pieces)


@st.composite
def code(draw: Any) -> str:
    body = draw(
        st.lists(
            st.sampled_from(
                [
                    "def f(x):",
                    "    return x + 1",
                    "class A:",
                    "    pass",
                    "import os",
                    "",
                    "    # comment   ",
                    "if __name__ == '__main__':",
                    "    main()",
                    "}",
                    "function g() {",
                    "  let y = 2;",
                    "#include <stdio.h>",
                ]
            )
            | st.text(max_size=40).map(lambda s: s.replace("\n", " ")),
            min_size=1,
            max_size=80,
        )
    )
    if draw(st.booleans()):  # cat -n / an editor's view
        return "\n".join(f"{i + 1:>6}\t{line}" for i, line in enumerate(body))
    return "\n".join(body)


prose = st.lists(st.lists(anywords, min_size=1, max_size=30).map(" ".join), min_size=1, max_size=10).map(
    "\n\n".join
)


@st.composite
def terminal(draw: Any) -> str:
    parts = draw(
        st.lists(
            st.one_of(
                st.sampled_from(
                    ["\x1b[31m", "\x1b[0m", "\x1b[1;32m", "\x1b[2K", "\x1b[A", "\r", "\x08", "\x1b]0;t\x07"]
                ),
                st.integers(0, 100).map(lambda p: f"\r[{'#' * (p // 10):<10}] {p}%"),
                st.text(max_size=30),
                st.just("\n"),
            ),
            min_size=1,
            max_size=120,
        )
    )
    return "".join(parts)


structured = st.one_of(
    logs,
    json_docs(),
    listing(),
    find_output,
    grep_output(),
    diff(),
    table(),
    html(),
    code(),
    prose,
    terminal(),
)
arbitrary = st.one_of(st.text(), st.text(alphabet=st.characters(codec="utf-8"), max_size=2000))

# A text alone, several joined by blank lines (the router's windows), or pure noise.
tool_texts = st.one_of(
    structured,
    structured,
    st.lists(structured, min_size=2, max_size=4).map("\n\n".join),
    arbitrary,
)

params = st.builds(
    TransformParams,
    level=st.sampled_from(LEVELS),
    lossy_above_tokens=st.sampled_from([0, 50, 1500]),
    keep_terms=st.frozensets(words.map(str.lower), max_size=3),
    tool_name=st.sampled_from([None, "bash", "grep", "read_file", "ls", "web_fetch"]),
)
