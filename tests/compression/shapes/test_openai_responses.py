import dataclasses
import json

from tests.compression.support import OPEN_GATES, ScriptedTextEngine, make_engine
from wiretrim.compression.shapes import get

NAME = "openai-responses"
SHAPE = get(NAME)

BODY = {
    "model": "gpt-5.5",
    "instructions": "You are a coding agent.",
    "input": [
        {
            "type": "message",
            "role": "developer",
            "content": "<environment_context>cwd=/repo</environment_context>",
        },
        {
            "role": "user",
            "content": [
                {"type": "input_text", "text": "Fix the bug in `parse_date`"},
                {"type": "input_image", "image_url": "data:image/png;base64,iVBORw0KGgo=", "detail": "auto"},
            ],
        },
        {"type": "reasoning", "id": "rs_1", "summary": [], "encrypted_content": "gAAAAAB..."},
        {"type": "function_call", "call_id": "call_1", "name": "read_file", "arguments": '{"path": "a.py"'},
        {"type": "function_call_output", "call_id": "call_1", "output": "def parse_date(s):\n    ..."},
        {"type": "custom_tool_call", "call_id": "call_2", "name": "apply_patch", "input": "*** Begin Patch"},
        {
            "type": "custom_tool_call_output",
            "call_id": "call_2",
            "output": [
                {"type": "input_text", "text": "Done!"},
                {"type": "input_image", "image_url": "https://x/y.png"},
            ],
        },
        {
            "type": "message",
            "role": "assistant",
            "id": "msg_1",
            "status": "completed",
            "content": [{"type": "output_text", "text": "I fixed it.", "annotations": []}],
        },
        {"type": "local_shell_call_output", "id": "ls_1", "output": "total 0"},
        {"type": "item_reference", "id": "msg_0"},
        {"role": "user", "content": "thanks"},
    ],
    "text": {"format": {"type": "json_object"}},
    "stream": True,
}


def test_slots():
    slots = {s.path: s for s in SHAPE.slots(BODY)}
    assert {p: s.kind for p, s in slots.items()} == {
        ("instructions",): "system",
        ("input", 0, "content"): "system",
        ("input", 1, "content", 0, "text"): "user_text",
        ("input", 4, "output"): "tool_result",
        ("input", 6, "output", 0, "text"): "tool_result",
        ("input", 10, "content"): "user_text",
    }
    out = slots[("input", 4, "output")]
    assert (out.tool_name, out.call_id, out.turn, out.query) == (
        "read_file",
        "call_1",
        4,
        "Fix the bug in `parse_date`",
    )
    custom = slots[("input", 6, "output", 0, "text")]
    assert (custom.tool_name, custom.call_id) == ("apply_patch", "call_2")
    assert slots[("input", 10, "content")].query == "Fix the bug in `parse_date`"


def test_string_input_is_one_user_slot():
    slots = list(SHAPE.slots({"input": "hello there", "instructions": "be brief"}))
    assert [(s.path, s.kind, s.role) for s in slots] == [
        (("instructions",), "system", "system"),
        (("input",), "user_text", "user"),
    ]


def test_inspect():
    info = SHAPE.inspect(BODY)
    assert (info.skip, info.json_mode, info.model, info.stream) == (None, True, "gpt-5.5", True)
    assert not SHAPE.inspect({"text": {"format": {"type": "json_schema"}}}).json_mode
    assert not SHAPE.inspect({"text": "json_object"}).json_mode


def test_instructions_protected_unless_enabled():
    text = "Always answer in JSON. " * 10
    table = {text: "Answer in JSON."}
    body = json.dumps({"instructions": text, "input": "hi"}).encode()
    off = make_engine(text_engine=ScriptedTextEngine(table)).rewrite(body, NAME)
    assert off.body is None
    assert off.slots[0].reason == "protected"
    on = make_engine(
        dataclasses.replace(OPEN_GATES, compress_system=True), text_engine=ScriptedTextEngine(table)
    )
    assert json.loads(on.rewrite(body, NAME).body)["instructions"] == "Answer in JSON."


def test_previous_response_id_body_rewrites_only_new_output():
    body = {
        "model": "gpt-4.1",
        "previous_response_id": "resp_1",
        "input": [{"type": "function_call_output", "call_id": "c", "output": "line\n" * 50}],
    }
    result = make_engine().rewrite(json.dumps(body).encode(), NAME)
    new = json.loads(result.body)
    assert new["previous_response_id"] == "resp_1"
    assert new["input"][0]["call_id"] == "c"
    assert new["input"][0]["output"] != body["input"][0]["output"]

