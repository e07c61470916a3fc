"""Bad request bodies through the addon (issue 8): the original bytes go upstream, one log line says why.

Every case runs the real engine (the light one: real transforms, a word counter) in `on` mode
with eager thresholds, so a body that survived the gates would be rewritten. Each test checks
what left the addon (bytes and headers), the one ``wiretrim`` log line, that nothing was logged
at WARNING or above, and that the flow can still be saved (``mitmdump -w``).
"""

from __future__ import annotations

import gzip
import io
import json
import logging
import tracemalloc
import zlib
from collections.abc import Callable
from typing import Any

import brotli
import pytest
from mitmproxy import http
from mitmproxy import io as mitmio

from tests.addon.bodies import ANTHROPIC_URL, EAGER, OPENAI_URL, anthropic_tool_chat, encode, openai_tool_chat
from tests.addon.conftest import Harness, api_flow, run_request
from wiretrim.addon import flowio, report
from wiretrim.compression.jsonspan import parse

try:
    from compression import zstd  # type: ignore[import-not-found]
except ImportError:
    from backports import zstd

Make = Callable[..., Harness]
MB = 1024 * 1024
BIG_TEXT = json.dumps(
    {"rows": [{"id": i, "name": f"row-{i}", "tags": ["a", "b"]} for i in range(40)]}, indent=2
)


def tool_chat_bytes(tool_literal: bytes) -> bytes:
    """An OpenAI tool chat whose tool result literal is exactly `tool_literal` (quotes included)."""
    template = encode(openai_tool_chat("@@TOOL@@"))
    return template.replace(b'"@@TOOL@@"', tool_literal)


def literal(text: str) -> bytes:
    return json.dumps(text).encode()


def gzip_bomb(decoded_mb: int) -> bytes:
    """`decoded_mb` MB of spaces inside a JSON string, as concatenated gzip members (cheap to build)."""
    member = gzip.compress(b" " * (8 * MB), compresslevel=9)
    head = gzip.compress(b'{"model":"m","messages":[{"role":"user","content":"')
    tail = gzip.compress(b'"}]}')
    return head + member * (decoded_mb // 8) + tail


def bomb(coding: str, decoded_mb: int = 64) -> bytes:
    """A JSON body of `decoded_mb` MB of spaces in one content coding."""
    body = b'{"model":"m","messages":[{"role":"user","content":"' + b" " * (decoded_mb * MB) + b'"}]}'
    if coding == "br":
        return brotli.compress(body, quality=1)
    if coding == "zstd":
        return zstd.compress(body)
    c = zlib.compressobj(1)
    return c.compress(body) + c.flush()


def deep(levels: int) -> bytes:
    return b'{"model":"m","messages":[],"metadata":' + b"[" * levels + b"]" * levels + b"}"


def wiretrim_records(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.name == "wiretrim"]


def the_line(caplog: pytest.LogCaptureFixture) -> str:
    """The one wiretrim line of the request; nothing at WARNING or above from anyone."""
    (record,) = wiretrim_records(caplog)
    assert [r for r in caplog.records if r.levelno >= logging.WARNING] == []
    return record.getMessage()


def saved(flow: http.HTTPFlow) -> None:
    """The flow, with what the addon put on it, can be written by ``mitmdump -w``."""
    mitmio.FlowWriter(io.BytesIO()).add(flow)


async def send(
    h: Harness, url: str, body: bytes, headers: dict[str, str] | None = None
) -> tuple[http.HTTPFlow, list[tuple[bytes, bytes]]]:
    if h.addon.setup is not None:
        await h.addon.setup.runner.started()
    flow = api_flow(url, body, headers)
    flow_headers = list(flow.request.headers.fields)
    await run_request(h.addon, flow)
    return flow, flow_headers


def chat() -> bytes:
    """A tool chat the engine would rewrite."""
    return encode(openai_tool_chat(BIG_TEXT))


def with_field(raw: str) -> bytes:
    return chat()[:-1] + b", " + raw.encode() + b"}"


GZIP = {"content-encoding": "gzip"}
SKIPPED = [
    pytest.param(lambda: chat()[:-300], {}, "invalid_json", id="truncated JSON"),
    pytest.param(lambda: tool_chat_bytes(b'"abc\\u00'), {}, "invalid_json", id="truncated inside an escape"),
    pytest.param(lambda: chat().replace(b"row-7", b"row-\xff\xfe"), {}, "invalid_utf8", id="invalid UTF-8"),
    pytest.param(lambda: tool_chat_bytes(b'"abc \xe6\x97"'), {}, "invalid_utf8", id="a cut UTF-8 sequence"),
    pytest.param(
        lambda: json.dumps(openai_tool_chat(BIG_TEXT)).encode("utf-16"), {}, "invalid_utf8", id="UTF-16"
    ),
    pytest.param(
        lambda: tool_chat_bytes(b'"short", "content": ' + literal(BIG_TEXT)),
        {},
        "duplicate_keys",
        id="duplicate keys",
    ),
    pytest.param(lambda: with_field('"temperature": NaN'), {}, "non_finite_number", id="NaN"),
    pytest.param(lambda: with_field('"top_p": Infinity'), {}, "non_finite_number", id="Infinity"),
    pytest.param(lambda: with_field('"seed": -Infinity'), {}, "non_finite_number", id="-Infinity"),
    pytest.param(
        lambda: with_field('"seed": 1' + "0" * 4999), {}, "invalid_json", id="a 5,000-digit integer"
    ),
    pytest.param(lambda: deep(10_000), {}, "too_deep", id="nesting 10,000 levels deep"),
    pytest.param(lambda: encode(openai_tool_chat("x" * (50 * MB))), {}, "too_large", id="a 50 MB body"),
    pytest.param(lambda: b"", {}, "empty_body", id="an empty body"),
    pytest.param(lambda: b" \r\n\t ", {}, "invalid_json", id="whitespace only"),
    pytest.param(lambda: b"[" + chat() + b"]", {}, "not_an_object", id="a JSON array"),
    pytest.param(lambda: literal(BIG_TEXT), {}, "not_an_object", id="a JSON string"),
    pytest.param(lambda: b"\xef\xbb\xbf" + chat(), {}, "byte_order_mark", id="a byte order mark"),
    pytest.param(lambda: gzip_bomb(1024), GZIP, "too_large", id="a gzip bomb (1 GB decoded)"),
    pytest.param(lambda: bomb("deflate"), {"content-encoding": "deflate"}, "too_large", id="a deflate bomb"),
    pytest.param(lambda: bomb("br"), {"content-encoding": "br"}, "too_large", id="a brotli bomb"),
    pytest.param(lambda: bomb("zstd"), {"content-encoding": "zstd"}, "too_large", id="a zstd bomb"),
    pytest.param(chat, {"content-encoding": "compress"}, "content_encoding", id="an unknown content coding"),
    pytest.param(chat, {"content-encoding": "gzip, br"}, "content_encoding", id="stacked content codings"),
    pytest.param(chat, GZIP, "content_encoding", id="gzip declared, plain JSON sent"),
    pytest.param(lambda: gzip.compress(chat())[:-20], GZIP, "content_encoding", id="a truncated gzip stream"),
    pytest.param(
        lambda: b"model=m&messages=hi",
        {"content-type": "application/x-www-form-urlencoded"},
        "content_type",
        id="a form body",
    ),
    pytest.param(chat, {"content-type": ""}, "content_type", id="no content type"),
    pytest.param(lambda: encode(openai_tool_chat(BIG_TEXT, n=3)), {}, "n>1", id="n above one"),
]


@pytest.mark.parametrize(("body", "headers", "reason"), SKIPPED)
async def test_bad_bodies_go_upstream_as_sent_with_one_skip_line(
    make_harness: Make,
    caplog: pytest.LogCaptureFixture,
    body: Callable[[], bytes],
    headers: dict[str, str],
    reason: str,
) -> None:
    caplog.set_level(logging.DEBUG)
    h = make_harness(EAGER)
    client = body()
    flow, client_headers = await send(h, OPENAI_URL, client, headers)
    assert flow.request.raw_content == client
    assert list(flow.request.headers.fields) == client_headers
    data = flow.metadata[report.KEY]
    assert (data["action"], data["reason"], data["rewritten"]) == ("skipped", reason, False)
    line = the_line(caplog)
    assert f" action=skipped:{reason} " in line and "mode=on" in line
    assert flow.comment == f"wiretrim skipped: {reason}"
    saved(flow)


def test_a_gzip_bomb_is_decoded_only_up_to_the_cap() -> None:
    bomb = gzip_bomb(1024)
    assert len(bomb) < 2 * MB  # 1 GB behind under 2 MB
    limit = 32 * MB
    tracemalloc.start()
    try:
        with pytest.raises(flowio.NotRewritableError) as e:
            flowio.decode(bomb, "gzip", limit)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert e.value.reason == "too_large"
    assert peak < 2.5 * limit, f"decoding held {peak / MB:.0f} MB"


# -- bodies that are odd but safe to rewrite: only the slot changes, odd bytes stay as they are --


def only_inside(raw: bytes, out: bytes, span: tuple[int, int]) -> None:
    """`raw` and `out` differ only inside the literal at `span` of `raw`."""
    prefix = 0
    while prefix < min(len(raw), len(out)) and raw[prefix] == out[prefix]:
        prefix += 1
    suffix = 0
    while suffix < min(len(raw), len(out)) - prefix and raw[-1 - suffix] == out[-1 - suffix]:
        suffix += 1
    assert span[0] <= prefix and len(raw) - suffix <= span[1]


async def test_a_lone_surrogate_leaves_its_slot_alone(
    make_harness: Make, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    h = make_harness(EAGER)
    client = tool_chat_bytes(literal("\ud83d" + BIG_TEXT))
    assert b"\\ud83d" in client
    flow, _ = await send(h, OPENAI_URL, client)
    assert flow.request.raw_content == client
    data = flow.metadata[report.KEY]
    assert data["action"] == "unchanged"
    assert {tuple(s["path"]): s["reason"] for s in data["slots"]}[("messages", 3, "content")] == "unencodable"
    assert " action=unchanged " in the_line(caplog)
    saved(flow)


async def test_a_lone_surrogate_in_one_slot_does_not_stop_another(make_harness: Make) -> None:
    h = make_harness(EAGER)
    doc = openai_tool_chat(BIG_TEXT)
    doc["messages"].insert(3, {"role": "tool", "tool_call_id": "call_0", "content": "\udc00" + BIG_TEXT})
    client = encode(doc)
    flow, _ = await send(h, OPENAI_URL, client)
    out = flow.request.raw_content or b""
    reasons = {tuple(s["path"]): s["reason"] for s in flow.metadata[report.KEY]["slots"]}
    assert reasons[("messages", 3, "content")] == "unencodable"
    assert reasons[("messages", 4, "content")] == "compressed"
    span = parse(client).spans([("messages", 4, "content")])[("messages", 4, "content")]
    only_inside(client, out, span)
    saved(flow)


async def test_a_lone_surrogate_in_the_model_name_still_saves(
    make_harness: Make, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    h = make_harness(EAGER)
    client = encode(openai_tool_chat(BIG_TEXT)).replace(b'"gpt-4o-mini"', b'"gpt\\ud800"')
    flow, _ = await send(h, OPENAI_URL, client)
    assert flow.metadata[report.KEY]["action"] == "compressed"
    assert "model=gpt_ " in the_line(caplog)
    saved(flow)  # the metadata holds text a flow file can store


@pytest.mark.parametrize(
    "number",
    [b"1" + b"0" * 399, b"-9" * 200 + b".5e-3", b"1" + b"0" * 399 + b".0", b"1e400", b"0.000" + b"1" * 396],
)
async def test_numbers_with_400_digits_keep_their_bytes(make_harness: Make, number: bytes) -> None:
    h = make_harness(EAGER)
    raw_number = number.replace(b"-9" * 200, b"-" + b"9" * 200)
    client = (
        encode(openai_tool_chat(BIG_TEXT))[:-1]
        + b', "temperature": '
        + raw_number
        + b', "metadata": {"big": ['
        + raw_number
        + b"]}}"
    )
    flow, _ = await send(h, OPENAI_URL, client)
    out = flow.request.raw_content or b""
    assert flow.metadata[report.KEY]["action"] == "compressed"
    assert out.count(raw_number) == 2
    span = parse(client).spans([("messages", 3, "content")])[("messages", 3, "content")]
    only_inside(client, out, span)


async def test_nesting_the_parser_accepts_is_forwarded_around_the_slot(make_harness: Make) -> None:
    h = make_harness(EAGER)
    nested = b"[" * 5000 + b'"deep"' + b"]" * 5000
    client = encode(openai_tool_chat(BIG_TEXT))[:-1] + b', "metadata": ' + nested + b"}"
    flow, _ = await send(h, OPENAI_URL, client)
    out = flow.request.raw_content or b""
    assert flow.metadata[report.KEY]["action"] == "compressed"
    assert nested in out


ODD_SLOTS = [
    {"role": "user", "content": 42},
    {"role": "user", "content": None},
    {"role": "tool", "tool_call_id": "call_9", "content": True},
    {"role": "tool", "tool_call_id": "call_8", "content": {"text": BIG_TEXT}},
    {
        "role": "user",
        "content": [
            {"type": "text", "text": None},
            {"type": "text", "text": 7},
            {"type": "text", "text": ["a"]},
            {"type": "text"},
        ],
    },
    {"role": None, "content": BIG_TEXT},
    {"role": 3, "content": BIG_TEXT},
    {"content": BIG_TEXT},
    "a bare string message",
    17,
    None,
    [BIG_TEXT],
]


async def test_text_slots_holding_numbers_or_nulls_are_left_alone(
    make_harness: Make, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    h = make_harness(EAGER)
    client = encode({"model": "gpt-4o-mini", "messages": ODD_SLOTS})
    flow, _ = await send(h, OPENAI_URL, client)
    assert flow.request.raw_content == client
    assert flow.metadata[report.KEY]["action"] == "unchanged"
    assert " action=unchanged " in the_line(caplog)
    # With one good slot among them, that slot is rewritten and every odd one keeps its bytes.
    doc = openai_tool_chat(BIG_TEXT)
    doc["messages"][3:3] = ODD_SLOTS
    good = ("messages", 3 + len(ODD_SLOTS), "content")
    client = encode(doc)
    flow, _ = await send(h, OPENAI_URL, client)
    assert flow.metadata[report.KEY]["action"] == "compressed"
    assert [tuple(s["path"]) for s in flow.metadata[report.KEY]["slots"]] == [
        ("messages", 0, "content"),
        ("messages", 1, "content"),
        good,
    ]
    only_inside(client, flow.request.raw_content or b"", parse(client).spans([good])[good])


@pytest.mark.parametrize(
    "values",
    [
        {"system": 5},
        {"system": None},
        {"messages": None},
        {"messages": 3},
        {"messages": "hello"},
        {"messages": {"role": "user"}},
    ],
)
async def test_anthropic_fields_of_the_wrong_type_are_forwarded(
    make_harness: Make, values: dict[str, Any]
) -> None:
    h = make_harness(EAGER)
    client = encode({**anthropic_tool_chat(BIG_TEXT), **values})
    flow, _ = await send(h, ANTHROPIC_URL, client)
    assert flow.metadata[report.KEY]["action"] in ("unchanged", "compressed")
    if "messages" in values:
        assert flow.request.raw_content == client


async def test_content_arrays_mixing_unknown_part_types(
    make_harness: Make, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    h = make_harness(EAGER)
    parts: list[Any] = [
        {"type": "future_part", "text": BIG_TEXT, "payload": {"text": BIG_TEXT}},
        {"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBORw0KGgo="}},
        {"type": "text", "text": BIG_TEXT},
        "a bare string part",
        3.5e-7,
        None,
        {"text": BIG_TEXT},
        {"type": ["text"], "text": BIG_TEXT},
        {"type": "input_audio", "input_audio": {"data": "UklGRg==", "format": "wav"}},
    ]
    doc = openai_tool_chat()
    doc["messages"][3]["content"] = parts
    client = encode(doc)
    flow, _ = await send(h, OPENAI_URL, client)
    good = ("messages", 3, "content", 2, "text")
    data = flow.metadata[report.KEY]
    assert data["action"] == "compressed"
    assert [tuple(s["path"]) for s in data["slots"] if s["rewritten"]] == [good]
    only_inside(client, flow.request.raw_content or b"", parse(client).spans([good])[good])
    caplog.clear()

    blocks: list[Any] = [
        {
            "type": "tool_result",
            "tool_use_id": "tu_1",
            "content": [
                {"type": "future_block", "text": BIG_TEXT},
                {"type": "text", "text": BIG_TEXT},
                {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": "AAAA"}},
                {"type": "text", "text": None},
                12,
                "bare",
            ],
        },
        {"type": "server_tool_result", "content": BIG_TEXT},
        {"type": "document", "source": {"type": "text", "media_type": "text/plain", "data": BIG_TEXT}},
        {"type": "thinking", "thinking": BIG_TEXT, "signature": "sig"},
    ]
    doc = anthropic_tool_chat()
    doc["messages"][2]["content"] = blocks
    client = encode(doc)
    flow, _ = await send(h, ANTHROPIC_URL, client)
    data = flow.metadata[report.KEY]
    rewritten = [tuple(s["path"]) for s in data["slots"] if s["rewritten"]]
    assert ("messages", 2, "content", 0, "content", 1, "text") in rewritten
    assert all(
        p[:4] != ("messages", 2, "content", 1) and p[:4] != ("messages", 2, "content", 3) for p in rewritten
    )
    assert (
        flow.request.content is not None
        and json.loads(flow.request.content)["messages"][2]["content"][3] == blocks[3]
    )
    saved(flow)
