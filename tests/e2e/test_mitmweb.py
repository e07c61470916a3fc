"""mitmweb with the addon: the comment through the flows REST API, the `wiretrim` view through
the content API, and both in a real headless Chromium, which saves a screenshot.

The README's screenshot comes from the Chromium test:
``WIRETRIM_SCREENSHOT=docs/mitmweb-wiretrim.png .venv/bin/pytest tests/e2e/test_mitmweb.py -k chromium``
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from mitmproxy.proxy import server_hooks

from tests.addon.bodies import EAGER, anthropic_tool_chat, encode, openai_tool_chat, pretty_rows, small_chat
from tests.e2e import browser
from tests.e2e.conftest import WEB_PASSWORD, Proxy
from tests.e2e.upstream import Upstream

Start = Callable[..., Any]
OPENAI = "https://api.openai.com/v1/chat/completions"
ANTHROPIC = "https://api.anthropic.com/v1/messages"
# Read at import: the autouse fixture clears WIRETRIM_* variables and changes directory.
_TO = os.environ.get("WIRETRIM_SCREENSHOT")
SCREENSHOT_TO = Path(_TO).resolve() if _TO else None


def service_log(n: int = 150) -> str:
    """A tool result like an application log: many similar lines and one error with its trace."""
    lines = []
    for i in range(n):
        lines.append(f"2025-03-14 09:12:{i % 60:02d}.{i * 37 % 1000:03d} INFO  [exec-{i % 8}] "
                     f"OrderController - GET /orders/{1000 + i} 200 {i * 13 % 90 + 4}ms")
        if i == 97:
            lines += ["2025-03-14 09:13:37.589 ERROR [exec-1] OrderController - GET /orders/1097 failed",
                      "java.lang.IllegalStateException: price missing for SKU-4471",
                      "\tat com.example.orders.Pricing.total(Pricing.java:88)"]
    return "\n".join(lines)


def post(url: str, body: bytes) -> httpx.Response:
    with httpx.Client(timeout=30) as c:  # through HTTPS_PROXY, trusting the proxy's CA
        return c.post(url, content=body, headers={"content-type": "application/json",
                                                  "authorization": "Bearer sk-test-not-a-real-key"})


async def ui(proxy: Proxy, path: str) -> Any:
    """GET from mitmweb's REST API, with the UI password as a bearer token (no proxy)."""
    assert proxy.web_url is not None
    async with httpx.AsyncClient(trust_env=False, timeout=10) as c:
        r = await c.get(proxy.web_url + path, headers={"authorization": f"Bearer {WEB_PASSWORD}"})
        r.raise_for_status()
        return r.json()


class ConnectTo:
    """Test-only, in place of conftest's Redirect: connects port-443 flows to the fake upstream
    without editing the request, so mitmweb lists the real URLs (as it would in use)."""

    def __init__(self, port: int) -> None:
        self.port = port

    def server_connect(self, data: server_hooks.ServerConnectionHookData) -> None:
        if data.server.address is not None and data.server.address[1] == 443:
            data.server.address = ("127.0.0.1", self.port)


@dataclass
class Session:
    proxy: Proxy
    flows: list[dict[str, Any]]  # as mitmweb's /flows lists them, in order
    sent_table: str  # the JSON tool result as the upstream received it


async def three_calls(start_proxy: Start, upstream: Upstream) -> Session:
    """mitmweb with the addon, after a JSON tool result, a log tool result and a small chat."""
    proxy = await start_proxy({**EAGER, "budget_ms": 20000}, mode="on", web=True)  # a cold engine is slow
    proxy.master.addons.remove(proxy.master.addons.get("redirect"))
    proxy.master.addons.add(ConnectTo(upstream.port))
    calls = [(OPENAI, openai_tool_chat(pretty_rows(12, tag="order"))),
             (ANTHROPIC, anthropic_tool_chat(service_log())), (OPENAI, small_chat())]
    for url, doc in calls:
        assert (await asyncio.to_thread(post, url, encode(doc))).status_code == 200
    await proxy.addon.settled()  # the final comments, with exact token counts
    sent_table = upstream.received[0].json()["messages"][3]["content"]
    return Session(proxy, await ui(proxy, "/flows"), sent_table)


async def test_the_flows_api_lists_comments_and_marks(start_proxy: Start, upstream: Upstream) -> None:
    s = await three_calls(start_proxy, upstream)
    rows = [(f["comment"].split(" · ")[0].split(" tok ")[0], f["comment"].split(" · ")[1:2], f["marked"])
            for f in s.flows]
    assert [(head.split("−")[0], slots, mark) for head, slots, mark in rows] == [
        ("wiretrim ", ["1 slot"], "✂"),  # `wiretrim −412 tok (−61%) · 1 slot · 9 ms`; ✂ is :scissors:
        ("wiretrim ", ["1 slot"], "✂"),
        ("wiretrim unchanged", ["1 slot"], ""),
    ]
    assert all(f["comment"].endswith(" ms") for f in s.flows)
    assert "comment" in (await ui(s.proxy, "/options"))["web_columns"]["value"]


async def test_the_content_api_renders_the_wiretrim_view(start_proxy: Start, upstream: Upstream) -> None:
    s = await three_calls(start_proxy, upstream)
    table, log, small = (f["id"] for f in s.flows)
    auto = await ui(s.proxy, f"/flows/{table}/request/content/auto.json")
    assert auto["view_name"] == "wiretrim"  # chosen over JSON for a rewritten request
    assert "messages[3].content  tool_result" in auto["text"] and "rewritten: compressed" in auto["text"]
    assert all(line in auto["text"] for line in s.sent_table.splitlines())  # the sent text is shown
    log_view = (await ui(s.proxy, f"/flows/{log}/request/content/wiretrim.json"))["text"]
    assert "java.lang.IllegalStateException: price missing for SKU-4471" in log_view
    assert (await ui(s.proxy, f"/flows/{small}/request/content/auto.json"))["view_name"] != "wiretrim"
    small_view = (await ui(s.proxy, f"/flows/{small}/request/content/wiretrim.json"))["text"]
    assert "No slot was worth rewriting" in small_view and "kept: too_small" in small_view
    response = await ui(s.proxy, f"/flows/{table}/response/content/auto.json")
    assert response["view_name"] != "wiretrim"


async def test_chromium_shows_the_comment_and_the_view(
    start_proxy: Start, upstream: Upstream, tmp_path: Path
) -> None:
    if browser.find_chromium() is None:
        pytest.skip("no chromium on PATH (Debian: `apt-get install chromium`, which .ci/run does)")
    s = await three_calls(start_proxy, upstream)
    table = s.flows[0]
    async with browser.chromium(tmp_path / "profile", width=1600, height=1000) as page:
        await page.goto(f"{s.proxy.web_url}/?token={WEB_PASSWORD}#/flows/{table['id']}/request")
        first_sent_line = s.sent_table.splitlines()[0]
        text = await page.wait_for_text(*(f["comment"] for f in s.flows), "rewritten: compressed",
                                        first_sent_line)
        assert "messages[3].content" in text and "tool_result" in text
        # For the screenshot, as a user would: a narrower path column, a wider comment column.
        await page.drag("th.col-path .col-resize-handle", -150)
        await page.drag("th.col-comment .col-resize-handle", 220)
        png = await page.screenshot(tmp_path / "mitmweb-wiretrim.png")
    assert png.startswith(b"\x89PNG\r\n\x1a\n") and len(png) > 10_000
    if SCREENSHOT_TO is not None:
        SCREENSHOT_TO.write_bytes(png)
