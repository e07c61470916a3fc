import json

import pytest

from tests.compression.support import make_engine
from wiretrim.compression.shapes import get

NAME = "anthropic-messages"
SHAPE = get(NAME)
IMAGE = {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": "iVBORw0KGgo="}}


def _messages(*messages):
    return {"model": "claude-sonnet-4-5", "max_tokens": 1024, "messages": list(messages)}


BODY = {
    "model": "claude-sonnet-4-5",
    "max_tokens": 1024,
    "system": [{"type": "text", "text": "You are a coding agent.", "cache_control": {"type": "ephemeral"}}],
    "messages": [
        {"role": "user", "content": "Why does `make test` fail?"},
        {
            "role": "assistant",
            "content": [
                {
                    "type": "thinking",
                    "thinking": "Run the tests first.",
                    "signature": "EqQBCkgIARABGAIiQL...",
                },
                {"type": "text", "text": "Let me run them."},
                {"type": "tool_use", "id": "toolu_1", "name": "bash", "input": {"command": "make test"}},
            ],
        },
        {
            "role": "user",
            "content": [
                {
                    "type": "tool_result",
                    "tool_use_id": "toolu_1",
                    "content": "FAILED tests/test_a.py::test_x",
                },
                {"type": "text", "text": "<system-reminder>todo list empty</system-reminder>"},
            ],
        },
        {
            "role": "assistant",
            "content": [
                {"type": "redacted_thinking", "data": "EmwKAhgBEgy3va3pzix/LafPsn4a..."},
                {"type": "tool_use", "id": "toolu_2", "name": "read", "input": {"path": "a.py"}},
                {
                    "type": "server_tool_use",
                    "id": "srvtoolu_1",
                    "name": "web_search",
                    "input": {"query": "x"},
                },
                {
                    "type": "web_search_tool_result",
                    "tool_use_id": "srvtoolu_1",
                    "content": [
                        {
                            "type": "web_search_result",
                            "url": "https://e.com",
                            "title": "E",
                            "encrypted_content": "Eu8B",
                        }
                    ],
                },
            ],
        },
        {
            "role": "user",
            "content": [
                {
                    "type": "tool_result",
                    "tool_use_id": "toolu_2",
                    "is_error": False,
                    "content": [
                        {"type": "text", "text": "def x():\n    return 1\n"},
                        IMAGE,
                        {
                            "type": "search_result",
                            "source": "s",
                            "title": "t",
                            "content": [{"type": "text", "text": "q"}],
                        },
                    ],
                },
                {
                    "type": "document",
                    "source": {"type": "text", "media_type": "text/plain", "data": "plain doc"},
                    "title": "notes",
                },
                {
                    "type": "document",
                    "source": {"type": "text", "media_type": "text/plain", "data": "cited doc"},
                    "citations": {"enabled": True},
                },
                {
                    "type": "document",
                    "source": {"type": "content", "content": [{"type": "text", "text": "chunk"}]},
                    "citations": {"enabled": False},
                },
                {
                    "type": "document",
                    "source": {"type": "base64", "media_type": "application/pdf", "data": "JVBE"},
                },
                {
                    "type": "search_result",
                    "source": "s",
                    "title": "t",
                    "content": [{"type": "text", "text": "r"}],
                },
                {"type": "mid_conv_system", "content": [{"type": "text", "text": "New rule: be brief."}]},
                {
                    "type": "text",
                    "text": "quoted",
                    "citations": [{"type": "char_location", "cited_text": "q"}],
                },
            ],
        },
        {"role": "assistant", "content": "The answer is"},
    ],
}


def test_slots():
    slots = {s.path: s for s in SHAPE.slots(BODY)}
    assert {p: s.kind for p, s in slots.items()} == {
        ("system", 0, "text"): "system",
        ("messages", 0, "content"): "user_text",
        ("messages", 2, "content", 0, "content"): "tool_result",
        ("messages", 2, "content", 1, "text"): "user_text",
        ("messages", 4, "content", 0, "content", 0, "text"): "tool_result",
        ("messages", 4, "content", 1, "source", "data"): "document",
        ("messages", 4, "content", 3, "source", "content", 0, "text"): "document",
        ("messages", 4, "content", 6, "content", 0, "text"): "system",
    }
    first = slots[("messages", 2, "content", 0, "content")]
    assert (first.tool_name, first.call_id, first.turn, first.role) == ("bash", "toolu_1", 2, "user")
    assert first.query == "Why does `make test` fail?"
    second = slots[("messages", 4, "content", 0, "content", 0, "text")]
    assert (second.tool_name, second.call_id) == ("read", "toolu_2")
    # Text blocks of a tool-result message are user text, so they become the query.
    assert second.query == "<system-reminder>todo list empty</system-reminder>"


def test_system_string():
    slots = list(SHAPE.slots({"system": "Be terse.", "messages": []}))
    assert [(s.path, s.kind, s.role) for s in slots] == [(("system",), "system", "system")]


@pytest.mark.parametrize(
    ("extra", "drop"),
    [
        ({"anthropic_version": "vertex-2023-10-16"}, "model"),
        ({"anthropic_version": "bedrock-2023-05-31", "anthropic_beta": ["x"]}, "model"),
    ],
)
def test_vertex_and_bedrock_bodies_share_the_leaf_map(extra, drop):
    body = {k: v for k, v in BODY.items() if k != drop} | extra
    assert [s.path for s in SHAPE.slots(body)] == [s.path for s in SHAPE.slots(BODY)]
    assert SHAPE.inspect(body).model is None


def test_document_citations_settings():
    def doc(citations):
        block = {"type": "document", "source": {"type": "text", "media_type": "text/plain", "data": "d"}}
        if citations is not ...:
            block["citations"] = citations
        return [s.path for s in SHAPE.slots(_messages({"role": "user", "content": [block]}))]

    assert doc(...) == [("messages", 0, "content", 0, "source", "data")]
    assert doc({"enabled": False}) == [("messages", 0, "content", 0, "source", "data")]
    assert doc(None) == [("messages", 0, "content", 0, "source", "data")]
    assert doc({"enabled": True}) == []
    assert doc({}) == []
    assert doc(True) == []


def test_document_content_source_string():
    block = {"type": "document", "source": {"type": "content", "content": "inline text"}}
    slots = list(SHAPE.slots(_messages({"role": "user", "content": [block]})))
    assert [(s.path, s.kind) for s in slots] == [
        (("messages", 0, "content", 0, "source", "content"), "document")
    ]


def test_thinking_signature_and_prefill_are_byte_identical():
    long = "ERROR disk full\n" * 60
    body = _messages(
        {"role": "user", "content": "go"},
        {
            "role": "assistant",
            "content": [
                {"type": "thinking", "thinking": long, "signature": "Eq==" * 30},
                {"type": "tool_use", "id": "t1", "name": "bash", "input": {"cmd": long}},
            ],
        },
        {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "t1", "content": long}]},
        {"role": "assistant", "content": long},
    )
    raw = json.dumps(body).encode()
    result = make_engine().rewrite(raw, NAME)
    new = json.loads(result.body)
    assert new["messages"][1] == body["messages"][1]
    assert new["messages"][3] == body["messages"][3]
    assert new["messages"][2]["content"][0]["content"] != long
    assert [o.path for o in result.rewritten_slots] == [("messages", 2, "content", 0, "content")]


def test_inspect():
    info = SHAPE.inspect({**BODY, "stream": True})
    assert (info.skip, info.json_mode, info.model, info.stream) == (None, False, "claude-sonnet-4-5", True)

