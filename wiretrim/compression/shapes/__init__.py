"""SHAPES: the one table from shape name to the module that knows that API's body."""

from __future__ import annotations

from wiretrim.compression.shapes._api import RequestInfo, Shape, Slot, SlotKind
from wiretrim.compression.shapes.anthropic_messages import ANTHROPIC_MESSAGES
from wiretrim.compression.shapes.cohere import COHERE
from wiretrim.compression.shapes.gemini import GEMINI
from wiretrim.compression.shapes.ollama import OLLAMA
from wiretrim.compression.shapes.openai_chat import OPENAI_CHAT
from wiretrim.compression.shapes.openai_completions import OPENAI_COMPLETIONS
from wiretrim.compression.shapes.openai_responses import OPENAI_RESPONSES

# In the order of wiretrim.endpoints.SHAPE_NAMES (a test pins the two together).
SHAPES: dict[str, Shape] = {
    shape.name: shape
    for shape in (
        OPENAI_CHAT,
        OPENAI_RESPONSES,
        OPENAI_COMPLETIONS,
        ANTHROPIC_MESSAGES,
        GEMINI,
        COHERE,
        OLLAMA,
    )
}


def get(name: str) -> Shape:
    """The shape called `name`; ValueError listing the known names otherwise."""
    try:
        return SHAPES[name]
    except KeyError:
        raise ValueError(f"unknown shape {name!r}; known: {', '.join(sorted(SHAPES))}") from None


__all__ = ["SHAPES", "RequestInfo", "Shape", "Slot", "SlotKind", "get"]
