"""The proxy lab: mitmdump subprocesses with and without the addon, a fake TLS upstream, clients.

Each proxy is a real ``mitmdump`` process (its own interpreter and GIL), started like
``wiretrim run`` starts it (the addon script, quiet flows), plus a small helper script loaded
after the addon. The helper sends api.openai.com requests to the fake upstream, which runs in
threads of this process (the end-to-end tests' fake: `tests/e2e/upstream.py` and `tls.py`, so
the proxy sections need a source checkout), and writes the listening port once the addon's
engine has started. Clients are stdlib keep-alive HTTPS connections tunnelled through the
proxy with CONNECT, so the client adds as little of its own time as it can.

The addon's log line (one per matched request, after its accounting) is read from the
proxy's output: after each request the lab can wait for it, so work the addon does after
forwarding (shadow rewrites, token counts) never overlaps the next measured request.
"""

from __future__ import annotations

import http.client
import json
import os
import re
import ssl
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

from wiretrim import certs
from wiretrim.bench.bodies import OPENAI_CHAT_PATH
from wiretrim.endpoints import intercept_patterns
from wiretrim.paths import ADDON_SCRIPT, checkout_root

HOST = "api.openai.com"
START_TIMEOUT_S = 60.0

HELPER = '''
"""wiretrim bench helper, loaded after the addon: upstream redirect, optional streaming, readiness."""
import gc
import os
from pathlib import Path

from mitmproxy import ctx


class BenchHelper:
    def request(self, flow):
        if flow.request.port == 443:
            host = flow.request.host_header
            flow.request.host, flow.request.port = "127.0.0.1", int(os.environ["BENCH_UPSTREAM_PORT"])
            flow.request.host_header = host

    def responseheaders(self, flow):
        if os.environ.get("BENCH_STREAM") == "1":
            flow.response.stream = True  # what a user of bare mitmdump adds to get streams unbuffered

    def response(self, flow):
        if os.environ.get("BENCH_COLLECT") == "1":
            gc.collect()  # finished flows sit in reference cycles until the collector runs

    async def running(self):
        wiretrim = ctx.master.addons.get("wiretrim")
        if wiretrim is not None and wiretrim.setup is not None:
            await wiretrim.setup.runner.started()  # requests before this would skip the engine
        server = next(iter(ctx.master.addons.get("proxyserver").servers))
        Path(os.environ["BENCH_PORT_FILE"]).write_text(str(server.listen_addrs[0][1]))


addons = [BenchHelper()]
'''

_LOG_LINE = re.compile(r"wiretrim provider=\S+ .*?action=(\S+) .*?ms=([\d.]+)")


class LabUnavailableError(Exception):
    """The proxy sections cannot run here; the message says why."""


def load_fakes() -> tuple[Any, Any]:
    """`make_pki` and `Upstream` from the checkout's end-to-end tests."""
    root = checkout_root()
    if root is None or not (root / "tests" / "e2e" / "upstream.py").is_file():
        raise LabUnavailableError("needs a source checkout of wiretrim (it uses tests/e2e's fake upstream)")
    if str(root) not in sys.path:
        sys.path.insert(0, str(root))
    from tests.e2e.tls import make_pki
    from tests.e2e.upstream import Upstream

    return make_pki, Upstream


@dataclass
class AddonLog:
    """What the addon logged: one entry per matched request, in order."""

    actions: list[str] = field(default_factory=list)
    ms: list[float] = field(default_factory=list)
    cond: threading.Condition = field(default_factory=threading.Condition)

    def add(self, action: str, ms: float) -> None:
        with self.cond:
            self.actions.append(action)
            self.ms.append(ms)
            self.cond.notify_all()

    def wait_for(self, n: int, timeout: float = 120.0) -> bool:
        """Until `n` lines have been logged; False on timeout."""
        with self.cond:
            return self.cond.wait_for(lambda: len(self.actions) >= n, timeout)

    def count(self) -> int:
        with self.cond:
            return len(self.actions)


@dataclass
class Proxy:
    name: str
    process: subprocess.Popen[str]
    port: int
    log: AddonLog
    output: list[str]  # the proxy's other output lines (errors, warnings), for the report

    @property
    def pid(self) -> int:
        return self.process.pid

    def engine_pids(self) -> list[int]:
        """Processes started by the proxy (the engine worker and the forkserver it came from)."""
        return descendants(self.pid)


def descendants(pid: int) -> list[int]:
    """Every process below `pid` (Linux /proc), nearest first."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        ppid = int(stat.rpartition(")")[2].split()[1])
        children.setdefault(ppid, []).append(int(entry.name))
    out: list[int] = []
    todo = [pid]
    while todo:
        for child in sorted(children.get(todo.pop(0), [])):
            out.append(child)
            todo.append(child)
    return out


class Lab:
    """A fake TLS upstream, one mitmproxy CA shared by every proxy, and the clients' TLS contexts."""

    def __init__(self, work: Path, config: dict[str, Any]) -> None:
        make_pki, upstream_cls = load_fakes()
        self.work = work
        self.config = config  # the addon's YAML config (as a dict), before per-proxy overrides
        self.pki = make_pki(work / "pki")
        self.upstream = upstream_cls(self.pki)
        self.confdir = work / "confdir"
        self.direct_tls = ssl.create_default_context(cafile=str(self.pki.ca_cert))
        ca = certs.ensure_ca(self.confdir)  # every proxy started later shares it
        self.proxy_tls = ssl.create_default_context(cafile=str(ca.cert))

    def close(self) -> None:
        self.upstream.close()

    def forget(self) -> None:
        """Drop what the upstream recorded (a run of 200 KB requests would otherwise pile up)."""
        self.upstream.received.clear()
        self.upstream.sent.clear()

    @contextmanager
    def proxy(self, name: str, mode: str | None = None, *, stream: bool = False, collect: bool = False,
              overrides: dict[str, Any] | None = None) -> Iterator[Proxy]:
        """A mitmdump; `mode` None is bare mitmdump, else the addon in that mode.

        `stream`: the helper streams every response (bare mitmdump buffers them). `collect`:
        the helper runs the garbage collector after every response (a measuring aid only).
        """
        work = self.work / f"{name}-{os.getpid()}-{time.monotonic_ns()}"
        work.mkdir(parents=True)
        port_file = work / "port"
        helper = work / "bench_helper.py"
        helper.write_text(HELPER)
        args = [str(Path(sys.executable).parent / "mitmdump"), "--listen-host", "127.0.0.1", "-p", "0",
                "--set", f"confdir={self.confdir}", "--set", "connection_strategy=lazy",
                "--set", f"ssl_verify_upstream_trusted_ca={self.pki.ca_cert}", "--set", "flow_detail=0",
                "--set", "termlog_verbosity=info"]
        for pattern in intercept_patterns():
            args += ["--allow-hosts", pattern]
        if mode is not None:
            config = work / "wiretrim.yaml"
            config.write_text(json.dumps({**self.config, **(overrides or {})}))  # JSON is YAML
            args += ["-s", str(ADDON_SCRIPT), "--set", f"wiretrim_config={config}",
                     "--set", f"wiretrim_mode={mode}"]
        args += ["-s", str(helper)]  # after the addon: it sees the request first
        env = {k: v for k, v in os.environ.items() if not k.startswith("WIRETRIM_")}
        env.update(BENCH_UPSTREAM_PORT=str(self.upstream.port), BENCH_PORT_FILE=str(port_file),
                   BENCH_STREAM="1" if stream else "0", BENCH_COLLECT="1" if collect else "0",
                   PYTHONUNBUFFERED="1")
        process = subprocess.Popen(args, env=env, cwd=work, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                   stdin=subprocess.DEVNULL, text=True, bufsize=1)
        log, output = AddonLog(), []
        reader = threading.Thread(target=_read_output, args=(process, log, output), daemon=True)
        reader.start()
        try:
            deadline = time.monotonic() + START_TIMEOUT_S
            while not port_file.exists() or not port_file.read_text():
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"mitmdump ({name}) did not start: {' | '.join(output[-5:])}")
                time.sleep(0.05)  # polling a file another process writes; nothing to await here
            yield Proxy(name, process, int(port_file.read_text()), log, output)
        finally:
            process.terminate()
            try:
                process.wait(15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
            reader.join(5)

    def client(self, proxy: Proxy | None) -> Client:
        """A keep-alive HTTPS client: through `proxy` to api.openai.com, or straight to the upstream."""
        if proxy is None:
            direct = http.client.HTTPSConnection("127.0.0.1", self.upstream.port, context=self.direct_tls,
                                                 timeout=120)
            return Client(direct)
        conn = http.client.HTTPSConnection("127.0.0.1", proxy.port, context=self.proxy_tls, timeout=120)
        conn.set_tunnel(HOST, 443)
        return Client(conn)


class Client:
    HEADERS: ClassVar[dict[str, str]] = {
        "content-type": "application/json", "authorization": "Bearer sk-bench",
    }

    def __init__(self, conn: http.client.HTTPSConnection) -> None:
        self.conn = conn

    def post(self, body: bytes) -> float:
        """ms from sending the request to the last byte of the response."""
        t = time.perf_counter()
        self.conn.request("POST", OPENAI_CHAT_PATH, body, self.HEADERS)
        response = self.conn.getresponse()
        response.read()
        ms = (time.perf_counter() - t) * 1000
        if response.status != 200:
            raise RuntimeError(f"status {response.status}")
        return ms

    def first_event(self, body: bytes) -> float:
        """ms from sending a streaming request to its first complete SSE event (then reads the rest)."""
        t = time.perf_counter()
        self.conn.request("POST", OPENAI_CHAT_PATH, body, self.HEADERS)
        response = self.conn.getresponse()
        data = b""
        while b"\n\n" not in data:
            chunk = response.read1(65536)
            if not chunk:
                raise RuntimeError("the stream ended before its first event")
            data += chunk
        ms = (time.perf_counter() - t) * 1000
        response.read()
        return ms

    def close(self) -> None:
        self.conn.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _read_output(process: subprocess.Popen[str], log: AddonLog, output: list[str]) -> None:
    assert process.stdout is not None
    for line in process.stdout:
        m = _LOG_LINE.search(line)
        if m:
            log.add(m.group(1), float(m.group(2)))
        elif line.strip() and "client connect" not in line and "client disconnect" not in line \
                and "server connect" not in line and "server disconnect" not in line:
            output.append(line.rstrip())


def rss_kb(pid: int) -> tuple[int, int]:
    """(current RSS, peak RSS since start or the last reset) of a process, in KiB."""
    fields = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            fields[key] = int(value.split()[0])
    return fields["VmRSS"], fields["VmHWM"]


def reset_peak(pid: int) -> None:
    """Start the process's peak RSS again from its current RSS (Linux: clear_refs 5)."""
    Path(f"/proc/{pid}/clear_refs").write_text("5")
