from __future__ import annotations

import csv
import io
import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from wiretrim.compression.transforms import by_name
from wiretrim.compression.transforms._api import TransformParams
from wiretrim.compression.transforms.table import TABLE, rewrite_pipe_tables

LEVELS = [
    TransformParams(level=level, lossy_above_tokens=0) for level in ("lossless", "balanced", "aggressive")
]
BALANCED = LEVELS[1]

KUBECTL = """\
NAMESPACE     NAME                                       READY   STATUS             RESTARTS        AGE
default       api-7d9f8b6c5-2xkqp                        1/1     Running            0               3d4h
default       worker-5c6b7d8e9f-hj2kl                    0/1     CrashLoopBackOff   27 (4m12s ago)  2h13m
kube-system   coredns-5d78c9869d-4n7hx                   1/1     Running            2 (6d ago)      21d
monitoring    prometheus-server-0                        2/2     Running            0               9d
"""

DOCKER_ROWS = [
    ("CONTAINER ID", "IMAGE", "COMMAND", "CREATED", "STATUS", "PORTS", "NAMES"),
    ("4f2a9c1b7e3d", "postgres:16-alpine", '"docker-entrypoint.s…"', "3 hours ago", "Up 3 hours (healthy)",
     "0.0.0.0:5432->5432/tcp", "app-db-1"),
    ("9b8c7d6e5f4a", "redis:7.2", '"docker-entrypoint.s…"', "3 hours ago", "Up 3 hours", "6379/tcp",
     "app-cache-1"),
    ("deadbeef9876", "prom/prometheus:v2.5", '"/bin/prometheus --c…"', "2 days ago", "Exited (1) 2 hours ago",
     "", "monitoring-prom-1"),
]


def tabwriter(rows: list[tuple[str, ...]], pad: int = 3) -> str:
    """Rows padded like Go's text/tabwriter (docker, kubectl): each column as wide as its widest cell."""
    widths = [max(len(row[i]) for row in rows) + pad for i in range(len(rows[0]))]
    lines = ("".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip() for row in rows)
    return "".join(line + "\n" for line in lines)


DOCKER = tabwriter(DOCKER_ROWS)

PS = """\
USER         PID %CPU %MEM    VSZ   RSS TTY      STAT START   TIME COMMAND
root           1  0.0  0.1 168012 11652 ?        Ss   May02   0:14 /sbin/init splash
postgres    1204  0.1  1.9 221532 15834 ?        Ss   May02   2:41 /usr/lib/postgresql/bin/postgres -D /data
alice       5333  0.0  0.0  10072  3312 pts/1    R+   10:44   0:00 ps aux
"""

PIP = """\
Package            Version
------------------ ---------
certifi            2024.2.2
charset-normalizer 3.3.2
requests           2.31.0
"""

PSQL = """\
  id  |        email         |     created_at      | plan
------+----------------------+---------------------+------------
    1 | ana@example.com      | 2024-01-03 10:22:01 | pro
   17 | chen.wei@example.net | 2024-02-11 19:45:12 |
 1042 | eve@example.com      | 2024-04-18 23:59:59 | enterprise
(3 rows)
"""

MYSQL = """\
+----+-----------------+--------+
| id | email           | active |
+----+-----------------+--------+
|  1 | ana@example.com |      1 |
|  2 | bo@example.org  |      0 |
+----+-----------------+--------+
2 rows in set (0.00 sec)
"""

MARKDOWN = """\
| Option           | Type    | Default |
|:-----------------|--------:|:-------:|
| `timeout`        | `float` | `30.0`  |
| `retries`        | `int`   | `3`     |
| `backoff_factor` | `float` | `0.5`   |
"""

CSV_QUOTED = """\
"id","name","city","plan"
"1001","Ana Lima","São Paulo","pro"
"1002","Bo Chen","Paris, TX","free"
"1003","Cy ""Ace"" Doe","","team"
"""

TSV = "id\tname\tplan\n1\tAna\tpro\n2\tBo\tfree\n3\tCy\tteam\n"

RST_GRID = """\
+------------+------------+
| Header 1   | Header 2   |
+============+============+
| body row 1 | column 2   |
| continued  |            |
+------------+------------+
| body row 2 | column 2   |
+------------+------------+
"""

LS_L = """\
total 16
drwxr-xr-x  7 mira staff  4096 Mar  7 14:02 .
-rw-r--r--  1 mira staff   118 Feb 28 17:40 .editorconfig
-rw-r--r--  1 mira staff  2210 Mar  5 11:31 README.md
"""

ALIGNED_CODE = """\
    timeout     = 30
    retries     = 3
    backoff     = 0.5
"""


def collapsed_rows(text: str) -> list[str]:
    """Each non-rule line with all whitespace collapsed: what the substring check compares."""
    rows = []
    for line in text.splitlines():
        body = line.strip()
        if body and body.strip("-=+:| "):
            rows.append(" ".join(body.split()))
    return rows


def test_registered():
    assert by_name("table") is TABLE


@pytest.mark.parametrize("params", LEVELS, ids=lambda p: p.level)
def test_kubectl_columns_become_tabs(params):
    assert TABLE.apply(KUBECTL, params) == (
        "NAMESPACE\tNAME\tREADY\tSTATUS\tRESTARTS\tAGE\n"
        "default\tapi-7d9f8b6c5-2xkqp\t1/1\tRunning\t0\t3d4h\n"
        "default\tworker-5c6b7d8e9f-hj2kl\t0/1\tCrashLoopBackOff\t27 (4m12s ago)\t2h13m\n"
        "kube-system\tcoredns-5d78c9869d-4n7hx\t1/1\tRunning\t2 (6d ago)\t21d\n"
        "monitoring\tprometheus-server-0\t2/2\tRunning\t0\t9d\n"
    )


def test_docker_empty_cell_stays_a_column():
    out = TABLE.apply(DOCKER, BALANCED)
    assert out == "".join("\t".join(row) + "\n" for row in DOCKER_ROWS)


def test_ps_right_aligned_numbers():
    out = TABLE.apply(PS, BALANCED).splitlines()
    assert out[0].split("\t")[:4] == ["USER", "PID", "%CPU", "%MEM"]
    assert out[2].split("\t")[-1] == "/usr/lib/postgresql/bin/postgres -D /data"


def test_pip_list_drops_its_dashed_rule():
    assert TABLE.apply(PIP, BALANCED) == (
        "Package\tVersion\ncertifi\t2024.2.2\ncharset-normalizer\t3.3.2\nrequests\t2.31.0\n"
    )


def test_psql_loses_padding_and_rule_not_the_footer():
    assert TABLE.apply(PSQL, BALANCED) == (
        "id | email | created_at | plan\n"
        "1 | ana@example.com | 2024-01-03 10:22:01 | pro\n"
        "17 | chen.wei@example.net | 2024-02-11 19:45:12 |\n"
        "1042 | eve@example.com | 2024-04-18 23:59:59 | enterprise\n"
        "(3 rows)\n"
    )


def test_mysql_loses_its_borders():
    assert TABLE.apply(MYSQL, BALANCED) == (
        "| id | email | active |\n| 1 | ana@example.com | 1 |\n| 2 | bo@example.org | 0 |\n"
        "2 rows in set (0.00 sec)\n"
    )


def test_markdown_keeps_a_short_rule_with_alignment():
    assert TABLE.apply(MARKDOWN, BALANCED) == (
        "| Option | Type | Default |\n"
        "| :--- | ---: | :---: |\n"
        "| `timeout` | `float` | `30.0` |\n"
        "| `retries` | `int` | `3` |\n"
        "| `backoff_factor` | `float` | `0.5` |\n"
    )


@pytest.mark.parametrize("text", [KUBECTL, DOCKER, PS, PSQL, MYSQL, MARKDOWN])
def test_cells_survive_whitespace_collapsed(text):
    out = TABLE.apply(text, BALANCED)
    assert out != text
    assert collapsed_rows(out) == collapsed_rows(text)


def test_csv_drops_only_quotes_nobody_needs():
    out = TABLE.apply(CSV_QUOTED, BALANCED)
    assert out == (
        'id,name,city,plan\n1001,Ana Lima,São Paulo,pro\n1002,Bo Chen,"Paris, TX",free\n'
        '1003,"Cy ""Ace"" Doe","",team\n'
    )
    assert list(csv.reader(io.StringIO(out))) == list(csv.reader(io.StringIO(CSV_QUOTED)))


@pytest.mark.parametrize(
    ("text", "score"), [(KUBECTL, 0.8), (PSQL, 0.85), (MARKDOWN, 0.85), (CSV_QUOTED, 0.7)]
)
def test_detects_tables(text, score):
    assert TABLE.detect(text) == score


def test_plain_tsv_is_claimed_and_left_as_is():
    assert TABLE.detect(TSV) == 0.7
    assert TABLE.apply(TSV, BALANCED) is TSV


@pytest.mark.parametrize("text", [LS_L, ALIGNED_CODE, RST_GRID, "a | b\nc", "prose, with a comma\n" * 2, ""])
def test_leaves_listings_code_and_grid_tables(text):
    assert TABLE.detect(text) < 0.5
    assert TABLE.apply(text, BALANCED) is text


def test_unpadded_table_is_unchanged():
    text = "| a | b |\n| --- | --- |\n| 1 | 2 |\n| 3 | 4 |\n"
    assert TABLE.apply(text, BALANCED) is text


def test_pipes_inside_cells_are_not_columns():
    text = (
        "| cmd          | note     |\n|--------------|----------|\n"
        "| `a \\| b`     | escaped  |\n| `cat x`      | plain    |\n"
    )
    out = TABLE.apply(text, BALANCED)
    assert "| `a \\| b` | escaped |" in out


def test_table_inside_prose_is_rewritten_and_text_around_it_kept():
    lines = ["Results:", "", *MARKDOWN.splitlines(), "", "Done."]
    out = rewrite_pipe_tables(lines)
    assert out[:2] == ["Results:", ""]
    assert out[2] == "| Option | Type | Default |"
    assert out[-2:] == ["", "Done."]


def test_deterministic():
    assert TABLE.apply(DOCKER, BALANCED) == TABLE.apply(DOCKER, BALANCED)


TABLE_PIECES = ["a", "bb", " ", "   ", "|", "+", "-----", ":--", "\n", "\t", ",", '"', "NAME", "1/1", "é"]


def cell_chars(text: str) -> str:
    """The text without whitespace, quotes and rule characters: what no rewrite may change."""
    return re.sub(r"[\s|\"+:=-]", "", text)


@given(st.lists(st.sampled_from(TABLE_PIECES), max_size=80).map("".join))
def test_any_text_keeps_its_cells(text):
    out = TABLE.apply(text, BALANCED)
    assert out == TABLE.apply(text, BALANCED)
    assert out.strip() or not text.strip()
    assert cell_chars(out) == cell_chars(text)
