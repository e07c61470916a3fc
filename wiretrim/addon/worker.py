"""The side of the runner that lives where the engine lives: a worker process or a thread.

Nothing here imports mitmproxy, so a worker process stays small. `serve` at the bottom is
the worker process's main function: one engine, frames in and out over a socket
(`channel.py`).
"""

from __future__ import annotations

import dataclasses
import pickle
import queue
import signal
import socket
import threading
from collections import OrderedDict
from collections.abc import Callable

from wiretrim.addon import channel
from wiretrim.compression import Engine, RewriteResult, measure
from wiretrim.config import Settings

EngineFactory = Callable[[Settings], Engine]


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


# -- worker-process side ---------------------------------------------------------------

READY = 0  # the job id of the first frame: the engine is built (or failed to build)


def light(result: RewriteResult) -> RewriteResult:
    """`result` without its body and its slots' texts, which stay in the worker.

    The proxy needs each slot's facts (path, reason, transforms, memo key, rewritten or not)
    but not its text: only token counting reads that, and the worker counts. An empty original
    with a one-character emitted text keeps `rewritten` true where it was.
    """
    slots = tuple(
        dataclasses.replace(s, original="", emitted="\u2026" if s.rewritten else "") for s in result.slots
    )
    return dataclasses.replace(result, body=None, slots=slots)


def serve(sock: socket.socket, factory: EngineFactory, settings: Settings) -> None:
    """The worker process: build the engine, then answer frames until the proxy closes the socket.

    Requests: ``(job, "rewrite", (shape, shadow))`` with the body as the blob, answered with
    ``(job, True, light result)`` and the rewritten body as the blob (``(job, False, exception)``
    when the engine raised); ``(job, "count", None)`` asks for that result's token counts,
    answered with ``(job, "tokens", Accounting or exception)`` once the counting thread is done;
    ``(job, "record_original", keys)`` is not answered. The first frame out is ``(READY, True,
    engine name)`` or ``(READY, False, exception)``.

    Counting waits until the proxy asks, which it does once the response is in: while the
    request is on its way upstream the worker leaves the CPU to the proxy. Results wait for
    that in `Uncounted`, bounded; counts run in a second thread (tiktoken releases the GIL,
    so a long count does not hold up the next rewrite).
    """
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C reaches the whole group; the proxy stops us
    lock = threading.Lock()

    def reply(message: tuple[object, ...], blob: bytes | None = None) -> None:
        with lock:
            channel.send_blocking(sock, channel.pack(message, blob))

    counts: queue.SimpleQueue[tuple[int, RewriteResult | Exception] | None] = queue.SimpleQueue()
    uncounted = Uncounted()
    try:
        try:
            engine = factory(settings)
        except Exception as e:
            reply((READY, False, _picklable(e)))
            return
        reply((READY, True, type(engine).__name__))
        threading.Thread(target=_count, args=(engine, counts, reply), daemon=True).start()
        stream = sock.makefile("rb")
        while True:
            try:
                (job, op, args), blob = channel.read_frame(stream)
            except channel.ChannelClosedError:
                return
            if op == "record_original":
                engine.record_original(args)
                continue
            if op == "count":
                kept = uncounted.pop(job)
                counts.put((job, kept) if kept is not None else (job, LookupError("counts dropped")))
                continue
            shape, shadow = args
            try:
                result = run(engine, blob, shape, shadow)
            except Exception as e:
                reply((job, False, _picklable(e)))
                continue
            reply((job, True, light(result)), result.body)
            if result.slots:
                uncounted.put(job, result)
    except OSError:
        return  # the proxy closed the channel (it is stopping, or replaced this worker)
    finally:
        counts.put(None)


class Uncounted:
    """Results whose counts the proxy has not asked for yet, oldest dropped first.

    Bounded in number and in characters of slot text, so results whose responses never come
    (or come late, after long streams) cannot pile up; asking for a dropped one gets a
    LookupError, and the request is logged without counts.
    """

    MAX_RESULTS = 64
    MAX_CHARS = 32 * 1024 * 1024

    def __init__(self) -> None:
        self._results: OrderedDict[int, tuple[RewriteResult, int]] = OrderedDict()
        self._chars = 0

    def put(self, job: int, result: RewriteResult) -> None:
        chars = sum(len(s.original) + len(s.emitted) for s in result.slots)
        self._results[job] = (result, chars)
        self._chars += chars
        while len(self._results) > 1 and (
            len(self._results) > self.MAX_RESULTS or self._chars > self.MAX_CHARS
        ):
            self._chars -= self._results.popitem(last=False)[1][1]

    def pop(self, job: int) -> RewriteResult | None:
        kept = self._results.pop(job, None)
        if kept is None:
            return None
        self._chars -= kept[1]
        return kept[0]

    def __len__(self) -> int:
        return len(self._results)


def _count(engine: Engine, jobs: queue.SimpleQueue[tuple[int, RewriteResult | Exception] | None],
           reply: Callable[..., None]) -> None:
    while (item := jobs.get()) is not None:
        job, result = item
        try:
            if isinstance(result, Exception):
                raise result
            counts: object = measure(result, engine.counter)
        except Exception as e:
            counts = _picklable(e)
        try:
            reply((job, "tokens", counts))
        except OSError:
            return  # the proxy closed the channel: this worker is on its way out


def _picklable(e: Exception) -> Exception:
    try:
        pickle.loads(pickle.dumps(e))
    except Exception:
        return RuntimeError(f"{type(e).__name__}: {e}")
    return e
