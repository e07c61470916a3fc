"""The bookkeeper joins a request's outcome with its response's usage into one ledger entry,
in whichever order they finish; streamed responses pass through its tap unchanged."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from pathlib import Path

import pytest
from mitmproxy import http
from mitmproxy.flow import Error
from mitmproxy.test import tutils

from tests.addon.bodies import EAGER, OPENAI_URL, encode, openai_tool_chat
from tests.addon.conftest import Harness, api_flow
from wiretrim import ledger
from wiretrim.addon.bookkeeper import Tap
from wiretrim.ledger import Entry

Make = Callable[..., Harness]
USAGE = {"prompt_tokens": 2000, "completion_tokens": 9, "prompt_tokens_details": {"cached_tokens": 1024}}


def json_response(body: dict[str, object]) -> http.Response:
    content = json.dumps(body).encode()
    headers = http.Headers(content_type="application/json", content_length=str(len(content)))
    return tutils.tresp(headers=headers, content=content)


async def rows(h: Harness) -> list[Entry]:
    await h.addon.settled()
    setup = h.addon.setup
    assert setup is not None and setup.ledger is not None
    assert setup.ledger.flush()
    return list(ledger.read(setup.ledger.path))


async def test_a_buffered_response_gives_its_usage_to_the_row(make_harness: Make) -> None:
    h = make_harness(EAGER)
    flow = await h.send(OPENAI_URL, openai_tool_chat())
    flow.response = json_response({"model": "gpt-4o-mini", "choices": [], "usage": USAGE})
    h.addon.responseheaders(flow)
    assert flow.response.stream is False  # a length: buffered as before
    h.addon.response(flow)
    (row,) = await rows(h)
    assert (row.action, row.status, row.stream) == ("compressed", 200, False)
    assert (row.input_tokens, row.output_tokens, row.cache_read_tokens) == (2000, 9, 1024)
    assert (
        row.tokens_before is not None
        and row.tokens_after is not None
        and row.tokens_after < row.tokens_before
    )
    assert row.cost_usd is not None and row.saved_usd is not None


async def test_a_stream_passes_through_the_tap_untouched(make_harness: Make) -> None:
    h = make_harness(EAGER)
    flow = await h.send(OPENAI_URL, openai_tool_chat(stream=True))
    flow.response = tutils.tresp(headers=http.Headers(content_type="text/event-stream"), content=None)
    h.addon.responseheaders(flow)
    tap = flow.response.stream
    assert isinstance(tap, Tap)
    events = [
        b'data: {"choices": [{"delta": {"content": "hi"}}], "usage": null}\n\n',
        b'data: {"choices": [], "usage": ' + json.dumps(USAGE).encode() + b"}\n\ndata: [DONE]\n\n",
    ]
    chunks = [events[0][:7], events[0][7:], events[1], b""]
    assert [tap(c) for c in chunks] == chunks
    assert all(tap(c) is c for c in chunks)
    h.addon.response(flow)
    (row,) = await rows(h)
    assert row.stream and row.input_tokens == 2000


async def test_the_response_may_finish_before_the_token_count(make_harness: Make) -> None:
    """Shadow mode decides after the original went upstream: the response can come first."""
    h = make_harness(EAGER, mode="shadow")
    flow = api_flow(OPENAI_URL, openai_tool_chat())
    h.addon.requestheaders(flow)
    await h.addon.request(flow)  # the shadow work is still running
    flow.response = json_response({"choices": [], "usage": USAGE})
    h.addon.response(flow)
    (row,) = await rows(h)
    assert (row.mode, row.action, row.input_tokens, row.latency_ms) == ("shadow", "compressed", 2000, 0.0)


async def test_the_outcome_may_come_while_the_usage_is_read(
    make_harness: Make, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The accounting starts with the response, so both finish around the same time: an
    outcome that lands while the response body is still being read waits for its usage."""
    from wiretrim.addon import bookkeeper

    outcome_in = threading.Event()
    reported, read_body = bookkeeper.Bookkeeper.reported, bookkeeper.read_body

    def reported_then_signal(self: bookkeeper.Bookkeeper, *args: object) -> None:
        reported(self, *args)
        outcome_in.set()

    def read_after_the_outcome(*args: object) -> object:
        assert outcome_in.wait(10)
        return read_body(*args)

    monkeypatch.setattr(bookkeeper.Bookkeeper, "reported", reported_then_signal)
    monkeypatch.setattr(bookkeeper, "read_body", read_after_the_outcome)
    h = make_harness(EAGER)
    await h.addon.setup.runner.started()
    flow = api_flow(OPENAI_URL, openai_tool_chat())
    h.addon.requestheaders(flow)
    await h.addon.request(flow)
    flow.response = json_response({"model": "gpt-4o-mini", "choices": [], "usage": USAGE})
    h.addon.responseheaders(flow)
    h.addon.response(flow)
    (row,) = await rows(h)
    assert row.action == "compressed" and row.input_tokens == 2000


async def test_a_failed_flow_gets_a_row_without_status(make_harness: Make) -> None:
    h = make_harness(EAGER)
    flow = await h.send(OPENAI_URL, openai_tool_chat())
    flow.error = Error("connection closed")
    h.addon.error(flow)
    (row,) = await rows(h)
    assert (row.action, row.status, row.input_tokens) == ("compressed", None, None)


async def test_unmatched_and_off_mode_flows_are_not_booked(make_harness: Make) -> None:
    h = make_harness(EAGER, mode="off")
    flow = await h.send(OPENAI_URL, openai_tool_chat())
    flow.response = json_response({"usage": USAGE})
    h.addon.responseheaders(flow)
    h.addon.response(flow)
    assert await rows(h) == []


async def test_with_the_ledger_off_and_no_metrics_nothing_reads_responses(make_harness: Make) -> None:
    h = make_harness({**EAGER, "ledger": {"enabled": False}})
    flow = await h.send(OPENAI_URL, openai_tool_chat(stream=True))
    flow.response = tutils.tresp(headers=http.Headers(content_type="text/event-stream"), content=None)
    h.addon.responseheaders(flow)
    assert flow.response.stream is True
    assert h.addon.setup is not None and h.addon.setup.ledger is None


async def test_the_ledger_follows_the_config(
    make_harness: Make, write_config: Callable[..., str], tmp_path: Path
) -> None:
    h = make_harness(EAGER)
    assert h.addon.setup is not None
    first = h.addon.setup.ledger
    assert first is not None and first.path == tmp_path / "ledger.sqlite"
    h.configure(wiretrim_config=write_config({**EAGER, "budget_ms": 300}, name="same-ledger.yaml"))
    assert h.addon.setup.ledger is first  # same file: same writer
    h.configure(
        wiretrim_config=write_config(
            {**EAGER, "ledger": {"path": str(tmp_path / "b.sqlite")}}, name="other.yaml"
        )
    )
    assert h.addon.setup.ledger is not first and h.addon.setup.ledger.path == tmp_path / "b.sqlite"
    flow = await h.send(OPENAI_URL, encode(openai_tool_chat()))
    flow.response = json_response({"usage": USAGE})
    h.addon.response(flow)
    assert len(await rows(h)) == 1


@pytest.mark.parametrize("bad", ["prices: /nonexistent/prices.yaml\n", "prices: 12\n"])
async def test_a_bad_price_file_is_an_option_error(
    make_harness: Make, write_config: Callable[..., str], bad: str
) -> None:
    from mitmproxy.exceptions import OptionsError

    h = make_harness(EAGER)
    with pytest.raises(OptionsError, match=r"^wiretrim_config: "):
        h.configure(wiretrim_config=write_config(raw=f"executor: thread\n{bad}", name="bad.yaml"))
