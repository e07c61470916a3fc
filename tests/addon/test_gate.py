from __future__ import annotations

import pytest

from tests.addon.conftest import api_flow
from wiretrim.addon import gate

URL = "https://api.openai.com/v1/chat/completions"


def test_bypass_header_is_removed_and_read() -> None:
    f = api_flow(URL, b"{}", {"x-wiretrim": " OFF "})
    assert gate.pop_bypass(f.request, "x-wiretrim") is True
    assert "x-wiretrim" not in f.request.headers


def test_bypass_header_with_another_value_is_removed_but_does_not_bypass() -> None:
    f = api_flow(URL, b"{}", {"X-Wiretrim": "on"})
    assert gate.pop_bypass(f.request, "x-wiretrim") is False
    assert "x-wiretrim" not in f.request.headers
    assert gate.pop_bypass(api_flow(URL, b"{}").request, "x-wiretrim") is False


def test_every_copy_of_the_bypass_header_is_removed() -> None:
    f = api_flow(URL, b"{}")
    f.request.headers.add("x-wiretrim", "nope")
    f.request.headers.add("x-wiretrim", "off")
    assert gate.pop_bypass(f.request, "x-wiretrim") is True
    assert f.request.headers.get_all("x-wiretrim") == []


@pytest.mark.parametrize(
    ("headers", "path", "reason"),
    [
        ({"authorization": "AWS4-HMAC-SHA256 Credential=AKIA/20260101/us-east-1/bedrock/aws4_request"}, "",
         "signed:sigv4"),
        ({"x-amz-content-sha256": "abc"}, "", "signed:x-amz-content-sha256"),
        ({"content-digest": "sha-256=:abc=:"}, "", "signed:content-digest"),
        ({"digest": "SHA-256=abc"}, "", "signed:digest"),
        ({"signature-input": "sig1=()"}, "", "signed:signature-input"),
        ({"x-amz-checksum-crc32": "abc"}, "", "signed:x-amz-checksum"),
        ({}, "?X-Amz-Signature=abc&X-Amz-Credential=x", "signed:sigv4-presigned"),
        ({"content-type": "text/plain"}, "", "content_type"),
        ({"content-type": "application/x-www-form-urlencoded"}, "", "content_type"),
        ({"content-type": ""}, "", "content_type"),
    ],
)
def test_skip_reasons(headers: dict[str, str], path: str, reason: str) -> None:
    assert gate.skip_reason(api_flow(URL + path, b"{}", headers).request) == reason


@pytest.mark.parametrize("ctype", ["application/json", "application/json; charset=utf-8", "Application/JSON",
                                   "application/vnd.api+json"])
def test_json_types_pass(ctype: str) -> None:
    assert gate.skip_reason(api_flow(URL, b"{}", {"content-type": ctype}).request) is None
