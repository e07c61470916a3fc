"""Synthetic request bodies of a given size, the same bytes on every run.

A chat request whose last message is a tool result: pretty-printed JSON rows (what API and
database tools return) or application log lines. Both are text the engine rewrites, so in
`on` mode these requests take the whole path: worker, splice and a new body upstream.
"""

from __future__ import annotations

import json
import random
from typing import Any

OPENAI_CHAT = "https://api.openai.com/v1/chat/completions"
OPENAI_CHAT_PATH = "/v1/chat/completions"


def _tool_chat(tool_text: str, **extra: Any) -> dict[str, Any]:
    return {
        "model": "gpt-4o-mini",
        "messages": [
            {"role": "system", "content": "You are a terse assistant with tools."},
            {"role": "user", "content": "What does the tool output say? Quote what matters."},
            {"role": "assistant", "content": None, "tool_calls": [
                {"id": "call_1", "type": "function", "function": {"name": "run", "arguments": "{}"}}]},
            {"role": "tool", "tool_call_id": "call_1", "content": tool_text},
        ],
        **extra,
    }


def _row(rnd: random.Random, i: int) -> dict[str, Any]:
    return {
        "id": i,
        "name": f"item-{i}",
        "status": rnd.choice(("open", "closed", "merged")),
        "owner": rnd.choice(("ana", "bo", "cy", "dee")),
        "size": rnd.randrange(10**6),
        "tags": ["alpha", "beta"][: rnd.randrange(3)],
    }


def _log_line(rnd: random.Random, i: int) -> str:
    level = rnd.choice(("INFO",) * 8 + ("WARN", "DEBUG"))
    path = rnd.choice(("/api/v1/items", "/api/v1/users", "/healthz", "/api/v1/orders"))
    return (
        f"2024-05-01T{i // 3600 % 24:02d}:{i // 60 % 60:02d}:{i % 60:02d}.{i % 1000:03d}Z {level} "
        f"[worker-{rnd.randrange(8)}] request id={rnd.getrandbits(48):012x} "
        f"path={path}/{rnd.randrange(1000)} "
        f"status={rnd.choice((200, 200, 200, 201, 404, 500))} ms={rnd.randrange(1, 900)}"
    )


def _fill(size: int, kind: str) -> bytes:
    """A tool chat of about `size` bytes (within a row or a line) whose tool result is `kind`."""
    rnd = random.Random(size)
    if kind == "rows":
        rows = [_row(rnd, i) for i in range(max(1, size // 100))]  # rows take over 100 bytes each

        def body(n: int) -> bytes:
            return json.dumps(_tool_chat(json.dumps({"rows": rows[:n], "total": n}, indent=2))).encode()

        low, high = 1, len(rows)  # the most rows that fit
        while low < high:
            mid = (low + high + 1) // 2
            low, high = (mid, high) if len(body(mid)) <= size else (low, mid - 1)
        return body(low)
    lines: list[str] = []
    used = len(json.dumps(_tool_chat("")).encode())
    while used < size:
        lines.append(_log_line(rnd, len(lines)))
        used += len(lines[-1]) + 2  # the escaped newline
    return json.dumps(_tool_chat("\n".join(lines))).encode()


def rows_chat(size: int) -> bytes:
    """A chat request of about `size` bytes whose tool result is pretty-printed JSON rows."""
    return _fill(size, "rows")


def logs_chat(size: int) -> bytes:
    """A chat request of about `size` bytes whose tool result is log lines."""
    return _fill(size, "logs")


def stream_chat() -> bytes:
    """A small streaming chat request (nothing in it is worth rewriting)."""
    return json.dumps({"model": "gpt-4o-mini", "stream": True,
                       "messages": [{"role": "user", "content": "Say hi."}]}).encode()


def small_chat() -> bytes:
    return json.dumps({"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "Say hi."}]}).encode()


def warmup_bodies() -> list[bytes]:
    """Untimed bodies that load what the first timed case would otherwise pay for: rows, logs, code."""
    code = "\n".join(f"    def method_{i}(self, value):\n        return value * {i}\n" for i in range(60))
    return [rows_chat(20_000), logs_chat(20_000), json.dumps(_tool_chat(f"class A:\n{code}")).encode()]
