"""The `wiretrim` command: run the proxy, manage its CA, compress bodies offline."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from wiretrim import __version__


def _cmd_compress(args: argparse.Namespace) -> int:
    from wiretrim.batch import compress_body, run_jsonl
    from wiretrim.compression import Engine, measure
    from wiretrim.compression.memo import MemoryMemo
    from wiretrim.compression.tokens import TiktokenCounter
    from wiretrim.config import ConfigError, load_settings

    overrides = {"compression": {"level": args.level}} if args.level else None
    try:
        settings = load_settings(args.config, overrides=overrides)
    except ConfigError as e:
        print(f"wiretrim: {e}", file=sys.stderr)
        return 2
    counter = TiktokenCounter(settings.compression.encoding)
    engine = Engine(settings.engine_settings(), counter, None if args.no_memo else MemoryMemo())
    custom = settings.custom_endpoints()
    if args.jsonl:
        source = open(args.file, encoding="utf-8") if args.file else sys.stdin
        with source:
            run_jsonl(engine, source, sys.stdout, custom)
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
        acc = measure(result, counter)
        print(
            f"wiretrim: tokens {acc.tokens_before} -> {acc.tokens_after} "
            f"(saved {acc.tokens_saved}, {acc.saved_ratio:.1%}); "
            f"{len(result.rewritten_slots)}/{len(result.slots)} slots rewritten",
            file=sys.stderr,
        )
    return 0


def build_parser() -> argparse.ArgumentParser:
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
    p.add_argument("--level", choices=("lossless", "balanced", "aggressive"))
    p.add_argument("--no-memo", action="store_true", help="no first-emission memo across the batch")
    p.set_defaults(func=_cmd_compress)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return int(args.func(args) or 0)


if __name__ == "__main__":
    raise SystemExit(main())
