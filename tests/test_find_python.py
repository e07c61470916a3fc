"""scripts/find-python, driven through tests/test_find_python.sh (fake interpreters on a fake PATH)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.skipif(shutil.which("sh") is None, reason="needs a POSIX shell")
def test_find_python_cases() -> None:
    run = subprocess.run(["sh", str(ROOT / "tests" / "test_find_python.sh")], capture_output=True, text=True)
    assert run.returncode == 0, run.stdout + run.stderr
    assert run.stdout.splitlines()[-1] == "10 passed, 0 failed"


def test_find_python_accepts_a_real_interpreter() -> None:
    """A real Python >= 3.12 (the one running the tests) passes the script's probe as itself."""
    script = str(ROOT / "scripts" / "find-python")
    env = {**os.environ, "PYTHON": sys.executable}
    run = subprocess.run([script], capture_output=True, text=True, env=env)
    assert run.returncode == 0, run.stderr
    assert run.stdout == f"{sys.executable}\n"
