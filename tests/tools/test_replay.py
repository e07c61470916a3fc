"""`wiretrim replay` on a flow file the test records with mitmproxy's FlowWriter."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from mitmproxy import http, io
from mitmproxy.test import tflow, tutils

from tests.addon.bodies import EAGER, encode, openai_tool_chat, pretty_rows
from wiretrim import cli, prices
from wiretrim.compression import Engine, measure
from wiretrim.compression.memo import MemoryMemo
from wiretrim.compression.tokens import TiktokenCounter
from wiretrim.config import Settings
from wiretrim.tools import replay
from wiretrim.usage import read_body


def flow(
    url_host: str,
    path: str,
    body: bytes | None,
    headers: dict[str, str] | None = None,
    method: str = "POST",
    response: bytes | None = None,
) -> http.HTTPFlow:
    hdrs = http.Headers(host=url_host, content_type="application/json", **(headers or {}))
    f = tflow.tflow(
        req=tutils.treq(
            method=method.encode(),
            host=url_host,
            port=443,
            scheme=b"https",
            path=path.encode(),
            headers=hdrs,
            content=body,
        )
    )
    if response is not None:
        f.response = tutils.tresp(headers=http.Headers(content_type="application/json"), content=response)
    return f


USAGE = json.dumps(
    {
        "choices": [],
        "usage": {
            "prompt_tokens": 3000,
            "completion_tokens": 10,
            "prompt_tokens_details": {"cached_tokens": 1024},
        },
    }
).encode()


@pytest.fixture
def recorded(tmp_path: Path) -> tuple[Path, list[bytes]]:
    """A flow file as `mitmdump -w` writes it: plain calls, a call wiretrim rewrote in `on` mode
    (the original is in its metadata), a call that is not an LLM call, and a signed one."""
    bodies = [encode(openai_tool_chat(pretty_rows(25, tag=f"t{i}"))) for i in range(3)]
    plain = flow("api.openai.com", "/v1/chat/completions", bodies[0], response=USAGE)
    rewritten = flow("api.openai.com", "/v1/chat/completions", b'{"model": "gpt-4o-mini", "messages": []}')
    rewritten.metadata["wiretrim"] = {"rewritten": True, "original": bodies[1]}
    models = flow("api.openai.com", "/v1/models", None, method="GET")
    signed = flow(
        "api.openai.com",
        "/v1/chat/completions",
        bodies[2],
        headers={"authorization": "AWS4-HMAC-SHA256 Credential=x, Signature=y"},
    )
    path = tmp_path / "flows.mitm"
    with path.open("wb") as f:
        writer = io.FlowWriter(f)
        for fl in (plain, rewritten, models, signed):
            writer.add(fl)
    return path, bodies


def test_replay_runs_matched_requests_through_the_engine(recorded: tuple[Path, list[bytes]]) -> None:
    path, bodies = recorded
    settings = Settings.model_validate(EAGER)
    counter = TiktokenCounter(settings.compression.encoding)
    engine = Engine(settings.engine_settings(), counter, MemoryMemo())
    out = replay.run([path], engine, prices.load())

    assert (out.flows, out.matched, out.skipped) == (4, 3, {"signed:sigv4": 1})
    expected = Engine(settings.engine_settings(), counter, MemoryMemo())
    before = after = 0
    for body in bodies[:2]:  # the original of the rewritten one, not what went upstream
        acc = measure(expected.rewrite(body, "openai-chat"), counter)
        before, after = before + acc.tokens_before, after + acc.tokens_after
    t = out.total
    assert (t.requests, t.compressed, t.tokens_before, t.tokens_after) == (2, 2, before, after)
    assert after < before
    price = prices.load().lookup("gpt-4o-mini")
    assert price is not None
    assert t.saved_usd == pytest.approx((before - after) * price.input / 1e6)
    assert t.billed_usd == prices.load().cost(
        "gpt-4o-mini", read_body(USAGE, "openai-chat", "application/json")
    )
    assert list(out.lines) == [("openai", "gpt-4o-mini")]


def test_replay_leaves_alone_what_the_proxy_would(recorded: tuple[Path, list[bytes]]) -> None:
    """Bodies over the size cap, and encodings the proxy cannot decode, count as skips."""
    path, bodies = recorded
    engine = Engine(Settings.model_validate(EAGER).engine_settings(), TiktokenCounter("auto"), MemoryMemo())
    out = replay.run([path], engine, prices.load(), max_body_bytes=len(bodies[0]) - 1)
    # The plain call is too large; the rewritten one is replayed from the original wiretrim kept.
    assert out.skipped == {"signed:sigv4": 1, "too_large": 1}
    assert (out.total.requests, out.total.compressed) == (1, 1)
    broken = flow("api.openai.com", "/v1/chat/completions", b"not gzip", headers={"content_encoding": "gzip"})
    other = Path(path).with_name("broken.mitm")
    with other.open("wb") as f:
        io.FlowWriter(f).add(broken)
    assert replay.run([other], engine, prices.load()).skipped == {"content_encoding": 1}


def test_the_command_prints_the_table(
    recorded: tuple[Path, list[bytes]], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path, _ = recorded
    config = tmp_path / "wiretrim.yaml"
    config.write_text(yaml.safe_dump(EAGER))
    assert cli.main(["replay", str(path), "--config", str(config)]) == 0
    out = capsys.readouterr().out
    assert "what wiretrim would have saved · 4 flows, 3 LLM requests" in out
    assert "gpt-4o-mini" in out and "signed:sigv4 1" in out


def test_a_file_that_is_not_a_flow_file_is_reported(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    junk = tmp_path / "junk.mitm"
    junk.write_bytes(b"this is not a flow file")
    assert cli.main(["replay", str(junk)]) == 1
    assert "not a mitmproxy flow file" in capsys.readouterr().out


def test_missing_files_stop_before_any_work(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["replay", str(tmp_path / "none.mitm")]) == 2
    assert "no such file" in capsys.readouterr().err
