"""A headless Chromium driven over the DevTools protocol, for the mitmweb tests.

Debian's ``chromium`` is started with its own throwaway profile, no proxy, no sandbox (tests may
run as root) and no background networking, and listens for DevTools on a port it picks and
prints. The websocket client is tornado's, which mitmproxy already depends on. Waiting for
the page is event-driven: a MutationObserver in the page resolves once the text appears.
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
import re
import shutil
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from tornado.websocket import WebSocketClientConnection, websocket_connect

NAMES = ("chromium", "chromium-browser")
_LISTENING = re.compile(rb"DevTools listening on (ws://\S+)")
_PROXY_ENV = ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy")


def find_chromium() -> str | None:
    return next((path for name in NAMES if (path := shutil.which(name))), None)


class DevTools:
    """One page of the browser, over the flattened DevTools session of its target."""

    def __init__(self, ws: WebSocketClientConnection) -> None:
        self._ws = ws
        self._next_id = 0
        self._session: str | None = None

    async def call(self, method: str, **params: Any) -> dict[str, Any]:
        self._next_id += 1
        msg: dict[str, Any] = {"id": self._next_id, "method": method, "params": params}
        if self._session is not None:
            msg["sessionId"] = self._session
        await self._ws.write_message(json.dumps(msg))
        while True:  # events arrive in between; this client needs none of them
            raw = await self._ws.read_message()
            if raw is None:
                raise ConnectionError("the browser closed the DevTools connection")
            reply = json.loads(raw)
            if reply.get("id") == self._next_id:
                if "error" in reply:
                    raise RuntimeError(f"{method}: {reply['error']}")
                return dict(reply.get("result", {}))

    async def open_page(self, width: int, height: int) -> None:
        target = await self.call("Target.createTarget", url="about:blank")
        attached = await self.call("Target.attachToTarget", targetId=target["targetId"], flatten=True)
        self._session = attached["sessionId"]
        await self.call("Emulation.setDeviceMetricsOverride", width=width, height=height,
                        deviceScaleFactor=1, mobile=False)

    async def goto(self, url: str) -> None:
        await self.call("Page.enable")
        await self.call("Page.navigate", url=url)

    async def evaluate(self, expression: str) -> Any:
        result = await self.call("Runtime.evaluate", expression=expression, awaitPromise=True,
                                 returnByValue=True)
        if "exceptionDetails" in result:
            raise AssertionError(result["exceptionDetails"].get("exception", {}).get("description"))
        return result["result"].get("value")

    async def wait_for_text(self, *needles: str, timeout_ms: int = 20_000) -> str:
        """Resolves when the page's visible text holds every needle; returns that text."""
        js = """
        new Promise((resolve, reject) => {
          const needles = %s;
          const check = () => {
            const text = document.body ? document.body.innerText : "";
            if (needles.every(n => text.includes(n))) { observer.disconnect(); resolve(text); return true; }
            return false;
          };
          const observer = new MutationObserver(check);
          if (!check()) {
            observer.observe(document, {subtree: true, childList: true, characterData: true});
            setTimeout(() => {
              observer.disconnect();
              const text = document.body ? document.body.innerText : "";
              reject(new Error("timed out waiting for " + JSON.stringify(needles) + "; page text: " + text));
            }, %d);
          }
        })
        """ % (json.dumps(list(needles)), timeout_ms)  # noqa: UP031 (braces everywhere)
        return str(await self.evaluate(js))

    async def drag(self, selector: str, dx: int) -> None:
        """Drag the centre of the element `selector` by `dx` pixels, as a mouse would."""
        box = await self.evaluate(
            "(() => { const r = document.querySelector(%s).getBoundingClientRect();"  # noqa: UP031
            " return [r.x + r.width / 2, r.y + r.height / 2]; })()" % json.dumps(selector)
        )
        x, y = box
        mouse = "Input.dispatchMouseEvent"
        await self.call(mouse, type="mouseMoved", x=x, y=y)
        await self.call(mouse, type="mousePressed", x=x, y=y, button="left", clickCount=1)
        for step in range(1, 11):
            await self.call(mouse, type="mouseMoved", x=x + dx * step / 10, y=y, button="left", buttons=1)
        await self.call(mouse, type="mouseReleased", x=x + dx, y=y, button="left", clickCount=1)

    async def screenshot(self, path: Path) -> bytes:
        shot = await self.call("Page.captureScreenshot", format="png")
        png = base64.b64decode(shot["data"])
        path.write_bytes(png)
        return png


@asynccontextmanager
async def chromium(profile: Path, width: int = 1400, height: int = 1000) -> AsyncIterator[DevTools]:
    """A headless Chromium with one open page; killed on exit."""
    exe = find_chromium()
    assert exe is not None
    env = {k: v for k, v in os.environ.items() if k not in _PROXY_ENV}
    proc = await asyncio.create_subprocess_exec(
        exe, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--no-first-run", "--no-default-browser-check", "--no-proxy-server", "--hide-scrollbars",
        f"--user-data-dir={profile}", "--remote-debugging-port=0", "--remote-allow-origins=*",
        "about:blank",
        stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE,
        env=env,
    )
    ws: WebSocketClientConnection | None = None
    try:
        assert proc.stderr is not None
        url, seen = None, b""
        while url is None:  # Chromium prints its DevTools address once it listens
            line = await asyncio.wait_for(proc.stderr.readline(), 30)
            if not line:
                raise RuntimeError(f"chromium exited before DevTools listened: {seen!r}")
            seen += line
            if m := _LISTENING.search(line):
                url = m.group(1).decode()
        drain = asyncio.create_task(_drain(proc.stderr))
        ws = await websocket_connect(url, max_message_size=64 * 1024 * 1024)
        tools = DevTools(ws)
        await tools.open_page(width, height)
        yield tools
        drain.cancel()
    finally:
        if ws is not None:
            ws.close()
        if proc.returncode is None:
            proc.kill()
        await proc.wait()


async def _drain(stream: asyncio.StreamReader) -> None:
    """Keep reading Chromium's stderr so a full pipe never blocks it."""
    while await stream.readline():
        pass
