"""What each matched request cost and saved: its outcome joined with its response's usage.

A matched request is opened when its body is complete. Two things then finish in either
order: the rewrite's outcome (with exact token counts, which come after the request went
upstream) and the response (its usage, read from the bytes as they passed, or from the body
mitmproxy buffered). When both are in, one ledger entry goes to the ledger and the metrics.

Responses are only read, never changed: a streamed one passes through `Tap`, which hands
every chunk on as it is (the same object) after showing it to a `UsageReader`.
"""

from __future__ import annotations

import asyncio
import logging
import time
import weakref
from dataclasses import dataclass

from mitmproxy import http

from wiretrim.addon.report import Outcome
from wiretrim.addon.rewrite import Job
from wiretrim.compression import Accounting
from wiretrim.ledger import Entry
from wiretrim.usage import Usage, UsageReader, read_body

logger = logging.getLogger(__name__)


class Tap:
    """A pass-through ``flow.response.stream``: returns each chunk unchanged, reading usage."""

    def __init__(self, reader: UsageReader) -> None:
        self.reader = reader

    def __call__(self, chunk: bytes) -> bytes:
        self.reader.feed(chunk)  # never raises, and keeps no more than one event
        return chunk


@dataclass(slots=True)
class _Open:
    job: Job
    ts: float
    tap: Tap | None = None
    outcome: Outcome | None = None
    acc: Accounting | None = None
    answering: bool = False  # the usage is being read
    answered: bool = False  # ... and has been
    status: int | None = None
    usage: Usage | None = None


class Bookkeeper:
    def __init__(self) -> None:
        self._open: weakref.WeakKeyDictionary[http.HTTPFlow, _Open] = weakref.WeakKeyDictionary()

    def open(self, flow: http.HTTPFlow, job: Job) -> None:
        """Start keeping books for a matched request (only when someone records them)."""
        if job.setup.bookkeeping:
            self._open[flow] = _Open(job, time.time())

    def pending(self, flow: http.HTTPFlow) -> bool:
        return flow in self._open

    def tap(self, flow: http.HTTPFlow) -> Tap | None:
        """The stream callable for a matched response that is about to stream, else None."""
        books = self._open.get(flow)
        response = flow.response
        if books is None or response is None:
            return None
        reader = UsageReader(books.job.endpoint.shape, response.headers.get("content-type"),
                             response.headers.get("content-encoding"))
        books.tap = Tap(reader)
        return books.tap

    def reported(self, flow: http.HTTPFlow, outcome: Outcome, acc: Accounting | None) -> None:
        """The rewrite's final outcome (in shadow mode it may come after the response)."""
        books = self._open.get(flow)
        if books is not None:
            books.outcome, books.acc = outcome, acc
            self._close_if_done(flow, books)

    async def answered(self, flow: http.HTTPFlow) -> None:
        """The response is complete, or the flow failed: read its usage off the event loop."""
        books = self._open.get(flow)
        if books is None or books.answering:
            return
        books.answering = True
        response = flow.response
        books.status = response.status_code if response is not None and flow.error is None else None
        try:
            if books.tap is not None:
                books.usage = await asyncio.to_thread(books.tap.reader.finish)
            elif response is not None and response.raw_content:
                books.usage = await asyncio.to_thread(
                    read_body, response.raw_content, books.job.endpoint.shape,
                    response.headers.get("content-type"), response.headers.get("content-encoding"),
                )
        finally:
            books.answered = True  # only now: the outcome may come while the usage is read
            self._close_if_done(flow, books)

    def _close_if_done(self, flow: http.HTTPFlow, books: _Open) -> None:
        if books.outcome is None or not books.answered:
            return
        self._open.pop(flow, None)
        entry = self.entry(books)
        setup = books.job.setup
        if setup.ledger is not None:
            setup.ledger.add(entry)
        if setup.metrics is not None:
            setup.metrics.observe(entry)

    @staticmethod
    def entry(books: _Open) -> Entry:
        out, acc, job = books.outcome, books.acc, books.job
        assert out is not None
        # Tokens removed from what went upstream: 0 unless rewritten (priced, that is $0 saved).
        saved = (acc.tokens_saved if out.action == "compressed" else 0) if acc is not None else 0
        count_only = job.endpoint.counts_tokens
        u = books.usage or Usage()
        # A request skipped before its body was read names no model; its response does.
        model = out.model or u.model
        money = job.setup.prices.money(model, books.usage, None if count_only else saved)
        return Entry(
            ts=books.ts,
            host=out.host,
            provider=out.provider,
            shape=out.shape,
            model=model,
            mode=out.mode,
            action=out.action,
            reason=out.reason,
            count_only=count_only,
            stream=books.tap is not None,
            status=books.status,
            tokens_before=acc.tokens_before if acc is not None else None,
            # What went (or in shadow mode would have gone) upstream: a rewrite the breaker
            # stopped was measured but not sent.
            tokens_after=(acc.tokens_after if out.action == "compressed" else acc.tokens_before)
            if acc is not None else None,
            input_tokens=u.input_tokens,
            output_tokens=u.output_tokens,
            cache_read_tokens=u.cache_read_tokens,
            cache_write_tokens=u.cache_write_tokens,
            cost_usd=None if count_only else money.cost,
            saved_usd=money.saved,
            latency_ms=round(out.ms, 3) if out.mode == "on" else 0.0,
            compress_ms=round(out.ms, 3),
        )
