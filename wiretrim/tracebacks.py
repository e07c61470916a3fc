"""Tracebacks fit for a log: where an exception came from, never what it said.

An exception's message may quote the data it choked on (``invalid literal for int() with base
10: '<a line of the tool output>'``, a KeyError naming a key from the body), and a process
pool's remote traceback repeats it. Logs must never hold prompt text, so wiretrim logs the
exception types and the frames (file, line, function), and leaves every message out.
"""

from __future__ import annotations

import os
import traceback

MAX_FRAMES = 12  # the innermost ones: where it went wrong


def _where(exc: BaseException, limit: int) -> str:
    frames = traceback.extract_tb(exc.__traceback__)[-limit:]
    return " < ".join(f"{os.path.basename(f.filename)}:{f.lineno} in {f.name}" for f in reversed(frames))


def scrubbed(exc: BaseException) -> str:
    """``RuntimeError at pipeline.py:97 in rewrite < worker.py:40 in run`` (innermost frame
    first), then what it was raised from, the same way; never a message."""
    parts = []
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen and len(parts) < 4:
        seen.add(id(current))
        where = _where(current, MAX_FRAMES if not parts else 3)
        parts.append(type(current).__name__ + (f" at {where}" if where else ""))
        current = current.__cause__ or current.__context__
    return " (from ".join(parts) + ")" * (len(parts) - 1) + "; message not logged"


__all__ = ["scrubbed"]
