"""Request bodies for addon and end-to-end tests."""

from __future__ import annotations

import json
from typing import Any

OPENAI_URL = "https://api.openai.com/v1/chat/completions"
ANTHROPIC_URL = "https://api.anthropic.com/v1/messages"

# Low thresholds so that a small, pretty-printed tool result is worth rewriting.
EAGER = {"compression": {"min_slot_tokens": 10, "min_saved_tokens": 1, "min_saved_ratio": 0.01}}


def pretty_rows(n: int = 20, tag: str = "r") -> str:
    """A pretty-printed JSON document, as a tool would return it."""
    rows = [{"id": i, "name": f"{tag}-{i}", "tags": ["alpha", "beta"], "size": i * 7} for i in range(n)]
    return json.dumps({"rows": rows, "total": n}, indent=2)


def openai_tool_chat(tool_text: str | None = None, **extra: Any) -> dict[str, Any]:
    return {
        "model": "gpt-4o-mini",
        "messages": [
            {"role": "system", "content": "You are terse."},
            {"role": "user", "content": "How many rows are there?"},
            {
                "role": "assistant",
                "content": None,
                "tool_calls": [
                    {"id": "call_1", "type": "function", "function": {"name": "query", "arguments": "{}"}}
                ],
            },
            {
                "role": "tool",
                "tool_call_id": "call_1",
                "content": tool_text if tool_text is not None else pretty_rows(),
            },
        ],
        **extra,
    }


def anthropic_tool_chat(tool_text: str | None = None, **extra: Any) -> dict[str, Any]:
    return {
        "model": "claude-sonnet-4-6",
        "max_tokens": 64,
        "messages": [
            {"role": "user", "content": "How many rows are there?"},
            {
                "role": "assistant",
                "content": [{"type": "tool_use", "id": "tu_1", "name": "query", "input": {}}],
            },
            {
                "role": "user",
                "content": [
                    {
                        "type": "tool_result",
                        "tool_use_id": "tu_1",
                        "content": tool_text if tool_text is not None else pretty_rows(),
                    }
                ],
            },
        ],
        **extra,
    }


def small_chat() -> dict[str, Any]:
    """Too small for any rewrite."""
    return {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "Say hi."}]}


def encode(doc: dict[str, Any]) -> bytes:
    return json.dumps(doc).encode()
