"""Cohere v2 chat (`/v2/chat`).

Slots (providers.md §5.7): `content` of user messages and the text of tool messages (a
string or `text` parts), and system messages as kind "system". Assistant messages
(`content`, `tool_plan`, `tool_calls`, `citations`), `document` parts of tool messages,
`tool_call_id`, top-level `documents` (citation spans point into them), `tools` and
`response_format` are protected.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, ClassVar

from wiretrim.compression.shapes._api import RequestInfo, Slot, SlotKind, is_text_part, text_of_parts

_KIND_BY_ROLE: dict[str, SlotKind] = {
    "user": "user_text",
    "tool": "tool_result",
    "system": "system",
}


class Cohere:
    name: ClassVar[str] = "cohere"

    def inspect(self, doc: dict[str, Any]) -> RequestInfo:
        # Cohere asks that a JSON-mode prompt say "json", or generation may never end.
        fmt = doc.get("response_format")
        json_mode = isinstance(fmt, dict) and fmt.get("type") == "json_object"
        model = doc.get("model") if isinstance(doc.get("model"), str) else None
        return RequestInfo(json_mode=json_mode, model=model, stream=doc.get("stream") is True)

    def slots(self, doc: dict[str, Any]) -> Iterator[Slot]:
        messages = doc.get("messages")
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
            kind = _KIND_BY_ROLE.get(role) if isinstance(role, str) else None
            if kind is None:
                continue
            call_id = msg.get("tool_call_id") if isinstance(msg.get("tool_call_id"), str) else None
            tool_name = tool_names.get(call_id) if call_id else None
            content = msg.get("content")
            if isinstance(content, str):
                yield Slot(("messages", i, "content"), content, kind, role, i, query, tool_name, call_id)
            elif isinstance(content, list):
                for j, part in enumerate(content):
                    if is_text_part(part):
                        yield Slot(
                            ("messages", i, "content", j, "text"),
                            part["text"],
                            kind,
                            role,
                            i,
                            query,
                            tool_name,
                            call_id,
                        )
            if kind == "user_text":
                query = text_of_parts(content) or query


COHERE = Cohere()
