"""Live: real providers through the proxy. Never in CI.

Run with ``pytest -m live tests/e2e/test_live.py`` and OPENAI_API_KEY / ANTHROPIC_API_KEY set
(each test skips without its key). Override the models with OPENAI_LIVE_MODEL /
ANTHROPIC_LIVE_MODEL. The proxy decrypts only the providers' hosts and verifies them with
the normal trust store; a large tool result is compressed on its way out, and the second
turn of the same conversation must report cached input tokens.
"""

from __future__ import annotations

import asyncio
import json
import os
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import anthropic
import certifi
import openai
import pytest
from mitmproxy import options
from mitmproxy.tools.dump import DumpMaster

from wiretrim.addon.hooks import Wiretrim
from wiretrim.addon.report import KEY
from wiretrim.endpoints import intercept_patterns

# Read at import: the e2e conftest clears provider variables for every test.
OPENAI_KEY = os.environ.get("OPENAI_API_KEY")
ANTHROPIC_KEY = os.environ.get("ANTHROPIC_API_KEY")
OPENAI_MODEL = os.environ.get("OPENAI_LIVE_MODEL", "gpt-4o-mini")
ANTHROPIC_MODEL = os.environ.get("ANTHROPIC_LIVE_MODEL", "claude-haiku-4-5")

pytestmark = pytest.mark.live


class _Rewritten:
    """Test-only, last in the chain: which requests went upstream rewritten."""

    def __init__(self) -> None:
        self.actions: list[str] = []

    def response(self, flow: Any) -> None:
        self.actions.append(flow.metadata.get(KEY, {}).get("action", "-"))


@pytest.fixture
async def live_proxy(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[_Rewritten]:
    cfg = tmp_path / "wiretrim.yaml"
    cfg.write_text("mode: 'on'\n")
    master = DumpMaster(options.Options(listen_host="127.0.0.1", listen_port=0, confdir=str(tmp_path)),
                        with_termlog=False, with_dumper=False)
    addon, seen = Wiretrim(), _Rewritten()
    started = asyncio.Event()

    class Started:
        def running(self) -> None:
            started.set()

    master.addons.add(addon, seen, Started())
    master.options.update(allow_hosts=intercept_patterns(), wiretrim_config=str(cfg))
    task = asyncio.create_task(master.run())
    await asyncio.wait_for(started.wait(), 10)
    assert addon.setup is not None
    await asyncio.wait_for(addon.setup.runner.started(), 30)
    port = next(iter(master.addons.get("proxyserver").servers)).listen_addrs[0][1]
    bundle = tmp_path / "bundle.pem"
    bundle.write_bytes(Path(certifi.where()).read_bytes() + (tmp_path / "mitmproxy-ca-cert.pem").read_bytes())
    monkeypatch.setenv("HTTPS_PROXY", f"http://127.0.0.1:{port}")
    monkeypatch.setenv("SSL_CERT_FILE", str(bundle))
    yield seen
    await addon.settled()
    master.shutdown()
    await asyncio.wait_for(task, 10)


def inventory(n: int = 400) -> str:
    """A large pretty-printed tool result with one answer in it."""
    rows = [{"sku": f"SKU-{i:05d}", "warehouse": "north" if i % 3 else "south", "stock": (i * 37) % 101}
            for i in range(n)]
    rows[271]["stock"] = 9431
    return json.dumps({"items": rows, "count": n}, indent=2)


QUESTION = "Which SKU has a stock of 9431? Answer with the SKU only."


@pytest.mark.skipif(not OPENAI_KEY, reason="OPENAI_API_KEY is not set")
async def test_openai_compressed_turns_are_answered_and_cached(live_proxy: _Rewritten) -> None:
    client = openai.OpenAI(api_key=OPENAI_KEY, max_retries=1, timeout=120)
    messages: list[dict[str, Any]] = [
        {"role": "user", "content": QUESTION},
        {"role": "assistant", "content": None, "tool_calls": [
            {"id": "call_1", "type": "function", "function": {"name": "inventory", "arguments": "{}"}}]},
        {"role": "tool", "tool_call_id": "call_1", "content": inventory()},
    ]
    tools = [{"type": "function", "function": {"name": "inventory", "parameters": {"type": "object"}}}]

    def turns() -> tuple[Any, Any]:
        first = client.chat.completions.create(model=OPENAI_MODEL, messages=messages, tools=tools)
        answer = first.choices[0].message.content or ""
        messages.extend([{"role": "assistant", "content": answer},
                         {"role": "user", "content": "And which warehouse is it in? One word."}])
        second = client.chat.completions.create(model=OPENAI_MODEL, messages=messages, tools=tools)
        return first, second

    first, second = await asyncio.to_thread(turns)
    assert "SKU-00271" in (first.choices[0].message.content or "")
    assert live_proxy.actions[0] == "compressed"
    details = second.usage.prompt_tokens_details if second.usage else None
    assert details is not None and (details.cached_tokens or 0) > 0


@pytest.mark.skipif(not ANTHROPIC_KEY, reason="ANTHROPIC_API_KEY is not set")
async def test_anthropic_compressed_turns_are_answered_and_cached(live_proxy: _Rewritten) -> None:
    client = anthropic.Anthropic(api_key=ANTHROPIC_KEY, max_retries=1, timeout=120)
    messages: list[dict[str, Any]] = [
        {"role": "user", "content": QUESTION},
        {"role": "assistant",
         "content": [{"type": "tool_use", "id": "tu_1", "name": "inventory", "input": {}}]},
        {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "tu_1", "content": inventory(),
                                      "cache_control": {"type": "ephemeral"}}]},
    ]
    tools = [{"name": "inventory", "input_schema": {"type": "object"}}]

    def turns() -> tuple[Any, Any]:
        first = client.messages.create(model=ANTHROPIC_MODEL, max_tokens=64, messages=messages, tools=tools)
        answer = "".join(b.text for b in first.content if b.type == "text")
        messages.extend([{"role": "assistant", "content": answer},
                         {"role": "user", "content": "And which warehouse is it in? One word."}])
        second = client.messages.create(model=ANTHROPIC_MODEL, max_tokens=64, messages=messages, tools=tools)
        return first, second

    first, second = await asyncio.to_thread(turns)
    assert "SKU-00271" in "".join(b.text for b in first.content if b.type == "text")
    assert live_proxy.actions[0] == "compressed"
    assert (second.usage.cache_read_input_tokens or 0) > 0
