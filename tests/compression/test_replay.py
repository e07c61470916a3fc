"""Conversation replay: request k+1 is request k plus new turns; what k already held must come
out of the engine exactly as it did for k (slot texts and bytes), per API shape.

Request bodies are built the way agents resend history, with the growing list as the last
key, so that request k's bytes minus its closing brackets are a prefix of request k+1's.
The tool outputs include a repeat (a reference), new user text between calls (a new query),
and characters that appear raw only in later turns (non-ASCII, `</a>`, `&`, `/`): the
escaping style of a rewritten literal must not depend on what follows it.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable
from typing import Any

import pytest

from tests.compression.support import OPEN_GATES, Style, UpperTransform, dump, make_engine
from wiretrim.compression import Engine
from wiretrim.compression.memo import MemoryMemo

Event = tuple[str, ...]


def _lines(tag: str, n: int) -> str:
    return "".join(f"{tag} line {i}: value={i * 7} status=ok\n" for i in range(n))


# A user question, then calls and results; new user text in between; one result repeats.
EVENTS: list[Event] = [
    ("user", "Why does `test_parse` fail in parser/core.py?"),
    ("call", "bash", "call_1", '{"cmd": "pytest -x"'),
    ("result", "call_1", _lines("pytest", 30)),
    ("call", "read", "call_2", '{"path": "parser/core.py"}'),
    ("result", "call_2", _lines("source", 40)),
    ("user", "Look at `tokenize` too, and the café/naïve handling 😀."),
    ("call", "grep", "call_3", '{"pattern": "tokenize"}'),
    ("result", "call_3", _lines("grep", 25) + "naïve café </a> & a/b\n"),
    ("call", "bash", "call_4", '{"cmd": "pytest -x"}'),
    ("result", "call_4", _lines("pytest", 30)),
    ("call", "read", "call_5", '{"path": "ünïcode.py"}'),
    ("result", "call_5", "Ünïcödé ✓ <b>bold</b> & more/paths\n" * 20),
]
SYSTEM = "You are a careful coding agent."


def _chat(events: list[Event]) -> dict[str, Any]:
    messages: list[Any] = [{"role": "system", "content": SYSTEM}]
    for e in events:
        if e[0] == "user":
            messages.append({"role": "user", "content": e[1]})
        elif e[0] == "call":
            messages.append(
                {
                    "role": "assistant",
                    "content": None,
                    "tool_calls": [
                        {"id": e[2], "type": "function", "function": {"name": e[1], "arguments": e[3]}}
                    ],
                }
            )
        else:
            messages.append({"role": "tool", "tool_call_id": e[1], "content": e[2]})
    return {"model": "gpt-5.5", "temperature": 0.0, "messages": messages}


def _responses(events: list[Event]) -> dict[str, Any]:
    items: list[Any] = []
    for e in events:
        if e[0] == "user":
            items.append({"role": "user", "content": [{"type": "input_text", "text": e[1]}]})
        elif e[0] == "call":
            items.append({"type": "function_call", "call_id": e[2], "name": e[1], "arguments": e[3]})
        else:
            items.append({"type": "function_call_output", "call_id": e[1], "output": e[2]})
    return {"model": "gpt-5.5", "instructions": SYSTEM, "store": False, "input": items}


def _anthropic(events: list[Event]) -> dict[str, Any]:
    messages: list[Any] = []
    for n, e in enumerate(events):
        if e[0] == "user":
            messages.append({"role": "user", "content": e[1]})
        elif e[0] == "call":
            messages.append(
                {
                    "role": "assistant",
                    "content": [
                        {"type": "thinking", "thinking": "Next step.", "signature": f"Eq{n}=="},
                        {"type": "tool_use", "id": e[2], "name": e[1], "input": {"raw": e[3]}},
                    ],
                }
            )
        else:
            content: Any = e[2] if n % 4 else [{"type": "text", "text": e[2]}]
            messages.append(
                {
                    "role": "user",
                    "content": [{"type": "tool_result", "tool_use_id": e[1], "content": content}],
                }
            )
    return {
        "model": "claude-sonnet-4-5",
        "max_tokens": 4096,
        "system": [{"type": "text", "text": SYSTEM, "cache_control": {"type": "ephemeral"}}],
        "messages": messages,
    }


def _gemini(events: list[Event]) -> dict[str, Any]:
    contents: list[Any] = []
    names: dict[str, str] = {}
    for n, e in enumerate(events):
        if e[0] == "user":
            contents.append({"role": "user", "parts": [{"text": e[1]}]})
        elif e[0] == "call":
            names[e[2]] = e[1]
            contents.append(
                {
                    "role": "model",
                    "parts": [
                        {"functionCall": {"name": e[1], "args": {"raw": e[3]}}, "thoughtSignature": f"Cs{n}B"}
                    ],
                }
            )
        else:
            contents.append(
                {
                    "role": "user",
                    "parts": [
                        {"functionResponse": {"name": names[e[1]], "response": {"output": e[2], "exit": 0}}}
                    ],
                }
            )
    return {
        "systemInstruction": {"parts": [{"text": SYSTEM}]},
        "generationConfig": {"temperature": 0},
        "contents": contents,
    }


def _cohere(events: list[Event]) -> dict[str, Any]:
    messages: list[Any] = [{"role": "system", "content": SYSTEM}]
    for e in events:
        if e[0] == "user":
            messages.append({"role": "user", "content": e[1]})
        elif e[0] == "call":
            messages.append(
                {
                    "role": "assistant",
                    "tool_plan": "calling",
                    "tool_calls": [
                        {"id": e[2], "type": "function", "function": {"name": e[1], "arguments": e[3]}}
                    ],
                }
            )
        else:
            messages.append(
                {"role": "tool", "tool_call_id": e[1], "content": [{"type": "text", "text": e[2]}]}
            )
    return {"model": "command-a-03-2025", "messages": messages}


def _ollama(events: list[Event]) -> dict[str, Any]:
    messages: list[Any] = [{"role": "system", "content": SYSTEM}]
    names: dict[str, str] = {}
    for e in events:
        if e[0] == "user":
            messages.append({"role": "user", "content": e[1]})
        elif e[0] == "call":
            names[e[2]] = e[1]
            messages.append(
                {
                    "role": "assistant",
                    "content": "",
                    "tool_calls": [{"function": {"name": e[1], "arguments": {"raw": e[3]}}}],
                }
            )
        else:
            messages.append({"role": "tool", "tool_name": names[e[1]], "content": e[2]})
    return {"model": "llama3.2", "stream": False, "messages": messages}


RENDER: dict[str, Callable[[list[Event]], dict[str, Any]]] = {
    "openai-chat": _chat,
    "openai-responses": _responses,
    "anthropic-messages": _anthropic,
    "gemini": _gemini,
    "cohere": _cohere,
    "ollama": _ollama,
}
STYLES = {
    "raw": Style(),
    "ascii": Style(ascii=True),
    "go": Style(ascii=False, html=True),
    "php": Style(ascii=True, slash=True, upper=True),
    "pretty": Style(indent=2, colon=": ", comma=","),
}


def requests(shape: str, style: Style) -> list[bytes]:
    """Request k holds the events up to the k-th tool result or user turn."""
    cuts = [n + 1 for n, e in enumerate(EVENTS) if e[0] in ("user", "result")]
    return [dump(RENDER[shape](EVENTS[:cut]), style) for cut in cuts]


def emitted(engine: Engine, raw: bytes, shape: str) -> tuple[bytes, dict[Any, str]]:
    result = engine.rewrite(raw, shape)
    assert result.skipped is None
    return (result.body if result.body is not None else raw), {o.path: o.emitted for o in result.slots}


def common_prefix(a: bytes, b: bytes) -> int:
    n = 0
    for x, y in zip(a, b, strict=False):
        if x != y:
            break
        n += 1
    return n


def assert_replay_stable(shape: str, raws: list[bytes], engines: Callable[[int], Engine]) -> int:
    """Every request re-emits what the previous one emitted; returns how many slots were rewritten."""
    previous: tuple[bytes, bytes, dict[Any, str]] | None = None
    rewritten = 0
    for k, raw in enumerate(raws):
        out, slots = emitted(engines(k), raw, shape)
        rewritten += sum(1 for path, text in slots.items() if text != _original(raw, path))
        if previous is not None:
            prev_raw, prev_out, prev_slots = previous
            for path, text in prev_slots.items():
                assert slots[path] == text, f"request {k + 1}: {path} emitted differently"
            # The bytes: request k's output minus its closing brackets starts request k+1's output.
            tail = len(prev_raw) - common_prefix(prev_raw, raw)
            shared = prev_out[: len(prev_out) - tail]
            assert out.startswith(shared), f"request {k + 1}: byte prefix of request {k} changed"
        previous = (raw, out, slots)
    return rewritten


def _original(raw: bytes, path: tuple[Any, ...]) -> Any:
    node: Any = json.loads(raw)
    for step in path:
        node = node[step]
    return node


SHAPES = list(RENDER)


@pytest.mark.parametrize("style", list(STYLES), ids=list(STYLES))
@pytest.mark.parametrize("shape", SHAPES)
def test_replay_without_memo_is_prefix_stable(shape, style):
    """The rewrite is a function of the slot and what precedes it: no memo needed."""
    raws = requests(shape, STYLES[style])
    assert assert_replay_stable(shape, raws, lambda k: make_engine()) > len(raws)


@pytest.mark.parametrize("shape", SHAPES)
def test_replay_with_memo_is_prefix_stable(shape):
    engine = make_engine(memo=MemoryMemo())
    raws = requests(shape, STYLES["raw"])
    assert_replay_stable(shape, raws, lambda k: engine)


@pytest.mark.parametrize("shape", SHAPES)
def test_replay_across_a_config_change_holds_through_the_memo(shape):
    memo = MemoryMemo()
    before = make_engine(memo=memo)
    after = make_engine(
        dataclasses.replace(OPEN_GATES, min_slot_tokens=120), memo=memo, transform=UpperTransform()
    )
    raws = requests(shape, STYLES["ascii"])
    assert_replay_stable(shape, raws, lambda k: before if k < 3 else after)
    # Without the memo the same change breaks the prefix: the memo is what holds it.
    with pytest.raises(AssertionError):
        assert_replay_stable(
            shape, raws, lambda k: make_engine() if k < 3 else make_engine(transform=UpperTransform())
        )


def test_replay_is_exercised_in_every_style():
    assert set(RENDER) == {
        "openai-chat",
        "openai-responses",
        "anthropic-messages",
        "gemini",
        "cohere",
        "ollama",
    }
    # Later requests carry raw non-ASCII that the first ones lack: the prefix-style case is real.
    raws = requests("openai-chat", STYLES["raw"])
    assert raws[0].isascii() and not raws[-1].isascii()
