"""A real mitmproxy (in-process DumpMaster on 127.0.0.1:0) with the addon, a fake TLS upstream,
and clients that reach it only through HTTPS_PROXY and SSL_CERT_FILE.

Clients call the providers' real hosts (api.openai.com, ...). The proxy decrypts them like in
production (--allow-hosts from the endpoint table), the addon does its work, and a test-only
addon behind it sends the request to the fake upstream instead of the internet.
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import certifi
import pytest
import yaml
from mitmproxy import http, options
from mitmproxy.master import Master
from mitmproxy.tools.dump import DumpMaster
from mitmproxy.tools.web.master import WebMaster

from tests import environ
from tests.e2e.tls import TestPKI, make_pki
from tests.e2e.upstream import Upstream
from wiretrim.addon.hooks import Wiretrim
from wiretrim.endpoints import intercept_patterns

_CLIENT_SETTINGS = ("OPENAI_BASE_URL", "ANTHROPIC_BASE_URL", "OPENAI_API_KEY", "ANTHROPIC_API_KEY")


@pytest.fixture(autouse=True)
def clean_environ(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    environ.scrub(monkeypatch, tmp_path, (*environ.PROXY_AND_TRUST, *_CLIENT_SETTINGS))


@pytest.fixture(scope="session")
def pki(tmp_path_factory: pytest.TempPathFactory) -> TestPKI:
    return make_pki(tmp_path_factory.mktemp("pki"))


@pytest.fixture(scope="session")
def confdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """mitmproxy's confdir: its CA is generated on the first start and reused by later tests."""
    return tmp_path_factory.mktemp("mitmproxy")


@pytest.fixture(scope="session")
def upstream_server(pki: TestPKI) -> Iterator[Upstream]:
    up = Upstream(pki)
    yield up
    up.close()


@pytest.fixture
def upstream(upstream_server: Upstream) -> Upstream:
    upstream_server.reset()
    return upstream_server


class Redirect:
    """Test-only: after wiretrim is done, send port-443 requests to the fake upstream (Host kept)."""

    def __init__(self, port: int) -> None:
        self.port = port

    def request(self, flow: http.HTTPFlow) -> None:
        if flow.request.port == 443:
            host_header = flow.request.host_header
            flow.request.host = "127.0.0.1"
            flow.request.port = self.port
            flow.request.host_header = host_header


@dataclass
class ClientRequest:
    method: str
    path: str
    headers: list[tuple[str, str]]
    body: bytes | None


class Recorder:
    """Test-only, first in the chain: what the client sent, before wiretrim saw it."""

    def __init__(self) -> None:
        self.requests: list[ClientRequest] = []
        self._headers: dict[int, list[tuple[str, str]]] = {}

    def requestheaders(self, flow: http.HTTPFlow) -> None:
        self._headers[id(flow)] = [(k.decode(), v.decode()) for k, v in flow.request.headers.fields]

    def request(self, flow: http.HTTPFlow) -> None:
        r = flow.request
        self.requests.append(ClientRequest(r.method, r.path, self._headers.pop(id(flow)), r.raw_content))


class _Started:
    def __init__(self) -> None:
        self.event = asyncio.Event()

    def running(self) -> None:
        self.event.set()


WEB_PASSWORD = "wiretrim-test-ui"  # mitmweb's UI password when a test starts it with web=True


def free_port() -> int:
    """For mitmweb's UI, which cannot report the port it got for 0."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Proxy:
    master: Master
    addon: Wiretrim
    port: int
    url: str
    bundle: Path  # certifi roots + the proxy's CA: what SSL_CERT_FILE points to
    client: Recorder
    web_url: str | None = None  # mitmweb's UI (web=True), without the password

    def set(self, **opts: Any) -> None:
        self.master.options.update(**opts)


@pytest.fixture
async def start_proxy(
    pki: TestPKI, confdir: Path, upstream: Upstream, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[Callable[..., Any]]:
    """`await start_proxy(config_dict, mode="on", factory=None)`: a running proxy with the addon
    (under mitmweb with web=True); HTTPS_PROXY and SSL_CERT_FILE are set for clients of this test."""
    started: list[tuple[Master, asyncio.Task[None], Wiretrim]] = []

    async def start(config: dict[str, Any] | None = None, *, mode: str = "on", factory: Any = None,
                    endpoints: list[str] | None = None, web: bool = False) -> Proxy:
        cfg = tmp_path / "wiretrim.yaml"
        cfg.write_text(yaml.safe_dump(config or {}))
        opts = options.Options(
            listen_host="127.0.0.1", listen_port=0, confdir=str(confdir),
            ssl_verify_upstream_trusted_ca=str(pki.ca_cert),
        )
        master: Master
        if web:
            master = WebMaster(opts, with_termlog=False)
            master.options.update(web_port=free_port(), web_password=WEB_PASSWORD, web_open_browser=False)
        else:
            master = DumpMaster(opts, with_termlog=False, with_dumper=False)
        # Lazy: no connection to the real host at CONNECT time (there is no internet here).
        master.options.update(connection_strategy="lazy")
        addon = Wiretrim(engine_factory=factory)
        ready = _Started()
        recorder = Recorder()
        master.addons.add(recorder, addon, Redirect(upstream.port), ready)
        master.options.update(
            allow_hosts=intercept_patterns(), wiretrim_config=str(cfg), wiretrim_mode=mode,
            wiretrim_endpoint=endpoints or [],
        )
        task = asyncio.create_task(master.run())
        await asyncio.wait_for(ready.event.wait(), 10)
        assert addon.setup is not None
        await asyncio.wait_for(addon.setup.runner.started(), 30)  # requests before this go out unchanged
        server = next(iter(master.addons.get("proxyserver").servers))
        port = server.listen_addrs[0][1]
        bundle = tmp_path / "ca-bundle.pem"
        proxy_ca = (confdir / "mitmproxy-ca-cert.pem").read_bytes()
        bundle.write_bytes(Path(certifi.where()).read_bytes() + proxy_ca)
        url = f"http://127.0.0.1:{port}"
        monkeypatch.setenv("HTTPS_PROXY", url)
        monkeypatch.setenv("SSL_CERT_FILE", str(bundle))
        started.append((master, task, addon))
        web_url = f"http://127.0.0.1:{master.options.web_port}" if web else None
        return Proxy(master, addon, port, url, bundle, recorder, web_url)

    yield start
    for master, task, addon in started:
        await addon.settled()
        master.shutdown()
        await asyncio.wait_for(task, 10)
