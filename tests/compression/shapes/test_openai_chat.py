import json

import pytest

from tests.compression.support import make_engine
from wiretrim.compression.shapes import get

NAME = "openai-chat"
SHAPE = get(NAME)

LOG = "\n".join(f"2026-01-0{i % 9 + 1} 10:00:0{i % 10} INFO worker {i} done" for i in range(40))
BODY = {
    "model": "gpt-5.5",
    "messages": [
        {"role": "system", "content": "You are terse."},
        {"role": "user", "content": "Why does `test_login` fail in auth/views.py?"},
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [
                {
                    "id": "call_1",
                    "type": "function",
                    "function": {"name": "bash", "arguments": '{"cmd": "pytest'},
                }
            ],
        },
        {"role": "tool", "tool_call_id": "call_1", "content": LOG},
        {
            "role": "user",
            "content": [
                {"type": "text", "text": "And this one?"},
                {"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBORw0KGgo="}},
                {"type": "text", "text": "see the screenshot", "cache_control": {"type": "ephemeral"}},
            ],
        },
        {"role": "function", "name": "legacy_fn", "content": "old style result"},
        {"role": "developer", "content": [{"type": "text", "text": "Prefer short answers."}]},
        {"role": "assistant", "content": "Partial answer", "prefix": True},
    ],
    "response_format": {"type": "json_object"},
}


def test_slots_carry_role_turn_query_and_tool():
    slots = {s.path: s for s in SHAPE.slots(BODY)}
    assert list(slots) == [
        ("messages", 0, "content"),
        ("messages", 1, "content"),
        ("messages", 3, "content"),
        ("messages", 4, "content", 0, "text"),
        ("messages", 4, "content", 2, "text"),
        ("messages", 5, "content"),
        ("messages", 6, "content", 0, "text"),
    ]
    system, question, tool = (
        slots[("messages", 0, "content")],
        slots[("messages", 1, "content")],
        slots[("messages", 3, "content")],
    )
    assert (system.kind, system.role, system.turn) == ("system", "system", 0)
    assert (question.kind, question.query) == ("user_text", "")
    assert (tool.kind, tool.role, tool.turn) == ("tool_result", "tool", 3)
    assert tool.query == "Why does `test_login` fail in auth/views.py?"
    assert (tool.tool_name, tool.call_id) == ("bash", "call_1")
    legacy = slots[("messages", 5, "content")]
    assert (legacy.kind, legacy.tool_name) == ("tool_result", "legacy_fn")
    assert legacy.query == "And this one?\nsee the screenshot"
    assert slots[("messages", 6, "content", 0, "text")].kind == "system"


def test_inspect_reads_request_facts():
    info = SHAPE.inspect(BODY)
    assert (info.skip, info.json_mode, info.model, info.stream) == (None, True, "gpt-5.5", False)
    assert SHAPE.inspect({"messages": [], "stream": True}).stream


@pytest.mark.parametrize(
    ("extra", "reason"),
    [
        ({"n": 2}, "n>1"),
        ({"best_of": 3}, "best_of>1"),
        ({"continue_final_message": True}, "raw_continuation"),
        ({"add_generation_prompt": False}, "raw_continuation"),
    ],
)
def test_skips(extra, reason):
    body = {**BODY, **extra}
    assert SHAPE.inspect(body).skip == reason
    result = make_engine().rewrite(json.dumps(body).encode(), NAME)
    assert result.body is None
    assert result.skipped == reason


@pytest.mark.parametrize("extra", [{"n": 1}, {"n": True}, {"add_generation_prompt": True}])
def test_not_skipped(extra):
    assert SHAPE.inspect({**BODY, **extra}).skip is None


def test_assistant_prefix_and_partial_stay():
    body = {
        "messages": [
            {"role": "user", "content": "continue the poem"},
            {"role": "assistant", "content": "Roses are red, " * 20, "prefix": True},
            {
                "role": "assistant",
                "content": "violets " * 20,
                "partial": True,
                "reasoning_content": "think " * 30,
            },
        ]
    }
    assert [s.path for s in SHAPE.slots(body)] == [("messages", 0, "content")]


def test_mistral_chunks_other_than_text_stay():
    body = {
        "messages": [
            {
                "role": "user",
                "content": [
                    {"type": "text", "text": "a"},
                    {"type": "reference", "reference_ids": [1]},
                    {"type": "thinking", "thinking": [{"type": "text", "text": "hmm"}]},
                    {"type": "document_url", "document_url": "https://example.com/a.pdf"},
                ],
            }
        ]
    }
    assert [s.path for s in SHAPE.slots(body)] == [("messages", 0, "content", 0, "text")]


def test_odd_types_are_protected_not_errors():
    body = {
        "messages": [
            {"role": "assistant", "tool_calls": 5},
            {"role": "assistant", "tool_calls": {"id": "x"}},
            {"role": 3, "content": "x"},
            {"role": "user", "content": 12},
            {"role": "tool", "tool_call_id": 7, "content": "result"},
            "not a message",
        ]
    }
    slots = list(SHAPE.slots(body))
    assert [(s.path, s.call_id) for s in slots] == [(("messages", 4, "content"), None)]
    assert list(SHAPE.slots({"messages": "nope"})) == []

