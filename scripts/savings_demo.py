"""Make the README's Savings figures for real: the proxy in `on` mode, recorded sessions, a ledger.

    .venv/bin/python scripts/savings_demo.py [--sessions DIR] [--only REGEX] [--limit N]
                                             [--out docs] [--work DIR]

1. A fake TLS upstream on 127.0.0.1 answers every call in its API's own shape (SSE when the
   body asks for a stream) and reports usage the way the provider would: prompt tokens are the
   o200k tokens of the request body it received; cached tokens are the prefix it shares with
   the previous request of the same session (at least 1,024 tokens, in 128-token steps, as
   OpenAI's cache works; Gemini's implicit cache the same; for Anthropic the rest of the
   prompt is a cache write, as with the sessions' automatic cache_control); output is a
   nominal 150 tokens. So cache hits show whether the rewrites kept prefixes stable.
2. The real ``wiretrim run --compress`` (mitmdump, default settings, its own confdir and
   ledger) proxies it; a redirect script loaded after the addon sends the providers' hosts to
   the fake upstream; ``-w`` records the flows.
3. A client replays every request of the chosen sessions of ``shared/sessions`` in turn order,
   through the proxy, streamed where the session asks for it.
4. The proxy is stopped (its ledger is flushed), then ``wiretrim stats`` prints the table and
   writes the chart, and ``wiretrim replay`` runs on the recorded flows.

Loopback only; no provider is contacted. Prints the commands it runs and their output.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import signal
import ssl
import subprocess
import sys
import tempfile
import threading
import time
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import tiktoken

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.e2e.tls import make_pki  # noqa: E402
from tests.e2e.upstream import Received, Reply, Upstream  # noqa: E402
from tests.e2e.usage_replies import Counts, reply_for  # noqa: E402
from wiretrim import certs  # noqa: E402
from wiretrim.compression.tokens import resolve_encoding  # noqa: E402

WIRETRIM = Path(sys.executable).parent / "wiretrim"
OUTPUT_TOKENS = 150
# Loaded after the addon: sends the providers' hosts to the fake upstream, and records each
# flow as the client addressed it (mitmdump -w would record the redirected address).
REDIRECT = '''
import os
from pathlib import Path
from mitmproxy import ctx, io

class Redirect:
    def __init__(self):
        self.out = io.FlowWriter(open(os.environ["DEMO_FLOWS"], "wb"))

    def request(self, flow):
        if flow.request.port == 443:
            host = flow.request.host_header
            flow.metadata["demo_target"] = (flow.request.host, flow.request.port)
            flow.request.host, flow.request.port = "127.0.0.1", int(os.environ["DEMO_UPSTREAM_PORT"])
            flow.request.host_header = host

    def response(self, flow):
        target = flow.metadata.pop("demo_target", None)
        if target is not None:
            flow.request.host, flow.request.port = target
        self.out.add(flow)

    def running(self):
        server = next(iter(ctx.master.addons.get("proxyserver").servers))
        Path(os.environ["DEMO_PORT_FILE"]).write_text(str(server.listen_addrs[0][1]))

addons = [Redirect()]
'''


class CachingUpstream:
    """Usage as a provider with prefix caching would report it (see the module docstring)."""

    def __init__(self) -> None:
        self.encoding = tiktoken.get_encoding(resolve_encoding("auto"))
        self.previous: dict[str, list[int]] = {}
        self.lock = threading.Lock()

    def __call__(self, req: Received) -> Reply:
        tokens = self.encoding.encode_ordinary(req.body.decode("utf-8", "replace"))
        session = req.header("x-demo-session") or ""
        with self.lock:
            before = self.previous.get(session, [])
            self.previous[session] = tokens
        shared = 0
        for a, b in zip(before, tokens, strict=False):
            if a != b:
                break
            shared += 1
        cached = shared // 128 * 128 if shared >= 1024 else 0
        anthropic = req.path.startswith("/v1/messages")
        counts = Counts(prompt=len(tokens), output=OUTPUT_TOKENS, cache_read=cached,
                        cache_write=len(tokens) - cached if anthropic else 0)
        return reply_for(req, counts)


def warm_up(client: httpx.Client, ledger: Path) -> float:
    """Wait until the proxy's engine worker has started (requests before that are forwarded
    untouched, as "skipped: engine_starting"); returns the time after which rows count."""
    from wiretrim.ledger import read

    body = json.dumps({"model": "gpt-4.1", "messages": [{"role": "user", "content": "warm-up"}]}).encode()
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        client.post("https://api.openai.com/v1/chat/completions", content=body,
                    headers={"content-type": "application/json", "x-demo-session": "warm-up"})
        time.sleep(0.5)  # the ledger writes in the background
        rows = list(read(ledger)) if ledger.exists() else []
        if rows and rows[-1].reason != "engine_starting":
            time.sleep(1)
            return time.time()
    raise RuntimeError("the proxy's engine did not start within 60 s")


def settle(ledger: Path, since: float, n: int, timeout_s: float = 120) -> None:
    """Wait until the ledger has a row for each of the `n` requests (token counts and usage are
    recorded after the response; stopping the proxy earlier would drop the last ones)."""
    from wiretrim.ledger import read

    deadline = time.monotonic() + timeout_s
    while (have := sum(1 for e in read(ledger, since))) < n:
        if time.monotonic() > deadline:
            print(f"warning: {have} of {n} rows in the ledger after {timeout_s:.0f} s", file=sys.stderr)
            return
        time.sleep(0.5)


def run(cmd: list[str], **kw: Any) -> subprocess.CompletedProcess[str]:
    shown = " ".join(str(c) for c in cmd).replace(str(ROOT) + "/", "")
    print(f"\n$ {shown}", flush=True)
    return subprocess.run(cmd, text=True, check=True, **kw)


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--sessions", default=str(ROOT.parent / "shared" / "sessions"))
    p.add_argument("--only", default=".", help="regex on session file names")
    p.add_argument("--limit", type=int, default=0, help="at most N requests per session (0: all)")
    p.add_argument("--out", default=str(ROOT / "docs"), help="where savings.png goes")
    p.add_argument("--work", help="keep the work directory (ledger, flows, logs) here")
    p.add_argument("--pace", type=float, default=0.0,
                   help="seconds between requests (an agent's think time; spreads the chart)")
    p.add_argument("--executor", choices=("process", "thread"),
                   help="the engine's executor (default: wiretrim's)")
    args = p.parse_args()

    files = sorted(f for f in Path(args.sessions).glob("*.json") if re.search(args.only, f.name))
    if not files:
        print(f"no sessions in {args.sessions}", file=sys.stderr)
        return 2
    work = Path(args.work) if args.work else Path(tempfile.mkdtemp(prefix="wiretrim-demo-"))
    work.mkdir(parents=True, exist_ok=True)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    pki = make_pki(work / "pki")
    upstream = Upstream(pki)
    upstream.handler = CachingUpstream()
    ledger = work / "ledger.sqlite"
    config = work / "wiretrim.yaml"
    settings: dict[str, Any] = {"ledger": {"path": str(ledger)}}  # otherwise the defaults
    if args.executor:
        settings["executor"] = args.executor
    config.write_text(json.dumps(settings))
    (work / "redirect.py").write_text(REDIRECT)
    port_file = work / "port"
    confdir = work / "confdir"
    flows = work / "flows.mitm"
    cmd = [str(WIRETRIM), "run", "--compress", "-p", "0", "--confdir", str(confdir), "--config", str(config),
           # -w as a user records traffic: wiretrim then keeps each client's original body in the
           # flow, which `wiretrim replay` reads (flows.mitm, written by the redirect script).
           "--", "-w", str(work / "as-forwarded.mitm"), "-s", str(work / "redirect.py"),
           "--set", "connection_strategy=lazy",
           "--set", f"ssl_verify_upstream_trusted_ca={pki.ca_cert}"]
    print("$ " + " ".join(cmd), flush=True)
    env = {**os.environ, "DEMO_UPSTREAM_PORT": str(upstream.port), "DEMO_PORT_FILE": str(port_file),
           "DEMO_FLOWS": str(flows)}
    log = (work / "proxy.log").open("w")
    proc = subprocess.Popen(cmd, env=env, cwd=work, stdout=log, stderr=subprocess.STDOUT)
    n = 0
    started = time.perf_counter()
    try:
        deadline = time.monotonic() + 60
        while not port_file.exists() or not port_file.read_text():
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the proxy did not start; see {work / 'proxy.log'}")
            time.sleep(0.05)
        verify = ssl.create_default_context(cafile=str(confdir / certs.CA_CERT))
        with httpx.Client(proxy=f"http://127.0.0.1:{port_file.read_text()}", verify=verify, timeout=120,
                          trust_env=False) as client:
            since = warm_up(client, ledger)
            for file in files:
                session = json.loads(file.read_text())
                bodies = session["requests"][: args.limit or None]
                for body in bodies:
                    headers = {"content-type": "application/json", "x-demo-session": session["id"],
                               "authorization": "Bearer sk-demo-not-a-key"}
                    with client.stream("POST", session["url"], content=json.dumps(body).encode(),
                                       headers=headers) as r:
                        r.read()
                        if r.status_code != 200:
                            raise RuntimeError(f"{session['id']}: status {r.status_code}")
                    n += 1
                    time.sleep(args.pace)
                print(f"{session['id']}: {len(bodies)} requests", flush=True)
        settle(ledger, since, n)
    finally:
        proc.send_signal(signal.SIGINT)  # mitmproxy shuts down cleanly: the addon closes the ledger
        proc.wait(60)
        log.close()
        upstream.close()
    print(f"\n{n} requests through the proxy in {time.perf_counter() - started:.0f} s", flush=True)

    png = out / "savings.png"
    since = ["--since", datetime.fromtimestamp(since).isoformat(timespec="seconds")]
    stats = run([str(WIRETRIM), "stats", "--ledger", str(ledger), *since, "--chart", str(png)],
                capture_output=True)
    print(stats.stdout + stats.stderr)
    by_model = run([str(WIRETRIM), "stats", "--ledger", str(ledger), *since, "--by", "model"],
                   capture_output=True)
    print(by_model.stdout)
    replay = run([str(WIRETRIM), "replay", str(flows)], capture_output=True)
    print(replay.stdout)
    if not args.work:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
