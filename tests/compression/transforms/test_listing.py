from __future__ import annotations

import pytest

from wiretrim.compression import marker
from wiretrim.compression.transforms import by_name
from wiretrim.compression.transforms._api import TransformParams
from wiretrim.compression.transforms.listing import LISTING

LEVELS = [
    TransformParams(level=level, lossy_above_tokens=0) for level in ("lossless", "balanced", "aggressive")
]
AGGRESSIVE = LEVELS[2]

LS_LA = """\
total 64
drwxr-xr-x  7 mira staff  4096 Mar  7 14:02 .
drwxr-xr-x 31 mira staff  4096 Mar  1 09:12 ..
-rw-r--r--  1 mira staff   118 Feb 28 17:40 .editorconfig
drwxr-xr-x  8 mira staff  4096 Mar  7 14:02 .git
-rw-r--r--  1 mira staff   412 Feb 28 17:40 .gitignore
-rw-r--r--  1 mira staff 11357 Jan  3  2023 LICENSE
-rw-r--r--  1 mira staff  2210 Mar  5 11:31 README.md
drwxr-xr-x  5 mira staff  4096 Mar  7 14:02 kestrel
-rw-r--r--  1 mira staff  1534 Mar  5 11:31 pyproject.toml
lrwxrwxrwx  1 mira staff    14 Mar  2 10:00 setup.cfg -> pyproject.toml
-rwxr-xr-x  1 mira staff   301 Feb 28 17:40 run.sh
drwxr-xr-x  3 mira staff  4096 Mar  6 16:20 tests
"""

FIND = """\
.
./kestrel
./kestrel/__init__.py
./kestrel/cache.py
./kestrel/config.py
./kestrel/http
./kestrel/http/__init__.py
./kestrel/http/server.py
./kestrel/http/routes.py
./kestrel/http/middleware/compression.py
./kestrel/http/middleware/auth.py
./kestrel/http/middleware/logging.py
./kestrel/http/middleware/__init__.py
./tests
./tests/test_cache.py
./tests/test_server.py
./tests/http/middleware/test_compression.py
./tests/http/middleware/test_auth.py
./tests/http/middleware/test_logging.py
"""

TREE = """\
.
├── kestrel
│   ├── __init__.py
│   ├── cache.py
│   └── http
│       ├── __init__.py
│       └── server.py
└── tests
    └── test_cache.py

3 directories, 5 files
"""

LS_R = """\
.:
kestrel
pyproject.toml
tests

./kestrel:
__init__.py
cache.py
http

./kestrel/http:
__init__.py
server.py
"""


def test_registered() -> None:
    assert by_name("listing") is LISTING


@pytest.mark.parametrize(
    "text", [LS_LA, FIND, TREE, LS_R, "ls_output.txt\n.\n..\nmain.py\nsrc/\nREADME.md\n"]
)
def test_detects_listings(text: str) -> None:
    assert LISTING.detect(text) >= 0.5


@pytest.mark.parametrize(
    "text",
    [
        "",
        "one line only\n",
        "def main():\n    for name in names:\n        print(name)\n" * 10,
        "2024-03-07 14:02:51 INFO cache evicted 3 blobs\n" * 20,
        "The cache now evicts by size.\nIt used to count entries.\nLarge blobs exhausted memory.\n",
        '{"path": "kestrel/cache.py", "size": 1534}\n' * 10,
        "numpy==1.26.4\nrequests==2.31.0\nurllib3==2.2.1\n",
        "kestrel/cache.py:14:class BlobCache:\nkestrel/http/server.py:31:import x\ntests/a.py:9:import y\n",
    ],
)
def test_does_not_claim_other_text(text: str) -> None:
    assert LISTING.detect(text) < 0.5


@pytest.mark.parametrize("params", LEVELS)
@pytest.mark.parametrize("text", [LS_LA, TREE, LS_R])
def test_listings_come_back_unchanged(text: str, params: TransformParams) -> None:
    assert LISTING.apply(text, params) is text


@pytest.mark.parametrize("params", LEVELS[:2])
def test_find_is_unchanged_below_aggressive(params: TransformParams) -> None:
    assert LISTING.apply(FIND, params) is FIND


def test_short_find_output_is_not_worth_grouping() -> None:
    assert LISTING.apply(FIND, AGGRESSIVE) is FIND


def test_aggressive_groups_find_output_by_directory() -> None:
    text = (
        ".\n"
        "./services/billing/internal/adapters/postgres\n"
        "./services/billing/internal/adapters/postgres/connection_pool.go\n"
        "./services/billing/internal/adapters/postgres/invoice_repository.go\n"
        "./services/billing/internal/adapters/postgres/invoice_repository_test.go\n"
        "./services/billing/internal/adapters/postgres/customer_repository.go\n"
        "./services/billing/internal/adapters/postgres/customer_repository_test.go\n"
        "./services/billing/internal/adapters/postgres/migrations.go\n"
        "./services/billing/internal/adapters/stripe/client.go\n"
        "./services/billing/internal/adapters/stripe/webhooks.go\n"
        "./services/billing/internal/adapters/stripe/webhooks_test.go\n"
        "./services/billing/internal/adapters/postgres/schema.sql\n"
    )
    expected = (
        "[… paths grouped by directory: each indented name is inside the directory line above it …]\n"
        ".\n"
        "./services/billing/internal/adapters/\n"
        "  postgres\n"
        "./services/billing/internal/adapters/postgres/\n"
        "  connection_pool.go\n"
        "  invoice_repository.go\n"
        "  invoice_repository_test.go\n"
        "  customer_repository.go\n"
        "  customer_repository_test.go\n"
        "  migrations.go\n"
        "./services/billing/internal/adapters/stripe/\n"
        "  client.go\n"
        "  webhooks.go\n"
        "  webhooks_test.go\n"
        "./services/billing/internal/adapters/postgres/\n"
        "  schema.sql\n"
    )
    assert LISTING.apply(text, AGGRESSIVE) == expected


def test_aggressive_grouping_round_trips_on_a_deep_tree() -> None:
    paths = [
        f"./services/billing/internal/adapters/postgres/migrations/{n:04d}_step.sql" for n in range(40)
    ] + [f"./services/billing/internal/adapters/postgres/queries/q{n}.sql" for n in range(20)]
    text = "\n".join(paths) + "\n"
    out = LISTING.apply(text, AGGRESSIVE)
    assert len(out) < 0.75 * len(text)
    assert [body for body in marker.find(out)] == [
        "paths grouped by directory: each indented name is inside the directory line above it"
    ]
    rebuilt = []
    directory = ""
    for line in out.split("\n")[1:]:
        if line.startswith("  "):
            rebuilt.append(directory + line[2:])
        elif line.endswith("/"):
            directory = line
        elif line:
            rebuilt.append(line)
    assert rebuilt == paths


def test_names_with_edge_whitespace_are_never_grouped() -> None:
    text = "".join(f"./data/archive/2023/reports/quarterly/r{n}.csv\n" for n in range(30))
    text += "./data/archive/2023/reports/quarterly/ spaced.csv\n"
    assert LISTING.apply(text, AGGRESSIVE) is text
