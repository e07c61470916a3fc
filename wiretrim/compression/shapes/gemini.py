"""Google Gemini (`:generateContent`, `:streamGenerateContent`, `:countTokens`; API and Vertex).

Proto3 JSON accepts lowerCamelCase and snake_case keys, so both spellings are read (and
never converted). Slots (providers.md §5.5): the `text` of user parts that carry no
`thought` flag and no thought signature; every string leaf, at any depth, of a
`functionResponse.response` object, as kind "tool_result" (the object stays an object: only
its string values change); `systemInstruction` parts' text as kind "system". All `model`
contents, function calls, inline and file data, code execution parts, `tools`,
`toolConfig`, `generationConfig`, `safetySettings` and `cachedContent` are protected.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, ClassVar

from wiretrim.compression.jsonspan import Path
from wiretrim.compression.shapes._api import RequestInfo, Slot

_SYSTEM_KEYS = ("systemInstruction", "system_instruction")
_RESPONSE_KEYS = ("functionResponse", "function_response")
_SIGNATURE_KEYS = ("thoughtSignature", "thought_signature")
_WRAPPER_KEYS = ("generateContentRequest", "generate_content_request")
# A content without a role is the user's (single-turn requests may leave it out); older
# clients sent function responses under role "function".
_USER_ROLES = (None, "user")
_TOOL_ROLES = (None, "user", "function", "tool")


class Gemini:
    name: ClassVar[str] = "gemini"

    def inspect(self, doc: dict[str, Any]) -> RequestInfo:
        # The model sits in the URL path; streaming is chosen by the path too.
        return RequestInfo()

    def slots(self, doc: dict[str, Any]) -> Iterator[Slot]:
        yield from _request(doc, ())
        # :countTokens may wrap the whole generation request; its text must be rewritten
        # exactly as on :generateContent (count parity, G23).
        for key in _WRAPPER_KEYS:
            inner = doc.get(key)
            if isinstance(inner, dict):
                yield from _request(inner, (key,))


def _request(doc: dict[str, Any], prefix: Path) -> Iterator[Slot]:
    for key in _SYSTEM_KEYS:
        system = doc.get(key)
        if isinstance(system, dict) and isinstance(system.get("parts"), list):
            for j, part in enumerate(system["parts"]):
                if _plain_text(part):
                    yield Slot((*prefix, key, "parts", j, "text"), part["text"], "system", "system", 0)
    contents = doc.get("contents")
    if not isinstance(contents, list):
        return
    query = ""
    for i, content in enumerate(contents):
        if not isinstance(content, dict):
            continue
        role = content.get("role")
        parts = content.get("parts")
        if role not in _TOOL_ROLES or not isinstance(parts, list):
            continue  # "model" turns, and roles this shape does not know
        texts: list[str] = []
        for j, part in enumerate(parts):
            if not isinstance(part, dict):
                continue
            if role in _USER_ROLES and _plain_text(part):
                path = (*prefix, "contents", i, "parts", j, "text")
                yield Slot(path, part["text"], "user_text", "user", i, query)
                texts.append(part["text"])
            for key in _RESPONSE_KEYS:
                response = part.get(key)
                if isinstance(response, dict):
                    where = (*prefix, "contents", i, "parts", j, key)
                    yield from _function_response(response, where, role or "user", i, query)
        if texts:
            query = "\n".join(texts)


def _plain_text(part: Any) -> bool:
    """A part whose `text` the model reads as prompt: not a thought, not bound to a signature."""
    return (
        isinstance(part, dict)
        and isinstance(part.get("text"), str)
        and not part.get("thought")
        and not any(k in part for k in _SIGNATURE_KEYS)
    )


def _function_response(fr: dict[str, Any], path: Path, role: str, i: int, query: str) -> Iterator[Slot]:
    response = fr.get("response")
    if not isinstance(response, dict):
        return
    name = fr.get("name") if isinstance(fr.get("name"), str) else None
    call_id = fr.get("id") if isinstance(fr.get("id"), str) else None
    # Depth-first in document order; the values of the Struct, never its keys.
    stack: list[tuple[Path, Any]] = [((*path, "response"), response)]
    while stack:
        where, node = stack.pop()
        if isinstance(node, str):
            yield Slot(where, node, "tool_result", role, i, query, name, call_id)
        elif isinstance(node, dict):
            stack.extend(reversed([((*where, k), v) for k, v in node.items()]))
        elif isinstance(node, list):
            stack.extend(reversed([((*where, n), v) for n, v in enumerate(node)]))


GEMINI = Gemini()
