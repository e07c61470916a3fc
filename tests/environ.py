"""A clean process environment for tests that start proxies, clients or the CLI."""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

import pytest

PROXY_AND_TRUST = (
    "HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY",
    "http_proxy", "https_proxy", "all_proxy", "no_proxy",
    "SSL_CERT_FILE", "SSL_CERT_DIR", "REQUESTS_CA_BUNDLE",
)


def scrub(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, names: Iterable[str] = PROXY_AND_TRUST) -> None:
    """Unset `names` and every WIRETRIM_ variable, and work in `tmp_path` (no stray ./wiretrim.yaml)."""
    unset = set(names)
    for name in list(os.environ):
        if name in unset or name.startswith("WIRETRIM_"):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)
