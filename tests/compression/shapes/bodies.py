"""Hypothesis strategies: random valid request bodies of every API, with their expected slots.

Each strategy draws `(body, expected)`, where `expected` maps the path of every string the
API allows to be rewritten (providers.md §5.2–§5.8) to its slot kind. It is written from
the allowlists, not from the shape modules, so a test comparing the two catches a shape
that takes too much or too little. Bodies carry the things that must never change:
assistant turns, tool calls with invalid-JSON arguments, thinking blocks with signatures,
images, cache markers, unknown future fields, odd number lexemes and escapes.
"""

from __future__ import annotations

import functools
import string
from collections.abc import Callable
from typing import Any

from hypothesis import strategies as st

from tests.compression.support import Num
from wiretrim.compression.jsonspan import Path

Expected = dict[Path, str]
Draw = Callable[[st.SearchStrategy[Any]], Any]

SNIPPETS = (
    '"',
    "\\",
    "/",
    "</script>",
    "&amp;",
    "<b>",
    "é",
    "日本語",
    "😀",
    "\n",
    "\t",
    "\r\n",
    "\x00",
    "\x1f",
    "\u2028",
    "\\u00e9",
    "\\/",
    "json",
    "JSON",
    "  ",
    '{"a": 1}',
    "C:\\path\\u00ab",
    "\x7f",
    "ﬁ",
)
RARE = ("\ud83d", "\udc00", "<|im_start|>", "[INST]", "\n\nHuman:")
LONG = ("lorem ipsum dolor sit amet " * 4, "line 1\nline 2\nline 3\n" * 5, "x" * 120)

# Text the model reads: often long enough for the test transform to change it.
_pieces = st.lists(
    st.one_of(st.text(max_size=30), st.sampled_from(SNIPPETS * 4 + LONG * 6 + RARE)),
    max_size=8,
).map("".join)
texts = st.one_of(_pieces, st.tuples(st.sampled_from(LONG), _pieces).map("".join))
short_texts = st.text(max_size=12)
ids = st.text(alphabet=string.ascii_letters + string.digits + "_-", min_size=1, max_size=12)
numbers = st.one_of(
    st.sampled_from(
        [
            Num(x)
            for x in (
                "0",
                "-0",
                "1.0",
                "1e3",
                "1E+400",
                "-2.5e-8",
                "0.1000",
                "9007199254740993",
                "123456789012345678901234567890",
                "1.5E10",
            )
        ]
    ),
    st.integers().map(lambda n: Num(str(n))),
)
scalars = st.one_of(st.none(), st.booleans(), numbers, short_texts, texts)
json_values = st.recursive(
    scalars,
    lambda c: st.lists(c, max_size=3) | st.dictionaries(st.text(max_size=8), c, max_size=3),
    max_leaves=8,
)
invalid_arguments = st.one_of(
    st.sampled_from(
        ['{"path": "a.py"', "{not json}", "", '{"a":1}{"b":2}', "null", '{"x": "\\ud800"}', "[1,]"]
    ),
    texts,
)
# OpenAI-style tool calls (chat completions, Cohere v2), with arguments that need not be JSON.
function_tool_calls = st.lists(
    st.builds(
        lambda i, n, a: {"id": i, "type": "function", "function": {"name": n, "arguments": a}},
        ids,
        ids,
        invalid_arguments,
    ),
    max_size=2,
)
cache_controls = st.sampled_from(
    [{"type": "ephemeral"}, {"type": "ephemeral", "ttl": "5m"}, {"type": "ephemeral", "ttl": "1h"}]
)
base64_data = st.sampled_from(
    [
        "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==",
        "JVBERi0xLjQKJcfsj6IK",
        "",
    ]
)


@functools.lru_cache(maxsize=512)
def _orders(keys: tuple[str, ...]) -> st.SearchStrategy[list[str]]:
    return st.permutations(keys)


_ONE_IN_SIX = st.integers(0, 5)
_BOOL = st.booleans()
_FUTURE_NAMES = st.text(alphabet=string.ascii_lowercase, max_size=4)


def obj(draw: Draw, fields: dict[str, Any], extra: bool = True) -> dict[str, Any]:
    """`fields` in a drawn key order, sometimes with an unknown (future API) field added."""
    keys = draw(_orders(tuple(fields)))
    out = {k: fields[k] for k in keys}
    if extra and draw(_ONE_IN_SIX) == 0:
        name = "x_future_" + draw(_FUTURE_NAMES)
        if name not in out:
            out[name] = draw(json_values)
    return out


def maybe(draw: Draw, fields: dict[str, Any], key: str, strategy: st.SearchStrategy[Any]) -> None:
    if draw(_BOOL):
        fields[key] = draw(strategy)


def top_level(draw: Draw, fields: dict[str, Any]) -> None:
    """Parameters every API has some of; all protected."""
    maybe(draw, fields, "temperature", numbers)
    maybe(draw, fields, "metadata", st.dictionaries(ids, st.one_of(short_texts, numbers), max_size=3))
    maybe(draw, fields, "stream", st.booleans())
    maybe(draw, fields, "max_tokens", numbers)


# -- OpenAI Chat Completions ------------------------------------------------------------------


@st.composite
def openai_chat(draw: Draw) -> tuple[dict[str, Any], Expected]:
    expected: Expected = {}
    messages: list[Any] = []
    for i in range(draw(st.integers(0, 7))):
        role = draw(
            st.sampled_from(["system", "developer", "user", "assistant", "tool", "function", "ipython"])
        )
        kind = {
            "system": "system",
            "developer": "system",
            "user": "user_text",
            "tool": "tool_result",
            "function": "tool_result",
        }.get(role)
        fields: dict[str, Any] = {"role": role}
        if role == "assistant":
            fields["content"] = draw(
                st.one_of(
                    st.none(),
                    texts,
                    st.lists(
                        st.one_of(
                            st.builds(lambda t: {"type": "text", "text": t}, texts),
                            st.builds(lambda t: {"type": "refusal", "refusal": t}, texts),
                        ),
                        max_size=2,
                    ),
                )
            )
            maybe(draw, fields, "tool_calls", function_tool_calls)
            maybe(draw, fields, "reasoning_content", texts)
            maybe(draw, fields, "prefix", st.just(True))
            maybe(draw, fields, "partial", st.just(True))
        elif draw(st.booleans()) or kind is None or role == "function":
            fields["content"] = draw(texts)
            if kind is not None:
                expected[("messages", i, "content")] = kind
        else:
            parts: list[Any] = []
            for j in range(draw(st.integers(0, 3))):
                part_kind = draw(
                    st.sampled_from(["text", "text", "image_url", "input_audio", "file", "input_text"])
                )
                if part_kind == "text":
                    part = {"type": "text", "text": draw(texts)}
                    maybe(draw, part, "cache_control", cache_controls)
                    expected[("messages", i, "content", j, "text")] = kind
                elif part_kind == "image_url":
                    part = {
                        "type": "image_url",
                        "image_url": {"url": "data:image/png;base64," + draw(base64_data)},
                    }
                elif part_kind == "input_audio":
                    part = {
                        "type": "input_audio",
                        "input_audio": {"data": draw(base64_data), "format": "wav"},
                    }
                elif part_kind == "file":
                    part = {"type": "file", "file": {"file_data": draw(base64_data), "filename": draw(texts)}}
                else:  # not a Chat Completions part type: protected
                    part = {"type": "input_text", "text": draw(texts)}
                parts.append(obj(draw, part))
            fields["content"] = parts
        if role == "tool":
            fields["tool_call_id"] = draw(ids)
        if role in ("function", "user", "system"):
            maybe(draw, fields, "name", ids)
        messages.append(obj(draw, fields))
    body: dict[str, Any] = {"model": draw(ids), "messages": messages}
    top_level(draw, body)
    maybe(
        draw,
        body,
        "tools",
        st.lists(
            st.builds(
                lambda n, d, p: {
                    "type": "function",
                    "function": {"name": n, "description": d, "parameters": p},
                },
                ids,
                texts,
                json_values,
            ),
            max_size=2,
        ),
    )
    maybe(
        draw,
        body,
        "response_format",
        st.sampled_from(
            [{"type": "json_object"}, {"type": "text"}, {"type": "json_schema", "json_schema": {"name": "x"}}]
        ),
    )
    maybe(draw, body, "n", st.just(1))
    maybe(draw, body, "prediction", st.builds(lambda t: {"type": "content", "content": t}, texts))
    maybe(draw, body, "logit_bias", st.dictionaries(st.integers(0, 99999).map(str), numbers, max_size=2))
    return obj(draw, body), expected


# -- OpenAI Responses -------------------------------------------------------------------------


@st.composite
def openai_responses(draw: Draw) -> tuple[dict[str, Any], Expected]:
    expected: Expected = {}
    body: dict[str, Any] = {"model": draw(ids)}
    if draw(st.booleans()):
        body["instructions"] = draw(texts)
        expected[("instructions",)] = "system"
    if draw(st.integers(0, 4)) == 0:
        body["input"] = draw(texts)
        expected[("input",)] = "user_text"
    else:
        items: list[Any] = []
        for i in range(draw(st.integers(0, 7))):
            kind_of_item = draw(
                st.sampled_from(
                    [
                        "message",
                        "message",
                        "function_call",
                        "function_call_output",
                        "custom_tool_call",
                        "custom_tool_call_output",
                        "reasoning",
                        "item_reference",
                        "local_shell_call_output",
                        "computer_call_output",
                        "mcp_call",
                    ]
                )
            )
            fields: dict[str, Any]
            if kind_of_item == "message":
                role = draw(st.sampled_from(["user", "system", "developer", "assistant"]))
                fields = {"role": role}
                if draw(st.booleans()):
                    fields["type"] = "message"
                if role == "assistant":
                    fields["content"] = [
                        obj(draw, {"type": "output_text", "text": draw(texts), "annotations": []})
                    ]
                    maybe(draw, fields, "id", ids)
                    maybe(draw, fields, "status", st.just("completed"))
                    maybe(draw, fields, "phase", st.sampled_from(["commentary", "final_answer"]))
                else:
                    kind = "user_text" if role == "user" else "system"
                    _parts(draw, fields, "content", ("input", i, "content"), kind, expected)
            elif kind_of_item in ("function_call_output", "custom_tool_call_output"):
                fields = {"type": kind_of_item, "call_id": draw(ids)}
                _parts(draw, fields, "output", ("input", i, "output"), "tool_result", expected)
            elif kind_of_item == "function_call":
                fields = {
                    "type": kind_of_item,
                    "call_id": draw(ids),
                    "name": draw(ids),
                    "arguments": draw(invalid_arguments),
                }
                maybe(draw, fields, "id", ids)
            elif kind_of_item == "custom_tool_call":
                fields = {"type": kind_of_item, "call_id": draw(ids), "name": draw(ids), "input": draw(texts)}
            elif kind_of_item == "reasoning":
                fields = {
                    "type": "reasoning",
                    "id": draw(ids),
                    "encrypted_content": draw(base64_data),
                    "summary": [{"type": "summary_text", "text": draw(texts)}],
                }
            elif kind_of_item == "item_reference":
                fields = {"type": "item_reference", "id": draw(ids)}
            elif kind_of_item == "local_shell_call_output":  # tool output, but not on the allowlist
                fields = {"type": kind_of_item, "id": draw(ids), "output": draw(texts)}
            elif kind_of_item == "computer_call_output":
                fields = {
                    "type": kind_of_item,
                    "call_id": draw(ids),
                    "output": {"type": "computer_screenshot", "image_url": draw(base64_data)},
                }
            else:
                fields = {
                    "type": kind_of_item,
                    "id": draw(ids),
                    "output": draw(texts),
                    "arguments": draw(texts),
                }
            items.append(obj(draw, fields))
        body["input"] = items
    top_level(draw, body)
    maybe(draw, body, "previous_response_id", ids)
    maybe(
        draw,
        body,
        "text",
        st.sampled_from(
            [{"format": {"type": "json_object"}}, {"format": {"type": "text"}}, {"verbosity": "low"}]
        ),
    )
    maybe(draw, body, "reasoning", st.just({"effort": "high", "summary": "auto"}))
    maybe(draw, body, "include", st.just(["reasoning.encrypted_content"]))
    maybe(draw, body, "prompt", st.builds(lambda i, v: {"id": i, "variables": {"x": v}}, ids, texts))
    return obj(draw, body), expected


def _parts(draw: Draw, fields: dict[str, Any], key: str, path: Path, kind: str, expected: Expected) -> None:
    """A Responses `content`/`output`: a string, or input_text (slots), images and files."""
    if draw(st.booleans()):
        fields[key] = draw(texts)
        expected[path] = kind
        return
    parts: list[Any] = []
    for j in range(draw(st.integers(0, 3))):
        part_kind = draw(
            st.sampled_from(["input_text", "input_text", "input_image", "input_file", "output_text"])
        )
        if part_kind == "input_text":
            parts.append(obj(draw, {"type": "input_text", "text": draw(texts)}))
            expected[(*path, j, "text")] = kind
        elif part_kind == "input_image":
            parts.append(
                obj(
                    draw,
                    {
                        "type": "input_image",
                        "image_url": "data:image/png;base64," + draw(base64_data),
                        "detail": "auto",
                    },
                )
            )
        elif part_kind == "input_file":
            parts.append(
                obj(draw, {"type": "input_file", "file_data": draw(base64_data), "filename": draw(ids)})
            )
        else:
            parts.append(obj(draw, {"type": "output_text", "text": draw(texts)}))
    fields[key] = parts


# -- OpenAI legacy completions ----------------------------------------------------------------


@st.composite
def openai_completions(draw: Draw) -> tuple[dict[str, Any], Expected]:
    expected: Expected = {}
    body: dict[str, Any] = {"model": draw(ids)}
    if draw(st.booleans()):
        body["prompt"] = draw(texts)
        expected[("prompt",)] = "user_text"
    else:
        prompts = draw(st.lists(texts, max_size=4, unique=True))
        body["prompt"] = prompts
        for i in range(len(prompts)):
            expected[("prompt", i)] = "user_text"
    top_level(draw, body)
    maybe(draw, body, "logprobs", st.integers(0, 5))
    maybe(draw, body, "stop", st.lists(short_texts, max_size=2))
    maybe(draw, body, "suffix", st.none())
    maybe(draw, body, "echo", st.just(False))
    maybe(draw, body, "best_of", st.just(1))
    return obj(draw, body), expected


# -- Anthropic Messages -----------------------------------------------------------------------


@st.composite
def anthropic_messages(draw: Draw) -> tuple[dict[str, Any], Expected]:
    expected: Expected = {}
    flavour = draw(st.sampled_from(["direct", "vertex", "bedrock"]))
    body: dict[str, Any] = {}
    if flavour == "direct":
        body["model"] = draw(ids)
    else:
        body["anthropic_version"] = "vertex-2023-10-16" if flavour == "vertex" else "bedrock-2023-05-31"
    body["max_tokens"] = draw(numbers)
    if draw(st.booleans()):
        if draw(st.booleans()):
            body["system"] = draw(texts)
            expected[("system",)] = "system"
        else:
            blocks = []
            for j in range(draw(st.integers(0, 3))):
                block = {"type": "text", "text": draw(texts)}
                maybe(draw, block, "cache_control", cache_controls)
                blocks.append(obj(draw, block))
                expected[("system", j, "text")] = "system"
            body["system"] = blocks
    messages: list[Any] = []
    for i in range(draw(st.integers(0, 6))):
        role = draw(st.sampled_from(["user", "assistant"]))
        if role == "assistant":
            content = draw(st.one_of(texts, st.lists(_assistant_block(), max_size=4)))
        elif draw(st.integers(0, 3)) == 0:
            content = draw(texts)
            expected[("messages", i, "content")] = "user_text"
        else:
            content = []
            for j in range(draw(st.integers(0, 4))):
                content.append(_user_block(draw, ("messages", i, "content", j), expected))
        messages.append(obj(draw, {"role": role, "content": content}))
    body["messages"] = messages
    top_level(draw, body)
    if flavour == "bedrock":
        body.pop("stream", None)
        maybe(draw, body, "anthropic_beta", st.just(["context-1m-2025-08-07"]))
    maybe(
        draw,
        body,
        "thinking",
        st.sampled_from([{"type": "enabled", "budget_tokens": Num("8000")}, {"type": "adaptive"}]),
    )
    maybe(draw, body, "cache_control", cache_controls)
    maybe(
        draw,
        body,
        "tools",
        st.lists(
            st.builds(
                lambda n, d, s: {"name": n, "description": d, "input_schema": s}, ids, texts, json_values
            ),
            max_size=2,
        ),
    )
    return obj(draw, body), expected


def _text_block(draw: Draw) -> dict[str, Any]:
    block: dict[str, Any] = {"type": "text", "text": draw(texts)}
    maybe(draw, block, "cache_control", cache_controls)
    return obj(draw, block)


def _user_block(draw: Draw, path: Path, expected: Expected) -> dict[str, Any]:
    kind_of_block = draw(
        st.sampled_from(
            [
                "text",
                "text",
                "cited_text",
                "image",
                "tool_result",
                "tool_result",
                "document",
                "search_result",
                "mid_conv_system",
                "future",
            ]
        )
    )
    if kind_of_block == "text":
        expected[(*path, "text")] = "user_text"
        return _text_block(draw)
    if kind_of_block == "cited_text":
        return obj(
            draw,
            {
                "type": "text",
                "text": draw(texts),
                "citations": [
                    {
                        "type": "char_location",
                        "cited_text": draw(texts),
                        "document_index": Num("0"),
                        "start_char_index": Num("0"),
                        "end_char_index": Num("5"),
                    }
                ],
            },
        )
    if kind_of_block == "image":
        return obj(
            draw,
            {
                "type": "image",
                "source": {"type": "base64", "media_type": "image/png", "data": draw(base64_data)},
            },
        )
    if kind_of_block == "tool_result":
        fields: dict[str, Any] = {"type": "tool_result", "tool_use_id": draw(ids)}
        if draw(st.booleans()):
            fields["content"] = draw(texts)
            expected[(*path, "content")] = "tool_result"
        else:
            inner: list[Any] = []
            for k in range(draw(st.integers(0, 3))):
                if draw(st.booleans()):
                    inner.append(_text_block(draw))
                    expected[(*path, "content", k, "text")] = "tool_result"
                else:
                    inner.append(
                        {
                            "type": "image",
                            "source": {
                                "type": "base64",
                                "media_type": "image/png",
                                "data": draw(base64_data),
                            },
                        }
                    )
            fields["content"] = inner
        maybe(draw, fields, "is_error", st.booleans())
        maybe(draw, fields, "cache_control", cache_controls)
        return obj(draw, fields)
    if kind_of_block == "document":
        citations = draw(st.sampled_from([None, {"enabled": True}, {"enabled": False}, {}]))
        open_text = citations is None or citations == {"enabled": False}
        source_kind = draw(st.sampled_from(["text", "content", "base64"]))
        if source_kind == "text":
            source = {"type": "text", "media_type": "text/plain", "data": draw(texts)}
            if open_text:
                expected[(*path, "source", "data")] = "document"
        elif source_kind == "content":
            blocks = [_text_block(draw) for _ in range(draw(st.integers(0, 2)))]
            source = {"type": "content", "content": blocks}
            if open_text:
                for k in range(len(blocks)):
                    expected[(*path, "source", "content", k, "text")] = "document"
        else:
            source = {"type": "base64", "media_type": "application/pdf", "data": draw(base64_data)}
        fields = {"type": "document", "source": obj(draw, source, extra=False)}
        if citations is not None:
            fields["citations"] = citations
        maybe(draw, fields, "title", texts)
        maybe(draw, fields, "context", texts)
        return obj(draw, fields)
    if kind_of_block == "search_result":
        return obj(
            draw,
            {
                "type": "search_result",
                "source": "https://example.com/a",
                "title": draw(texts),
                "content": [{"type": "text", "text": draw(texts)}],
                "citations": {"enabled": True},
            },
        )
    if kind_of_block == "mid_conv_system":
        blocks = [_text_block(draw) for _ in range(draw(st.integers(0, 2)))]
        for k in range(len(blocks)):
            expected[(*path, "content", k, "text")] = "system"
        return obj(draw, {"type": "mid_conv_system", "content": blocks})
    return obj(draw, {"type": "future_block", "text": draw(texts)})


@st.composite
def _assistant_block(draw: Draw) -> dict[str, Any]:
    kind_of_block = draw(
        st.sampled_from(
            [
                "text",
                "thinking",
                "redacted_thinking",
                "tool_use",
                "server_tool_use",
                "web_search_tool_result",
            ]
        )
    )
    if kind_of_block == "text":
        return _text_block(draw)
    if kind_of_block == "thinking":
        return obj(
            draw, {"type": "thinking", "thinking": draw(texts), "signature": draw(base64_data) + "Eq=="}
        )
    if kind_of_block == "redacted_thinking":
        return obj(draw, {"type": "redacted_thinking", "data": draw(base64_data)})
    if kind_of_block == "tool_use":
        return obj(
            draw,
            {
                "type": "tool_use",
                "id": draw(ids),
                "name": draw(ids),
                "input": draw(st.dictionaries(st.text(max_size=6), json_values, max_size=3)),
            },
        )
    if kind_of_block == "server_tool_use":
        return obj(
            draw,
            {
                "type": "server_tool_use",
                "id": draw(ids),
                "name": "web_search",
                "input": {"query": draw(texts)},
            },
        )
    return obj(
        draw,
        {
            "type": "web_search_tool_result",
            "tool_use_id": draw(ids),
            "content": [
                {
                    "type": "web_search_result",
                    "url": "https://example.com",
                    "title": draw(texts),
                    "encrypted_content": draw(base64_data),
                }
            ],
        },
    )


# -- Gemini -----------------------------------------------------------------------------------


def _k(draw: Draw, camel: str) -> str:
    """`camel` or its snake_case twin (proto3 JSON takes both, even mixed in one body)."""
    snake = "".join("_" + c.lower() if c.isupper() else c for c in camel)
    return draw(st.sampled_from([camel, snake])) if snake != camel else camel


@st.composite
def gemini(draw: Draw) -> tuple[dict[str, Any], Expected]:
    expected: Expected = {}
    body: dict[str, Any] = {}
    wrap = draw(st.integers(0, 5)) == 0  # countTokens' generateContentRequest form
    prefix: Path = (_k(draw, "generateContentRequest"),) if wrap else ()
    request: dict[str, Any] = {}
    if draw(st.booleans()):
        key = _k(draw, "systemInstruction")
        parts = []
        for j in range(draw(st.integers(0, 2))):
            parts.append({"text": draw(texts)})
            expected[(*prefix, key, "parts", j, "text")] = "system"
        system: dict[str, Any] = {"parts": parts}
        maybe(draw, system, "role", st.just("system"))
        request[key] = obj(draw, system)
    contents: list[Any] = []
    for i in range(draw(st.integers(0, 6))):
        role = draw(st.sampled_from(["user", "user", "model", None, "function"]))
        parts = []
        for j in range(draw(st.integers(0, 3))):
            parts.append(_gemini_part(draw, role, (*prefix, "contents", i, "parts", j), expected))
        content: dict[str, Any] = {"parts": parts}
        if role is not None:
            content["role"] = role
        contents.append(obj(draw, content))
    request["contents"] = contents
    if draw(st.booleans()):
        request[_k(draw, "generationConfig")] = obj(
            draw,
            {
                _k(draw, "responseMimeType"): "application/json",
                _k(draw, "responseSchema"): {"type": "OBJECT", "properties": {"a": {"type": "STRING"}}},
                _k(draw, "thinkingConfig"): {_k(draw, "thinkingBudget"): draw(numbers)},
                _k(draw, "temperature"): draw(numbers),
            },
        )
    maybe(
        draw,
        request,
        _k(draw, "safetySettings"),
        st.just([{"category": "HARM_CATEGORY_HARASSMENT", "threshold": "BLOCK_NONE"}]),
    )
    maybe(draw, request, _k(draw, "cachedContent"), st.just("cachedContents/abc123"))
    maybe(
        draw,
        request,
        "tools",
        st.just([{"functionDeclarations": [{"name": "get", "description": "x" * 50}]}]),
    )
    request = obj(draw, request)
    if wrap:
        body[prefix[0]] = request
        maybe(draw, body, "model", st.just("models/gemini-2.5-flash"))
        return obj(draw, body, extra=False), expected
    return request, expected


def _gemini_part(draw: Draw, role: str | None, path: Path, expected: Expected) -> dict[str, Any]:
    user = role in (None, "user")
    kind_of_part = draw(
        st.sampled_from(
            [
                "text",
                "text",
                "thought",
                "signed_text",
                "inline",
                "file",
                "function_call",
                "function_response",
                "function_response",
                "code",
            ]
        )
    )
    if kind_of_part == "text":
        if user:
            expected[(*path, "text")] = "user_text"
        return {"text": draw(texts)}
    if kind_of_part == "thought":
        return obj(draw, {"text": draw(texts), "thought": True})
    if kind_of_part == "signed_text":
        return obj(draw, {"text": draw(texts), _k(draw, "thoughtSignature"): draw(base64_data) + "Cs4B"})
    if kind_of_part == "inline":
        return {_k(draw, "inlineData"): {_k(draw, "mimeType"): "image/png", "data": draw(base64_data)}}
    if kind_of_part == "file":
        return {
            _k(draw, "fileData"): {_k(draw, "mimeType"): "application/pdf", _k(draw, "fileUri"): "gs://b/f"}
        }
    if kind_of_part == "function_call":
        fields = {
            _k(draw, "functionCall"): {
                "name": draw(ids),
                "args": draw(st.dictionaries(st.text(max_size=6), json_values, max_size=3)),
            }
        }
        maybe(draw, fields, _k(draw, "thoughtSignature"), base64_data)
        return obj(draw, fields, extra=False)
    if kind_of_part == "code":
        return {_k(draw, "executableCode"): {"language": "PYTHON", "code": draw(texts)}}
    key = _k(draw, "functionResponse")
    response = draw(st.dictionaries(st.text(max_size=8), json_values, max_size=4))
    if role in (None, "user", "function"):
        _leaves(response, (*path, key, "response"), expected)
    fr: dict[str, Any] = {"name": draw(ids), "response": response}
    maybe(draw, fr, "id", ids)
    return {key: obj(draw, fr, extra=False)}


def _leaves(node: Any, path: Path, expected: Expected) -> None:
    if isinstance(node, str):
        expected[path] = "tool_result"
    elif isinstance(node, dict):
        for k, v in node.items():
            _leaves(v, (*path, k), expected)
    elif isinstance(node, list):
        for n, v in enumerate(node):
            _leaves(v, (*path, n), expected)


# -- Cohere v2 --------------------------------------------------------------------------------


@st.composite
def cohere(draw: Draw) -> tuple[dict[str, Any], Expected]:
    expected: Expected = {}
    messages: list[Any] = []
    for i in range(draw(st.integers(0, 6))):
        role = draw(st.sampled_from(["system", "user", "assistant", "tool"]))
        kind = {"system": "system", "user": "user_text", "tool": "tool_result"}.get(role)
        fields: dict[str, Any] = {"role": role}
        if role == "assistant":
            maybe(draw, fields, "content", st.one_of(texts, st.just([{"type": "text", "text": "done"}])))
            maybe(draw, fields, "tool_plan", texts)
            maybe(draw, fields, "tool_calls", function_tool_calls)
            maybe(
                draw,
                fields,
                "citations",
                st.just(
                    [
                        {
                            "start": Num("0"),
                            "end": Num("4"),
                            "text": "abcd",
                            "sources": [{"type": "document", "id": "d1"}],
                        }
                    ]
                ),
            )
        elif draw(st.booleans()):
            fields["content"] = draw(texts)
            expected[("messages", i, "content")] = str(kind)
        else:
            parts: list[Any] = []
            for j in range(draw(st.integers(0, 3))):
                if draw(st.booleans()) or role != "tool":
                    parts.append(obj(draw, {"type": "text", "text": draw(texts)}))
                    expected[("messages", i, "content", j, "text")] = str(kind)
                else:
                    parts.append(
                        {
                            "type": "document",
                            "document": {
                                "id": draw(ids),
                                "data": draw(st.one_of(texts, st.dictionaries(ids, texts, max_size=2))),
                            },
                        }
                    )
            fields["content"] = parts
        if role == "tool":
            fields["tool_call_id"] = draw(ids)
        messages.append(obj(draw, fields))
    body: dict[str, Any] = {"model": draw(ids), "messages": messages}
    top_level(draw, body)
    maybe(
        draw,
        body,
        "documents",
        st.lists(
            st.one_of(texts, st.builds(lambda i, d: {"id": i, "data": {"text": d}}, ids, texts)), max_size=2
        ),
    )
    maybe(draw, body, "response_format", st.sampled_from([{"type": "json_object"}, {"type": "text"}]))
    maybe(draw, body, "citation_options", st.just({"mode": "ACCURATE"}))
    return obj(draw, body), expected


# -- Ollama /api/chat -------------------------------------------------------------------------


@st.composite
def ollama(draw: Draw) -> tuple[dict[str, Any], Expected]:
    expected: Expected = {}
    messages: list[Any] = []
    for i in range(draw(st.integers(0, 6))):
        role = draw(st.sampled_from(["system", "user", "assistant", "tool"]))
        fields: dict[str, Any] = {"role": role, "content": draw(texts)}
        kind = {"system": "system", "user": "user_text", "tool": "tool_result"}.get(role)
        if kind is not None:
            expected[("messages", i, "content")] = kind
        if role == "user":
            maybe(draw, fields, "images", st.lists(base64_data, max_size=2))
        elif role == "assistant":
            maybe(draw, fields, "thinking", texts)
            maybe(
                draw,
                fields,
                "tool_calls",
                st.lists(
                    st.builds(
                        lambda n, a: {"function": {"name": n, "arguments": a}},
                        ids,
                        st.dictionaries(ids, json_values, max_size=2),
                    ),
                    max_size=2,
                ),
            )
        elif role == "tool":
            maybe(draw, fields, "tool_name", ids)
        messages.append(obj(draw, fields))
    body: dict[str, Any] = {"model": draw(ids), "messages": messages}
    maybe(draw, body, "format", st.sampled_from(["json", {"type": "object"}]))
    maybe(draw, body, "options", st.builds(lambda n, t: {"num_ctx": n, "temperature": t}, numbers, numbers))
    maybe(draw, body, "stream", st.booleans())
    maybe(draw, body, "think", st.booleans())
    maybe(draw, body, "keep_alive", st.sampled_from(["5m", Num("0")]))
    return obj(draw, body), expected


BODIES: dict[str, st.SearchStrategy[tuple[dict[str, Any], Expected]]] = {
    "openai-chat": openai_chat(),
    "openai-responses": openai_responses(),
    "openai-completions": openai_completions(),
    "anthropic-messages": anthropic_messages(),
    "gemini": gemini(),
    "cohere": cohere(),
    "ollama": ollama(),
}


# -- anything at all, spelled with the APIs' own keys -----------------------------------------

VOCABULARY = (
    "messages",
    "role",
    "content",
    "text",
    "type",
    "tool_calls",
    "tool_call_id",
    "function",
    "name",
    "arguments",
    "input",
    "output",
    "instructions",
    "call_id",
    "prompt",
    "system",
    "tool_result",
    "tool_use_id",
    "source",
    "data",
    "citations",
    "enabled",
    "document",
    "mid_conv_system",
    "contents",
    "parts",
    "systemInstruction",
    "system_instruction",
    "functionResponse",
    "function_response",
    "response",
    "thought",
    "thoughtSignature",
    "generateContentRequest",
    "tool_name",
    "user",
    "assistant",
    "tool",
    "model",
    "n",
    "best_of",
    "echo",
    "suffix",
    "response_format",
    "json_object",
    "format",
    "stream",
    "id",
)
garbage_values = st.recursive(
    st.one_of(
        st.none(),
        st.booleans(),
        st.integers(),
        st.floats(allow_nan=False),
        st.sampled_from(VOCABULARY),
        st.text(max_size=10),
    ),
    lambda c: st.lists(c, max_size=4) | st.dictionaries(st.sampled_from(VOCABULARY), c, max_size=5),
    max_leaves=30,
)
garbage = st.dictionaries(st.sampled_from(VOCABULARY), garbage_values, max_size=6)
