"""Slots of an OpenAI-style `messages` list, shared by the shapes that use that layout.

Roles map to slot kinds through the caller's table; assistant messages are never slots but
name the tool calls that later tool messages answer.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from wiretrim.compression.shapes._api import Slot, SlotKind, is_text_part, text_of_parts


def message_slots(messages: Any, kind_by_role: Mapping[str, SlotKind]) -> Iterator[Slot]:
    """Every string `content` and `text` part of messages whose role the table names."""
    if not isinstance(messages, list):
        return
    query = ""
    tool_names: dict[str, str] = {}
    for i, msg in enumerate(messages):
        if not isinstance(msg, dict):
            continue
        role = msg.get("role")
        if role == "assistant":
            calls = msg.get("tool_calls")
            for call in calls if isinstance(calls, list) else ():
                if isinstance(call, dict) and isinstance(call.get("id"), str):
                    fn = call.get("function")
                    if isinstance(fn, dict) and isinstance(fn.get("name"), str):
                        tool_names[call["id"]] = fn["name"]
            continue
        kind = kind_by_role.get(role) if isinstance(role, str) else None
        if kind is None:
            continue
        call_id = msg.get("tool_call_id") if isinstance(msg.get("tool_call_id"), str) else None
        tool_name = tool_names.get(call_id) if call_id else None
        if role == "function" and isinstance(msg.get("name"), str):
            tool_name = msg["name"]  # the legacy function role names its function itself
        content = msg.get("content")
        if isinstance(content, str):
            yield Slot(("messages", i, "content"), content, kind, role, i, query, tool_name, call_id)
        elif isinstance(content, list):
            for j, part in enumerate(content):
                if is_text_part(part):
                    path = ("messages", i, "content", j, "text")
                    yield Slot(path, part["text"], kind, role, i, query, tool_name, call_id)
        if kind == "user_text":
            query = text_of_parts(content) or query
