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

from wiretrim.compression.shapes._api import RequestInfo, Slot, SlotKind
from wiretrim.compression.shapes._messages import message_slots

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
        return message_slots(doc.get("messages"), _KIND_BY_ROLE)


COHERE = Cohere()
