"""OpenAI Chat Completions and every OpenAI-compatible host (Azure, vLLM, llama.cpp, ...).

Slots: `content` of user, tool and (legacy) function messages, as a string or as `text`
parts; system and developer messages as kind "system". Assistant messages, tool calls
and their arguments, images, audio, files and every top-level parameter are protected.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, ClassVar

from wiretrim.compression.shapes._api import (
    RequestInfo,
    Slot,
    SlotKind,
    count_over_one,
)
from wiretrim.compression.shapes._messages import message_slots

_KIND_BY_ROLE: dict[str, SlotKind] = {
    "user": "user_text",
    "tool": "tool_result",
    "function": "tool_result",
    "system": "system",
    "developer": "system",
}


class OpenAIChat:
    name: ClassVar[str] = "openai-chat"

    def inspect(self, doc: dict[str, Any]) -> RequestInfo:
        skip = None
        if count_over_one(doc.get("n")):
            skip = "n>1"
        elif count_over_one(doc.get("best_of")):
            skip = "best_of>1"
        elif doc.get("continue_final_message") is True or doc.get("add_generation_prompt") is False:
            skip = "raw_continuation"
        fmt = doc.get("response_format")
        json_mode = isinstance(fmt, dict) and fmt.get("type") == "json_object"
        model = doc.get("model") if isinstance(doc.get("model"), str) else None
        return RequestInfo(skip=skip, json_mode=json_mode, model=model, stream=doc.get("stream") is True)

    def slots(self, doc: dict[str, Any]) -> Iterator[Slot]:
        return message_slots(doc.get("messages"), _KIND_BY_ROLE)


OPENAI_CHAT = OpenAIChat()
