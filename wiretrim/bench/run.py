"""`wiretrim bench`: run the sections asked for, one after another, and print one report.

Progress goes to stderr, the report to stdout. A section that cannot run here (no corpus, no
source checkout, not Linux) says why in the report; one that fails prints its error and the
others still run. The exit status is 0 whenever the report was printed.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from wiretrim.paths import checkout_root

if TYPE_CHECKING:
    from wiretrim.bench.report import Report
    from wiretrim.config import Settings

SECTIONS = ("engine", "sessions", "proxy", "streams", "memory")


@dataclass(frozen=True)
class Plan:
    """How much of everything one run does; `--quick` is the small one."""

    requests: int  # per target and size, latency section
    warmup: int
    stream_requests: int
    stall_rounds: int
    session_repeats: int
    memory_bodies: int

    @classmethod
    def full(cls) -> Plan:
        return cls(requests=500, warmup=30, stream_requests=200, stall_rounds=3, session_repeats=5,
                   memory_bodies=20)

    @classmethod
    def quick(cls) -> Plan:
        return cls(requests=100, warmup=10, stream_requests=40, stall_rounds=1, session_repeats=1,
                   memory_bodies=5)


LATENCY_SIZES = (2_000, 200_000)
STALL_SIZE = 2_000_000
MEMORY_SIZE = 5_000_000


def default_dir(name: str) -> Path:
    """``../shared/<name>`` from here, else beside the checkout; the first that exists (or the first)."""
    candidates = [Path.cwd().parent / "shared" / name]
    root = checkout_root()
    if root is not None:
        candidates.append(root.parent / "shared" / name)
    return next((c for c in candidates if c.is_dir()), candidates[0])


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--corpus", type=Path, help="corpus directory (default: ../shared/corpus)")
    p.add_argument("--sessions", type=Path, help="sessions directory (default: ../shared/sessions)")
    p.add_argument("--quick", action="store_true",
                   help="fewer requests and repetitions (about a minute and a half); noisier figures")
    p.add_argument("--only", default=",".join(SECTIONS),
                   help=f"comma-separated sections to run (default: all of {','.join(SECTIONS)})")
    p.add_argument("--requests", type=int, help="latency rounds per target and size (default 500, quick 100)")
    p.add_argument("--config", help="wiretrim YAML config for the engine and the addon (default: built-in)")
    p.add_argument("--peers-dir", type=Path, default=Path(os.environ.get("PEERS_DIR", "/tmp/peers")),
                   help="where the peer venvs are (default: $PEERS_DIR, else /tmp/peers)")
    p.add_argument("--peer-adapters", type=Path,
                   help="the peer adapters' directory (default: ../shared/bench/peers)")


def main(args: argparse.Namespace) -> int:
    from wiretrim.bench import machine
    from wiretrim.bench.report import Report

    started = time.perf_counter()
    only = [s.strip() for s in args.only.split(",") if s.strip()]
    unknown = [s for s in only if s not in SECTIONS]
    if unknown:
        print(f"wiretrim: bench: unknown section(s) {', '.join(unknown)}; choose from {', '.join(SECTIONS)}",
              file=sys.stderr)
        return 2
    loaded = _settings(args.config)
    if loaded is None:
        return 2
    settings, config = loaded
    plan = Plan.quick() if args.quick else Plan.full()
    if args.requests:
        plan = Plan(**{**plan.__dict__, "requests": args.requests})

    report = Report()
    source = f"from {args.config}" if args.config else "built-in defaults"
    report.add("## wiretrim bench", "", *[f"- {line}" for line in machine.describe()],
               f"- engine and addon settings: {source} "
               f"(level {settings.compression.level}, budget {settings.budget_ms} ms, "
               f"{settings.executor} executor); run: {'--quick' if args.quick else 'full'}", "")
    run = _Runner(report)

    if "engine" in only:
        run.section("1. Engine on the corpus", lambda: _engine(report, args, settings))
    if "sessions" in only:
        run.section("2. Sessions", lambda: _sessions(report, args, settings, plan))
    lab_sections = [s for s in ("proxy", "streams", "memory") if s in only]
    if lab_sections:
        run.section("Proxy sections", lambda: _lab(report, run, lab_sections, settings, config, plan))

    elapsed = time.perf_counter() - started
    report.add(f"Whole run: {elapsed:.0f} s; load average at the end (1/5/15 min): {machine.load()}.", "")
    print(report.text())
    return 0


class _Runner:
    def __init__(self, report: Report) -> None:
        self.report = report

    def section(self, title: str, body: Callable[[], None]) -> None:
        try:
            body()
        except Exception as e:  # one broken section must not lose the others' figures
            traceback.print_exc(file=sys.stderr)
            self.report.skipped(title, f"failed with {type(e).__name__}: {e}")


def progress(message: str) -> None:
    print(f"wiretrim bench: {message}", file=sys.stderr, flush=True)


def _settings(path: str | None) -> tuple[Settings, dict[str, Any]] | None:
    """The settings (built-in unless a config is given) and the same settings as a config dict
    for the proxies (which run without the WIRETRIM_ environment the settings were read with)."""
    from wiretrim.config import ConfigError, Settings, load_settings

    if path is None:
        return Settings(), {}
    try:
        settings = load_settings(path)
    except ConfigError as e:
        print(f"wiretrim: bench: {e}", file=sys.stderr)
        return None
    return settings, settings.model_dump(mode="json", exclude_defaults=True)


def _engine(report: Report, args: argparse.Namespace, settings: Settings) -> None:
    from wiretrim.bench import corpus
    from wiretrim.bench import report as render
    from wiretrim.bench.peer import headroom_command

    directory = args.corpus or default_dir("corpus")
    if not directory.is_dir():
        report.skipped("1. Engine on the corpus", f"no corpus directory at {directory} (pass --corpus DIR)")
        return
    adapters = args.peer_adapters or default_dir("bench") / "peers"
    argv, note = headroom_command(args.peers_dir, adapters)
    progress(f"engine: corpus {directory}" + ("" if argv else f"; Headroom skipped: {note}"))
    figures = corpus.run(directory, settings, argv, None if argv else note, progress)
    render.corpus(report, figures)


def _sessions(report: Report, args: argparse.Namespace, settings: Settings, plan: Plan) -> None:
    from wiretrim.bench import report as render
    from wiretrim.bench import sessions

    directory = args.sessions or default_dir("sessions")
    if not directory.is_dir():
        report.skipped("2. Sessions", f"no sessions directory at {directory} (pass --sessions DIR)")
        return
    progress(f"sessions: {directory}, {plan.session_repeats} replay(s)")
    render.sessions(report, sessions.run(directory, settings, plan.session_repeats, progress))


def _lab(report: Report, run: _Runner, wanted: list[str], settings: Settings, config: dict[str, Any],
         plan: Plan) -> None:
    from wiretrim.bench import latency, memory, streams
    from wiretrim.bench import report as render
    from wiretrim.bench.proxies import Lab, LabUnavailableError

    titles = {"proxy": "3. Per-request latency through the proxy", "streams": "4. Streaming",
              "memory": "5. Memory"}
    with tempfile.TemporaryDirectory(prefix="wiretrim-bench-") as tmp:
        try:
            lab = Lab(Path(tmp), config)
        except LabUnavailableError as e:
            for s in wanted:
                report.skipped(titles[s], str(e))
            return
        try:
            if "proxy" in wanted:
                run.section(titles["proxy"], lambda: render.latency(
                    report, latency.run(lab, LATENCY_SIZES, plan.requests, plan.warmup, settings, progress)))
            if "streams" in wanted:
                run.section(titles["streams"], lambda: render.streams(
                    report, streams.run(lab, plan.stream_requests, plan.stall_rounds, STALL_SIZE, progress)))
            if "memory" in wanted:
                why = memory.available()
                if why is not None:
                    report.skipped(titles["memory"], why)
                else:
                    run.section(titles["memory"], lambda: render.memory(
                        report, memory.run(lab, MEMORY_SIZE, plan.memory_bodies, progress)))
        finally:
            lab.close()
