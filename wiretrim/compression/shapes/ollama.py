"""Ollama native chat (`/api/chat`).

Slots (providers.md §5.8 L1): the `content` string of user and tool messages, and of system
messages as kind "system". Assistant messages (`content`, `thinking`, `tool_calls`),
`images`, `tool_name`, `format`, `options` and every other field are protected.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, ClassVar

from wiretrim.compression.shapes._api import RequestInfo, Slot, SlotKind

_KIND_BY_ROLE: dict[str, SlotKind] = {
    "user": "user_text",
    "tool": "tool_result",
    "system": "system",
}


class Ollama:
    name: ClassVar[str] = "ollama"

    def inspect(self, doc: dict[str, Any]) -> RequestInfo:
        # `format: "json"` constrains decoding; Ollama needs no keyword in the prompt.
        model = doc.get("model") if isinstance(doc.get("model"), str) else None
        # /api/chat streams unless told not to.
        return RequestInfo(model=model, stream=doc.get("stream") is not False)

    def slots(self, doc: dict[str, Any]) -> Iterator[Slot]:
        messages = doc.get("messages")
        if not isinstance(messages, list):
            return
        query = ""
        pending: list[str | None] = []  # names of the last assistant turn's calls, in order
        for i, msg in enumerate(messages):
            if not isinstance(msg, dict):
                continue
            role = msg.get("role")
            if role == "assistant":
                calls = msg.get("tool_calls")
                pending = [_call_name(c) for c in calls] if isinstance(calls, list) else []
                continue
            kind = _KIND_BY_ROLE.get(role) if isinstance(role, str) else None
            content = msg.get("content")
            if kind is None or not isinstance(content, str):
                continue
            tool_name = call_id = None
            if kind == "tool_result":
                # Older clients leave out tool_name; results then follow their calls in order.
                in_order = pending.pop(0) if pending else None
                tool_name = msg["tool_name"] if isinstance(msg.get("tool_name"), str) else in_order
                call_id = msg.get("tool_call_id") if isinstance(msg.get("tool_call_id"), str) else None
            yield Slot(("messages", i, "content"), content, kind, role, i, query, tool_name, call_id)
            if kind == "user_text" and content:
                query = content


def _call_name(call: Any) -> str | None:
    fn = call.get("function") if isinstance(call, dict) else None
    name = fn.get("name") if isinstance(fn, dict) else None
    return name if isinstance(name, str) else None


OLLAMA = Ollama()
