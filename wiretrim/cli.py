"""The `wiretrim` command: run the proxy, manage its CA, compress bodies offline."""

from __future__ import annotations

import argparse
import shlex
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from wiretrim import __version__

if TYPE_CHECKING:
    from wiretrim.config import Settings


def _cmd_compress(args: argparse.Namespace) -> int:
    from wiretrim.batch import compress_body, run_jsonl
    from wiretrim.compression import measure
    from wiretrim.engines import build_engine

    overrides = {"compression": {"level": args.level}} if args.level else None
    settings = _settings_or_exit(args.config, overrides)
    if settings is None:
        return 2
    engine = build_engine(settings, "none" if args.no_memo else "memory")
    custom = settings.custom_endpoints()
    if args.jsonl:
        if args.file:
            with open(args.file, encoding="utf-8") as source:
                run_jsonl(engine, source, sys.stdout, custom)
        else:
            run_jsonl(engine, sys.stdin, sys.stdout, custom)
        return 0
    raw = Path(args.file).read_bytes() if args.file else sys.stdin.buffer.read()
    new_body, result = compress_body(engine, raw, args.url, custom)
    sys.stdout.buffer.write(new_body)
    sys.stdout.buffer.flush()
    if result is None:
        print("wiretrim: not a rewritable endpoint; body unchanged", file=sys.stderr)
    elif result.skipped:
        print(f"wiretrim: skipped ({result.skipped}); body unchanged", file=sys.stderr)
    else:
        acc = measure(result, engine.counter)
        print(
            f"wiretrim: tokens {acc.tokens_before} -> {acc.tokens_after} "
            f"(saved {acc.tokens_saved}, {acc.saved_ratio:.1%}); "
            f"{len(result.rewritten_slots)}/{len(result.slots)} slots rewritten",
            file=sys.stderr,
        )
    return 0


_CONFDIR_HELP = "where the CA lives (default: $WIRETRIM_CONFDIR, <checkout>/certs, else ~/.wiretrim)"


def _settings_or_exit(config: str | None, overrides: dict[str, Any] | None = None) -> Settings | None:
    """Load and validate the config; prints the one-line error and returns None when it is invalid."""
    from wiretrim.config import ConfigError, load_settings

    try:
        return load_settings(config, overrides=overrides)
    except ConfigError as e:
        print(f"wiretrim: {e}", file=sys.stderr)
        return None


def _proxy_url(host: str, port: int) -> str:
    if not host or host in ("0.0.0.0", "::"):
        host = "127.0.0.1"
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


def _cmd_proxy(args: argparse.Namespace) -> int:
    from wiretrim import certs, launch, paths

    settings = _settings_or_exit(args.config)
    if settings is None:
        return 2
    request = launch.LaunchRequest(
        tool={"run": "mitmdump", "web": "mitmweb", "console": "mitmproxy"}[args.command],
        listen_host=args.listen_host,
        port=args.port,
        switch=args.switch,
        config=args.config,
        endpoints=tuple(args.endpoint),
        modes=tuple(args.mode),
        allow_remote=args.allow_remote,
        web_host=getattr(args, "web_host", "127.0.0.1"),
        web_port=getattr(args, "web_port", 8081),
        metrics_port=args.metrics_port,
        extra=tuple(args.extra),
    )
    confdir = paths.confdir(args.confdir)
    try:
        plan = launch.build(request, settings, confdir, paths.ADDON_SCRIPT)
    except launch.LaunchError as e:
        print(f"wiretrim: {e}", file=sys.stderr)
        return 2
    try:
        files = certs.ensure_ca(confdir)
    except (OSError, ValueError) as e:
        print(f"wiretrim: cannot prepare the CA in {confdir}: {e}", file=sys.stderr)
        return 1
    for warning in plan.warnings:
        print(f"wiretrim: warning: {warning}", file=sys.stderr)
    mode = args.switch or settings.mode
    print(
        f"wiretrim: {plan.tool}, mode {mode}, {' + '.join(plan.modes)} proxy on {plan.listen}; "
        f"CA bundle {files.bundle} (`wiretrim certs` shows how to trust it)",
        file=sys.stderr,
    )
    return launch.run(plan)


def _cmd_certs(args: argparse.Namespace) -> int:
    from wiretrim import certs, paths

    confdir = paths.confdir(args.confdir)
    try:
        files = certs.ensure_ca(confdir)
    except (OSError, ValueError) as e:
        print(f"wiretrim: cannot prepare the CA in {confdir}: {e}", file=sys.stderr)
        return 1
    url = _proxy_url(args.listen_host, args.port)
    if args.env:
        sys.stdout.write(certs.env_lines(files, url))
        return 0
    command = ["wiretrim", "certs", "--env"]
    if args.confdir:
        command += ["--confdir", str(confdir)]
    if args.port != 8080 or args.listen_host != "127.0.0.1":
        command += ["--port", str(args.port), "--listen-host", args.listen_host]
    sys.stdout.write(certs.instructions(files, url, shlex.join(command)))
    return 0


def _cmd_doctor(args: argparse.Namespace) -> int:
    from wiretrim import doctor, paths

    return doctor.main(paths.confdir(args.confdir), args.listen_host, args.port, args.config)


def _cmd_addon_path(args: argparse.Namespace) -> int:
    from wiretrim.paths import ADDON_SCRIPT

    if not ADDON_SCRIPT.is_file():
        print(f"wiretrim: the addon script is missing: {ADDON_SCRIPT}", file=sys.stderr)
        return 1
    print(ADDON_SCRIPT)
    return 0


def _cmd_bench(args: argparse.Namespace) -> int:
    from wiretrim.bench.run import main as bench

    return bench(args)


def _console() -> Any:
    """A rich console; when the output is not a terminal, wide enough for the tables."""
    from rich.console import Console

    return Console() if sys.stdout.isatty() else Console(width=160)


def _ledger_path(args: argparse.Namespace) -> Path | None:
    """--ledger, else the config's ledger path, else the one in the confdir; None if the config is bad."""
    from wiretrim import paths

    if args.ledger:
        return Path(args.ledger)
    settings = _settings_or_exit(args.config)
    if settings is None:
        return None
    return paths.ledger(settings.ledger.path, paths.confdir(args.confdir))


def _cmd_stats(args: argparse.Namespace) -> int:
    import json
    import sqlite3

    from wiretrim import ledger, stats

    path = _ledger_path(args)
    if path is None:
        return 2
    try:
        since = stats.parse_since(args.since) if args.since else None
    except ValueError as e:
        print(f"wiretrim: {e}", file=sys.stderr)
        return 2
    try:
        entries = list(ledger.read(path, since))
    except FileNotFoundError:
        print(f"wiretrim: no ledger at {path} (the proxy writes it once it has seen an LLM request)",
              file=sys.stderr)
        return 1
    except sqlite3.Error as e:
        print(f"wiretrim: {path}: not a readable ledger ({e})", file=sys.stderr)
        return 1
    summary = stats.summarize(entries, args.by, since)
    if args.json:
        print(json.dumps({"ledger": str(path), **summary.as_dict()}, indent=2))
    else:
        stats.render(summary, str(path), _console())
    if args.chart:
        from wiretrim import chart

        try:
            chart.draw(entries, args.chart)
        except (chart.ChartUnavailableError, ValueError) as e:
            print(f"wiretrim: no chart: {e}", file=sys.stderr)
            return 1
        print(f"wiretrim: chart written to {args.chart}", file=sys.stderr)
    return 0


def _cmd_replay(args: argparse.Namespace) -> int:
    from rich.console import Console

    from wiretrim import prices
    from wiretrim.engines import build_engine
    from wiretrim.tools import replay

    overrides = {"compression": {"level": args.level}} if args.level else None
    settings = _settings_or_exit(args.config, overrides)
    if settings is None:
        return 2
    missing = [f for f in args.flowfile if not Path(f).is_file()]
    if missing:
        print(f"wiretrim: no such file: {', '.join(missing)}", file=sys.stderr)
        return 2
    try:
        table = prices.load(settings.prices)
    except prices.PriceError as e:
        print(f"wiretrim: prices: {e}", file=sys.stderr)
        return 2
    engine = build_engine(settings, "memory")
    console = Console(stderr=True)
    out = replay.run(args.flowfile, engine, table, settings.custom_endpoints(), console,
                     max_body_bytes=settings.max_body_bytes)
    replay.render(out, _console())
    return 1 if out.unreadable and not out.flows else 0


def _proxy_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("-p", "--port", type=int, default=8080, help="proxy port (default 8080)")
    p.add_argument("--listen-host", default="127.0.0.1", help="proxy address (default 127.0.0.1)")
    p.add_argument("--allow-remote", action="store_true",
                   help="allow a --listen-host other machines can reach (add -- --proxyauth USER:PASS)")
    switch = p.add_mutually_exclusive_group()
    switch.add_argument("--compress", dest="switch", action="store_const", const="on",
                        help="mode on: forward the compressed body")
    switch.add_argument("--shadow", dest="switch", action="store_const", const="shadow",
                        help="mode shadow: compress and log the savings, forward the original")
    switch.add_argument("--off", dest="switch", action="store_const", const="off",
                        help="mode off: pass everything through untouched")
    p.add_argument("--config", help="wiretrim YAML config (default: $WIRETRIM_CONFIG or ./wiretrim.yaml)")
    p.add_argument("--endpoint", action="append", default=[], metavar="HOST[:PORT][/PATH]=SHAPE",
                   help="treat POSTs to this host (and path prefix) as LLM calls of SHAPE; repeatable")
    p.add_argument("--mode", action="append", default=[], metavar="SPEC",
                   help="mitmproxy mode such as reverse:https://api.openai.com@8001 (repeatable)")
    p.add_argument("--confdir", help=_CONFDIR_HELP)
    p.add_argument("--metrics-port", type=int, metavar="PORT",
                   help="serve Prometheus metrics on 127.0.0.1:PORT (default: the config's metrics_port)")
    p.set_defaults(func=_cmd_proxy, extra=[])


def build_parser() -> argparse.ArgumentParser:
    from wiretrim.config import LEVELS
    from wiretrim.stats import BY

    parser = argparse.ArgumentParser(prog="wiretrim", description=__doc__)
    parser.add_argument("--version", action="version", version=f"wiretrim {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("compress", help="rewrite one request body (file or stdin), or a JSON-lines batch")
    p.add_argument("file", nargs="?", help="body file (default: stdin)")
    p.add_argument("--url", default="https://api.openai.com/v1/chat/completions",
                   help="the endpoint the body is for; decides the API shape")
    p.add_argument("--jsonl", action="store_true",
                   help='batch protocol: {"id","url","body"} lines in, {"id","body","ms"} lines out')
    p.add_argument("--config", help="wiretrim YAML config")
    p.add_argument("--level", choices=LEVELS)
    p.add_argument("--no-memo", action="store_true", help="no first-emission memo across the batch")
    p.set_defaults(func=_cmd_compress)

    epilog = ("Arguments after -- go to {tool} unchanged and after wiretrim's own, so they win: "
              "wiretrim {cmd} -- --set flow_detail=2, or -- --mode reverse:https://api.openai.com@8001.")
    p = sub.add_parser("run", help="run the proxy (mitmdump) with the wiretrim addon; mitmdump args after --",
                       usage="wiretrim run [options] [-- mitmdump args]",
                       epilog=epilog.format(tool="mitmdump", cmd="run"))
    _proxy_options(p)
    p = sub.add_parser("web", help="run the proxy under mitmweb (browser UI) with the wiretrim addon",
                       usage="wiretrim web [options] [-- mitmweb args]",
                       epilog=epilog.format(tool="mitmweb", cmd="web"))
    _proxy_options(p)
    p.add_argument("--web-host", default="127.0.0.1", help="mitmweb UI address (default 127.0.0.1)")
    p.add_argument("--web-port", type=int, default=8081, help="mitmweb UI port (default 8081)")
    p = sub.add_parser("console", help="run the proxy in mitmproxy's terminal UI with the wiretrim addon",
                       usage="wiretrim console [options] [-- mitmproxy args]",
                       epilog=epilog.format(tool="mitmproxy", cmd="console"))
    _proxy_options(p)

    p = sub.add_parser("certs", help="create the proxy's CA if missing and show how to trust it")
    p.add_argument("--confdir", help=_CONFDIR_HELP)
    p.add_argument("--env", action="store_true", help="print only shell export lines (for eval)")
    p.add_argument("-p", "--port", type=int, default=8080, help="proxy port for the HTTPS_PROXY line")
    p.add_argument("--listen-host", default="127.0.0.1", help="proxy address for the HTTPS_PROXY line")
    p.set_defaults(func=_cmd_certs)

    p = sub.add_parser("addon-path", help="print the addon script's path, for mitmdump/mitmweb -s")
    p.set_defaults(func=_cmd_addon_path)

    p = sub.add_parser("doctor", help="check the set-up: CA, trust, port, config, versions, engine")
    p.add_argument("--confdir", help=_CONFDIR_HELP)
    p.add_argument("-p", "--port", type=int, default=8080, help="the proxy port to check (default 8080)")
    p.add_argument("--listen-host", default="127.0.0.1", help="the address to check (default 127.0.0.1)")
    p.add_argument("--config", help="wiretrim YAML config (default: $WIRETRIM_CONFIG or ./wiretrim.yaml)")
    p.set_defaults(func=_cmd_doctor)

    p = sub.add_parser("stats", help="what the proxy saved, from its ledger: a table, JSON or a chart")
    p.add_argument("--since", help="only requests since a span ago (7d, 12h, 30m, 2w) or a date (2026-11-01)")
    p.add_argument("--by", choices=BY, default="provider",
                   help="one row per provider, model or day (default provider)")
    p.add_argument("--chart", metavar="PNG", help="also write a chart of savings over time to this PNG")
    p.add_argument("--json", action="store_true", help="print the figures as JSON instead of a table")
    p.add_argument("--ledger", help="the ledger file (default: the config's ledger.path, else the confdir's)")
    p.add_argument("--config", help="wiretrim YAML config (for ledger.path)")
    p.add_argument("--confdir", help=_CONFDIR_HELP)
    p.set_defaults(func=_cmd_stats)

    p = sub.add_parser("replay", help="what the proxy would have saved on recorded flows (mitmdump -w files)")
    p.add_argument("flowfile", nargs="+", help="mitmproxy flow files")
    p.add_argument("--config", help="wiretrim YAML config (compression settings, endpoints, prices)")
    p.add_argument("--level", choices=LEVELS)
    p.set_defaults(func=_cmd_replay)

    from wiretrim.bench.run import add_arguments as bench_arguments

    p = sub.add_parser("bench", help="measure the engine, the addon and the proxy; print one report")
    bench_arguments(p)
    p.set_defaults(func=_cmd_bench)
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    extra: list[str] = []
    if "--" in argv:  # everything after `--` belongs to mitmdump / mitmweb
        cut = argv.index("--")
        argv, extra = argv[:cut], argv[cut + 1 :]
    parser = build_parser()
    args = parser.parse_args(argv)
    if extra:
        if args.command not in ("run", "web", "console"):
            parser.error(f"arguments after -- are only for run, web and console: {' '.join(extra)}")
        args.extra = extra
    return int(args.func(args) or 0)


if __name__ == "__main__":
    raise SystemExit(main())
