"""Measure the proxy: per-request overhead of the addon, and stream delays while a big body compresses.

The proxy runs as a real ``mitmdump`` subprocess (its own GIL); the fake TLS upstream and the
clients run here. Clients call api.openai.com through the proxy; a redirect script loaded
after the addon sends those requests to the fake upstream. Loopback only.

    .venv/bin/python scripts/bench_proxy.py [--requests 300] [--rounds 3]

Prints one table per measurement. Numbers depend on the machine; compare rows, not runs.
"""

from __future__ import annotations

import argparse
import json
import os
import ssl
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.addon.bodies import EAGER, encode, openai_tool_chat, pretty_rows, small_chat  # noqa: E402
from tests.e2e.tls import make_pki  # noqa: E402
from tests.e2e.upstream import Upstream  # noqa: E402
from wiretrim.endpoints import intercept_patterns  # noqa: E402
from wiretrim.paths import ADDON_SCRIPT  # noqa: E402

URL = "https://api.openai.com/v1/chat/completions"
REDIRECT = '''
import os
from pathlib import Path
from mitmproxy import ctx

class Redirect:
    def request(self, flow):
        if flow.request.port == 443:
            host = flow.request.host_header
            flow.request.host, flow.request.port = "127.0.0.1", int(os.environ["BENCH_UPSTREAM_PORT"])
            flow.request.host_header = host

    def running(self):
        server = next(iter(ctx.master.addons.get("proxyserver").servers))
        Path(os.environ["BENCH_PORT_FILE"]).write_text(str(server.listen_addrs[0][1]))

addons = [Redirect()]
'''


@contextmanager
def proxy(work: Path, ca: Path, upstream_port: int, wiretrim: dict[str, Any] | None, mode: str = "off"
          ) -> Iterator[str]:
    """A mitmdump subprocess; `wiretrim` None means bare mitmdump (redirect script only)."""
    work.mkdir(parents=True, exist_ok=True)
    port_file = work / "port"
    port_file.unlink(missing_ok=True)
    redirect = work / "redirect.py"
    redirect.write_text(REDIRECT)
    args = [str(Path(sys.executable).parent / "mitmdump"), "--listen-host", "127.0.0.1", "-p", "0",
            "--set", f"confdir={work / 'confdir'}", "--set", "connection_strategy=lazy",
            "--set", f"ssl_verify_upstream_trusted_ca={ca}", "--set", "flow_detail=0",
            "--set", "termlog_verbosity=warn"]
    for pattern in intercept_patterns():
        args += ["--allow-hosts", pattern]
    if wiretrim is not None:
        config = work / "wiretrim.yaml"
        config.write_text(json.dumps(wiretrim))
        args += ["-s", str(ADDON_SCRIPT), "--set", f"wiretrim_config={config}",
                 "--set", f"wiretrim_mode={mode}"]
    args += ["-s", str(redirect)]  # after wiretrim: it sees the request first
    env = {**os.environ, "BENCH_UPSTREAM_PORT": str(upstream_port), "BENCH_PORT_FILE": str(port_file)}
    proc = subprocess.Popen(args, env=env, cwd=work)
    try:
        deadline = time.monotonic() + 30
        while not port_file.exists() or not port_file.read_text():
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("mitmdump did not start")
            time.sleep(0.05)
        yield f"http://127.0.0.1:{port_file.read_text()}"
    finally:
        proc.terminate()
        proc.wait(10)


def client(proxy_url: str | None, verify: ssl.SSLContext) -> httpx.Client:
    return httpx.Client(proxy=proxy_url, verify=verify, timeout=60, trust_env=False)


def latencies(c: httpx.Client, url: str, body: bytes, n: int, warmup: int = 30) -> list[float]:
    out = []
    for i in range(warmup + n):
        t = time.perf_counter()
        r = c.post(url, content=body, headers={"content-type": "application/json"})
        dt = time.perf_counter() - t
        assert r.status_code == 200, r.status_code
        if i >= warmup:
            out.append(dt * 1000)
    return out


def stream_delays(
    proxy_url: str, verify: ssl.SSLContext, up: Upstream, big: bytes
) -> tuple[list[float], float]:
    """Per-event delay (ms) of a 30 x 50 ms SSE stream while `big` goes through; and the big POST's time."""
    connected, first = threading.Event(), threading.Event()
    result: dict[str, Any] = {}
    up.n_events, up.interval_s = 30, 0.05
    start_sent = len(up.sent)

    def stream() -> None:
        arrivals: list[float] = []
        data = b""
        connected.wait(10)
        with client(proxy_url, verify) as c, c.stream(
            "POST", URL, json={"model": "m", "stream": True, "messages": [{"role": "user", "content": "hi"}]}
        ) as r:
            for chunk in r.iter_bytes():
                now = time.perf_counter()
                first.set()
                data += chunk
                arrivals += [now] * (data.count(b"\n\n") - len(arrivals))
        result["arrivals"], result["data"] = arrivals, data

    def compress() -> None:
        with client(proxy_url, verify) as c:
            # Connect first: a new TLS connection stalls mitmproxy itself (certificates), which
            # is not what this measures.
            c.post(URL, content=encode(small_chat()), headers={"content-type": "application/json"})
            connected.set()
            first.wait(10)
            t = time.perf_counter()
            c.post(URL, content=big, headers={"content-type": "application/json"})
            result["big_s"] = time.perf_counter() - t

    threads = [threading.Thread(target=stream), threading.Thread(target=compress)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    sent = next(s for s in up.sent[start_sent:] if s.body == result["data"])
    delays = [(a - s) * 1000 for a, s in zip(result["arrivals"], sent.chunk_times, strict=True)]
    up.n_events, up.interval_s = 5, 0.0
    return delays, result["big_s"] * 1000


def warm_up(c: httpx.Client, up: Upstream, body: bytes, mode: str) -> None:
    """Until the engine has started (requests before that go out unchanged), and a bit more."""
    for _ in range(100):
        latencies(c, URL, body, 1, warmup=0)
        if mode != "on" or up.received[-1].body != body:
            break
        time.sleep(0.1)  # the worker process is still starting
    latencies(c, URL, body, 10, warmup=0)


def fmt(values: list[float]) -> str:
    q = statistics.quantiles(values, n=10)
    return f"median {statistics.median(values):6.2f} ms  p90 {q[8]:6.2f} ms  (n={len(values)})"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--only-streams", action="store_true", help="skip the latency tables")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        pki = make_pki(work / "pki")
        up = Upstream(pki)
        direct_ctx = ssl.create_default_context(cafile=str(pki.ca_cert))
        small = encode(small_chat())
        tool = encode(openai_tool_chat())
        rows = json.loads(encode(openai_tool_chat(pretty_rows(16000, tag="big"))))
        big = encode({**rows, "messages": rows["messages"] * 3})

        # Start once to create the proxy's CA, then trust it.
        with proxy(work, pki.ca_cert, up.port, None):
            pass
        mitm_ctx = ssl.create_default_context(cafile=str(work / "confdir" / "mitmproxy-ca-cert.pem"))

        if not args.only_streams:
            latency_tables(args, work, pki, up, direct_ctx, mitm_ctx, small, tool)
        stream_table(args, work, pki, up, mitm_ctx, tool, big)
        up.close()


def latency_tables(args: argparse.Namespace, work: Path, pki: Any, up: Upstream, direct_ctx: ssl.SSLContext,
               mitm_ctx: ssl.SSLContext, small: bytes, tool: bytes) -> None:
    print(f"per-request latency, {len(small)} B matched request (too small to rewrite), keep-alive, "
          f"{args.requests} requests after 30 warm-up, best of {args.rounds} rounds by median")
    configs: list[tuple[str, dict[str, Any] | None, str]] = [
        ("bare mitmdump", None, "off"),
        ("wiretrim off", {**EAGER, "executor": "process"}, "off"),
        ("wiretrim shadow (process)", {**EAGER, "executor": "process"}, "shadow"),
        ("wiretrim on (process)", {**EAGER, "executor": "process"}, "on"),
        ("wiretrim on (thread)", {**EAGER, "executor": "thread"}, "on"),
    ]
    medians: dict[str, float] = {}
    with client(None, direct_ctx) as c:
        direct = [latencies(c, f"https://127.0.0.1:{up.port}/v1/chat/completions", small, args.requests)
                  for _ in range(args.rounds)]
    best = min(direct, key=statistics.median)
    medians["direct"] = statistics.median(best)
    print(f"  {'direct (no proxy)':28s} {fmt(best)}")
    for name, cfg, mode in configs:
        with proxy(work, pki.ca_cert, up.port, cfg, mode) as url, client(url, mitm_ctx) as c:
            warm_up(c, up, tool, mode)
            runs = [latencies(c, URL, small, args.requests) for _ in range(args.rounds)]
        best = min(runs, key=statistics.median)
        medians[name] = statistics.median(best)
        print(f"  {name:28s} {fmt(best)}")
    # The ratio from two proxies running side by side, requests interleaved: same conditions.
    with proxy(work / "a", pki.ca_cert, up.port, None) as bare_url, \
            proxy(work / "b", pki.ca_cert, up.port, {**EAGER, "executor": "process"}, "off") as off_url:
        ca_b = ssl.create_default_context(cafile=str(work / "b" / "confdir" / "mitmproxy-ca-cert.pem"))
        ca_a = ssl.create_default_context(cafile=str(work / "a" / "confdir" / "mitmproxy-ca-cert.pem"))
        with client(bare_url, ca_a) as a, client(off_url, ca_b) as b:
            latencies(a, URL, small, 0)
            latencies(b, URL, small, 0)
            pairs = [(latencies(a, URL, small, 1, 0)[0], latencies(b, URL, small, 1, 0)[0])
                     for _ in range(args.requests * args.rounds)]
    bare = statistics.median(p[0] for p in pairs)
    off = statistics.median(p[1] for p in pairs)
    print(f"  interleaved through two proxies side by side, {len(pairs)} requests each: bare {bare:.2f} ms, "
          f"wiretrim off {off:.2f} ms (medians); ratio off / bare {off / bare:.3f}")

    print(f"\nper-request latency, {len(tool)} B request whose tool result is rewritten (on mode)")
    for executor in ("process", "thread"):
        with proxy(work, pki.ca_cert, up.port, {**EAGER, "executor": executor}, "on") as url, \
                client(url, mitm_ctx) as c:
            warm_up(c, up, tool, "on")
            runs = [latencies(c, URL, tool, args.requests) for _ in range(args.rounds)]
        print(f"  on ({executor:7s})                 {fmt(min(runs, key=statistics.median))}")



def stream_table(args: argparse.Namespace, work: Path, pki: Any, up: Upstream, mitm_ctx: ssl.SSLContext,
             tool: bytes, big: bytes) -> None:
    print(f"\nSSE stream (30 events, 50 ms apart) while a {len(big) / 1e6:.1f} MB body is rewritten "
          f"(real engine, budget 20 s); per-event delay = arrival - sent")
    for executor, mode in (("process", "off"), ("process", "on"), ("thread", "on")):
        cfg = {**EAGER, "executor": executor, "budget_ms": 20000}
        label = f"{executor}, {mode}" if mode == "on" else "wiretrim off (relay only)"
        with proxy(work, pki.ca_cert, up.port, cfg, mode) as url:
            with client(url, mitm_ctx) as c:
                warm_up(c, up, tool, mode)
            maxima = []
            for r in range(args.rounds):
                delays, big_ms = stream_delays(url, mitm_ctx, up, big)
                maxima.append(max(delays))
                print(f"  {label:26s} round {r + 1}: max {max(delays):6.1f} ms  median "
                      f"{statistics.median(delays):5.1f} ms  (the big request took {big_ms:.0f} ms)")
            print(f"  {label:26s} median of the maxima: {statistics.median(maxima):.1f} ms")


if __name__ == "__main__":
    main()
