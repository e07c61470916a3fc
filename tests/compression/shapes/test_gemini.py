import json

import pytest

from tests.compression.support import make_engine
from wiretrim.compression.shapes import get

NAME = "gemini"
SHAPE = get(NAME)
LOG = "".join(f"artifact-{i}: expired=false size={i * 100}\n" for i in range(40))

BODY = {
    "systemInstruction": {"parts": [{"text": "You are terse."}]},
    "contents": [
        {"role": "user", "parts": [{"text": "Which artifacts expired?"}]},
        {
            "role": "model",
            "parts": [
                {"text": "Let me check.", "thoughtSignature": "Cs4BAVSoXO..."},
                {"text": "thinking...", "thought": True},
                {
                    "functionCall": {"name": "http_get", "args": {"url": "/artifacts"}},
                    "thoughtSignature": "CiIB...",
                },
            ],
        },
        {
            "role": "user",
            "parts": [
                {
                    "functionResponse": {
                        "name": "http_get",
                        "id": "fc_1",
                        "response": {
                            "status": 200,
                            "output": LOG,
                            "items": [{"name": "a1", "note": "first"}, "loose string", 3, None],
                        },
                    }
                },
                {"inlineData": {"mimeType": "image/png", "data": "iVBORw0KGgo="}},
                {"text": "Only list expired ones."},
                {"text": "signed user text", "thought_signature": "abc"},
            ],
        },
    ],
    "generationConfig": {"responseMimeType": "application/json", "thinkingConfig": {"thinkingBudget": 1024}},
}


def test_slots():
    slots = {s.path: s for s in SHAPE.slots(BODY)}
    fr = ("contents", 2, "parts", 0, "functionResponse", "response")
    assert {p: s.kind for p, s in slots.items()} == {
        ("systemInstruction", "parts", 0, "text"): "system",
        ("contents", 0, "parts", 0, "text"): "user_text",
        (*fr, "output"): "tool_result",
        (*fr, "items", 0, "name"): "tool_result",
        (*fr, "items", 0, "note"): "tool_result",
        (*fr, "items", 1): "tool_result",
        ("contents", 2, "parts", 2, "text"): "user_text",
    }
    out = slots[(*fr, "output")]
    assert (out.tool_name, out.call_id, out.turn, out.role, out.query) == (
        "http_get",
        "fc_1",
        2,
        "user",
        "Which artifacts expired?",
    )
    assert slots[("contents", 2, "parts", 2, "text")].query == "Which artifacts expired?"


def test_snake_case_keys():
    body = {
        "system_instruction": {"parts": [{"text": "sys"}]},
        "contents": [
            {"role": "user", "parts": [{"function_response": {"name": "f", "response": {"result": "r"}}}]},
            {"role": "user", "parts": [{"text": "t", "thought_signature": "s"}, {"text": "u"}]},
        ],
    }
    assert [(s.path, s.kind) for s in SHAPE.slots(body)] == [
        (("system_instruction", "parts", 0, "text"), "system"),
        (("contents", 0, "parts", 0, "function_response", "response", "result"), "tool_result"),
        (("contents", 1, "parts", 1, "text"), "user_text"),
    ]


def test_roles():
    body = {
        "contents": [
            {"parts": [{"text": "no role is the user"}]},
            {
                "role": "function",
                "parts": [
                    {"text": "not user text"},
                    {"functionResponse": {"name": "f", "response": {"content": "old-style function turn"}}},
                ],
            },
            {
                "role": "model",
                "parts": [{"text": "model"}, {"functionResponse": {"name": "f", "response": {"x": "y"}}}],
            },
            {"role": "critic", "parts": [{"text": "unknown role"}]},
        ]
    }
    assert [s.path for s in SHAPE.slots(body)] == [
        ("contents", 0, "parts", 0, "text"),
        ("contents", 1, "parts", 1, "functionResponse", "response", "content"),
    ]


def test_count_tokens_wrapper_has_the_same_slots():
    wrapped = {"generateContentRequest": {"model": "models/gemini-2.5-flash", **BODY}}
    plain = [(s.path, s.text, s.kind) for s in SHAPE.slots(BODY)]
    inner = [(s.path[1:], s.text, s.kind) for s in SHAPE.slots(wrapped)]
    assert inner == plain
    assert all(s.path[0] == "generateContentRequest" for s in SHAPE.slots(wrapped))


def test_function_response_object_stays_an_object():
    raw = json.dumps(BODY).encode()
    result = make_engine().rewrite(raw, NAME)
    new = json.loads(result.body)
    response = new["contents"][2]["parts"][0]["functionResponse"]["response"]
    old = BODY["contents"][2]["parts"][0]["functionResponse"]["response"]
    assert isinstance(response, dict)
    assert list(response) == list(old)
    assert response["status"] == 200
    assert response["output"] != old["output"]
    assert new["contents"][1] == BODY["contents"][1]


@pytest.mark.parametrize("key", ["thought", "thoughtSignature", "thought_signature"])
def test_thought_parts_are_protected(key):
    part = {"text": "x" * 400, key: True if key == "thought" else "sig"}
    assert list(SHAPE.slots({"contents": [{"role": "user", "parts": [part]}]})) == []

