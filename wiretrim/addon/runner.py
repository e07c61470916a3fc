"""Run the engine off the event loop, within a time budget, and keep it alive.

Two runners with one interface. `ProcessRunner` (the default) keeps the engine and its memo
in one worker process: the engine is pure Python and holds the GIL, so in a thread it would
stall every other flow of the proxy (a concurrent SSE stream included). It talks to it over
a socket pair (`channel.py`), and the worker also counts the tokens of each result, so the
proxy process never tokenizes. `ThreadRunner` keeps the engine in one thread of the proxy:
no inter-process copy, but it competes for the GIL. Both use one worker, so requests reach
the memo in arrival order.

A request gets at most the budget; past it the caller forwards the original. A job that runs
on after its budget keeps the worker busy, so later requests are skipped as busy (instead of
queueing behind it) until it finishes, and a process worker that runs one job for far longer
(``hang_s``) is killed and replaced.
"""

from __future__ import annotations

import asyncio
import concurrent.futures as cf
import dataclasses
import itertools
import logging
import multiprocessing
import socket
import threading
import time
from abc import ABC, abstractmethod
from collections.abc import Callable
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from typing import Any, ClassVar

from wiretrim.addon import worker
from wiretrim.addon.channel import Channel, ChannelClosedError
from wiretrim.addon.worker import EngineFactory
from wiretrim.compression import Accounting, Engine, RewriteResult, measure
from wiretrim.config import Settings

logger = logging.getLogger(__name__)

MAX_INFLIGHT = 8  # jobs submitted and not finished, timed-out ones included
# Job numbers are unique in the proxy process, not per worker: the counts of a result from a
# replaced worker must never be taken for those of a new worker's job with the same number.
_JOB_NUMBERS = itertools.count(worker.READY + 1)


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
        # Submitted jobs, as seen from the event loop, with their monotonic submit times.
        self._inflight: dict[asyncio.Future[Any], float] = {}

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
        afut = asyncio.wrap_future(cfut)
        self._inflight[afut] = now
        # Bookkeeping on the loop thread: the done callbacks of `cfut` run in worker threads.
        afut.add_done_callback(self._finished)
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
        while self._inflight:
            await asyncio.wait(list(self._inflight))

    @abstractmethod
    async def tokens(self, result: RewriteResult) -> Accounting:
        """The exact token counts of a result this runner returned, off the event loop, with
        the engine's own counter. LookupError when they are no longer to be had."""

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

    def _finished(self, afut: asyncio.Future[Any]) -> None:
        self._inflight.pop(afut, None)
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

    async def tokens(self, result: RewriteResult) -> Accounting:
        engine: Engine = self._engine.result()
        return await asyncio.to_thread(measure, result, engine.counter)

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
        self._worker = self._start()

    @property
    def _ready(self) -> cf.Future[Any]:
        return self._worker.ready

    def _start(self) -> _Worker:
        self._last_start = time.monotonic()
        w = _Worker(self._context, self.factory, self.settings)
        w.ready.add_done_callback(self._log_start_failure)
        return w

    def _submit_rewrite(self, body: bytes, shape: str, shadow: bool) -> cf.Future[RewriteResult]:
        return self._worker.submit("rewrite", (shape, shadow), body)

    def _submit_record_original(self, keys: tuple[bytes, ...]) -> None:
        self._worker.submit("record_original", keys)

    async def tokens(self, result: RewriteResult) -> Accounting:
        fut = self._worker.tokens(result)
        if fut is None:
            raise LookupError("no token counts for this result (its worker was replaced)")
        return await asyncio.wrap_future(fut)

    def _replace(self, why: str) -> None:
        old = self._worker
        self._worker = self._start()
        self.restarts += 1
        logger.warning("wiretrim: engine worker %s; started a new one (its in-memory memo starts empty)", why)
        old.kill()

    def _hung(self, hang_s: float) -> None:
        self._replace(f"ran one request for over {hang_s:.0f} s")

    def _broken(self) -> None:
        if not self.closed and time.monotonic() - self._last_start >= self.RESTART_INTERVAL_S:
            self._replace("died")

    def _shutdown(self) -> None:
        if self._inflight:
            self._worker.kill()  # a job may never end; its request already went out unchanged
        else:
            self._worker.stop()  # idle: the worker exits at once

    def worker_pids(self) -> list[int]:
        pid = self._worker.process.pid
        return [] if pid is None else [pid]


class _Worker:
    """One worker process, the channel to it, and the futures of what it has not answered yet.

    A job's future is marked running as soon as it is sent: the worker may start it at any
    moment, so it cannot be cancelled (an over-budget job is forgotten once it ends instead).
    Token counts come from the worker's counting thread, under the result's job number, once
    `tokens` asks for them; the worker bounds what it keeps for asking (`worker.Uncounted`)
    and answers a job it no longer has with a LookupError.
    """

    def __init__(self, context: Any, factory: EngineFactory, settings: Settings) -> None:
        self.ready: cf.Future[str] = cf.Future()
        self._jobs: dict[int, cf.Future[RewriteResult]] = {}
        self._counts: dict[int, cf.Future[Accounting]] = {}  # asked for, not answered yet
        self._lock = threading.Lock()
        self.lost = False
        parent, child = socket.socketpair()
        self.process = context.Process(target=worker.serve, args=(child, factory, settings),
                                       name="wiretrim-engine", daemon=True)
        try:
            self.process.start()
        finally:
            child.close()
        self.channel = Channel(parent, self._on_frame, self._on_closed)

    def submit(self, op: str, args: Any, blob: bytes | None = None) -> cf.Future[Any]:
        """Send one job; raises BrokenProcessPool when the worker is gone or its engine never started."""
        if self.ready.done() and self.ready.exception() is not None:
            raise BrokenProcessPool("the engine failed to start")
        fut: cf.Future[Any] = cf.Future()
        fut.set_running_or_notify_cancel()
        with self._lock:
            if self.lost:
                raise BrokenProcessPool("the engine worker is gone")
            job = next(_JOB_NUMBERS)
            if op == "rewrite":
                self._jobs[job] = fut
        try:
            self.channel.send((job, op, args), blob)
        except ChannelClosedError:
            self._on_closed()
            raise BrokenProcessPool("the engine worker is gone") from None
        return fut

    def tokens(self, result: RewriteResult) -> cf.Future[Accounting] | None:
        """The future of `result`'s token counts, or None when this worker has none for it.

        The worker counts when first asked (see `worker.serve`)."""
        if not isinstance(result, WorkerResult):
            return None
        with self._lock:
            fut = self._counts.get(result.job)
            if fut is not None:
                return fut
            fut = cf.Future()
            if self.lost:
                fut.set_exception(BrokenProcessPool("the engine worker is gone"))
                return fut
            self._counts[result.job] = fut
        try:
            self.channel.send((result.job, "count", None))
        except ChannelClosedError:
            self._on_closed()
        return fut

    def _on_frame(self, message: tuple[int, Any, Any], blob: bytes) -> None:
        """A reply (on the channel's reader thread)."""
        job, status, value = message
        if job == worker.READY:
            _settle(self.ready, status is True, value)
            return
        with self._lock:
            if status == "tokens":
                fut = self._counts.pop(job, None)
            else:
                fut = self._jobs.pop(job, None)
                if status is True:
                    fields = {f.name: getattr(value, f.name) for f in dataclasses.fields(value)}
                    value = WorkerResult(**{**fields, "body": blob or None}, job=job)
        if fut is not None:
            _settle(fut, status is not False and not isinstance(value, BaseException), value)

    def _on_closed(self) -> None:
        with self._lock:
            self.lost = True
            waiting = [*self._jobs.values(), *self._counts.values(), self.ready]
            self._jobs.clear()
            self._counts.clear()
        for fut in waiting:
            _settle(fut, False, BrokenProcessPool("the engine worker is gone"))

    def kill(self) -> None:
        """Stop the worker now: it may be stuck in a job that never ends."""
        if self.process.is_alive():
            self.process.kill()
        self.channel.close()
        self.process.join(10)

    def stop(self) -> None:
        """Let an idle worker exit (it sees the channel close); kill it if it does not."""
        self.channel.close()
        self.process.join(5)
        if self.process.is_alive():
            self.kill()


@dataclass(frozen=True, slots=True)
class WorkerResult(RewriteResult):
    """A result from the worker process, with the job its token counts come under.

    Its slots carry no text (`worker.light`): the proxy needs each slot's facts, and the
    worker, which has the texts, counts their tokens.
    """

    job: int = 0


def _settle(fut: cf.Future[Any], ok: bool, value: Any) -> None:
    try:
        if ok:
            fut.set_result(value)
        else:
            fut.set_exception(value)
    except cf.InvalidStateError:
        pass  # already settled, or cancelled: counts nobody waited for


RUNNERS: dict[str, type[Runner]] = {"process": ProcessRunner, "thread": ThreadRunner}


def make_runner(settings: Settings, factory: EngineFactory) -> Runner:
    return RUNNERS[settings.executor](settings, factory)
