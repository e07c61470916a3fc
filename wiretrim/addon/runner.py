"""Run the engine off the event loop, within a time budget, and keep it alive.

Two runners with one interface. `ProcessRunner` (the default) keeps the engine and its memo
in one worker process: the engine is pure Python and holds the GIL, so in a thread it would
stall every other flow of the proxy (a concurrent SSE stream included). `ThreadRunner` keeps
it in one thread of the proxy: no inter-process copy, but it competes for the GIL. Both use
one worker, so requests reach the memo in arrival order.

A request gets at most the budget; past it the caller forwards the original. A job that runs
on after its budget keeps the worker busy, so later requests are skipped as busy (instead of
queueing behind it) until it finishes, and a process worker that runs one job for far longer
(``hang_s``) is killed and replaced.
"""

from __future__ import annotations

import asyncio
import concurrent.futures as cf
import logging
import multiprocessing
import time
from abc import ABC, abstractmethod
from collections.abc import Callable
from concurrent.futures.process import BrokenProcessPool
from typing import Any, ClassVar

from wiretrim.addon import worker
from wiretrim.addon.worker import EngineFactory
from wiretrim.compression import Engine, RewriteResult
from wiretrim.config import Settings

logger = logging.getLogger(__name__)

MAX_INFLIGHT = 8  # jobs submitted and not finished, timed-out ones included


class BusyError(Exception):
    """The engine is still working on earlier requests; this one is not queued."""


class StartingError(Exception):
    """The engine is still being built (start-up, or a replaced worker); nothing waits for it."""


class BudgetExceededError(Exception):
    """The engine did not answer within the request's time budget."""


class WorkerLostError(Exception):
    """The worker process died (or was killed for hanging) while this request waited."""


def hang_after(budget_s: float) -> float:
    """How long one job may run before its worker counts as hung."""
    return max(5.0, 20 * budget_s)


class Runner(ABC):
    kind: ClassVar[str]

    def __init__(self, settings: Settings, factory: EngineFactory, hang_s: float | None = None) -> None:
        self.settings = settings
        self.factory = factory
        self.hang_s = hang_s
        self.closed = False
        self.restarts = 0  # workers replaced (process runner)
        self._inflight: dict[cf.Future[Any], float] = {}  # submitted job -> monotonic submit time
        self._waiting: set[asyncio.Future[Any]] = set()  # the same jobs, as seen from the loop

    async def rewrite(self, body: bytes, shape: str, *, shadow: bool, budget_s: float) -> RewriteResult:
        """The engine's result for one body.

        Raises StartingError, BusyError, BudgetExceededError or WorkerLostError (the caller
        forwards the original), and whatever the engine raised.
        """
        if not self._ready.done():
            raise StartingError
        now = time.monotonic()
        if self._inflight and (
            len(self._inflight) >= MAX_INFLIGHT or now - min(self._inflight.values()) > budget_s
        ):
            raise BusyError
        generation = self.restarts
        try:
            cfut = self._submit_rewrite(body, shape, shadow)
        except (BrokenProcessPool, RuntimeError):  # RuntimeError: submit after shutdown
            self._broken()
            raise WorkerLostError from None
        self._inflight[cfut] = now
        afut = asyncio.wrap_future(cfut)
        self._waiting.add(afut)
        # Bookkeeping on the loop thread: the done callbacks of `cfut` run in worker threads.
        afut.add_done_callback(lambda f: self._finished(cfut, f))
        try:
            return await asyncio.wait_for(asyncio.shield(afut), budget_s)
        except TimeoutError:
            self._overran(cfut, afut, shadow, budget_s)
            raise BudgetExceededError from None
        except BrokenProcessPool:
            if generation == self.restarts:  # not a worker that was already replaced
                self._broken()
            raise WorkerLostError from None

    async def started(self) -> None:
        """Wait until the engine is built (or failed to build)."""
        ready = asyncio.wrap_future(self._ready)
        await asyncio.wait([ready])
        if not ready.cancelled():
            ready.exception()  # seen: a failed start was logged when it happened

    async def idle(self) -> None:
        """Wait until every submitted rewrite has finished, timed-out ones included."""
        while self._waiting:
            await asyncio.wait(list(self._waiting))

    def forget(self, result: RewriteResult) -> None:
        """A rewrite computed with the memo on was not forwarded: record its slots as unchanged."""
        keys = worker.memo_keys(result, rewritten_only=True)
        if not keys or self.closed:
            return
        try:
            self._submit_record_original(keys)
        except (BrokenProcessPool, RuntimeError):
            logger.debug("memo correction dropped: the worker is gone")

    def close(self) -> None:
        self.closed = True
        self._shutdown()

    # -- internals --------------------------------------------------------------------------

    def _finished(self, cfut: cf.Future[Any], afut: asyncio.Future[Any]) -> None:
        self._inflight.pop(cfut, None)
        self._waiting.discard(afut)
        if not afut.cancelled():
            afut.exception()  # seen, also when nobody awaits it any more (budget, cancellation)

    def _overran(
        self, cfut: cf.Future[Any], afut: asyncio.Future[Any], shadow: bool, budget_s: float
    ) -> None:
        if cfut.cancel():
            return  # never started: nothing reached the memo
        on_mode = not shadow

        def finished(f: asyncio.Future[Any]) -> None:
            if f.cancelled():
                return
            if f.exception() is None and on_mode:  # .exception() also marks an error as seen
                self.forget(f.result())

        afut.add_done_callback(finished)
        hang_s = self.hang_s if self.hang_s is not None else hang_after(budget_s)
        if hang_s <= budget_s:
            self._check_hung(cfut, hang_s)
        else:
            asyncio.get_running_loop().call_later(hang_s - budget_s, self._check_hung, cfut, hang_s)

    def _check_hung(self, cfut: cf.Future[Any], hang_s: float) -> None:
        if not cfut.done() and not self.closed:
            self._hung(hang_s)

    @property
    @abstractmethod
    def _ready(self) -> cf.Future[Any]:
        """Done when the engine is built: the first job of the worker."""

    def _log_start_failure(self, fut: cf.Future[Any]) -> None:
        if fut.cancelled() or self.closed:
            return
        exc = fut.exception()
        if isinstance(exc, BrokenProcessPool):
            # The worker's own traceback went to stderr; a killed replacement also lands here.
            logger.error("wiretrim: the engine worker process failed to start; requests pass through")
        elif exc is not None:
            logger.error(
                "wiretrim: the compression engine failed to start (%s); requests pass through",
                type(exc).__name__, exc_info=exc,
            )

    @abstractmethod
    def _submit_rewrite(self, body: bytes, shape: str, shadow: bool) -> cf.Future[RewriteResult]: ...

    @abstractmethod
    def _submit_record_original(self, keys: tuple[bytes, ...]) -> None: ...

    @abstractmethod
    def _hung(self, hang_s: float) -> None: ...

    @abstractmethod
    def _broken(self) -> None: ...

    @abstractmethod
    def _shutdown(self) -> None: ...


class ThreadRunner(Runner):
    """The engine in one thread of the proxy process."""

    kind = "thread"

    def __init__(self, settings: Settings, factory: EngineFactory, hang_s: float | None = None) -> None:
        super().__init__(settings, factory, hang_s)
        self._pool = cf.ThreadPoolExecutor(1, thread_name_prefix="wiretrim-engine")
        self._engine = self._pool.submit(factory, settings)  # built off the event loop
        self._engine.add_done_callback(self._log_start_failure)
        self._warned_hung = False

    @property
    def _ready(self) -> cf.Future[Any]:
        return self._engine

    def _call(self, fn: Callable[..., Any], *args: Any) -> Any:
        engine: Engine = self._engine.result()
        return fn(engine, *args)

    def _submit_rewrite(self, body: bytes, shape: str, shadow: bool) -> cf.Future[RewriteResult]:
        return self._pool.submit(self._call, worker.run, body, shape, shadow)

    def _submit_record_original(self, keys: tuple[bytes, ...]) -> None:
        self._pool.submit(self._call, Engine.record_original, keys)

    def _hung(self, hang_s: float) -> None:
        # A thread cannot be stopped: requests are skipped as busy until it returns.
        if not self._warned_hung:
            self._warned_hung = True
            logger.warning("wiretrim: the engine thread has run one request for over %.0f s", hang_s)

    def _broken(self) -> None:
        pass  # a thread pool only breaks by shutdown

    def _shutdown(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)


class ProcessRunner(Runner):
    """The engine in one worker process, restarted when it dies or hangs."""

    kind = "process"
    RESTART_INTERVAL_S = 5.0  # a worker that dies at start-up is not restarted in a tight loop

    def __init__(self, settings: Settings, factory: EngineFactory, hang_s: float | None = None) -> None:
        super().__init__(settings, factory, hang_s)
        methods = multiprocessing.get_all_start_methods()
        # fork is unsafe in a process with threads (mitmproxy has some); spawn restarts slowly.
        self._context = multiprocessing.get_context("forkserver" if "forkserver" in methods else "spawn")
        if self._context.get_start_method() == "forkserver":
            self._context.set_forkserver_preload(["wiretrim.addon.worker"])
        self._last_start = 0.0
        self._warm: cf.Future[Any]
        self._pool = self._start()

    @property
    def _ready(self) -> cf.Future[Any]:
        return self._warm

    def _start(self) -> cf.ProcessPoolExecutor:
        self._last_start = time.monotonic()
        pool = cf.ProcessPoolExecutor(
            1, mp_context=self._context, initializer=worker.start, initargs=(self.factory, self.settings)
        )
        # The pool starts its process on the first job: start it (and build the engine) now.
        self._warm = pool.submit(worker.ready)
        self._warm.add_done_callback(self._log_start_failure)
        return pool

    def _submit_rewrite(self, body: bytes, shape: str, shadow: bool) -> cf.Future[RewriteResult]:
        return self._pool.submit(worker.rewrite, body, shape, shadow)

    def _submit_record_original(self, keys: tuple[bytes, ...]) -> None:
        self._pool.submit(worker.record_original, keys)

    def _replace(self, why: str) -> None:
        old = self._pool
        self._pool = self._start()
        self.restarts += 1
        logger.warning("wiretrim: engine worker %s; started a new one (its in-memory memo starts empty)", why)
        _kill(old)

    def _hung(self, hang_s: float) -> None:
        self._replace(f"ran one request for over {hang_s:.0f} s")

    def _broken(self) -> None:
        if not self.closed and time.monotonic() - self._last_start >= self.RESTART_INTERVAL_S:
            self._replace("died")

    def _shutdown(self) -> None:
        if self._inflight:
            _kill(self._pool)  # a job may never end; its request already went out unchanged
        else:
            self._pool.shutdown(wait=True, cancel_futures=True)  # idle: the worker exits at once

    def worker_pids(self) -> list[int]:
        return [p.pid for p in getattr(self._pool, "_processes", {}).values() if p.pid is not None]


def _kill(pool: cf.ProcessPoolExecutor) -> None:
    """Stop a pool now: its worker may be stuck in a job that never ends."""
    kill_workers = getattr(pool, "kill_workers", None)  # Python 3.14+
    if kill_workers is not None:
        kill_workers()
    else:
        for process in list(getattr(pool, "_processes", {}).values()):
            process.kill()
    # Joins the pool's manager thread, which ends as soon as it sees the dead worker.
    pool.shutdown(wait=True, cancel_futures=True)


RUNNERS: dict[str, type[Runner]] = {"process": ProcessRunner, "thread": ThreadRunner}


def make_runner(settings: Settings, factory: EngineFactory) -> Runner:
    return RUNNERS[settings.executor](settings, factory)
