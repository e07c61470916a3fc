from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from wiretrim.compression import marker
from wiretrim.compression.transforms import by_name
from wiretrim.compression.transforms._api import TransformParams
from wiretrim.compression.transforms.json_text import JSON_TEXT

BALANCED = TransformParams(level="balanced")
LOSSLESS = TransformParams(level="lossless")
BALANCED_OVER_BUDGET = TransformParams(level="balanced", lossy_above_tokens=0)
AGGRESSIVE = TransformParams(level="aggressive", lossy_above_tokens=0)


# -- fixtures: API-like responses (invented hosts and people) -----------------------------------


def user(login: str, uid: int, kind: str = "User") -> dict[str, Any]:
    base = f"https://api.forge.example/users/{login}"
    return {
        "login": login,
        "id": uid,
        "avatar_url": f"https://avatars.forge.example/u/{uid}?v=4",
        "url": base,
        "html_url": f"https://forge.example/{login}",
        "followers_url": f"{base}/followers",
        "repos_url": f"{base}/repos",
        "events_url": f"{base}/events{{/privacy}}",
        "type": kind,
        "site_admin": False,
    }


PEOPLE = [("octocat", 583231), ("mona", 9919), ("hubot", 480938, "Bot"), ("defunkt", 2), ("pjhyett", 3)]
USERS = [user(*p) for p in PEOPLE]

COMMENT_BODIES = [
    "Thanks for the report! I can reproduce this on 2.4.1.",
    'The traceback ends in `KeyError: "etag"` when the cache is cold.',
    "Fixed in a1b2c3d, will ship in 2.4.2.",
    "Confirmed fixed here, thanks.",
    "Reopening: still fails on Windows with `OSError: [WinError 32]`.",
    "Closing as duplicate of #812.",
]
COMMENTS = [
    {
        "url": f"https://api.forge.example/repos/acme/widgets/issues/comments/{7000001 + i}",
        "html_url": f"https://forge.example/acme/widgets/issues/811#issuecomment-{7000001 + i}",
        "issue_url": "https://api.forge.example/repos/acme/widgets/issues/811",
        "id": 7000001 + i,
        "user": USERS[i % 2],
        "created_at": f"2024-03-0{i + 1}T09:1{i}:00Z",
        "updated_at": f"2024-03-0{i + 1}T09:1{i}:00Z",
        "body": body,
    }
    for i, body in enumerate(COMMENT_BODIES)
]

REPOS = [
    {
        "id": 100 + i,
        "name": name,
        "full_name": f"{USERS[i]['login']}/{name}",
        "owner": USERS[i],
        "private": False,
        "description": desc,
        "stargazers_count": stars,
        "language": lang,
        "license": lic,
        "topics": topics,
        "score": score,
    }
    for i, (name, desc, stars, lang, lic, topics, score) in enumerate(
        [
            (
                "linguist",
                "Language savant",
                11500,
                "Ruby",
                {"key": "mit", "name": "MIT License"},
                ["ruby"],
                1.0,
            ),
            ("hello-world", "My first repo", 2400, None, None, [], 0.98),
            ("hubot-scripts", "Optional scripts", 3500, "CoffeeScript", None, ["chatops", "bot"], 0.5),
            ("ambition", "include Enumerable", 290, "Ruby", {"key": "mit", "name": "MIT License"}, [], 0.25),
        ]
    )
]
SEARCH = {"total_count": 2731, "incomplete_results": False, "items": REPOS}

PACKAGE = {
    "name": "quickpad",
    "dist-tags": {"latest": "1.2.0"},
    "versions": {
        v: {
            "name": "quickpad",
            "version": v,
            "license": "MIT",
            "dependencies": deps,
            "dist": {"shasum": sha, "tarball": f"https://registry.pkgs.example/quickpad/-/quickpad-{v}.tgz"},
        }
        for v, deps, sha in [
            ("1.0.0", {}, "d5a3f1c0b2e4a6c8d0e2f4a6b8c0d2e4f6a8b0c2"),
            ("1.1.0", {"tinycolor": "^2.0.1"}, "a1b2c3d4e5f60718293a4b5c6d7e8f9011223344"),
            ("1.2.0", {"tinycolor": "^2.1.0"}, "0f1e2d3c4b5a69788796a5b4c3d2e1f00112233f"),
        ]
    },
    "time": {
        "1.0.0": "2019-02-11T09:00:00.000Z",
        "1.1.0": "2020-07-30T17:45:12.512Z",
        "1.2.0": "2023-01-05T08:30:00.000Z",
    },
}

NUMBERS = """{"runs": [
  {"id": 1, "ratio": 1.0, "big": 12345678901234567890123, "tiny": 1e-7, "exp": 1E+2, "neg": -0},
  {"id": 2, "ratio": 0.10, "big": 98765432109876543210987, "tiny": 2.50e-7, "exp": 1e3, "neg": -0.0},
  {"id": 3, "ratio": 100, "big": 1, "tiny": 3E-7, "exp": 10, "neg": 0}
]}"""

UNICODE = (
    '[{"name": "Z\\u00fcrich", "flag": "🇨🇭", "motto": "Übung macht den Meister"},'
    ' {"name": "Kraków", "flag": "🇵🇱", "motto": "Co nagle, to po diable"},'
    ' {"name": "Αθήνα", "flag": "\\ud83c\\uddec\\ud83c\\uddf7", "motto": "lone \\udc00 surrogate"}]'
)

NDJSON = (
    "\n".join(
        json.dumps({"ts": f"2024-06-01T12:00:0{i}Z", "level": lvl, "msg": msg, "req": f"r-{i:04d}"})
        for i, (lvl, msg) in enumerate(
            [
                ("info", "listening on :8080"),
                ("info", "GET /healthz 200"),
                ("warn", "slow query: 812ms"),
                ("error", "upstream timeout after 30s"),
                ("info", "GET /api/v1/items 200"),
            ]
        )
    )
    + "\n"
)


def pretty(value: Any) -> str:
    return json.dumps(value, indent=2, ensure_ascii=False)


def compact(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


# -- the reader's side: rebuild the value from the output --------------------------------------


class Num(str):
    """A number as its lexeme, so `1.0` and `1` differ."""


_ALIAS_HEADER = "shared values, each printed once here; @N below stands for the value defined as @N:"
_TABLE = re.compile(
    r"^(?:(@\d+–@\d+) are these (\d+) objects,|(\d+) (items|lines|entries)) as rows"
    r'(?: "key":\[cells\])?; columns: '
)
_CONSTANTS = re.compile(r"^every \w+ also has: ")
_ABSENT = {"\0absent": True}
_DECODER = json.JSONDecoder(parse_int=Num, parse_float=Num)


def _jsonify(s: str, row: bool) -> str:
    """JSON text with @N as {"\\0ref": N}, and (in a row) empty cells as an absent marker."""
    out: list[str] = []
    i, depth, after_sep = 0, 0, False
    while i < len(s):
        c = s[i]
        if c == '"':
            j = i + 1
            while s[j] != '"':
                j += 2 if s[j] == "\\" else 1
            out.append(s[i : j + 1])
            i, after_sep = j + 1, False
            continue
        if c == "@":
            m = re.match(r"@(\d+)", s[i:])
            assert m is not None
            out.append('{"\\u0000ref":' + m.group(1) + "}")
            i, after_sep = i + len(m.group(0)), False
            continue
        if row and depth == 1 and after_sep and c in ",]":
            out.append(json.dumps(_ABSENT))
        if c in "[{":
            depth += 1
        elif c in "]}":
            depth -= 1
        out.append(c)
        after_sep = c == "," or (c == "[" and depth == 1)
        i += 1
    return "".join(out)


def _load(s: str, row: bool = False) -> Any:
    return _DECODER.decode(_jsonify(s, row))


def _read_table(lines: list[str], i: int) -> tuple[Any, list[str], int]:
    """(rows, row labels, next line) of the table whose header is lines[i]; a keyed table's rows
    come back as one object."""
    m = _TABLE.match(lines[i])
    assert m is not None
    names, end = json.JSONDecoder().raw_decode(lines[i], m.end())
    notes = lines[i][end:]
    spread = '"a.b" is key b inside object a' in notes
    keyed = m.group(4) == "entries"
    count = int(m.group(2) or m.group(3))
    i += 1
    constants: dict[str, Any] = {}
    if i < len(lines) and _CONSTANTS.match(lines[i]):
        constants = _load(lines[i][_CONSTANTS.match(lines[i]).end() :])
        i += 1
    rows: list[dict[str, Any]] = []
    labels: list[str] = []
    while len(rows) < count:
        line = lines[i]
        assert not line.startswith(marker.OPEN), "omission marker in a lossless table"
        if m.group(1):
            label, line = line.split(" ", 1)
            labels.append(label)
        elif keyed:
            key, end = json.JSONDecoder().raw_decode(line)
            assert line[end] == ":"
            labels.append(key)
            line = line[end + 1 :]
        cells = _load(line, row=True)
        assert len(cells) == len(names), (line, names)
        flat = {n: v for n, v in zip(names, cells, strict=True) if v != _ABSENT} | constants
        rows.append(_nest(flat) if spread else flat)
        i += 1
    if keyed:
        return dict(zip(labels, rows, strict=True)), [], i
    return rows, labels, i


def _nest(flat: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, v in flat.items():
        *parents, last = name.split(".")
        cur = out
        for p in parents:
            cur = cur.setdefault(p, {})
        cur[last] = v
    return out


def decode(text: str) -> Any:
    """The value the transform's output stands for (key order aside)."""
    lines = text.split("\n")
    defs: dict[str, Any] = {}
    i = 0
    if lines[0] == _ALIAS_HEADER:
        i = 1
        while True:
            m = _TABLE.match(lines[i])
            if re.match(r"^@\d+ = ", lines[i]):
                label, value = lines[i].split(" = ", 1)
                defs[label] = _load(value)
                i += 1
            elif m is not None and m.group(1):
                rows, labels, i = _read_table(lines, i)
                defs.update(zip(labels, rows, strict=True))
            else:
                break
    parts: list[str] = []
    tables: list[Any] = []
    while i < len(lines):
        if _TABLE.match(lines[i]):
            rows, _, i = _read_table(lines, i)
            tables.append(rows)
            parts.append('{"\\u0000table":' + str(len(tables) - 1) + "}")
        else:
            parts.append(lines[i])
            i += 1
    body = "".join(parts)

    def resolve(v: Any) -> Any:
        if isinstance(v, dict):
            if set(v) == {"\0ref"}:
                return resolve(defs[f"@{v['\0ref']}"])
            if set(v) == {"\0table"}:
                return resolve(tables[int(v["\0table"])])
            return {k: resolve(x) for k, x in v.items()}
        if isinstance(v, list):
            return [resolve(x) for x in v]
        return v

    return resolve(_load(body))


def original(text: str) -> Any:
    return _DECODER.decode(text)


def same(a: Any, b: Any) -> bool:
    """Equal values with equal number lexemes and types; key order ignored."""
    if isinstance(a, dict):
        return isinstance(b, dict) and a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    if isinstance(a, list):
        return isinstance(b, list) and len(a) == len(b) and all(same(x, y) for x, y in zip(a, b, strict=True))
    return type(a) is type(b) and a == b


def assert_lossless(text: str, out: str) -> None:
    assert out != text
    assert same(original(text), decode(out))


# -- detection ------------------------------------------------------------------------------------


def test_registered_as_json() -> None:
    assert by_name("json") is JSON_TEXT


@pytest.mark.parametrize(
    "text",
    [
        pretty(USERS),
        compact(COMMENTS),
        pretty(SEARCH),
        NDJSON,
        "HTTP/1.1 200 OK\nContent-Type: application/json\n\n" + pretty(USERS),
        "Result:\n" + compact(USERS) + "\n(5 users)\n",
        "```json\n" + pretty(SEARCH) + "\n```",
    ],
)
def test_detects_json_documents(text: str) -> None:
    assert JSON_TEXT.detect(text) >= 0.5


@pytest.mark.parametrize(
    "text",
    [
        "{'login': 'octocat', 'id': 1, 'site_admin': False}",  # a Python repr
        "{login: 'octocat', id: 1}",  # a JavaScript literal
        compact(USERS)[:-40],  # cut short
        "[1] docs/user/install.rst § Install\nInstall\n-------\n\nRun pip install widgets.\n" * 5,
        "[12] Starting server on :8080\n[12] Ready\n",
        "[INFO] build started\n[INFO] build finished in 3.2s\n",
        "plain prose that mentions {braces} and [brackets]",
        '"just a string"',
        "",
    ],
)
def test_ignores_text_that_only_looks_like_json(text: str) -> None:
    assert JSON_TEXT.detect(text) == 0.0
    assert JSON_TEXT.apply(text, BALANCED) is text


@pytest.mark.parametrize(
    "text",
    [
        '[{"id": 1, "id": 2, "name": "dup"}, {"id": 3, "name": "ok"}]',
        '[{"id": 1, "score": NaN}, {"id": 2, "score": 0.5}]',
        '{"limit": Infinity, "items": []}',
    ],
)
def test_json_we_must_not_rewrite_passes_through_unchanged(text: str) -> None:
    assert JSON_TEXT.detect(text) >= 0.5  # claimed, so nothing else rewrites it
    assert JSON_TEXT.apply(text, BALANCED) is text
    assert JSON_TEXT.apply(text, AGGRESSIVE) is text


def test_deep_nesting_is_left_alone() -> None:
    text = "[" * 100_000 + "]" * 100_000
    assert JSON_TEXT.detect(text) == 0.0
    assert JSON_TEXT.apply(text, BALANCED) is text


# -- lossless rewriting ----------------------------------------------------------------------------


def test_array_of_similar_objects_becomes_a_table() -> None:
    text = pretty(USERS[:3])
    out = JSON_TEXT.apply(text, LOSSLESS)
    assert out == (
        '3 items as rows; columns: ["login","id","avatar_url","url","html_url","followers_url",'
        '"repos_url","events_url","type"]\n'
        'every item also has: {"site_admin":false}\n'
        '["octocat",583231,"https://avatars.forge.example/u/583231?v=4","https://api.forge.example/users/octocat",'
        '"https://forge.example/octocat","https://api.forge.example/users/octocat/followers",'
        '"https://api.forge.example/users/octocat/repos","https://api.forge.example/users/octocat/events{/privacy}",'
        '"User"]\n'
        '["mona",9919,"https://avatars.forge.example/u/9919?v=4","https://api.forge.example/users/mona",'
        '"https://forge.example/mona","https://api.forge.example/users/mona/followers",'
        '"https://api.forge.example/users/mona/repos","https://api.forge.example/users/mona/events{/privacy}",'
        '"User"]\n'
        '["hubot",480938,"https://avatars.forge.example/u/480938?v=4","https://api.forge.example/users/hubot",'
        '"https://forge.example/hubot","https://api.forge.example/users/hubot/followers",'
        '"https://api.forge.example/users/hubot/repos","https://api.forge.example/users/hubot/events{/privacy}",'
        '"Bot"]'
    )
    assert_lossless(text, out)


def test_repeated_nested_object_is_printed_once() -> None:
    text = compact(COMMENTS)
    out = JSON_TEXT.apply(text, BALANCED)
    assert_lossless(text, out)
    # Each author's URLs appear once, in the definitions, though they wrote 3 comments each.
    assert out.count("https://api.forge.example/users/octocat/followers") == 1
    assert out.count("https://api.forge.example/users/mona/followers") == 1
    header = [line for line in out.split("\n") if line.startswith("6 items as rows")]
    assert header == [
        '6 items as rows; columns: ["url","html_url","id","user","created_at","updated_at","body"]; '
        "@N is an object defined above"
    ]
    assert out.count(",@1,") == 3 and out.count(",@2,") == 3
    for c in COMMENTS:
        assert str(c["id"]) in out
        assert c["url"] in out
    # Strings are printed whole, in their JSON form.
    assert json.dumps(COMMENT_BODIES[1]) in out
    assert '"issue_url":"https://api.forge.example/repos/acme/widgets/issues/811"' in out


def test_table_inside_an_object_stays_in_place() -> None:
    text = pretty(SEARCH)
    out = JSON_TEXT.apply(text, BALANCED)
    assert_lossless(text, out)
    lines = out.split("\n")
    assert lines[0] == '{"total_count":2731,"incomplete_results":false,"items":'
    assert lines[1].startswith('4 items as rows; columns: ["id","name","full_name","owner.login","owner.id",')
    assert '"a.b" is key b inside object a' in lines[1]
    assert lines[-1] == "}"
    # Objects and arrays of different shapes stay inline as compact JSON; null stays null.
    assert '{"key":"mit","name":"MIT License"}' in out
    assert '"hello-world","mona/hello-world","mona",9919,' in out
    assert ',["chatops","bot"],' in out


def test_object_of_similar_objects_becomes_a_keyed_table() -> None:
    text = pretty(PACKAGE)
    out = JSON_TEXT.apply(text, BALANCED)
    assert out.split("\n") == [
        '{"name":"quickpad","dist-tags":{"latest":"1.2.0"},"versions":',
        '3 entries as rows "key":[cells]; columns: ["version","dependencies","dist.shasum","dist.tarball"]; '
        '"a.b" is key b inside object a',
        'every entry also has: {"name":"quickpad","license":"MIT"}',
        '"1.0.0":["1.0.0",{},"d5a3f1c0b2e4a6c8d0e2f4a6b8c0d2e4f6a8b0c2",'
        '"https://registry.pkgs.example/quickpad/-/quickpad-1.0.0.tgz"]',
        '"1.1.0":["1.1.0",{"tinycolor":"^2.0.1"},"a1b2c3d4e5f60718293a4b5c6d7e8f9011223344",'
        '"https://registry.pkgs.example/quickpad/-/quickpad-1.1.0.tgz"]',
        '"1.2.0":["1.2.0",{"tinycolor":"^2.1.0"},"0f1e2d3c4b5a69788796a5b4c3d2e1f00112233f",'
        '"https://registry.pkgs.example/quickpad/-/quickpad-1.2.0.tgz"]',
        ',"time":{"1.0.0":"2019-02-11T09:00:00.000Z","1.1.0":"2020-07-30T17:45:12.512Z",'
        '"1.2.0":"2023-01-05T08:30:00.000Z"}}',
    ]
    assert_lossless(text, out)


def test_missing_keys_are_empty_cells_and_null_stays_null() -> None:
    rows = [
        {"id": 1, "state": "open", "closed_at": None, "labels": ["bug"]},
        {"id": 2, "state": "closed", "closed_at": "2024-01-02T00:00:00Z"},
        {"id": 3, "state": "open", "closed_at": None, "labels": []},
        {"id": 4, "closed_at": None, "labels": ["docs"], "state": "open"},
    ]
    text = pretty(rows)
    out = JSON_TEXT.apply(text, BALANCED)
    assert out.split("\n") == [
        '4 items as rows; columns: ["id","state","closed_at","labels"]; '
        "an empty cell means the key is absent",
        '[1,"open",null,["bug"]]',
        '[2,"closed","2024-01-02T00:00:00Z",]',
        '[3,"open",null,[]]',
        '[4,"open",null,["docs"]]',
    ]
    assert_lossless(text, out)


def test_numbers_keep_their_exact_lexemes() -> None:
    out = JSON_TEXT.apply(NUMBERS, BALANCED)
    assert_lossless(NUMBERS, out)
    for lexeme in [
        "1.0",
        "0.10",
        "12345678901234567890123",
        "1e-7",
        "2.50e-7",
        "3E-7",
        "1E+2",
        "1e3",
        "-0",
        "-0.0",
    ]:
        assert re.search(rf"[\[,]{re.escape(lexeme)}[,\]]", out), lexeme


def test_unicode_is_kept_as_is() -> None:
    out = JSON_TEXT.apply(UNICODE, BALANCED)
    assert_lossless(UNICODE, out)
    assert '"Zürich"' in out and '"Αθήνα"' in out and '"🇨🇭"' in out and '"🇬🇷"' in out
    # A lone surrogate cannot be written as UTF-8: it stays escaped.
    assert '"lone \\udc00 surrogate"' in out
    out.encode("utf-8")


def test_header_and_closing_lines_are_kept_byte_for_byte() -> None:
    head = "HTTP/1.1 200 OK\r\nContent-Type: application/json; charset=utf-8\r\n\r\n"
    tail = "\n\n(page 1 of 3)\n"
    body = pretty(USERS)
    out = JSON_TEXT.apply(head + body + tail, BALANCED)
    assert out == head + JSON_TEXT.apply(body, BALANCED) + tail
    assert out.startswith(head + "5 items as rows; columns: ")
    assert_lossless(body, out[len(head) : len(out) - len(tail)])


def test_code_fence_around_the_document_is_kept() -> None:
    text = "```json\n" + pretty(SEARCH) + "\n```"
    out = JSON_TEXT.apply(text, BALANCED)
    assert out.startswith("```json\n{") and out.endswith("\n}\n```")


def test_object_without_arrays_is_minified() -> None:
    doc = {"name": "widgets", "version": "2.4.1", "private": False, "size": 1.50, "deps": {"requests": ">=2"}}
    text = pretty(doc)
    out = JSON_TEXT.apply(text, BALANCED)
    assert out == '{"name":"widgets","version":"2.4.1","private":false,"size":1.5,"deps":{"requests":">=2"}}'


def test_nothing_to_gain_returns_the_input() -> None:
    text = '{"ok":true,"id":"r-1"}'
    assert JSON_TEXT.apply(text, BALANCED) is text


def test_ndjson_becomes_one_table_of_lines() -> None:
    out = JSON_TEXT.apply(NDJSON, BALANCED)
    assert out.split("\n") == [
        '5 lines as rows; columns: ["ts","level","msg","req"]',
        '["2024-06-01T12:00:00Z","info","listening on :8080","r-0000"]',
        '["2024-06-01T12:00:01Z","info","GET /healthz 200","r-0001"]',
        '["2024-06-01T12:00:02Z","warn","slow query: 812ms","r-0002"]',
        '["2024-06-01T12:00:03Z","error","upstream timeout after 30s","r-0003"]',
        '["2024-06-01T12:00:04Z","info","GET /api/v1/items 200","r-0004"]',
        "",
    ]
    lines = [original(line) for line in NDJSON.splitlines()]
    assert same(lines, decode(out.rstrip("\n")))


def test_ndjson_with_crlf_line_ends_reads_the_same() -> None:
    crlf = NDJSON.replace("\n", "\r\n")
    assert JSON_TEXT.detect(crlf) >= 0.5
    assert JSON_TEXT.apply(crlf, BALANCED) == JSON_TEXT.apply(NDJSON, BALANCED)


def test_ndjson_of_different_shapes_is_minified_line_by_line() -> None:
    text = (
        '{"event": "start", "at": 1}\n[1, 2, 3]\n{"event": "stop", "reason": {"code": 0, "text": "done"}}\n'
    )
    out = JSON_TEXT.apply(text, BALANCED)
    assert out == '{"event":"start","at":1}\n[1,2,3]\n{"event":"stop","reason":{"code":0,"text":"done"}}\n'


def test_output_is_deterministic_across_processes() -> None:
    texts = [pretty(USERS), compact(COMMENTS), pretty(SEARCH), pretty(PACKAGE), NUMBERS, UNICODE, NDJSON]
    script = (
        "import json, sys\n"
        "from wiretrim.compression.transforms.json_text import JSON_TEXT\n"
        "from wiretrim.compression.transforms._api import TransformParams\n"
        "outs = [JSON_TEXT.apply(t, TransformParams()) for t in json.load(sys.stdin)]\n"
        "sys.stdout.write(json.dumps(outs))\n"
    )
    root = Path(__file__).resolve().parents[3]
    runs = []
    for seed in ("1", "2", "3"):
        env = {**os.environ, "PYTHONHASHSEED": seed}
        done = subprocess.run(
            [sys.executable, "-c", script],
            input=json.dumps(texts),
            capture_output=True,
            text=True,
            env=env,
            cwd=root,
            check=True,
        )
        runs.append(json.loads(done.stdout))
    assert runs[0] == runs[1] == runs[2] == [JSON_TEXT.apply(t, BALANCED) for t in texts]


json_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**20), max_value=10**20),
    st.sampled_from([0.5, -1.25, 1e-9, 3.0]),
    st.text(max_size=12),
)
json_values = st.recursive(
    json_scalars,
    lambda inner: st.lists(inner, max_size=5) | st.dictionaries(st.text(max_size=6), inner, max_size=5),
    max_leaves=25,
)
records = st.lists(
    st.fixed_dictionaries(
        {"id": st.integers(0, 50), "name": st.sampled_from(["a", "b.c", "@1", ""])},
        optional={
            "tags": st.lists(st.sampled_from(["x", "y"]), max_size=2),
            "meta": json_values,
            "owner": st.sampled_from(USERS[:3]),
        },
    ),
    min_size=2,
    max_size=8,
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.one_of(
        json_values,
        records,
        st.dictionaries(st.text(max_size=4), records, min_size=1, max_size=2),
        st.dictionaries(st.text(max_size=8), records.map(lambda r: r[0]), min_size=3, max_size=6),
    )
)
def test_any_json_round_trips(value: Any) -> None:
    if not isinstance(value, dict | list):
        return
    for text in (pretty(value), compact(value)):
        out = JSON_TEXT.apply(text, BALANCED)
        assert out.strip()
        if out is not text:
            assert same(original(text), decode(out))


# -- lossy rows (aggressive only) ----------------------------------------------------------------


def big_runs() -> list[dict[str, Any]]:
    runs = []
    for i in range(200):
        runs.append(
            {
                "id": 5_000_000 + i,
                "name": f"build-{i:03d}",
                "status": "completed",
                "conclusion": "success",
                "duration_s": 300 + (i * 7) % 40,
                "head_sha": f"{i:040x}",
            }
        )
    runs[77]["conclusion"] = "failure"  # a rare value
    runs[120]["name"] = "nightly error budget report"  # an error word
    runs[150]["duration_s"] = 86400  # an outlier
    runs[161]["head_sha"] = "feedfacecafebeef" + "0" * 24  # a term the user asked about
    return runs


def test_lossy_drops_ordinary_rows_only_at_aggressive() -> None:
    text = pretty(big_runs())
    kept_term = TransformParams(
        level="aggressive", lossy_above_tokens=0, keep_terms=frozenset({"feedfacecafebeef"})
    )
    for params in (LOSSLESS, BALANCED, BALANCED_OVER_BUDGET):
        out = JSON_TEXT.apply(text, params)
        assert marker.find(out) == []
        assert_lossless(text, out)
    out = JSON_TEXT.apply(text, kept_term)
    assert out.split("\n") == [
        '200 items as rows; columns: ["id","name","conclusion","duration_s","head_sha"]',
        'every item also has: {"status":"completed"}',
        '[5000000,"build-000","success",300,"0000000000000000000000000000000000000000"]',
        '[5000001,"build-001","success",307,"0000000000000000000000000000000000000001"]',
        '[5000002,"build-002","success",314,"0000000000000000000000000000000000000002"]',
        "[… 74 items omitted (items 4–77) …]",
        '[5000077,"build-077","failure",319,"000000000000000000000000000000000000004d"]',
        "[… 42 items omitted (items 79–120) …]",
        '[5000120,"nightly error budget report","success",300,"0000000000000000000000000000000000000078"]',
        "[… 29 items omitted (items 122–150) …]",
        '[5000150,"build-150","success",86400,"0000000000000000000000000000000000000096"]',
        "[… 10 items omitted (items 152–161) …]",
        '[5000161,"build-161","success",307,"feedfacecafebeef000000000000000000000000"]',
        "[… 36 items omitted (items 163–198) …]",
        '[5000198,"build-198","success",326,"00000000000000000000000000000000000000c6"]',
        '[5000199,"build-199","success",333,"00000000000000000000000000000000000000c7"]',
    ]
    gaps = [marker.parse_omitted(body) for body in marker.find(out)]
    assert all(g is not None and g[1] == "items" for g in gaps)
    assert 9 + sum(g[0] for g in gaps if g) == 200


def test_lossy_ndjson_counts_lines() -> None:
    lines = [json.dumps({"ts": f"t{i:04d}", "level": "info", "msg": "tick", "seq": i}) for i in range(120)]
    lines[60] = json.dumps({"ts": "t0060", "level": "error", "msg": "disk full", "seq": 60})
    out = JSON_TEXT.apply("\n".join(lines), AGGRESSIVE)
    assert out.split("\n") == [
        '120 lines as rows; columns: ["ts","level","msg","seq"]',
        '["t0000","info","tick",0]',
        '["t0001","info","tick",1]',
        '["t0002","info","tick",2]',
        "[… 57 lines omitted (lines 4–60) …]",
        '["t0060","error","disk full",60]',
        "[… 57 lines omitted (lines 62–118) …]",
        '["t0118","info","tick",118]',
        '["t0119","info","tick",119]',
    ]


def test_small_arrays_are_never_sampled() -> None:
    text = pretty(USERS)
    assert marker.find(JSON_TEXT.apply(text, AGGRESSIVE)) == []
