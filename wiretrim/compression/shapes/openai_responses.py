"""OpenAI Responses (`/v1/responses`, Azure, Codex, and OpenAI-compatible hosts).

Slots: `input` when it is a string; `content` of user, system and developer message items,
as a string or as `input_text` parts; the `output` of `function_call_output` and
`custom_tool_call_output` items, as a string or as `input_text` parts; `instructions` as
kind "system". Assistant output messages, reasoning items (encrypted content), every
`*_call` item and every other item type are protected (providers.md §5.3).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, ClassVar

from wiretrim.compression.shapes._api import RequestInfo, Slot, SlotKind, is_text_part, text_of_parts

_KIND_BY_ROLE: dict[str, SlotKind] = {
    "user": "user_text",
    "system": "system",
    "developer": "system",
}
_OUTPUT_ITEMS = ("function_call_output", "custom_tool_call_output")
_CALL_ITEMS = ("function_call", "custom_tool_call")


class OpenAIResponses:
    name: ClassVar[str] = "openai-responses"

    def inspect(self, doc: dict[str, Any]) -> RequestInfo:
        text = doc.get("text")
        fmt = text.get("format") if isinstance(text, dict) else None
        json_mode = isinstance(fmt, dict) and fmt.get("type") == "json_object"
        model = doc.get("model") if isinstance(doc.get("model"), str) else None
        return RequestInfo(json_mode=json_mode, model=model, stream=doc.get("stream") is True)

    def slots(self, doc: dict[str, Any]) -> Iterator[Slot]:
        instructions = doc.get("instructions")
        if isinstance(instructions, str):
            yield Slot(("instructions",), instructions, "system", "system", 0)
        items = doc.get("input")
        if isinstance(items, str):
            yield Slot(("input",), items, "user_text", "user", 0)
            return
        if not isinstance(items, list):
            return
        query = ""
        tool_names: dict[str, str] = {}
        for i, item in enumerate(items):
            if not isinstance(item, dict):
                continue
            kind_of_item = item.get("type")
            if kind_of_item in _CALL_ITEMS:
                call_id, name = item.get("call_id"), item.get("name")
                if isinstance(call_id, str) and isinstance(name, str):
                    tool_names[call_id] = name
            elif kind_of_item in _OUTPUT_ITEMS:
                call_id = item.get("call_id") if isinstance(item.get("call_id"), str) else None
                tool_name = tool_names.get(call_id) if call_id else None
                yield from _content(item, "output", i, "tool_result", "tool", query, tool_name, call_id)
            elif kind_of_item in (None, "message"):
                role = item.get("role")
                kind = _KIND_BY_ROLE.get(role) if isinstance(role, str) else None
                if kind is None:  # assistant output messages and unknown roles
                    continue
                yield from _content(item, "content", i, kind, role, query, None, None)
                if kind == "user_text":
                    query = text_of_parts(item.get("content"), ("input_text",)) or query


def _content(
    item: dict[str, Any],
    key: str,
    i: int,
    kind: SlotKind,
    role: str,
    query: str,
    tool_name: str | None,
    call_id: str | None,
) -> Iterator[Slot]:
    value = item.get(key)
    if isinstance(value, str):
        yield Slot(("input", i, key), value, kind, role, i, query, tool_name, call_id)
    elif isinstance(value, list):
        for j, part in enumerate(value):
            if is_text_part(part, ("input_text",)):
                path = ("input", i, key, j, "text")
                yield Slot(path, part["text"], kind, role, i, query, tool_name, call_id)


OPENAI_RESPONSES = OpenAIResponses()
