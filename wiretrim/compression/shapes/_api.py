"""What a provider shape tells the engine about a request body.

A shape is the only place that knows where prompt text sits in one API's JSON. It is an
allowlist: a string is a slot only if the shape names its (role, block type, field);
everything else, including keys added by future API versions, is protected.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, ClassVar, Literal, Protocol

from wiretrim.compression.jsonspan import Path

# What a slot holds; decides protection (system) and how the engine treats it.
SlotKind = Literal["user_text", "tool_result", "system", "document"]


@dataclass(frozen=True, slots=True)
class Slot:
    path: Path  # ("messages", 3, "content"): where the string literal sits
    text: str  # the decoded value
    kind: SlotKind
    role: str  # the message role as the API names it ("user", "tool", "system", "developer", ...)
    turn: int  # index of the message / item / content entry holding it
    query: str = ""  # the latest user-written text before this slot ("" if none)
    tool_name: str | None = None  # the tool whose call this result answers, when known
    call_id: str | None = None  # the id of that call, when the API carries one


@dataclass(frozen=True, slots=True)
class RequestInfo:
    """Request-level facts a shape reads from the body."""

    skip: str | None = None  # a reason to leave the whole body alone ("n>1", "echo", ...)
    json_mode: bool = False  # the API needs the word "json" to stay in the prompt
    model: str | None = None
    stream: bool = False


class Shape(Protocol):
    name: ClassVar[str]

    def inspect(self, doc: dict[str, Any]) -> RequestInfo:
        """Request-level facts; never raises on unexpected types (they mean skip or protect)."""
        ...

    def slots(self, doc: dict[str, Any]) -> Iterator[Slot]:
        """Every rewritable string, in document order."""
        ...


def text_of_parts(parts: Any, types: tuple[str, ...] = ("text",)) -> str:
    """The text of a content value: a string, or the joined `text` of typed parts."""
    if isinstance(parts, str):
        return parts
    if not isinstance(parts, list):
        return ""
    return "\n".join(p["text"] for p in parts if is_text_part(p, types))


def is_text_part(part: Any, types: tuple[str, ...] = ("text",)) -> bool:
    """A dict part of one of `types` whose `text` is a string."""
    return isinstance(part, dict) and part.get("type") in types and isinstance(part.get("text"), str)


def count_over_one(value: Any) -> bool:
    """True for an integer > 1 (n, best_of); bools and other types are not counts."""
    return isinstance(value, int) and not isinstance(value, bool) and value > 1
