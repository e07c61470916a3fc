from __future__ import annotations

import asyncio
import gzip
import json
import logging
from collections.abc import Callable
from functools import partial
from typing import Any

import pytest
from mitmproxy import http
from mitmproxy.exceptions import OptionsError
from mitmproxy.net import encoding
from mitmproxy.test import taddons, tflow, tutils

from tests.addon import fakes
from tests.addon.bodies import (
    ANTHROPIC_URL,
    EAGER,
    OPENAI_URL,
    anthropic_tool_chat,
    encode,
    openai_tool_chat,
    pretty_rows,
    small_chat,
)
from tests.addon.conftest import Harness, api_flow, run_request
from wiretrim.addon import report
from wiretrim.addon.hooks import Wiretrim

Make = Callable[..., Harness]


def meta(flow: http.HTTPFlow) -> dict[str, Any]:
    return flow.metadata[report.KEY]


def tool_text(flow: http.HTTPFlow) -> str:
    return json.loads(flow.request.content or b"")["messages"][3]["content"]


# -- on mode ------------------------------------------------------------------------------


async def test_on_rewrites_the_tool_result_and_nothing_else(
    harness: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, "wiretrim")
    client = encode(openai_tool_chat())
    flow = await harness.send(OPENAI_URL, client)
    sent = json.loads(flow.request.content or b"")
    original = json.loads(client)
    assert sent["messages"][3]["content"] != original["messages"][3]["content"]
    assert sent["messages"][:3] == original["messages"][:3]
    assert flow.request.headers["content-length"] == str(len(flow.request.raw_content or b""))
    data = meta(flow)
    assert (data["action"], data["mode"], data["rewritten"]) == ("compressed", "on", True)
    assert data["original"] == client
    assert data["tokens_before"] > data["tokens_after"] > 0
    assert flow.marked == ":scissors:"
    assert flow.comment.startswith("wiretrim −") and "1 slot" in flow.comment
    (line,) = [r.getMessage() for r in caplog.records if r.name == "wiretrim"]
    assert line.startswith(
        "wiretrim provider=openai model=gpt-4o-mini mode=on action=compressed tokens_before="
    )
    assert "rows" not in line


async def test_anthropic_messages_are_rewritten(harness: Harness) -> None:
    flow = await harness.send(ANTHROPIC_URL, anthropic_tool_chat())
    assert meta(flow)["action"] == "compressed"
    assert meta(flow)["provider"] == "anthropic"


async def test_a_small_request_goes_out_byte_identical(harness: Harness) -> None:
    client = b'{"model": "gpt-4o-mini",\n "messages": [{"role": "user", "content": "Say hi."}]}'
    flow = await harness.send(OPENAI_URL, client)
    assert flow.request.raw_content == client
    assert meta(flow)["action"] == "unchanged"
    assert not flow.marked


@pytest.mark.parametrize(
    ("url", "method"),
    [
        (OPENAI_URL, "GET"),
        ("https://api.openai.com/v1/embeddings", "POST"),
        ("https://api.openai.com/v1/models", "POST"),
        ("https://example.com/v1/chat/completions", "POST"),
        ("https://api.openai.com:8443/v1/chat/completions", "POST"),
    ],
)
async def test_unmatched_requests_are_not_read(harness: Harness, url: str, method: str) -> None:
    client = encode(openai_tool_chat())
    flow = await harness.send(url, client, method=method)
    assert flow.request.raw_content == client
    assert report.KEY not in flow.metadata
    assert not flow.comment


async def test_custom_endpoint_from_the_option(make_harness: Make) -> None:
    h = make_harness(EAGER, endpoints=["gateway.internal:8443/llm=openai-chat"])
    flow = await h.send("https://gateway.internal:8443/llm/v1/chat/completions", openai_tool_chat())
    assert (meta(flow)["provider"], meta(flow)["action"]) == ("custom", "compressed")


# -- skips ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("headers", "reason"),
    [
        ({"x-wiretrim": "off"}, "bypass"),
        ({"authorization": "AWS4-HMAC-SHA256 Credential=x"}, "signed:sigv4"),
        ({"x-amz-content-sha256": "e3b0"}, "signed:x-amz-content-sha256"),
        ({"content-digest": "sha-256=:x=:"}, "signed:content-digest"),
        ({"content-type": "text/plain"}, "content_type"),
        ({"content-encoding": "compress"}, "content_encoding"),
        ({"content-encoding": "gzip, br"}, "content_encoding"),
    ],
)
async def test_header_skips_forward_the_original(
    harness: Harness, headers: dict[str, str], reason: str
) -> None:
    client = encode(openai_tool_chat())
    flow = await harness.send(OPENAI_URL, client, headers)
    assert flow.request.raw_content == client
    assert (meta(flow)["action"], meta(flow)["reason"]) == ("skipped", reason)
    assert flow.comment == f"wiretrim skipped: {reason}"


@pytest.mark.parametrize(
    ("extra", "reason"), [({"n": 2}, "n>1"), ({"best_of": 3}, "best_of>1")]
)
async def test_engine_skips_forward_the_original(
    harness: Harness, extra: dict[str, Any], reason: str
) -> None:
    client = encode(openai_tool_chat(**extra))
    flow = await harness.send(OPENAI_URL, client)
    assert flow.request.raw_content == client
    assert meta(flow)["reason"] == reason


@pytest.mark.parametrize(("client", "reason"), [(b'{"model": "x", "messages": [', "invalid_json"),
                                                (b'{"a": 1, "a": 2}', "duplicate_keys"), (b"", "empty_body")])
async def test_malformed_json_is_forwarded_as_is(harness: Harness, client: bytes, reason: str) -> None:
    flow = await harness.send(OPENAI_URL, client)
    assert flow.request.raw_content == client
    assert (meta(flow)["action"], meta(flow)["reason"]) == ("skipped", reason)


async def test_streamed_request_bodies_are_skipped(harness: Harness) -> None:
    flow = api_flow(OPENAI_URL, openai_tool_chat())
    harness.addon.requestheaders(flow)
    flow.request.raw_content = None  # stream_large_bodies streamed it on
    await harness.addon.request(flow)
    assert meta(flow)["reason"] == "streamed_body"


async def test_bodies_over_the_cap_are_skipped(make_harness: Make) -> None:
    h = make_harness({**EAGER, "max_body_mb": 0.001})
    client = encode(openai_tool_chat())
    flow = await h.send(OPENAI_URL, client)
    assert (flow.request.raw_content, meta(flow)["reason"]) == (client, "too_large")


async def test_a_gzip_bomb_is_skipped(make_harness: Make) -> None:
    h = make_harness({**EAGER, "max_body_mb": 1})
    bomb = gzip.compress(b'{"model":"m","messages":[{"role":"user","content":"' + b" " * (40 << 20) + b'"}]}',
                         compresslevel=1)
    flow = await h.send(OPENAI_URL, bomb, {"content-encoding": "gzip"})
    assert (flow.request.raw_content, meta(flow)["reason"]) == (bomb, "too_large")


async def test_the_bypass_header_is_removed_in_every_mode(make_harness: Make) -> None:
    for mode in ("on", "shadow", "off"):
        h = make_harness(EAGER, mode=mode)
        flow = await h.send(OPENAI_URL, openai_tool_chat(), {"x-wiretrim": "off"})
        assert "x-wiretrim" not in flow.request.headers
        assert tool_text(flow) == pretty_rows()
    flow = await h.send("https://example.com/anything", b"{}", {"x-wiretrim": "on"})
    assert "x-wiretrim" not in flow.request.headers


# -- encodings --------------------------------------------------------------------------


@pytest.mark.parametrize("coding", ["gzip", "zstd", "br", "deflate"])
async def test_encoded_bodies_are_rewritten_and_re_encoded(harness: Harness, coding: str) -> None:
    client = encoding.encode(encode(openai_tool_chat()), coding)
    flow = await harness.send(OPENAI_URL, client, {"content-encoding": coding})
    assert flow.request.headers["content-encoding"] == coding
    assert flow.request.headers["content-length"] == str(len(flow.request.raw_content or b""))
    assert meta(flow)["action"] == "compressed"
    assert tool_text(flow) != pretty_rows()  # .content decodes what will be sent


# -- fail-open ------------------------------------------------------------------------------


async def test_an_engine_that_raises_fails_open(make_harness: Make, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    h = make_harness(EAGER, factory=fakes.raising_engine)
    client = encode(openai_tool_chat())
    flow = await h.send(OPENAI_URL, client)
    assert flow.request.raw_content == client
    assert (meta(flow)["action"], meta(flow)["reason"]) == ("failed", "RuntimeError")
    warnings = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert [r.getMessage().split(" action=")[1].split()[0] for r in warnings] == ["failed:RuntimeError"]
    assert "SECRET" not in "".join(r.getMessage() for r in warnings)


async def test_an_engine_over_budget_fails_open(make_harness: Make, caplog: pytest.LogCaptureFixture) -> None:
    h = make_harness({**EAGER, "budget_ms": 30}, factory=partial(fakes.sleepy_engine, delay_s=0.3))
    client = encode(openai_tool_chat())
    flow = await h.send(OPENAI_URL, client)
    assert flow.request.raw_content == client
    assert (meta(flow)["action"], meta(flow)["reason"]) == ("failed", "budget")
    assert meta(flow)["ms"] < 300
    assert "action=failed:budget" in caplog.text
    # The late job keeps the engine busy; the next request does not wait for it.
    flow = await h.send(OPENAI_URL, openai_tool_chat(pretty_rows(tag="z")))
    assert meta(flow)["reason"] == "busy"
    assert h.addon.setup is not None
    await h.addon.setup.runner.idle()


async def test_a_flow_that_errors_before_its_body_is_forgotten(harness: Harness) -> None:
    flow = api_flow(OPENAI_URL, openai_tool_chat())
    harness.addon.requestheaders(flow)
    harness.addon.error(flow)
    await harness.addon.request(flow)
    assert report.KEY not in flow.metadata


# -- breaker ------------------------------------------------------------------------------


def respond(addon: Wiretrim, flow: http.HTTPFlow, status: int) -> None:
    flow.response = tutils.tresp(status_code=status)
    addon.responseheaders(flow)


async def test_a_rejected_rewrite_opens_the_breaker_for_its_route(
    harness: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    now = [1000.0]
    harness.addon.breaker._clock = lambda: now[0]
    first = await harness.send(OPENAI_URL, openai_tool_chat())
    respond(harness.addon, first, 400)
    assert "breaker open provider=openai model=gpt-4o-mini status=400" in caplog.text

    client = encode(openai_tool_chat(pretty_rows(tag="second")))
    second = await harness.send(OPENAI_URL, client)
    assert second.request.raw_content == client
    assert meta(second)["reason"] == "breaker"
    other_model = await harness.send(OPENAI_URL, {**openai_tool_chat(), "model": "gpt-4o"})
    assert meta(other_model)["action"] == "compressed"

    now[0] += 601  # default cool-down: 600 s
    third = await harness.send(OPENAI_URL, openai_tool_chat(pretty_rows(tag="third")))
    assert meta(third)["action"] == "compressed"


async def test_the_breaker_keys_a_model_name_the_flow_cannot_store_as_it_was_sent(
    harness: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    """A lone surrogate is replaced in the flow's metadata; the breaker still opens for the route
    the rewrite went to, and the log line shows the name made safe."""
    odd_model = b'"gpt\\ud800x"'
    first = await harness.send(OPENAI_URL, encode(openai_tool_chat()).replace(b'"gpt-4o-mini"', odd_model))
    assert meta(first)["action"] == "compressed"
    respond(harness.addon, first, 400)
    assert "breaker open provider=openai model=gpt_x status=400" in caplog.text
    client = encode(openai_tool_chat(pretty_rows(tag="again"))).replace(b'"gpt-4o-mini"', odd_model)
    second = await harness.send(OPENAI_URL, client)
    assert meta(second)["reason"] == "breaker" and second.request.raw_content == client


async def test_the_breaker_ignores_requests_that_were_not_rewritten(harness: Harness) -> None:
    flow = await harness.send(OPENAI_URL, small_chat())
    respond(harness.addon, flow, 400)
    assert harness.addon.breaker.open_keys() == []
    flow = await harness.send(OPENAI_URL, openai_tool_chat())
    respond(harness.addon, flow, 500)
    assert harness.addon.breaker.open_keys() == []


async def test_a_breaker_skip_keeps_the_memo_honest(harness: Harness) -> None:
    """The route's slots went out unchanged while the breaker was open; they stay unchanged."""
    now = [0.0]
    harness.addon.breaker._clock = lambda: now[0]
    first = await harness.send(OPENAI_URL, openai_tool_chat(pretty_rows(tag="a")))
    respond(harness.addon, first, 422)
    body_b = encode(openai_tool_chat(pretty_rows(tag="b")))
    assert meta(await harness.send(OPENAI_URL, body_b))["reason"] == "breaker"
    now[0] += 601
    later = await harness.send(OPENAI_URL, body_b)
    assert later.request.raw_content == body_b
    assert meta(later)["action"] == "unchanged"


async def test_accounting_waits_for_the_response(harness: Harness, caplog: pytest.LogCaptureFixture) -> None:
    """Counting tokens and logging happen once the response is in, not while the request is on its
    way upstream (the proxy and the worker leave the CPU to it)."""
    caplog.set_level(logging.INFO, "wiretrim")
    await harness.addon.setup.runner.started()
    flow = api_flow(OPENAI_URL, encode(openai_tool_chat()))
    harness.addon.requestheaders(flow)
    await harness.addon.request(flow)
    await asyncio.sleep(0.2)  # time enough for an accounting that started early to finish
    assert meta(flow)["action"] == "compressed" and meta(flow)["tokens_before"] is None
    assert not [r for r in caplog.records if "action=compressed" in r.getMessage()]
    flow.response = tutils.tresp()
    harness.addon.responseheaders(flow)
    harness.addon.response(flow)
    await harness.addon.settled()
    assert meta(flow)["tokens_before"] > meta(flow)["tokens_after"]
    assert [r for r in caplog.records if "action=compressed" in r.getMessage()]


async def test_a_failed_flow_is_accounted_too(harness: Harness, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, "wiretrim")
    await harness.addon.setup.runner.started()
    flow = api_flow(OPENAI_URL, encode(openai_tool_chat()))
    harness.addon.requestheaders(flow)
    await harness.addon.request(flow)
    flow.error = tflow.terr()
    harness.addon.error(flow)
    for _ in range(50):
        if meta(flow)["tokens_before"] is not None:
            break
        await asyncio.sleep(0.01)  # the thread runner counts in a thread
    assert meta(flow)["tokens_before"] > meta(flow)["tokens_after"]


async def test_plain_mitmdump_keeps_no_copy_of_the_original_body() -> None:
    """The original is kept for the view only where flows outlive their request."""
    from mitmproxy.options import Options
    from mitmproxy.tools.dump import DumpMaster

    from wiretrim.addon.hooks import keeps_flows

    master = DumpMaster(Options(), with_termlog=False, with_dumper=False)
    assert not keeps_flows(master)
    master.options.update(save_stream_file="flows.mitm")
    assert keeps_flows(master)
    with taddons.context() as tctx:
        assert keeps_flows(tctx.master)  # mitmweb's and the console's masters are no DumpMaster


async def test_under_mitmdump_the_rewrite_still_goes_out_without_the_original(
    harness: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("wiretrim.addon.hooks.keeps_flows", lambda master: False)
    client = encode(openai_tool_chat())
    flow = await harness.send(OPENAI_URL, client)
    assert meta(flow)["action"] == "compressed" and "original" not in meta(flow)
    assert flow.request.raw_content != client


# -- modes ------------------------------------------------------------------------------


async def test_shadow_forwards_the_original_and_records_what_on_would_send(make_harness: Make) -> None:
    h = make_harness(EAGER, mode="shadow")
    client = encode(openai_tool_chat())
    flow = await h.send(OPENAI_URL, client)
    assert flow.request.raw_content == client
    data = meta(flow)
    assert (data["mode"], data["action"], data["rewritten"]) == ("shadow", "compressed", False)
    assert data["would_send"] != client and "original" not in data
    assert data["tokens_before"] > data["tokens_after"]
    assert flow.comment.startswith("wiretrim shadow: would save ")
    assert not flow.marked


async def test_off_passes_everything_through(make_harness: Make) -> None:
    h = make_harness(EAGER, mode="off")
    client = encode(openai_tool_chat())
    flow = await h.send(OPENAI_URL, client)
    assert flow.request.raw_content == client
    assert report.KEY not in flow.metadata


async def test_changing_the_mode_applies_to_the_next_request_and_keeps_history(make_harness: Make) -> None:
    h = make_harness(EAGER, mode="on")
    assert h.addon.setup is not None
    runner = h.addon.setup.runner
    seen_in_on = encode(openai_tool_chat(pretty_rows(tag="on")))
    assert meta(await h.send(OPENAI_URL, seen_in_on))["action"] == "compressed"

    h.configure(wiretrim_mode="off")
    assert (await h.send(OPENAI_URL, seen_in_on)).request.raw_content == seen_in_on

    h.configure(wiretrim_mode="shadow")
    seen_in_shadow = encode(openai_tool_chat(pretty_rows(tag="shadow")))
    assert (await h.send(OPENAI_URL, seen_in_shadow)).request.raw_content == seen_in_shadow

    h.configure(wiretrim_mode="on")
    assert h.addon.setup.runner is runner  # same engine, same memo
    # A conversation that went out unchanged in shadow mode keeps going out unchanged ...
    again = await h.send(OPENAI_URL, seen_in_shadow)
    assert again.request.raw_content == seen_in_shadow
    assert meta(again)["action"] == "unchanged"
    # ... and one first seen in `on` keeps its rewrite.
    assert meta(await h.send(OPENAI_URL, seen_in_on))["action"] == "compressed"

    h.configure(wiretrim_mode="")  # back to the config file's mode (default off)
    assert h.addon.setup.mode == "off"


# -- options and config -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"wiretrim_mode": "fast"}, "wiretrim_mode: 'fast' is not one of off, shadow, on"),
        ({"wiretrim_endpoint": ["gateway.internal=soap"]},
         "wiretrim_endpoint: endpoint 'gateway.internal=soap'"),
        ({"wiretrim_config": "/nonexistent/wiretrim.yaml"},
         "wiretrim_config: /nonexistent/wiretrim.yaml: cannot read"),
    ],
)
async def test_bad_options_at_run_time_raise_and_keep_the_setup(
    make_harness: Make, options: dict[str, Any], message: str
) -> None:
    h = make_harness(EAGER)
    before = h.addon.setup
    with pytest.raises(OptionsError, match="^" + message.replace("(", r"\(")):
        h.configure(**options)
    assert h.addon.setup == before  # mitmproxy rolled the option back: same engine, same mode


async def test_a_bad_config_file_names_the_field(
    make_harness: Make, write_config: Callable[..., str]
) -> None:
    h = make_harness(EAGER)
    bad = write_config(raw="budget_ms: -5\n", name="bad.yaml")
    with pytest.raises(OptionsError, match=r"^wiretrim_config: .*bad\.yaml: budget_ms: "):
        h.configure(wiretrim_config=bad)
    typo = write_config(raw="compresion: {}\n", name="typo.yaml")
    with pytest.raises(OptionsError, match="compresion: unknown setting"):
        h.configure(wiretrim_config=typo)


async def test_a_bad_config_at_start_up_is_one_error_line(
    write_config: Callable[..., str], caplog: pytest.LogCaptureFixture
) -> None:
    addon = Wiretrim(engine_factory=fakes.light_engine)
    with taddons.context(addon) as tctx:
        tctx.configure(addon, wiretrim_config=write_config(raw="mode: sideways\n"))
        errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
        assert len(errors) == 1 and errors[0].exc_info is None
        assert errors[0].getMessage().startswith("wiretrim_config: ")
        assert "mode" in errors[0].getMessage()
        addon.running()
        assert addon.setup is None  # nothing runs on a config the user did not mean
        flow = await run_request(addon, api_flow(OPENAI_URL, openai_tool_chat(), {"x-wiretrim": "off"}))
        assert report.KEY not in flow.metadata


async def test_a_programmatic_addon_configures_itself_when_running() -> None:
    addon = Wiretrim(engine_factory=fakes.light_engine)
    with taddons.context(addon):  # added, not loaded as a script: no initial configure
        assert addon.setup is None
        addon.running()
        assert addon.setup is not None
        assert (addon.setup.mode, addon.setup.runner.kind) == ("off", "process")  # the built-in defaults
        addon.setup.runner.close()


async def test_reloading_the_same_config_keeps_the_engine(
    make_harness: Make, write_config: Callable[..., str]
) -> None:
    h = make_harness(EAGER)
    assert h.addon.setup is not None
    runner = h.addon.setup.runner
    h.configure(wiretrim_config=write_config({**EAGER, "budget_ms": 400}, name="b.yaml"))
    assert h.addon.setup.runner is runner and h.addon.setup.settings.budget_ms == 400
    h.configure(wiretrim_config=write_config({"compression": {"level": "lossless"}}, name="c.yaml"))
    assert h.addon.setup.runner is not runner and runner.closed


# -- responses ----------------------------------------------------------------------------


@pytest.mark.parametrize("mode", ["on", "off"])
async def test_streams_are_streamed_in_every_mode(make_harness: Make, mode: str) -> None:
    h = make_harness(EAGER, mode=mode)
    flow = await h.send(OPENAI_URL, openai_tool_chat(stream=True))
    flow.response = tutils.tresp(headers=http.Headers(content_type="text/event-stream"), content=b"")
    h.addon.responseheaders(flow)
    if mode == "off":
        assert flow.response.stream is True
    else:  # matched: a tap that reads the usage and hands every chunk on as it is
        chunk = b'data: {"choices": []}\n\n'
        assert callable(flow.response.stream) and flow.response.stream(chunk) is chunk
    buffered = await h.send(OPENAI_URL, small_chat())
    buffered.response = tutils.tresp()  # has a content-length
    h.addon.responseheaders(buffered)
    assert buffered.response.stream is False
