"""Anthropic Messages: direct (`/v1/messages`, count_tokens), Vertex (`:rawPredict`) and
Bedrock InvokeModel bodies (`anthropic_version`, no `model`), which share one leaf map.

Slots (providers.md §5.4): user `content` strings and user `text` blocks; `tool_result`
content as a string or as `text` blocks; `document` blocks with a text source (`data`) or
a content source (a string or `text` blocks) while their citations are off, as kind
"document"; `system` (a string or `text` blocks) and `mid_conv_system` blocks as kind
"system". Assistant turns (prefill included), thinking and redacted thinking, tool use,
server-tool blocks, search results, images, citations and cache_control are protected.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, ClassVar

from wiretrim.compression.jsonspan import Path
from wiretrim.compression.shapes._api import RequestInfo, Slot, SlotKind, is_text_part, text_of_parts


class AnthropicMessages:
    name: ClassVar[str] = "anthropic-messages"

    def inspect(self, doc: dict[str, Any]) -> RequestInfo:
        # No JSON keyword rule here: structured output is a schema, not a prompt word.
        model = doc.get("model") if isinstance(doc.get("model"), str) else None
        return RequestInfo(model=model, stream=doc.get("stream") is True)

    def slots(self, doc: dict[str, Any]) -> Iterator[Slot]:
        system = doc.get("system")
        if isinstance(system, str):
            yield Slot(("system",), system, "system", "system", 0)
        elif isinstance(system, list):
            yield from _text_blocks(system, ("system",), "system", "system", 0, "")
        messages = doc.get("messages")
        if not isinstance(messages, list):
            return
        query = ""
        tool_names: dict[str, str] = {}
        for i, msg in enumerate(messages):
            if not isinstance(msg, dict):
                continue
            role = msg.get("role")
            content = msg.get("content")
            if role == "assistant":
                if isinstance(content, list):
                    for block in content:
                        if isinstance(block, dict) and block.get("type") == "tool_use":
                            call_id, name = block.get("id"), block.get("name")
                            if isinstance(call_id, str) and isinstance(name, str):
                                tool_names[call_id] = name
                continue
            if role != "user":
                continue
            base: Path = ("messages", i, "content")
            if isinstance(content, str):
                yield Slot(base, content, "user_text", "user", i, query)
            elif isinstance(content, list):
                for j, block in enumerate(content):
                    if isinstance(block, dict):
                        yield from _block(block, (*base, j), i, query, tool_names)
            query = text_of_parts(content) or query


def _block(
    block: dict[str, Any], path: Path, i: int, query: str, tool_names: dict[str, str]
) -> Iterator[Slot]:
    kind_of_block = block.get("type")
    if kind_of_block == "text":
        if _plain_text(block):
            yield Slot((*path, "text"), block["text"], "user_text", "user", i, query)
    elif kind_of_block == "tool_result":
        call_id = block.get("tool_use_id") if isinstance(block.get("tool_use_id"), str) else None
        tool_name = tool_names.get(call_id) if call_id else None
        content = block.get("content")
        if isinstance(content, str):
            yield Slot((*path, "content"), content, "tool_result", "user", i, query, tool_name, call_id)
        elif isinstance(content, list):
            # Nested images, documents, search results and tool references stay as they are.
            yield from _text_blocks(
                content, (*path, "content"), "tool_result", "user", i, query, tool_name, call_id
            )
    elif kind_of_block == "document":
        yield from _document(block, path, i, query)
    elif kind_of_block == "mid_conv_system":
        content = block.get("content")
        if isinstance(content, str):
            yield Slot((*path, "content"), content, "system", "system", i, query)
        elif isinstance(content, list):
            yield from _text_blocks(content, (*path, "content"), "system", "system", i, query)


def _document(block: dict[str, Any], path: Path, i: int, query: str) -> Iterator[Slot]:
    citations = block.get("citations")
    if not (citations is None or (isinstance(citations, dict) and citations.get("enabled") is False)):
        return  # citation offsets index into this text: anything but absent or explicitly off protects it
    source = block.get("source")
    if not isinstance(source, dict):
        return
    if source.get("type") == "text" and isinstance(source.get("data"), str):
        yield Slot((*path, "source", "data"), source["data"], "document", "user", i, query)
    elif source.get("type") == "content":
        content = source.get("content")
        if isinstance(content, str):
            yield Slot((*path, "source", "content"), content, "document", "user", i, query)
        elif isinstance(content, list):
            yield from _text_blocks(content, (*path, "source", "content"), "document", "user", i, query)


def _plain_text(block: dict[str, Any]) -> bool:
    """A `text` block with a string text and no citations (cited text is bound to its sources)."""
    return isinstance(block.get("text"), str) and not block.get("citations")


def _text_blocks(
    blocks: list[Any],
    path: Path,
    kind: SlotKind,
    role: str,
    i: int,
    query: str,
    tool_name: str | None = None,
    call_id: str | None = None,
) -> Iterator[Slot]:
    for j, block in enumerate(blocks):
        if is_text_part(block) and _plain_text(block):
            yield Slot((*path, j, "text"), block["text"], kind, role, i, query, tool_name, call_id)


ANTHROPIC_MESSAGES = AnthropicMessages()
