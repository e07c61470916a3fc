"""The rows of the providers.md §5.9 test matrix that the engine alone decides.

Rows 4, 5 (live provider loops) and 8–12 (SigV4, content encodings, HTTP/2, streaming,
fail-open and the circuit breaker) need a provider or the proxy and are tested elsewhere.
The engine runs with its default gates here (200-token slots, 64 tokens and 10 % saved),
a fake token counter and a test compressor.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.compression.support import (
    CutTransform,
    FakeCounter,
    ScriptedTextEngine,
    get_path,
    make_engine,
    masked,
)
from tests.compression.test_replay import EVENTS, RENDER, Event, assert_replay_stable, requests
from tests.compression.test_replay import STYLES as REPLAY_STYLES
from wiretrim.compression import Engine, EngineSettings
from wiretrim.compression.memo import MemoryMemo
from wiretrim.compression.shapes import get as get_shape
from wiretrim.compression.textengine import TextEngine

DEFAULTS = EngineSettings()
BIG = "".join(f"2026-03-01 12:00:{i % 60:02d} INFO request {i} served in {i % 17} ms\n" for i in range(120))
SMALL = "3 files changed"


def default_engine(memo: Any = None) -> Engine:
    engine = Engine(DEFAULTS, FakeCounter(), memo)
    engine.text_engine = TextEngine((CutTransform(),), fallback=None)
    return engine


def conversation(shape: str, result: str) -> bytes:
    if shape == "openai-completions":
        return json.dumps({"model": "gpt-3.5-turbo-instruct", "prompt": result, "max_tokens": 64}).encode()
    events: list[Event] = [
        ("user", "Why is the service slow?"),
        ("call", "logs", "call_1", '{"since": "1h"}'),
        ("result", "call_1", result),
    ]
    return json.dumps(RENDER[shape](events), ensure_ascii=False).encode()


ALL_SHAPES = [*RENDER, "openai-completions"]


# Row 1 --------------------------------------------------------------------------------------


@pytest.mark.parametrize("shape", ALL_SHAPES)
def test_row1_nothing_large_enough_forwards_the_original(shape):
    raw = conversation(shape, SMALL)
    result = default_engine().rewrite(raw, shape)
    assert result.body is None
    assert result.skipped is None
    assert {o.reason for o in result.slots} <= {"too_small", "protected"}


# Row 2 --------------------------------------------------------------------------------------


@pytest.mark.parametrize("shape", ALL_SHAPES)
def test_row2_one_large_leaf_changes_only_its_span(shape):
    raw = conversation(shape, BIG)
    value = json.loads(raw)
    result = default_engine().rewrite(raw, shape)
    assert result.body is not None
    (changed,) = result.rewritten_slots
    assert get_path(value, changed.path) == BIG
    new = json.loads(result.body)
    paths = [s.path for s in get_shape(shape).slots(value)]
    assert masked(new, paths) == masked(value, paths)  # G8
    old_literal = json.dumps(BIG, ensure_ascii=False).encode()
    start = raw.index(old_literal)
    # Nothing before it is raw UTF-8, so the new literal escapes non-ASCII like the bytes before it.
    assert raw[:start].isascii()
    new_literal = json.dumps(changed.emitted).encode()
    assert result.body == raw[:start] + new_literal + raw[start + len(old_literal) :]


# Row 3 --------------------------------------------------------------------------------------


@pytest.mark.parametrize("shape", list(RENDER))
def test_row3_conversation_replay_keeps_the_prefix(shape):
    engine = default_engine(MemoryMemo())
    raws = requests(shape, REPLAY_STYLES["raw"])
    assert len(raws) == sum(1 for e in EVENTS if e[0] in ("user", "result"))
    assert assert_replay_stable(shape, raws, lambda k: engine) > 0


# Row 6 --------------------------------------------------------------------------------------

INVALID_ARGUMENTS = '{"cmd": "grep -rn \\"TODO\\" src/", "limit": 5'  # truncated by the model


@pytest.mark.parametrize("shape", ["openai-chat", "openai-responses", "cohere"])
def test_row6_invalid_json_arguments_are_forwarded_unchanged(shape):
    events: list[Event] = [
        ("user", "find todos"),
        ("call", "bash", "call_1", INVALID_ARGUMENTS),
        ("result", "call_1", BIG),
    ]
    raw = json.dumps(RENDER[shape](events)).encode()
    result = default_engine().rewrite(raw, shape)
    assert result.body is not None
    literal = json.dumps(INVALID_ARGUMENTS).encode()
    assert raw.count(literal) == result.body.count(literal) == 1
    assert raw.split(literal)[0] == result.body.split(literal)[0]


# Row 7 --------------------------------------------------------------------------------------

JSON_ONLY_HERE = BIG + "Answer as a json object with the slowest requests.\n"


def _json_mode_body(shape: str, text: str) -> bytes:
    if shape == "openai-chat":
        body: dict[str, Any] = {
            "model": "gpt-4o",
            "response_format": {"type": "json_object"},
            "messages": [
                {"role": "system", "content": "Extract incidents."},
                {"role": "user", "content": text},
            ],
        }
    elif shape == "openai-responses":
        body = {"model": "gpt-4o", "text": {"format": {"type": "json_object"}}, "input": text}
    elif shape == "cohere":
        body = {
            "model": "command-a",
            "response_format": {"type": "json_object"},
            "messages": [{"role": "user", "content": text}],
        }
    else:
        body = {"model": "m", "response_format": {"type": "json_object"}, "prompt": text}
    return json.dumps(body).encode()


@pytest.mark.parametrize("shape", ["openai-chat", "openai-responses", "cohere", "openai-completions"])
def test_row7_json_keyword_only_in_the_leaf_reverts_the_rewrite(shape):
    raw = _json_mode_body(shape, JSON_ONLY_HERE)
    result = default_engine().rewrite(raw, shape)  # CutTransform drops the second half, "json" with it
    assert result.body is None
    assert [o.reason for o in result.slots if o.kind != "system"] == ["guard:json_keyword"]
    # With the keyword in the half that stays, the same rewrite goes through.
    kept = "Answer as a json object with the slowest requests.\n" + BIG
    assert default_engine().rewrite(_json_mode_body(shape, kept), shape).body is not None


# Row 13 -------------------------------------------------------------------------------------


def _anthropic_pair() -> tuple[bytes, bytes]:
    messages = json.loads(conversation("anthropic-messages", BIG))
    count = {k: v for k, v in messages.items() if k not in ("max_tokens", "stream")}
    messages["stream"] = True
    return json.dumps(messages).encode(), json.dumps(count).encode()


def _gemini_pair(wrapped: bool) -> tuple[bytes, bytes]:
    generate = json.loads(conversation("gemini", BIG))
    if wrapped:
        count = {"generateContentRequest": {"model": "models/gemini-2.5-pro", **generate}}
    else:
        count = {"contents": generate["contents"]}
    return json.dumps(generate).encode(), json.dumps(count).encode()


@pytest.mark.parametrize(
    ("shape", "pair", "strip"),
    [
        ("anthropic-messages", _anthropic_pair(), 0),
        ("gemini", _gemini_pair(wrapped=False), 0),
        ("gemini", _gemini_pair(wrapped=True), 1),
    ],
    ids=["anthropic-count_tokens", "gemini-countTokens", "gemini-countTokens-wrapped"],
)
@pytest.mark.parametrize("shared_memo", [False, True])
def test_row13_count_tokens_gets_the_same_rewrite(shape, pair, strip, shared_memo):
    generate, count = pair
    memo = MemoryMemo() if shared_memo else None
    first = default_engine(memo).rewrite(generate, shape)
    second = default_engine(memo).rewrite(count, shape)
    gen_slots = {o.path: o.emitted for o in first.slots if o.kind != "system"}
    count_slots = {o.path[strip:]: o.emitted for o in second.slots if o.kind != "system"}
    assert first.rewritten_slots
    assert gen_slots == count_slots
    key = "messages" if shape == "anthropic-messages" else "contents"
    count_value = json.loads(second.body)
    if strip:
        count_value = count_value["generateContentRequest"]
    assert json.loads(first.body)[key] == count_value[key]


def test_row13_openai_input_tokens_body_is_the_responses_body():
    raw = conversation("openai-responses", BIG)
    memo = MemoryMemo()
    first = default_engine(memo).rewrite(raw, "openai-responses")
    assert first.rewritten_slots  # the same bytes below are a rewrite, not two untouched bodies
    assert first.body == default_engine(memo).rewrite(raw, "openai-responses").body


# Row 14 -------------------------------------------------------------------------------------


def test_row14_five_cache_control_blocks_are_forwarded_as_is():
    marker = {"type": "ephemeral"}
    body = {
        "model": "claude-sonnet-4-5",
        "max_tokens": 1024,
        "system": [
            {"type": "text", "text": "You are terse.", "cache_control": marker},
            {
                "type": "text",
                "text": "Repository guide.",
                "cache_control": {"type": "ephemeral", "ttl": "1h"},
            },
        ],
        "messages": [
            {
                "role": "user",
                "content": [{"type": "text", "text": "Summarise the logs.", "cache_control": marker}],
            },
            {"role": "assistant", "content": [{"type": "tool_use", "id": "t1", "name": "logs", "input": {}}]},
            {
                "role": "user",
                "content": [
                    {
                        "type": "tool_result",
                        "tool_use_id": "t1",
                        "content": [{"type": "text", "text": BIG}],
                        "cache_control": marker,
                    },
                    {"type": "text", "text": BIG.upper(), "cache_control": marker},
                ],
            },
        ],
    }
    raw = json.dumps(body, indent=1).encode()
    result = default_engine().rewrite(raw, "anthropic-messages")
    assert result.body is not None
    assert len(result.rewritten_slots) == 2
    new = json.loads(result.body)
    assert raw.count(b'"cache_control"') == result.body.count(b'"cache_control"') == 5

    def markers(value: Any, path: tuple[Any, ...] = ()) -> list[tuple[tuple[Any, ...], Any]]:
        if isinstance(value, dict):
            own = [(path, value["cache_control"])] if "cache_control" in value else []
            return own + [m for k, v in value.items() for m in markers(v, (*path, k))]
        if isinstance(value, list):
            return [m for n, v in enumerate(value) for m in markers(v, (*path, n))]
        return []

    assert markers(new) == markers(body)
    paths = [s.path for s in get_shape("anthropic-messages").slots(body)]
    assert masked(new, paths) == masked(body, paths)


def test_scripted_text_engine_reaches_every_shape():
    """Sanity for the doubles the matrix relies on."""
    engine = make_engine(text_engine=ScriptedTextEngine({BIG: "short"}))
    for shape in ALL_SHAPES:
        assert engine.rewrite(conversation(shape, BIG), shape).rewritten_slots
