"""The side of the runner that lives where the engine lives: a worker process or a thread.

Nothing here imports mitmproxy, so a worker process stays small. The process-pool
functions at the bottom work on the one engine the pool's initializer built in that process.
"""

from __future__ import annotations

import signal
from collections.abc import Callable

from wiretrim.compression import Engine, RewriteResult
from wiretrim.config import Settings

EngineFactory = Callable[[Settings], Engine]


def build_engine(settings: Settings) -> Engine:
    """The engine the settings describe: tiktoken counts and a memo (in memory, or SQLite)."""
    from wiretrim.compression.memo import Memo, MemoryMemo, SqliteMemo
    from wiretrim.compression.tokens import TiktokenCounter

    m = settings.memo
    front = MemoryMemo(m.max_entries, m.max_mb * 1024 * 1024)
    store: Memo = front if m.path is None else SqliteMemo(m.path, m.ttl_hours * 3600, front)
    return Engine(settings.engine_settings(), TiktokenCounter(settings.compression.encoding), store)


def memo_keys(result: RewriteResult, *, rewritten_only: bool) -> tuple[bytes, ...]:
    """The memo keys of the result's slots (only of the rewritten ones when asked)."""
    return tuple(
        s.memo_key for s in result.slots if s.memo_key is not None and (s.rewritten or not rewritten_only)
    )


def run(engine: Engine, body: bytes, shape: str, shadow: bool) -> RewriteResult:
    """One request through the engine.

    Shadow mode computes without touching the memo, then records that every slot went
    upstream unchanged (it did): turning the mode on later keeps the history stable.
    """
    if not engine.supports(shape):
        return RewriteResult(body=None, skipped="unsupported_shape")
    result = engine.rewrite(body, shape, record=not shadow)
    if shadow:
        engine.record_original(memo_keys(result, rewritten_only=False))
    return result


# -- process-pool side ---------------------------------------------------------------------

_engine: Engine | None = None


def start(factory: EngineFactory, settings: Settings) -> None:
    """Pool initializer: build this worker's engine (and its memo) once."""
    global _engine
    # Ctrl-C goes to the whole process group; the proxy shuts the pool down itself.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _engine = factory(settings)


def _current() -> Engine:
    if _engine is None:
        raise RuntimeError("worker used before its initializer ran")
    return _engine


def ready() -> str:
    """Warm-up job: returns once the engine is built (the pool starts its process lazily)."""
    return type(_current()).__name__


def rewrite(body: bytes, shape: str, shadow: bool) -> RewriteResult:
    return run(_current(), body, shape, shadow)


def record_original(keys: tuple[bytes, ...]) -> None:
    _current().record_original(keys)
