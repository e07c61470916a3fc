import json

from tests.compression.support import ScriptedTextEngine, make_engine
from wiretrim.compression.shapes import get

NAME = "cohere"
SHAPE = get(NAME)

BODY = {
    "model": "command-a-03-2025",
    "messages": [
        {"role": "system", "content": "You are terse."},
        {"role": "user", "content": [{"type": "text", "text": "What is the weather in `Paris`?"}]},
        {
            "role": "assistant",
            "tool_plan": "I will call the weather tool.",
            "tool_calls": [
                {
                    "id": "w_1",
                    "type": "function",
                    "function": {"name": "weather", "arguments": '{"city": "Paris'},
                }
            ],
        },
        {
            "role": "tool",
            "tool_call_id": "w_1",
            "content": [
                {"type": "text", "text": "sunny, 21C"},
                {"type": "document", "document": {"id": "d1", "data": {"temp": "21C"}}},
            ],
        },
        {
            "role": "assistant",
            "content": [{"type": "text", "text": "Sunny."}],
            "citations": [
                {"start": 0, "end": 5, "text": "Sunny", "sources": [{"type": "tool", "id": "w_1:0"}]}
            ],
        },
        {"role": "user", "content": "and tomorrow?"},
    ],
    "documents": ["Paris is in France.", {"id": "d2", "data": {"text": "Weather notes"}}],
    "response_format": {"type": "json_object"},
}


def test_slots():
    slots = {s.path: s for s in SHAPE.slots(BODY)}
    assert {p: s.kind for p, s in slots.items()} == {
        ("messages", 0, "content"): "system",
        ("messages", 1, "content", 0, "text"): "user_text",
        ("messages", 3, "content", 0, "text"): "tool_result",
        ("messages", 5, "content"): "user_text",
    }
    tool = slots[("messages", 3, "content", 0, "text")]
    assert (tool.tool_name, tool.call_id, tool.role, tool.turn) == ("weather", "w_1", "tool", 3)
    assert tool.query == "What is the weather in `Paris`?"


def test_inspect():
    info = SHAPE.inspect(BODY)
    assert (info.skip, info.json_mode, info.model) == (None, True, "command-a-03-2025")


def test_json_keyword_guard():
    text = "Return a json object listing every city.\n" + "Paris London Rome\n" * 30
    body = json.dumps({**BODY, "messages": [{"role": "user", "content": text}]}).encode()
    engine = make_engine(text_engine=ScriptedTextEngine({text: "Paris London Rome\n" * 3}))
    result = engine.rewrite(body, NAME)
    assert result.body is None
    assert result.slots[0].reason == "guard:json_keyword"

