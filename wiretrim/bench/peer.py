"""A peer compressor behind the bench protocol, asked one case at a time.

The protocol is the one `../shared/bench/score.py` speaks: ``{"id", "url", "body"}`` lines in,
``{"id", "body", "ms"}`` lines out, one answer per line and flushed. Asking one case at a time
lets the caller time its own engine on the same case right before, under the same load.
"""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import tempfile
from pathlib import Path
from typing import Any


class PeerError(Exception):
    """The peer process died or answered something else than the case it was asked."""


class Peer:
    def __init__(self, argv: list[str]) -> None:
        self.argv = argv
        # A file, not a pipe: a pipe nobody reads fills up and blocks the peer.
        self._stderr = tempfile.TemporaryFile()  # noqa: SIM115  (closed in close())
        self._process = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                         stderr=self._stderr, env={**os.environ, "PYTHONUNBUFFERED": "1"})

    def ms(self, case_id: str, url: str, body: Any) -> float:
        """The peer's own time for one case, as it reports it."""
        assert self._process.stdin is not None and self._process.stdout is not None
        line = json.dumps({"id": case_id, "url": url, "body": body}) + "\n"  # ASCII: lone surrogates too
        try:
            self._process.stdin.write(line.encode("utf-8"))
            self._process.stdin.flush()
        except BrokenPipeError:
            raise PeerError(f"the peer exited: {self.stderr_tail()}") from None
        while True:
            out = self._process.stdout.readline()
            if not out:
                raise PeerError(f"the peer exited: {self.stderr_tail()}")
            if out.startswith(b"{"):  # other stdout lines are not answers (the protocol ignores them)
                break
        answer = json.loads(out)
        if answer.get("id") != case_id or not isinstance(answer.get("ms"), int | float):
            raise PeerError(f"unexpected answer for {case_id}")
        return float(answer["ms"])

    def stderr_tail(self, lines: int = 3) -> str:
        self._stderr.seek(0)
        text = self._stderr.read().decode("utf-8", "replace").strip().splitlines()
        return " | ".join(text[-lines:]) or "(no output)"

    def close(self) -> None:
        if self._process.stdin is not None:
            self._process.stdin.close()
        try:
            self._process.wait(30)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait()
        self._stderr.close()


def headroom_command(peers_dir: Path, adapters: Path) -> tuple[list[str] | None, str]:
    """The Headroom adapter's command line, or None and why it cannot run."""
    python = peers_dir / "headroom-proxy" / "bin" / "python"
    adapter = adapters / "headroom_adapter.py"
    if not python.is_file():
        return None, f"no Headroom venv at {python} (set PEERS_DIR; shared/bench/peers/setup.sh builds it)"
    if not adapter.is_file():
        return None, f"no Headroom adapter at {adapter} (pass --peer-adapters DIR)"
    return [str(python), str(adapter)], shlex.join([str(python), str(adapter)])
