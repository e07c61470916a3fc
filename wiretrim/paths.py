"""Where wiretrim keeps mitmproxy's confdir (the CA, its key and the trust bundle)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

CONFDIR_ENV = "WIRETRIM_CONFDIR"
HOME_CONFDIR = "~/.wiretrim"
ADDON_SCRIPT = Path(__file__).resolve().parent / "addon" / "script.py"
LEDGER_FILE = "wiretrim-ledger.sqlite"


def checkout_root(package_dir: Path | None = None) -> Path | None:
    """The source checkout wiretrim runs from, or None for an installed copy.

    A checkout is recognised by ``pyproject.toml`` and ``certs/README.md`` beside the package.
    """
    root = (package_dir or Path(__file__).resolve().parent).parent
    if (root / "pyproject.toml").is_file() and (root / "certs" / "README.md").is_file():
        return root
    return None


def confdir(explicit: str | os.PathLike[str] | None = None, env: Mapping[str, str] | None = None,
            package_dir: Path | None = None) -> Path:
    """``--confdir``, else ``$WIRETRIM_CONFDIR``, else ``<checkout>/certs``, else ``~/.wiretrim``.

    The result is absolute; the directory may not exist yet.
    """
    env = os.environ if env is None else env
    chosen = explicit or env.get(CONFDIR_ENV)
    if chosen:
        return Path(chosen).expanduser().resolve()
    root = checkout_root(package_dir)
    if root is not None:
        return root / "certs"
    return Path(HOME_CONFDIR).expanduser().resolve()


def ledger(configured: str | os.PathLike[str] | None, confdir_path: str | os.PathLike[str]) -> Path:
    """The savings ledger's file: the configured path, else ``wiretrim-ledger.sqlite`` in the confdir."""
    if configured:
        return Path(configured).expanduser()
    return Path(confdir_path).expanduser() / LEDGER_FILE


__all__ = ["ADDON_SCRIPT", "CONFDIR_ENV", "LEDGER_FILE", "checkout_root", "confdir", "ledger"]
