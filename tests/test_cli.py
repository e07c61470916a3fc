"""The `wiretrim` command: run/web/certs/addon-path/compress, and a real proxy started by `wiretrim run`."""

from __future__ import annotations

import http.server
import ipaddress
import json
import os
import re
import signal
import socket
import ssl
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import ClassVar

import pytest

from wiretrim import cli, launch, paths

PROXY_VARS = ("https_proxy", "http_proxy", "all_proxy", "no_proxy")
REMOTE = "is reachable from other machines; add --allow-remote if that is intended\n"


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in list(os.environ):
        if name.startswith("WIRETRIM_") or name.lower() in PROXY_VARS:
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)


@pytest.fixture
def started(monkeypatch: pytest.MonkeyPatch) -> list[launch.Launch]:
    """Stands in for mitmproxy: records the launch instead of running it."""
    plans: list[launch.Launch] = []

    def fake_run(plan: launch.Launch) -> int:
        plans.append(plan)
        return 0

    monkeypatch.setattr(launch, "run", fake_run)
    return plans


def test_run_prepares_the_ca_and_starts_mitmdump(
    tmp_path: Path, started: list[launch.Launch], capsys: pytest.CaptureFixture[str]
) -> None:
    confdir = tmp_path / "ca"
    assert cli.main(["run", "--compress", "--confdir", str(confdir), "--", "--set", "flow_detail=1"]) == 0
    (plan,) = started
    assert plan.tool == "mitmdump"
    assert plan.argv[:2] == ("-s", str(paths.ADDON_SCRIPT))
    assert f"confdir={confdir}" in plan.argv
    assert "wiretrim_mode=on" in plan.argv
    assert plan.argv[-2:] == ("--set", "flow_detail=1")
    assert (confdir / "mitmproxy-ca-cert.pem").is_file()
    assert (confdir / "wiretrim-ca-bundle.pem").is_file()
    err = capsys.readouterr().err
    assert err == (
        "wiretrim: mitmdump, mode on, regular proxy on 127.0.0.1:8080; "
        f"CA bundle {confdir}/wiretrim-ca-bundle.pem (`wiretrim certs` shows how to trust it)\n"
    )


def test_web_starts_mitmweb(tmp_path: Path, started: list[launch.Launch]) -> None:
    assert cli.main(["web", "--shadow", "--web-port", "9191", "--confdir", str(tmp_path)]) == 0
    (plan,) = started
    assert plan.tool == "mitmweb"
    assert "web_port=9191" in plan.argv
    assert "wiretrim_mode=shadow" in plan.argv


def test_metrics_port_flag_reaches_the_addon(tmp_path: Path, started: list[launch.Launch]) -> None:
    assert cli.main(["web", "--metrics-port", "9464", "--confdir", str(tmp_path)]) == 0
    (plan,) = started
    assert "wiretrim_metrics_port=9464" in plan.argv


def test_confdir_from_the_environment(
    tmp_path: Path, started: list[launch.Launch], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("WIRETRIM_CONFDIR", str(tmp_path / "envca"))
    assert cli.main(["run", "--off"]) == 0
    assert f"confdir={tmp_path / 'envca'}" in started[0].argv


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["run", "--listen-host", "0.0.0.0"], f"wiretrim: --listen-host 0.0.0.0 {REMOTE}"),
        (["run", "--", "--listen-host", "10.1.2.3"], f"wiretrim: --listen-host 10.1.2.3 {REMOTE}"),
        (["web", "--web-host", "0.0.0.0"], f"wiretrim: web host 0.0.0.0 {REMOTE}"),
        (["run", "--endpoint", "gw.example=klingon"],
         "wiretrim: --endpoint: endpoint 'gw.example=klingon': unknown shape 'klingon'; known: openai-chat, "
         "openai-responses, openai-completions, anthropic-messages, gemini, cohere, ollama\n"),
    ],
)
def test_refused_launches_exit_2_with_one_line(
    started: list[launch.Launch], capsys: pytest.CaptureFixture[str], argv: list[str], message: str
) -> None:
    assert cli.main(argv) == 2
    assert capsys.readouterr().err == message
    assert started == []


def test_allow_remote_warns_without_proxyauth(
    tmp_path: Path, started: list[launch.Launch], capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli.main(["run", "--listen-host", "0.0.0.0", "--allow-remote", "--confdir", str(tmp_path)]) == 0
    assert "wiretrim: warning: listening on 0.0.0.0:8080 without --proxyauth" in capsys.readouterr().err


def test_console_starts_mitmproxy(tmp_path: Path, started: list[launch.Launch]) -> None:
    argv = ["console", "--compress", "--confdir", str(tmp_path), "--", "--set", "console_eventlog=true"]
    assert cli.main(argv) == 0
    (plan,) = started
    assert plan.tool == "mitmproxy"
    assert plan.argv[-2:] == ("--set", "console_eventlog=true")
    assert "flow_detail=0" not in plan.argv  # the console shows flows; that is what it is for


def test_double_dash_is_only_for_the_proxy_commands(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        cli.main(["certs", "--", "--set", "x=1"])
    assert info.value.code == 2
    assert "arguments after -- are only for run, web and console" in capsys.readouterr().err


def test_certs_prints_paths_and_instructions(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["certs", "--confdir", str(tmp_path), "--port", "9000"]) == 0
    out = capsys.readouterr().out
    assert out.startswith(f"wiretrim CA (created) in {tmp_path}\n")
    assert "export HTTPS_PROXY=http://127.0.0.1:9000" in out
    assert f'eval "$(wiretrim certs --env --confdir {tmp_path} --port 9000 --listen-host 127.0.0.1)"' in out
    assert "PRIVATE KEY" not in out
    assert cli.main(["certs", "--confdir", str(tmp_path)]) == 0
    assert capsys.readouterr().out.startswith(f"wiretrim CA (found) in {tmp_path}\n")


def test_certs_env_is_only_export_lines(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["certs", "--env", "--confdir", str(tmp_path)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert [line.split("=", 1)[0] for line in lines] == [
        "export HTTPS_PROXY", "export SSL_CERT_FILE", "export REQUESTS_CA_BUNDLE", "export CURL_CA_BUNDLE",
        "export NODE_EXTRA_CA_CERTS", "export NODE_USE_ENV_PROXY",
    ]


def test_addon_path(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["addon-path"]) == 0
    printed = Path(capsys.readouterr().out.strip())
    assert printed.is_absolute()
    assert printed == Path(__file__).resolve().parent.parent / "wiretrim" / "addon" / "script.py"
    assert printed.is_file()


def test_compress_still_passes_small_bodies_through(
    tmp_path: Path, capsysbinary: pytest.CaptureFixture[bytes]
) -> None:
    body = b'{"model": "gpt-4o", "messages": [{"role": "user", "content": "hi"}]}'
    (tmp_path / "body.json").write_bytes(body)
    assert cli.main(["compress", str(tmp_path / "body.json")]) == 0
    assert capsysbinary.readouterr().out == body


# -- a real proxy, started the way `make run` starts it ------------------------------------------------


class _Recorder(http.server.BaseHTTPRequestHandler):
    seen: ClassVar[list[tuple[str, str]]] = []

    def do_GET(self) -> None:
        type(self).seen.append((self.command, self.path))
        payload = json.dumps({"path": self.path}).encode()
        self.send_response(200)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, format: str, *args: object) -> None:  # keep pytest output clean
        pass


def _serve(tls: ssl.SSLContext | None = None) -> tuple[http.server.ThreadingHTTPServer, int]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Recorder)
    if tls is not None:
        server.socket = tls.wrap_socket(server.socket, server_side=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, server.server_address[1]


@pytest.fixture(scope="module")
def upstream_tls(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, ssl.SSLContext]:
    """A test CA and a server context for 127.0.0.1 signed by it (the "real" upstream certificate)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import serialization
    from mitmproxy import certs

    key, ca = certs.create_ca(organization="Upstream Test", cn="Upstream Test CA", key_size=2048)
    leaf = certs.dummy_cert(key, ca, "127.0.0.1", [x509.IPAddress(ipaddress.ip_address("127.0.0.1"))])
    d = tmp_path_factory.mktemp("upstream")
    (d / "ca.pem").write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    (d / "server.pem").write_bytes(leaf.to_pem())
    (d / "server.key").write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL,
                          serialization.NoEncryption())
    )
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(d / "server.pem", d / "server.key")
    return d / "ca.pem", ctx


class ProxyRun:
    """`python -m wiretrim run -p 0 ...` (what `make run` runs) as a child; a thread reads its output."""

    def __init__(self, args: tuple[str, ...], confdir: Path, cwd: Path) -> None:
        env = {k: v for k, v in os.environ.items() if not k.startswith("WIRETRIM_")}
        env = {k: v for k, v in env.items() if k.lower() not in PROXY_VARS}
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "wiretrim", "run", "-p", "0", "--confdir", str(confdir), *args],
            cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        )
        self.lines: list[str] = []
        self._new = threading.Condition()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            with self._new:
                self.lines.append(line)
                self._new.notify_all()
        with self._new:
            self._new.notify_all()

    def port(self, timeout: float = 30) -> int:
        """The port from mitmproxy's "proxy listening at" line."""
        deadline = time.monotonic() + timeout
        with self._new:
            while True:
                for line in self.lines:
                    if m := re.search(r"proxy listening at 127\.0\.0\.1:(\d+)", line):
                        return int(m.group(1))
                left = deadline - time.monotonic()
                if left <= 0 or not self._reader.is_alive():
                    raise AssertionError("the proxy did not start:\n" + "".join(self.lines))
                self._new.wait(left)

    def stop(self) -> tuple[int, str]:
        """SIGTERM (what Ctrl-C's shutdown does), then the exit status and everything printed."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            code = self.proc.wait(15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            code = self.proc.wait()
        self._reader.join(5)
        return code, "".join(self.lines)


@pytest.fixture
def proxy_process(tmp_path: Path) -> Iterator[Callable[..., ProxyRun]]:
    runs: list[ProxyRun] = []

    def start(*args: str) -> ProxyRun:
        runs.append(ProxyRun(args, tmp_path / "ca", tmp_path))
        return runs[-1]

    yield start
    for run in runs:
        run.stop()


def _connect_tls(proxy_port: int, port: int, context: ssl.SSLContext) -> dict[str, str]:
    """CONNECT through the proxy to 127.0.0.1:port; the certificate the client is shown."""
    sock = socket.create_connection(("127.0.0.1", proxy_port), timeout=10)
    sock.sendall(f"CONNECT 127.0.0.1:{port} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n\r\n".encode())
    reply = b""
    while b"\r\n\r\n" not in reply:
        reply += sock.recv(1024)
    assert reply.startswith(b"HTTP/1.1 200"), reply
    with context.wrap_socket(sock, server_hostname="127.0.0.1") as tls:
        cert = tls.getpeercert()
        tls.sendall(f"GET /over-tls HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n\r\n".encode())
        response = b""
        while chunk := tls.recv(4096):
            response += chunk
    assert re.match(rb"HTTP/1\.[01] 200 ", response), response
    return {key: value for ((key, value),) in cert["issuer"]}


def test_wiretrim_run_proxies_plain_http(proxy_process: Callable[..., ProxyRun]) -> None:
    server, port = _serve()
    try:
        proxy = proxy_process("--compress")
        proxy_port = proxy.port()
        opener = urllib.request.build_opener(
            urllib.request.ProxyHandler({"http": f"http://127.0.0.1:{proxy_port}"})
        )
        with opener.open(f"http://127.0.0.1:{port}/hello", timeout=10) as response:
            assert json.loads(response.read()) == {"path": "/hello"}
        assert ("GET", "/hello") in _Recorder.seen
        code, output = proxy.stop()
    finally:
        server.shutdown()
    assert code == 0, output
    assert output.startswith("wiretrim: mitmdump, mode on, regular proxy on 127.0.0.1:0; CA bundle ")
    assert "client connect" not in output  # per-connection lines are hidden by default
    assert "Traceback" not in output


def test_wiretrim_run_decrypts_only_allowed_hosts(
    proxy_process: Callable[..., ProxyRun], upstream_tls: tuple[Path, ssl.SSLContext], tmp_path: Path
) -> None:
    upstream_ca, server_ctx = upstream_tls
    allowed_server, allowed = _serve(server_ctx)
    other_server, other = _serve(server_ctx)
    try:
        proxy = proxy_process(
            "--endpoint", f"127.0.0.1:{allowed}=openai-chat",
            "--", "--set", f"ssl_verify_upstream_trusted_ca={upstream_ca}",
        )
        proxy_port = proxy.port()
        client = ssl.create_default_context(cafile=str(tmp_path / "ca" / "wiretrim-ca-bundle.pem"))
        client.load_verify_locations(upstream_ca)
        # The declared endpoint is decrypted: the client sees a certificate from wiretrim's CA.
        assert _connect_tls(proxy_port, allowed, client)["organizationName"] == "mitmproxy"
        # Any other host is tunnelled untouched: the client sees the upstream's own certificate.
        assert _connect_tls(proxy_port, other, client)["organizationName"] == "Upstream Test"
    finally:
        allowed_server.shutdown()
        other_server.shutdown()
