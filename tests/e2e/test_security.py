"""Security (issue 8): where the proxy listens, the CA key, and secrets that must never be written.

* ``wiretrim run`` listens on 127.0.0.1 only; another address needs --allow-remote, and without
  proxy authentication it starts with a warning (checked on real processes and sockets).
* The CA's private key files are mode 0600, never printed, and ignored by git in certs/.
* API keys, Authorization and other credential headers and prompt text are planted in requests
  (every mode, the engine's failure paths, upstream errors) and searched for in every output:
  log records at DEBUG with their tracebacks, flow comments and metadata, the ledger file, the
  Prometheus metrics, and the whole output of real proxy processes.
"""

from __future__ import annotations

import asyncio
import base64
import logging
import re
import shutil
import socket
import ssl
import stat
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from mitmproxy import http

from tests.addon.bodies import EAGER, anthropic_tool_chat, encode, openai_tool_chat, pretty_rows
from tests.e2e import load, tls
from tests.e2e.conftest import Proxy
from tests.e2e.leaky import quoting_engine, quoting_transform_engine
from tests.e2e.upstream import Received, Reply, Upstream, anthropic_reply, openai_reply
from wiretrim import certs

Start = Callable[..., Any]
ROOT = Path(__file__).resolve().parents[2]
KEYS = {
    "authorization": "sk-proj-SECRETkeyOPENAI0a1b2c",
    "x-api-key": "sk-ant-api03-SECRETkeyANTHROPIC",
    "x-goog-api-key": "AIzaSECRETkeyGOOGLEheader",
    "api-key": "SECRETkeyAZURE0123456789",
    "cookie": "SECRETsessionCOOKIE",
}
QUERY_KEY = "AIzaSECRETkeyGOOGLEquery"
PROMPT = "PROMPTtextNEVERlog7f3a"
SECRETS = (*KEYS.values(), QUERY_KEY, PROMPT)
GEMINI = "https://generativelanguage.googleapis.com/v1beta/models/gemini-2.5-flash:generateContent"


def headers() -> dict[str, str]:
    return {
        "content-type": "application/json",
        "authorization": f"Bearer {KEYS['authorization']}",
        **{k: v for k, v in KEYS.items() if k != "authorization"},
    }


def planted_calls() -> list[tuple[str, bytes]]:
    """Requests of every API, streamed or not, carrying the prompt marker in text the engine rewrites."""
    tool = pretty_rows(30, tag=PROMPT)
    ask = f"How many rows? {PROMPT}"
    chat = openai_tool_chat(tool)
    chat["messages"][1]["content"] = ask
    messages = anthropic_tool_chat(tool)
    messages["messages"][0]["content"] = ask
    gemini = {
        "contents": [
            {"role": "user", "parts": [{"text": ask}]},
            {"role": "model", "parts": [{"functionCall": {"name": "query", "args": {}}}]},
            {
                "role": "user",
                "parts": [{"functionResponse": {"name": "query", "response": {"output": tool}}}],
            },
        ]
    }
    return [
        ("https://api.openai.com/v1/chat/completions", encode(chat)),
        ("https://api.openai.com/v1/chat/completions", encode({**chat, "stream": True})),
        ("https://api.anthropic.com/v1/messages", encode(messages)),
        ("https://api.anthropic.com/v1/messages", encode({**messages, "stream": True})),
        (f"{GEMINI}?key={QUERY_KEY}", encode(gemini)),
        ("https://api.openai.com/v1/chat/completions", encode(chat)[:-40]),  # truncated: a skip
    ]


def answer(status: int | None) -> Callable[[Received], Reply]:
    """The fake API: its usual replies (or `status` with an error body); 400 for a body it cannot read."""

    def reply(req: Received) -> Reply:
        json_type = [("content-type", "application/json")]
        try:
            req.json()
        except ValueError:
            return Reply(400, json_type, b'{"error": {"message": "could not parse the JSON body"}}')
        if status is not None:
            return Reply(status, json_type, b'{"error": {"type": "invalid_request_error", "message": "no"}}')
        path = req.path.partition("?")[0]
        if path.endswith("/chat/completions"):
            return openai_reply(req, 3, 0.0)
        if path.endswith("/messages"):
            return anthropic_reply(req, 3, 0.0)
        return Reply(200, json_type, b'{"candidates": []}')

    return reply


EXPECTED = [200, 200, 200, 200, 200, 400]


def send_all(proxy_url: str | None = None, verify: Any = True) -> list[int]:
    statuses = []
    with httpx.Client(timeout=30, proxy=proxy_url, verify=verify, trust_env=proxy_url is None) as c:
        for url, body in planted_calls():
            statuses.append(c.post(url, content=body, headers=headers()).status_code)
    return statuses


def leaks(text: str | bytes, where: str) -> list[str]:
    data = text if isinstance(text, str) else text.decode("utf-8", "replace")
    return [f"{where}: {s}" for s in SECRETS if s in data]


class Flows:
    """Test-only addon: keeps every flow, to read what the addon wrote on it."""

    def __init__(self) -> None:
        self.flows: list[http.HTTPFlow] = []

    def response(self, flow: http.HTTPFlow) -> None:
        self.flows.append(flow)

    def error(self, flow: http.HTTPFlow) -> None:
        self.flows.append(flow)


def records_text(caplog: pytest.LogCaptureFixture) -> str:
    """Every record as a handler would write it, tracebacks included, and its raw arguments."""
    fmt = logging.Formatter("%(name)s %(levelname)s %(message)s")
    # The test's own HTTP client logs its URLs (the query key among them); it is not the proxy.
    proxy_side = [r for r in caplog.records if not r.name.startswith(("httpx", "httpcore"))]
    return "\n".join(fmt.format(r) + " " + repr(r.args) for r in proxy_side)


SCENARIOS = [
    pytest.param("on", None, {}, id="on"),
    pytest.param("shadow", None, {}, id="shadow"),
    pytest.param("off", None, {}, id="off"),
    pytest.param("on", quoting_engine, {}, id="engine-raises-quoting-the-body"),
    pytest.param("on", quoting_transform_engine, {}, id="transform-raises-quoting-the-text"),
    pytest.param("on", None, {"budget_ms": 1}, id="over-budget"),
]


@pytest.mark.parametrize(("mode", "factory", "config"), SCENARIOS)
async def test_no_secret_in_logs_flows_ledger_or_metrics(
    start_proxy: Start,
    upstream: Upstream,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
    mode: str,
    factory: Any,
    config: dict[str, Any],
) -> None:
    caplog.set_level(logging.DEBUG)
    ledger_path = tmp_path / "ledger.sqlite"
    # The thread executor: whatever the engine logs lands in caplog too.
    cfg = {**EAGER, "executor": "thread", "ledger": {"path": str(ledger_path)}, "metrics_port": 0, **config}
    proxy: Proxy = await start_proxy(cfg, mode=mode, factory=factory)
    flows = Flows()
    proxy.master.addons.add(flows)

    upstream.handler = answer(None)
    statuses = await asyncio.to_thread(send_all)
    upstream.handler = answer(400)  # the API rejects a rewritten request: the breaker speaks
    await asyncio.to_thread(send_all)
    await proxy.addon.settled()

    assert statuses == EXPECTED
    assert PROMPT.encode() in (proxy.client.requests[0].body or b"")  # it was planted
    found = leaks(records_text(caplog), "log")
    for flow in flows.flows:
        found += leaks(flow.comment, "comment")
        data = dict(flow.metadata.get("wiretrim", {}))
        bodies = [data.pop(k) for k in ("original", "would_send") if k in data]  # bodies, by design
        found += leaks(repr(data), "metadata")
        found += [f for b in bodies for f in leaks(b, "metadata body") if PROMPT not in f]
    setup = proxy.addon.setup
    assert setup is not None and setup.ledger is not None and setup.metrics is not None
    assert await asyncio.to_thread(setup.ledger.flush)
    stored = list(ledger_path.parent.glob(ledger_path.name + "*"))  # the database and its journal
    assert stored
    for part in stored:
        found += leaks(part.read_bytes(), f"ledger {part.name}")
    with httpx.Client(trust_env=False) as c:
        scraped = c.get(f"http://127.0.0.1:{setup.metrics.port}/metrics").text
    assert "wiretrim_requests_total" in scraped
    found += leaks(scraped, "metrics")
    assert found == []
    if factory is not None:  # the failure really happened, and was logged, without its message
        assert "failed" in caplog.text or "transform quoting failed" in caplog.text
        assert "message not logged" in caplog.text


# -- real processes ------------------------------------------------------------------------------


def key_lines(confdir: Path) -> list[str]:
    """The base64 lines of the CA private key, as they would appear if it were printed."""
    pem = (confdir / certs.CA_KEY).read_text()
    m = re.search(r"-----BEGIN [A-Z ]*PRIVATE KEY-----(.*?)-----END", pem, re.S)
    assert m is not None
    return [line for line in m.group(1).split() if len(line) >= 40]


def run_and_collect(proxy: load.ProxyProcess, pki: tls.TestPKI) -> str:
    """Send the planted requests once the engine is up; everything the process printed."""
    load.wait_for_engine(proxy, pki)
    verify = ssl.create_default_context(cafile=str(proxy.bundle))
    before = proxy.action_lines
    assert send_all(proxy.url, verify) == EXPECTED
    proxy.wait_for_actions(before + len(planted_calls()))
    proxy.stop()
    return "".join(proxy.lines)


def test_wiretrim_run_prints_no_secret_and_no_key(
    upstream_server: Upstream, pki: tls.TestPKI, tmp_path: Path
) -> None:
    upstream_server.reset()
    upstream_server.handler = answer(None)
    proxy = load.ProxyProcess("on", upstream_server.port, pki.ca_cert, tmp_path, {**EAGER})
    proxy.start()
    try:
        out = run_and_collect(proxy, pki)
    finally:
        proxy.stop()
    assert leaks(out, "wiretrim run output") == []
    assert " action=compressed " in out
    assert not [line for line in key_lines(proxy.confdir) if line in out]
    assert "PRIVATE KEY" not in out


@pytest.mark.parametrize("leaky", ["engine", "transform"])
def test_debug_output_of_failing_engines_holds_no_secret(
    upstream_server: Upstream, pki: tls.TestPKI, tmp_path: Path, leaky: str
) -> None:
    """mitmdump at debug verbosity, the engine in its worker process: the worker's stderr and
    everything the proxy logs about the failure are in this output."""
    upstream_server.reset()
    upstream_server.handler = answer(None)
    mitmdump = Path(sys.executable).parent / "mitmdump"
    argv = [
        str(mitmdump),
        "-s",
        str(ROOT / "tests/e2e/leaky_script.py"),
        "-s",
        str(load.REDIRECT_SCRIPT),
        "--listen-host",
        "127.0.0.1",
        "--listen-port",
        "0",
        "--set",
        "confdir={confdir}",
        "--set",
        "wiretrim_mode=on",
        "--set",
        "wiretrim_config={config}",
        "--set",
        "redirect_port={upstream_port}",
        "--set",
        "ssl_verify_upstream_trusted_ca={upstream_ca}",
        "--set",
        "connection_strategy=lazy",
        "--set",
        "termlog_verbosity=debug",
        "--set",
        "flow_detail=0",
    ]
    proxy = load.ProxyProcess(
        "on", upstream_server.port, pki.ca_cert, tmp_path, {**EAGER}, argv=argv, env={"LEAKY_ENGINE": leaky}
    )
    certs.ensure_ca(proxy.confdir)
    proxy.start()
    try:
        out = run_and_collect(proxy, pki)
    finally:
        proxy.stop()
    assert leaks(out, "mitmdump output") == []
    assert "message not logged" in out  # the failure was reported
    assert ("action=failed:ValueError" in out) == (leaky == "engine")


# -- where it listens ----------------------------------------------------------------------------


def listening_addresses(port: int) -> set[str]:
    """Local addresses of the sockets listening on `port` (from /proc/net/tcp and tcp6)."""
    found = set()
    for name in ("tcp", "tcp6"):
        path = Path("/proc/net") / name
        if not path.exists():
            continue
        for line in path.read_text().splitlines()[1:]:
            local, state = line.split()[1], line.split()[3]
            addr, _, hexport = local.partition(":")
            if state == "0A" and int(hexport, 16) == port:
                raw = bytes.fromhex(addr)
                if len(raw) == 4:
                    found.add(socket.inet_ntop(socket.AF_INET, raw[::-1]))
                else:
                    words = b"".join(raw[i : i + 4][::-1] for i in range(0, 16, 4))
                    found.add(socket.inet_ntop(socket.AF_INET6, words))
    return found


def wiretrim(*args: str, cwd: Path, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "wiretrim", *args], capture_output=True, text=True, timeout=timeout, cwd=cwd
    )


@pytest.mark.skipif(not Path("/proc/net/tcp").exists(), reason="reads listening sockets from /proc")
def test_wiretrim_run_listens_on_loopback_only(
    upstream_server: Upstream, pki: tls.TestPKI, tmp_path: Path
) -> None:
    proxy = load.ProxyProcess("off", upstream_server.port, pki.ca_cert, tmp_path)
    proxy.start()
    try:
        assert listening_addresses(proxy.port) == {"127.0.0.1"}
    finally:
        proxy.stop()
    out = "".join(proxy.lines)
    assert "warning" not in out.lower()


@pytest.mark.parametrize(
    "args",
    [
        ("--listen-host", "0.0.0.0"),
        ("--listen-host", "::"),
        ("--listen-host", ""),
        ("--", "--listen-host", "0.0.0.0"),
        ("--", "--set", "listen_host=10.1.2.3"),
    ],
)
def test_other_addresses_need_allow_remote(tmp_path: Path, args: tuple[str, ...]) -> None:
    proc = wiretrim("run", "--port", "0", "--off", "--confdir", str(tmp_path / "c"), *args, cwd=tmp_path)
    assert proc.returncode == 2
    (line,) = proc.stderr.splitlines()
    assert line.startswith("wiretrim: --listen-host ") and line.endswith(
        "add --allow-remote if that is intended"
    )
    assert not (tmp_path / "c").exists()  # refused before anything was created


@pytest.mark.skipif(not Path("/proc/net/tcp").exists(), reason="reads listening sockets from /proc")
@pytest.mark.parametrize("auth", [False, True], ids=["no-proxyauth", "proxyauth"])
def test_allow_remote_warns_unless_proxyauth_is_set(
    upstream_server: Upstream, pki: tls.TestPKI, tmp_path: Path, auth: bool
) -> None:
    argv = [
        sys.executable,
        "-m",
        "wiretrim",
        "run",
        "--port",
        "0",
        "--off",
        "--confdir",
        "{confdir}",
        "--listen-host",
        "0.0.0.0",
        "--allow-remote",
        "--",
    ]
    argv += ["--proxyauth", "wiretrim:s3cret-pass"] if auth else []
    proxy = load.ProxyProcess("off", upstream_server.port, pki.ca_cert, tmp_path, argv=argv)
    proxy.start()
    try:
        assert listening_addresses(proxy.port) == {"0.0.0.0"}
        with socket.create_connection(("127.0.0.1", proxy.port), timeout=10) as s:
            s.sendall(b"GET http://example.invalid/ HTTP/1.1\r\nHost: example.invalid\r\n\r\n")
            head = s.recv(200)
    finally:
        proxy.stop()
    out = "".join(proxy.lines)
    warned = "wiretrim: warning: listening on 0.0.0.0" in out and "without --proxyauth" in out
    assert warned is not auth
    if auth:
        assert head.startswith(b"HTTP/1.1 407")  # nobody gets in without the password
        assert "s3cret-pass" not in out


# -- the CA key ----------------------------------------------------------------------------------


def test_ca_key_files_are_private_and_never_printed(tmp_path: Path) -> None:
    confdir = tmp_path / "confdir"
    outputs = [
        wiretrim("certs", "--confdir", str(confdir), cwd=tmp_path),
        wiretrim("certs", "--env", "--confdir", str(confdir), cwd=tmp_path),
    ]
    for name in certs.SECRET_FILES:
        assert stat.S_IMODE((confdir / name).stat().st_mode) == 0o600, name
    printed = "".join(p.stdout + p.stderr for p in outputs)
    assert all(p.returncode == 0 for p in outputs)
    assert str(confdir / certs.CA_KEY) in printed  # named, so people know to protect it ...
    assert not [line for line in key_lines(confdir) if line in printed]  # ... never shown
    p12 = base64.b64encode((confdir / "mitmproxy-ca.p12").read_bytes()[:48]).decode()
    assert p12[:40] not in printed
    bundle = (confdir / certs.BUNDLE).read_text()
    assert "PRIVATE KEY" not in bundle and not [line for line in key_lines(confdir) if line in bundle]
    assert stat.S_IMODE((confdir / certs.BUNDLE).stat().st_mode) & 0o077 == 0o044  # public: readable


@pytest.mark.skipif(
    shutil.which("git") is None or not (ROOT / ".git").exists(), reason="needs the git checkout"
)
def test_git_ignores_everything_in_certs_but_its_readme() -> None:
    names = [
        "certs/mitmproxy-ca.pem",
        "certs/mitmproxy-ca.p12",
        "certs/mitmproxy-ca-cert.pem",
        "certs/wiretrim-ca-bundle.pem",
        "certs/mitmproxy-dhparam.pem",
        "certs/wiretrim-ledger.sqlite",
        "certs/README.md",
        "certs/.gitignore",
    ]
    proc = subprocess.run(
        ["git", "check-ignore", "--no-index", *names], cwd=ROOT, capture_output=True, text=True
    )
    assert set(proc.stdout.split()) == set(names) - {"certs/README.md", "certs/.gitignore"}
