
from wiretrim.compression.shapes import get

NAME = "ollama"
SHAPE = get(NAME)

BODY = {
    "model": "llama3.2",
    "messages": [
        {"role": "system", "content": "You are terse."},
        {"role": "user", "content": "List `/var/log`", "images": ["iVBORw0KGgo="]},
        {
            "role": "assistant",
            "content": "",
            "thinking": "use ls",
            "tool_calls": [
                {"function": {"name": "ls", "arguments": {"path": "/var/log"}}},
                {"function": {"name": "du", "arguments": {"path": "/var/log"}}},
            ],
        },
        {"role": "tool", "content": "syslog\nauth.log"},
        {"role": "tool", "tool_name": "disk_usage", "content": "12M"},
        {"role": "tool", "content": "extra result with no call"},
    ],
    "format": "json",
    "options": {"num_ctx": 8192},
}


def test_slots():
    slots = {s.path: s for s in SHAPE.slots(BODY)}
    assert {p: s.kind for p, s in slots.items()} == {
        ("messages", 0, "content"): "system",
        ("messages", 1, "content"): "user_text",
        ("messages", 3, "content"): "tool_result",
        ("messages", 4, "content"): "tool_result",
        ("messages", 5, "content"): "tool_result",
    }
    # Without tool_name, results answer the calls in order; an explicit tool_name wins.
    assert [slots[("messages", i, "content")].tool_name for i in (3, 4, 5)] == ["ls", "disk_usage", None]
    assert slots[("messages", 3, "content")].query == "List `/var/log`"
    assert slots[("messages", 1, "content")].tool_name is None


def test_inspect_stream_defaults_to_true():
    assert SHAPE.inspect({"messages": []}).stream
    assert not SHAPE.inspect({"messages": [], "stream": False}).stream
    info = SHAPE.inspect(BODY)
    assert (info.skip, info.json_mode, info.model) == (None, False, "llama3.2")


def test_list_content_is_protected():
    assert (
        list(SHAPE.slots({"messages": [{"role": "user", "content": [{"type": "text", "text": "x"}]}]})) == []
    )

