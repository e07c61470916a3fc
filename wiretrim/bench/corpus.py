"""Section 1: the engine on a corpus of request bodies, and Headroom on the same cases.

Cases are the scorer's (`../shared/corpus`): JSON files with ``id``, ``category``, ``url`` and
``request``. Each case is timed once per compressor, ours right before the peer's, so both see
the same load. Our figure is `Engine.rewrite` on the body bytes (JSON parsing included), the
peer's is the ``ms`` its adapter reports (conversion and compression of the already parsed
body). Both run warm: ours after a few untimed bodies, Headroom after its adapter's warm-up.
The engine has no memo here: the cases are independent conversations.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from wiretrim.bench import bodies
from wiretrim.bench.peer import Peer, PeerError
from wiretrim.compression import Engine
from wiretrim.config import Settings
from wiretrim.endpoints import match_url
from wiretrim.engines import build_engine


@dataclass(frozen=True)
class Case:
    id: str
    category: str
    url: str
    body: Any  # the request object (or a raw string, for the scorer's non-JSON guard cases)

    def raw(self) -> bytes:
        """The body as a client would send it."""
        if isinstance(self.body, str):
            return self.body.encode("utf-8", "surrogatepass")
        try:
            return json.dumps(self.body, ensure_ascii=False).encode("utf-8")
        except UnicodeEncodeError:  # a lone surrogate: only the escaped form is valid UTF-8
            return json.dumps(self.body).encode("utf-8")


@dataclass
class CaseTime:
    case: Case
    size: int
    ours_ms: float
    peer_ms: float | None = None


@dataclass
class CorpusFigures:
    directory: Path
    times: list[CaseTime]
    peer: str | None  # the peer's command line, when it ran
    peer_note: str | None  # why it did not run, or what went wrong
    seconds: float = 0.0
    categories: list[str] = field(default_factory=list)


def load(directory: Path) -> list[Case]:
    """Every case file under `directory`, in path order (the scorer's rules)."""
    cases: list[Case] = []
    for root, dirs, files in os.walk(directory):
        dirs.sort()
        for name in sorted(files):
            if not name.endswith(".json"):
                continue
            try:
                doc = json.loads((Path(root) / name).read_text(encoding="utf-8"))
            except (ValueError, OSError):
                continue
            if isinstance(doc, dict) and "id" in doc and "request" in doc:
                cases.append(Case(str(doc["id"]), str(doc.get("category", "?")), str(doc.get("url") or ""),
                                  doc["request"]))
    return cases


def _ours(engine: Engine, case: Case, raw: bytes) -> float:
    t = time.perf_counter()
    endpoint = match_url(case.url) if case.url else None
    if endpoint is not None and engine.supports(endpoint.shape):
        engine.rewrite(raw, endpoint.shape)
    return (time.perf_counter() - t) * 1000


def run(directory: Path, settings: Settings, peer_argv: list[str] | None, peer_note: str | None,
        progress: Callable[[str], None]) -> CorpusFigures:
    started = time.perf_counter()
    cases = load(directory)
    engine = build_engine(settings, "none")
    for body in bodies.warmup_bodies():
        engine.rewrite(body, "openai-chat")
    peer = None
    if peer_argv is not None:
        progress("engine: starting Headroom's adapter (its warm-up takes a few seconds)")
        peer = Peer(peer_argv)
    times: list[CaseTime] = []
    try:
        for n, case in enumerate(cases, 1):
            raw = case.raw()
            t = CaseTime(case, len(raw), _ours(engine, case, raw))
            if peer is not None:
                try:
                    t.peer_ms = peer.ms(case.id, case.url, case.body)
                except PeerError as e:
                    peer_note = f"Headroom stopped at case {case.id}: {e}"
                    peer.close()
                    peer = None
            times.append(t)
            if n % 16 == 0:
                progress(f"engine: {n}/{len(cases)} cases")
    finally:
        if peer is not None:
            peer.close()
    ran = any(t.peer_ms is not None for t in times)
    categories = list(dict.fromkeys(t.case.category for t in times))
    return CorpusFigures(directory, times, " ".join(peer_argv) if peer_argv and ran else None, peer_note,
                         time.perf_counter() - started, categories)
