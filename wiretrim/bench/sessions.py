"""Section 2: recorded sessions replayed request by request, as the proxy would see them.

A session file (`../shared/sessions`) holds the bodies an agent sent turn after turn, each the
previous one plus the new turns. Each is replayed through one engine with an in-memory
first-emission memo, in `on` mode (`worker.run`, what the proxy's worker calls), so that a
request's cost shows whether it follows its new content or the length of its history.
A fresh engine per session and repetition keeps the first request of every session cold
in the memo and the token-count cache; the figure per request is the median over repetitions.

The first and the last request are timed back to back: after requests 1..n-1 are replayed,
request 1 goes through a fresh engine and request n through the replayed one. On a machine
whose load drifts, two figures taken a few seconds apart differ by more than the ratio
being measured; taken together they see the same load.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from wiretrim.addon import worker
from wiretrim.bench import bodies
from wiretrim.bench.stats import median
from wiretrim.compression import Engine
from wiretrim.config import Settings
from wiretrim.endpoints import match_url
from wiretrim.engines import build_engine


@dataclass(frozen=True)
class Session:
    id: str
    shape: str
    requests: list[bytes]


@dataclass
class SessionTimes:
    session: Session
    ms: list[float]  # per request, median over the repetitions
    firsts: list[float]  # the back-to-back pairs, one per repetition
    lasts: list[float]

    @property
    def first(self) -> float:
        return median(self.firsts)

    @property
    def last(self) -> float:
        return median(self.lasts)

    @property
    def growth(self) -> float:
        """last / first: the median of the pairs' ratios."""
        return median([b / a for a, b in zip(self.firsts, self.lasts, strict=True) if a > 0])


@dataclass
class SessionFigures:
    directory: Path
    times: list[SessionTimes]
    repeats: int
    skipped: list[str]  # files that are not sessions of a known shape
    seconds: float = 0.0


def _timed(engine: Engine, raw: bytes, shape: str) -> float:
    t = time.perf_counter()
    worker.run(engine, raw, shape, False)
    return (time.perf_counter() - t) * 1000


def load(directory: Path) -> tuple[list[Session], list[str]]:
    sessions: list[Session] = []
    skipped: list[str] = []
    for path in sorted(directory.glob("*.json")):
        try:
            doc = json.loads(path.read_text(encoding="utf-8"))
        except (ValueError, OSError):
            skipped.append(path.name)
            continue
        endpoint = match_url(str(doc.get("url") or "")) if isinstance(doc, dict) else None
        requests = doc.get("requests") if isinstance(doc, dict) else None
        if endpoint is None or not isinstance(requests, list) or not requests:
            skipped.append(path.name)
            continue
        raw = [json.dumps(body, ensure_ascii=False).encode("utf-8") for body in requests]
        sessions.append(Session(str(doc.get("id") or path.stem), endpoint.shape, raw))
    return sessions, skipped


def run(directory: Path, settings: Settings, repeats: int, progress: Callable[[str], None]) -> SessionFigures:
    started = time.perf_counter()
    sessions, skipped = load(directory)
    warm = build_engine(settings, "memory")
    for body in bodies.warmup_bodies():
        worker.run(warm, body, "openai-chat", False)
    samples: dict[str, list[list[float]]] = {s.id: [[] for _ in s.requests] for s in sessions}
    pairs: dict[str, tuple[list[float], list[float]]] = {s.id: ([], []) for s in sessions}
    for rep in range(repeats):
        for session in sessions:
            engine = build_engine(settings, "memory")
            for k, raw in enumerate(session.requests[:-1]):
                samples[session.id][k].append(_timed(engine, raw, session.shape))
            first = _timed(build_engine(settings, "memory"), session.requests[0], session.shape)
            last = _timed(engine, session.requests[-1], session.shape)
            samples[session.id][-1].append(last)
            pairs[session.id][0].append(first)
            pairs[session.id][1].append(last)
        progress(f"sessions: repetition {rep + 1}/{repeats} done")
    times = [SessionTimes(s, [median(v) for v in samples[s.id]], *pairs[s.id]) for s in sessions]
    return SessionFigures(directory, times, repeats, skipped, time.perf_counter() - started)
