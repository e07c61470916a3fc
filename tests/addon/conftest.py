from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import yaml
from mitmproxy import http
from mitmproxy.test import taddons, tflow, tutils

from tests import environ
from tests.addon import fakes
from wiretrim.addon.hooks import Wiretrim


@pytest.fixture(autouse=True)
def clean_environ(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    environ.scrub(monkeypatch, tmp_path)


@pytest.fixture
def write_config(tmp_path: Path) -> Callable[..., str]:
    """Write a YAML config (dict, deep-merged onto a thread-executor base) and return its path."""

    def write(
        data: dict[str, Any] | None = None, *, name: str = "wiretrim.yaml", raw: str | None = None
    ) -> str:
        path = tmp_path / name
        if raw is not None:
            path.write_text(raw)
            return str(path)
        # The ledger in the test's directory, never in ~/.mitmproxy (taddons' confdir).
        base: dict[str, Any] = {"executor": "thread", "ledger": {"path": str(tmp_path / "ledger.sqlite")}}
        for key, value in (data or {}).items():
            if isinstance(value, dict) and isinstance(base.get(key), dict):
                base[key] = {**base[key], **value}
            else:
                base[key] = value
        path.write_text(yaml.safe_dump(base))
        return str(path)

    return write


def api_flow(url: str, body: bytes | dict[str, Any] | None, headers: dict[str, str] | None = None,
             method: str = "POST") -> http.HTTPFlow:
    """A live flow for `url` as the client sent it (JSON content type unless headers say otherwise)."""
    parts = urlsplit(url)
    content = json.dumps(body).encode() if isinstance(body, dict) else body
    hdrs = {"host": parts.hostname or "", "content-type": "application/json"}
    if content is not None:
        hdrs["content-length"] = str(len(content))
    hdrs.update(headers or {})
    path = parts.path + (f"?{parts.query}" if parts.query else "")
    req = tutils.treq(
        method=method.encode(), scheme=parts.scheme.encode(), host=parts.hostname,
        port=parts.port or (443 if parts.scheme == "https" else 80), path=path.encode(),
        headers=http.Headers([(k.encode(), v.encode()) for k, v in hdrs.items() if v is not None]),
        content=content,
    )
    return tflow.tflow(req=req)


async def run_request(addon: Wiretrim, flow: http.HTTPFlow) -> http.HTTPFlow:
    """requestheaders then request, then wait for the accounting of this flow."""
    addon.requestheaders(flow)
    await addon.request(flow)
    await addon.settled()
    return flow


class Harness:
    def __init__(self, addon: Wiretrim, tctx: taddons.context) -> None:
        self.addon = addon
        self.tctx = tctx

    def configure(self, **options: Any) -> None:
        self.tctx.configure(self.addon, **options)

    async def send(self, url: str, body: bytes | dict[str, Any] | None, headers: dict[str, str] | None = None,
                   method: str = "POST") -> http.HTTPFlow:
        if self.addon.setup is not None:
            await self.addon.setup.runner.started()
        return await run_request(self.addon, api_flow(url, body, headers, method))


@pytest.fixture
def make_harness(write_config: Callable[..., str]) -> Iterator[Callable[..., Any]]:
    """Start the addon in a taddons context: make_harness(config_dict, mode="on", factory=...)."""
    opened: list[tuple[Wiretrim, taddons.context]] = []

    def make(config: dict[str, Any] | None = None, *, mode: str = "on", factory: Any = fakes.light_engine,
             endpoints: list[str] | None = None) -> Harness:
        addon = Wiretrim(engine_factory=factory)
        tctx = taddons.context(addon)
        tctx.__enter__()
        opened.append((addon, tctx))
        tctx.configure(addon, wiretrim_config=write_config(config), wiretrim_mode=mode,
                       wiretrim_endpoint=endpoints or [])
        addon.running()
        return Harness(addon, tctx)

    yield make
    for addon, tctx in opened:
        if addon.setup is not None:
            addon.setup.runner.close()
        tctx.__exit__(None, None, None)


@pytest.fixture
async def harness(make_harness: Callable[..., Harness]) -> AsyncIterator[Harness]:
    """The addon in `on` mode with the light engine and eager thresholds."""
    from tests.addon.bodies import EAGER

    yield make_harness(EAGER)
