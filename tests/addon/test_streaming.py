from __future__ import annotations

import pytest
from mitmproxy import http
from mitmproxy.test import tutils

from tests.addon.conftest import api_flow
from wiretrim.addon import streaming


def with_response(path: str, headers: dict[str, str]) -> http.HTTPFlow:
    f = api_flow(f"https://api.example.com{path}", b"{}")
    f.response = tutils.tresp(headers=http.Headers([(k.encode(), v.encode()) for k, v in headers.items()]))
    return f


@pytest.mark.parametrize(
    "ctype",
    ["text/event-stream", "text/event-stream; charset=utf-8", "application/x-ndjson",
     "application/vnd.amazon.eventstream"],
)
def test_stream_types_stream_even_with_a_length(ctype: str) -> None:
    assert streaming.wanted(with_response("/v1/x", {"content-type": ctype, "content-length": "10"}))


def test_gemini_streaming_verb_streams() -> None:
    f = with_response("/v1beta/models/gemini-2.5-pro:streamGenerateContent?key=k",
                      {"content-type": "application/json", "content-length": "10"})
    assert streaming.wanted(f)


def test_no_content_length_streams() -> None:
    assert streaming.wanted(with_response("/v1/x", {"content-type": "application/json",
                                                    "transfer-encoding": "chunked"}))


def test_plain_json_with_a_length_is_buffered() -> None:
    f = with_response("/v1/x", {"content-type": "application/json", "content-length": "10"})
    assert not streaming.wanted(f)


def test_already_streaming_is_left_alone() -> None:
    f = with_response("/v1/x", {"content-type": "text/event-stream"})
    assert f.response is not None
    f.response.stream = True
    assert not streaming.wanted(f)


def test_websocket_upgrades_are_left_alone() -> None:
    f = with_response("/v1/realtime", {"upgrade": "websocket", "connection": "Upgrade"})
    assert f.response is not None
    f.response.status_code = 101
    assert not streaming.wanted(f)
