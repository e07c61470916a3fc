"""Load through a real proxy process (issue 8): concurrent clients, half of them streaming.

`run_pass` drives one pass: asyncio clients in this process, the fake TLS upstream in this
process's threads, and, unless the pass is direct, ``wiretrim run`` (mitmdump with the addon)
as a child process whose stdout is read for wiretrim's log lines. A pass returns what it saw:
errors, responses that differ from what the upstream sent, latency percentiles, the peak RSS
of the proxy process and of its descendants (the engine worker), and the addon's actions.

``python -m tests.e2e.load [--clients 64] [--requests 2000]`` prints the figures of three
passes: direct to the upstream, through the proxy in mode off, and in mode on. The addon's
added latency is on minus off; the proxy's own cost is off minus direct.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import json
import os
import random
import re
import signal
import ssl
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import yaml

from tests.addon.bodies import anthropic_tool_chat, encode, openai_tool_chat, pretty_rows
from tests.e2e.tls import TestPKI, make_pki
from tests.e2e.upstream import Received, Reply, Upstream, anthropic_reply, openai_reply

REDIRECT_SCRIPT = Path(__file__).with_name("redirect_script.py")
ROOT = Path(__file__).resolve().parents[2]
ORIGINS = {"/v1/chat/completions": "https://api.openai.com", "/v1/messages": "https://api.anthropic.com"}
_ACTION = re.compile(r" action=(\S+) ")
_LISTENING = re.compile(r"proxy listening at \S+:(\d+)\.$")  # 127.0.0.1:N, or *:N on every interface
_CLEARED_ENV = (
    "HTTP_PROXY",
    "HTTPS_PROXY",
    "ALL_PROXY",
    "NO_PROXY",
    "SSL_CERT_FILE",
    "SSL_CERT_DIR",
    "REQUESTS_CA_BUNDLE",
)


@dataclass(frozen=True)
class LoadRequest:
    id: int
    path: str
    body: bytes
    stream: bool


def log_lines(rng: random.Random, n: int, tag: str) -> str:
    return "\n".join(
        f"2026-11-25T10:{i // 60 % 60:02d}:{i % 60:02d}Z INFO worker-{rng.randint(1, 4)} {tag} request {i} "
        f"served in {rng.randint(1, 900)} ms status=200"
        for i in range(n)
    )


def make_requests(n: int, seed: int = 8) -> list[LoadRequest]:
    """`n` distinct requests, half streaming, half OpenAI and half Anthropic, of varied sizes."""
    rng = random.Random(seed)
    out = []
    for i in range(n):
        stream = i % 2 == 0
        path = "/v1/chat/completions" if (i // 2) % 2 == 0 else "/v1/messages"
        kind = rng.choice(("rows", "logs", "small"))
        size = rng.choice((20, 60, 150, 300))
        if kind == "rows":
            text = pretty_rows(size, tag=f"q{i}")
        elif kind == "logs":
            text = log_lines(rng, size, f"q{i}")
        else:
            text = f"request {i}: nothing to compress"
        doc = (openai_tool_chat if path == "/v1/chat/completions" else anthropic_tool_chat)(
            text, stream=stream
        )
        out.append(LoadRequest(i, path, encode(doc), stream))
    return out


class RecordingUpstream:
    """The fake upstream's handler: answers like the real API and remembers, per request id,
    the body it received and the exact bytes it sent back."""

    def __init__(self, n_events: int, interval_s: float) -> None:
        self.n_events = n_events
        self.interval_s = interval_s
        self.sent: dict[str, bytes] = {}
        self.received: dict[str, bytes] = {}
        self._lock = threading.Lock()

    def __call__(self, req: Received) -> Reply:
        rid = req.header("x-load-id") or "?"
        make = anthropic_reply if req.path.partition("?")[0].endswith("/messages") else openai_reply
        reply = make(req, self.n_events, self.interval_s)
        with self._lock:
            self.sent[rid] = reply.body if reply.events is None else b"".join(reply.events)
            self.received[rid] = req.body
        return reply


@dataclass
class Sample:
    id: int
    status: int | None
    body: bytes
    total_s: float
    first_s: float
    error: str | None


@dataclass
class PassResult:
    name: str
    samples: list[Sample]
    wall_s: float
    errors: list[str]  # one line per failed request: id, what went wrong
    upstream_mismatches: int  # requests whose upstream body is neither the original nor a valid rewrite
    peak_rss_mb: dict[str, float] = field(default_factory=dict)  # "proxy", "workers"
    cpu_s: dict[str, float] = field(default_factory=dict)  # CPU time used during the pass, same keys
    actions: collections.Counter[str] = field(default_factory=collections.Counter)

    def percentile(self, q: float, first_byte: bool = False) -> float:
        values = sorted(s.first_s if first_byte else s.total_s for s in self.samples)
        return values[min(len(values) - 1, round(q * (len(values) - 1)))]

    def summary(self) -> str:
        rss = " ".join(f"{k}={v:.0f}MB" for k, v in self.peak_rss_mb.items()) or "-"
        cpu = " ".join(f"{k}={v:.1f}s" for k, v in self.cpu_s.items()) or "-"
        actions = ", ".join(f"{k} {v}" for k, v in self.actions.most_common()) or "-"
        return (
            f"{self.name}: {len(self.samples)} requests in {self.wall_s:.1f} s, {len(self.errors)} errors; "
            f"latency p50 {self.percentile(0.5) * 1000:.1f} ms p99 {self.percentile(0.99) * 1000:.1f} ms "
            f"(first byte p50 {self.percentile(0.5, True) * 1000:.1f} ms); peak RSS {rss}; CPU {cpu}; "
            f"actions: {actions}"
        )


async def _client(
    c: httpx.AsyncClient,
    queue: collections.deque[LoadRequest],
    url: Callable[[LoadRequest], str],
    out: list[Sample] | None,
) -> None:
    while queue:
        req = queue.popleft()
        headers = {
            "content-type": "application/json",
            "x-load-id": str(req.id),
            "authorization": "Bearer sk-load",
        }
        started = time.perf_counter()
        first = 0.0
        try:
            async with c.stream("POST", url(req), content=req.body, headers=headers) as r:
                first = time.perf_counter() - started
                data = b"".join([chunk async for chunk in r.aiter_raw()])
            sample = Sample(req.id, r.status_code, data, time.perf_counter() - started, first, None)
        except httpx.HTTPError as e:
            sample = Sample(req.id, None, b"", time.perf_counter() - started, first, type(e).__name__)
        if out is not None:
            out.append(sample)


async def drive(
    reqs: list[LoadRequest],
    n_clients: int,
    url: Callable[[LoadRequest], str],
    proxy: str | None,
    verify: ssl.SSLContext,
    warm_up: list[LoadRequest],
) -> tuple[list[Sample], float]:
    """Every request once, by `n_clients` clients with a connection each; `warm_up` first, not counted."""
    clients = [
        httpx.AsyncClient(proxy=proxy, verify=verify, trust_env=False, timeout=120) for _ in range(n_clients)
    ]
    try:
        # Each client opens its connections (TLS handshakes, certificate generation) first.
        await asyncio.gather(*(_client(c, collections.deque(warm_up), url, None) for c in clients))
        queue = collections.deque(reqs)
        out: list[Sample] = []
        started = time.perf_counter()
        await asyncio.gather(*(_client(c, queue, url, out) for c in clients))
        return out, time.perf_counter() - started
    finally:
        for c in clients:
            await c.aclose()


# -- the proxy as a child process ------------------------------------------------------------


def peak_rss_mb(pid: int) -> float:
    """The process's peak resident set size (VmHWM), in MB; 0 when it is gone."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return 0.0
    m = re.search(r"^VmHWM:\s+(\d+) kB", status, re.M)
    return int(m.group(1)) / 1024 if m else 0.0


def cpu_seconds(pid: int) -> float:
    """User plus system CPU time the process has used so far; 0 when it is gone."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def descendants(pid: int) -> list[int]:
    parents: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            parents[int(entry.name)] = int(stat.rpartition(")")[2].split()[1])
    found, frontier = [], [pid]
    while frontier:
        p = frontier.pop()
        kids = [c for c, pp in parents.items() if pp == p]
        found += kids
        frontier += kids
    return found


class ProxyProcess:
    """A proxy in a child process (by default ``wiretrim run``), redirecting port 443 to the fake
    upstream; its output is read line by line."""

    def __init__(
        self,
        mode: str,
        upstream_port: int,
        upstream_ca: Path,
        workdir: Path,
        config: dict[str, object] | None = None,
        argv: list[str] | None = None,
        env: dict[str, str] | None = None,
    ) -> None:
        """`argv`: another command line (``{confdir}``, ``{config}``, ``{upstream_port}`` and
        ``{upstream_ca}`` are filled in); `env`: extra environment variables."""
        self.workdir = workdir
        self.confdir = workdir / "confdir"
        cfg = workdir / "wiretrim.yaml"
        cfg.write_text(yaml.safe_dump(config or {}))
        switch = {"on": "--compress", "shadow": "--shadow", "off": "--off"}[mode]
        template = argv or [
            sys.executable,
            "-m",
            "wiretrim",
            "run",
            "--port",
            "0",
            switch,
            "--confdir",
            "{confdir}",
            "--config",
            "{config}",
            "--",
            "-s",
            str(REDIRECT_SCRIPT),
            "--set",
            "redirect_port={upstream_port}",
            "--set",
            "ssl_verify_upstream_trusted_ca={upstream_ca}",
            "--set",
            "connection_strategy=lazy",
        ]
        fill = {
            "confdir": str(self.confdir),
            "config": str(cfg),
            "upstream_port": str(upstream_port),
            "upstream_ca": str(upstream_ca),
        }
        self.argv = [a.format(**fill) for a in template]
        self.env = env or {}
        self.lines: list[str] = []
        self.action_lines = 0  # wiretrim's one line per matched request
        self.port = 0
        self._listening = threading.Event()
        self._line_added = threading.Condition()
        self.proc: subprocess.Popen[str] | None = None

    def start(self, timeout: float = 60) -> None:
        env = {k: v for k, v in os.environ.items() if k not in _CLEARED_ENV and not k.startswith("WIRETRIM_")}
        env["PYTHONPATH"] = str(ROOT)
        env.update(self.env)
        self.proc = subprocess.Popen(
            self.argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, cwd=self.workdir, env=env
        )
        threading.Thread(target=self._read, daemon=True).start()
        if not self._listening.wait(timeout):
            self.stop()
            raise RuntimeError("the proxy did not start:\n" + "".join(self.lines[-20:]))

    def _read(self) -> None:
        assert self.proc is not None and self.proc.stdout is not None
        for line in self.proc.stdout:
            with self._line_added:
                self.lines.append(line)
                self.action_lines += " action=" in line
                self._line_added.notify_all()
            m = _LISTENING.search(line.rstrip())
            if m:
                self.port = int(m.group(1))
                self._listening.set()
        with self._line_added:
            self._line_added.notify_all()

    def wait_for_line(self, predicate: Callable[[str], bool], start: int = 0, timeout: float = 30) -> str:
        """The first line from index `start` on that satisfies `predicate`; TimeoutError otherwise."""
        with self._line_added:

            def found() -> str | None:
                return next((line for line in self.lines[start:] if predicate(line)), None)

            if not self._line_added.wait_for(
                lambda: found() is not None or self.proc is None or self.proc.poll() is not None, timeout
            ):
                raise TimeoutError("no such line from the proxy")
            line = found()
            if line is None:
                raise RuntimeError("the proxy exited:\n" + "".join(self.lines[-20:]))
            return line

    def wait_for_actions(self, n: int, timeout: float = 60) -> None:
        """Until `n` wiretrim lines have been logged in all (accounting ends after the response)."""
        with self._line_added:
            if not self._line_added.wait_for(lambda: self.action_lines >= n, timeout):
                raise TimeoutError(f"{self.action_lines} wiretrim lines, not {n}")

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def bundle(self) -> Path:
        return self.confdir / "wiretrim-ca-bundle.pem"

    def actions(self) -> collections.Counter[str]:
        return collections.Counter(m.group(1) for line in list(self.lines) if (m := _ACTION.search(line)))

    def cpu(self) -> dict[str, float]:
        assert self.proc is not None
        kids = descendants(self.proc.pid)
        return {"proxy": cpu_seconds(self.proc.pid), "workers": sum(cpu_seconds(k) for k in kids)}

    def peak_rss(self) -> dict[str, float]:
        assert self.proc is not None
        kids = descendants(self.proc.pid)
        return {
            "proxy": peak_rss_mb(self.proc.pid),
            "workers": max((peak_rss_mb(k) for k in kids), default=0.0),
        }

    def stop(self) -> int | None:
        if self.proc is None or self.proc.poll() is not None:
            return None if self.proc is None else self.proc.returncode
        self.proc.send_signal(signal.SIGINT)  # mitmdump shuts down cleanly on Ctrl-C
        try:
            return self.proc.wait(20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            return self.proc.wait(10)


@contextmanager
def proxy_process(
    mode: str, upstream: Upstream, pki: TestPKI, workdir: Path, config: dict[str, object] | None = None
) -> Iterator[ProxyProcess]:
    proxy = ProxyProcess(mode, upstream.port, pki.ca_cert, workdir, config)
    proxy.start()
    try:
        yield proxy
    finally:
        proxy.stop()


def wait_for_engine(proxy: ProxyProcess, pki: TestPKI, timeout: float = 60) -> None:
    """Send compressible requests until the addon stops answering "engine_starting".

    The proxy says nothing when its worker is ready, so this retries, a tenth of a second
    apart, within `timeout`.
    """
    body = encode(openai_tool_chat(pretty_rows(60, tag="warm")))
    ctx = ssl.create_default_context(cafile=str(proxy.bundle))
    deadline = time.monotonic() + timeout
    pause = threading.Event()
    with httpx.Client(proxy=proxy.url, verify=ctx, trust_env=False, timeout=60) as c:
        while time.monotonic() < deadline:
            start = len(proxy.lines)
            c.post(
                "https://api.openai.com/v1/chat/completions",
                content=body,
                headers={"content-type": "application/json", "x-load-id": "warm"},
            )
            line = proxy.wait_for_line(lambda s: " action=" in s, start)
            if "engine_starting" not in line:
                return
            pause.wait(0.1)
    raise RuntimeError("the engine did not start:\n" + "".join(proxy.lines[-30:]))


def check(
    name: str,
    reqs: list[LoadRequest],
    samples: list[Sample],
    wall_s: float,
    upstream: RecordingUpstream,
    rewritten_allowed: bool,
) -> PassResult:
    errors = []
    for s in samples:
        expected = upstream.sent.get(str(s.id))
        if s.error is not None or s.status != 200:
            errors.append(f"{s.id}: {s.error or s.status}")
        elif s.body != expected:
            errors.append(f"{s.id}: response differs from what the upstream sent")
    if len(samples) != len(reqs):
        errors.append(f"{len(reqs) - len(samples)} requests never finished")
    mismatches = 0
    for req in reqs:
        got = upstream.received.get(str(req.id))
        if got == req.body:
            continue
        if got is None or not rewritten_allowed or len(got) >= len(req.body):
            mismatches += 1
            continue
        sent_doc, got_doc = json.loads(req.body), json.loads(got)
        if len(sent_doc["messages"]) != len(got_doc["messages"]) or sent_doc["model"] != got_doc["model"]:
            mismatches += 1
    return PassResult(name, samples, wall_s, errors, mismatches)


def run_pass(
    mode: str,
    reqs: list[LoadRequest],
    n_clients: int,
    upstream: Upstream,
    pki: TestPKI,
    workdir: Path,
    n_events: int = 8,
    interval_s: float = 0.002,
    config: dict[str, object] | None = None,
) -> PassResult:
    """One pass: "direct", or through the proxy with wiretrim in mode "off", "shadow" or "on"."""
    recording = RecordingUpstream(n_events, interval_s)
    upstream.reset()
    upstream.handler = recording
    warm_up = [r for r in reqs if "nothing to compress" in r.body.decode()][:2]
    if mode == "direct":
        verify = ssl.create_default_context(cafile=str(pki.ca_cert))
        samples, wall = asyncio.run(
            drive(
                reqs, n_clients, lambda r: f"https://127.0.0.1:{upstream.port}{r.path}", None, verify, warm_up
            )
        )
        return check("direct", reqs, samples, wall, recording, False)
    workdir.mkdir(parents=True, exist_ok=True)
    with proxy_process(mode, upstream, pki, workdir, config) as proxy:
        if mode != "off":
            wait_for_engine(proxy, pki)
        verify = ssl.create_default_context(cafile=str(proxy.bundle))
        before = proxy.actions()
        cpu_before = proxy.cpu()
        samples, wall = asyncio.run(
            drive(reqs, n_clients, lambda r: ORIGINS[r.path] + r.path, proxy.url, verify, warm_up)
        )
        if mode != "off":
            proxy.wait_for_actions(sum(before.values()) + n_clients * len(warm_up) + len(reqs))
        result = check(f"proxy, mode {mode}", reqs, samples, wall, recording, mode == "on")
        result.peak_rss_mb = proxy.peak_rss()
        result.cpu_s = {k: v - cpu_before.get(k, 0.0) for k, v in proxy.cpu().items()}
        result.actions = proxy.actions() - before
    return result


def added(what: str, more: PassResult, less: PassResult) -> str:
    """``added by X: p50 +N ms, p99 +M ms``: the difference of two passes' latency percentiles."""
    p50 = (more.percentile(0.5) - less.percentile(0.5)) * 1000
    p99 = (more.percentile(0.99) - less.percentile(0.99)) * 1000
    return f"added by {what}: p50 {p50:+.1f} ms, p99 {p99:+.1f} ms"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", type=int, default=64)
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--passes", default="direct,off,on")
    args = parser.parse_args(argv)
    reqs = make_requests(args.requests)
    with tempfile.TemporaryDirectory() as tmp:
        pki = make_pki(Path(tmp) / "pki")
        upstream = Upstream(pki)
        results = {}
        try:
            for mode in args.passes.split(","):
                results[mode] = run_pass(mode, reqs, args.clients, upstream, pki, Path(tmp) / mode)
                print(results[mode].summary(), flush=True)
        finally:
            upstream.close()
    if "on" in results and "off" in results:
        print(added("the addon (on - off)", results["on"], results["off"]))
    if "off" in results and "direct" in results:
        print(added("the proxy (off - direct)", results["off"], results["direct"]))
    return 1 if any(r.errors or r.upstream_mismatches for r in results.values()) else 0


if __name__ == "__main__":
    raise SystemExit(main())
