"""SHAPES: the one table from shape name to the module that knows that API's body."""

from __future__ import annotations

from wiretrim.compression.shapes._api import RequestInfo, Shape, Slot, SlotKind
from wiretrim.compression.shapes.openai_chat import OPENAI_CHAT

SHAPES: dict[str, Shape] = {
    shape.name: shape
    for shape in (
        OPENAI_CHAT,
    )
}


def get(name: str) -> Shape:
    """The shape called `name`; ValueError listing the known names otherwise."""
    try:
        return SHAPES[name]
    except KeyError:
        raise ValueError(f"unknown shape {name!r}; known: {', '.join(sorted(SHAPES))}") from None


__all__ = ["SHAPES", "RequestInfo", "Shape", "Slot", "SlotKind", "get"]
