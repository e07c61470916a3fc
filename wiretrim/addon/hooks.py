"""The Wiretrim addon: mitmproxy's hooks, each a guard, a match, a delegation and a record.

`requestheaders` removes the bypass header and matches the endpoint; `request` runs the
rewrite off the event loop (`rewrite.py`); `responseheaders` streams what must stream and
feeds the circuit breaker; `response` and `error` hand the usage the response reported to
the bookkeeper (`bookkeeper.py`). Token accounting, the log line and the ledger entry wait
until the response is in (or the flow failed): while the request is on its way the proxy
and the engine worker do nothing else for it, so the client does not wait on bookkeeping.
"""

from __future__ import annotations

import asyncio
import logging
import weakref
from collections.abc import Coroutine
from typing import Any

from mitmproxy import ctx, http
from mitmproxy.addonmanager import Loader
from mitmproxy.exceptions import OptionsError
from mitmproxy.hooks import UpdateHook
from mitmproxy.master import Master
from mitmproxy.tools.dump import DumpMaster

from wiretrim import tracebacks
from wiretrim.addon import breaker as breakers
from wiretrim.addon import gate, options, report, streaming, views
from wiretrim.addon.bookkeeper import Bookkeeper
from wiretrim.addon.breaker import Breaker
from wiretrim.addon.options import Setup
from wiretrim.addon.report import Outcome
from wiretrim.addon.rewrite import Job, Taken
from wiretrim.addon.worker import EngineFactory
from wiretrim.engines import build_engine

logger = logging.getLogger(__name__)


class Wiretrim:
    def __init__(self, engine_factory: EngineFactory | None = None) -> None:
        # Tests inject a fake engine (it must be importable: the process runner pickles it);
        # None means the real engine. Token counts come from the engine's own counter.
        self.engine_factory = engine_factory or build_engine
        self.setup: Setup | None = None  # replaced whole, never edited in place
        self.breaker = Breaker()
        self.books = Bookkeeper()
        self._tickets: weakref.WeakKeyDictionary[http.HTTPFlow, Job] = weakref.WeakKeyDictionary()
        self._tasks: set[asyncio.Task[None]] = set()
        # Outcomes of requests that went upstream rewritten, until their response status is known.
        self._rewritten: weakref.WeakKeyDictionary[http.HTTPFlow, Outcome] = weakref.WeakKeyDictionary()
        # Outcomes whose accounting waits for the response (see `_report`).
        self._unaccounted: weakref.WeakKeyDictionary[http.HTTPFlow, tuple[Job, Outcome]] = (
            weakref.WeakKeyDictionary()
        )
        self._running = False
        self._failed = False  # a start-up configuration error was logged
        self._view: object | None = None  # the `wiretrim` content view this instance registered

    # -- lifecycle ------------------------------------------------------------------------

    def load(self, loader: Loader) -> None:
        options.add_options(loader)
        self._view = views.register()

    def configure(self, updated: set[str]) -> None:
        if not updated & options.NAMES:
            return
        old = self.setup
        try:
            new = options.build(ctx.options, old, updated, self.engine_factory)
        except OptionsError as e:
            if self._running:
                raise  # mitmproxy keeps the previous value and shows the error
            # At start-up a raised error is printed with a traceback; one line says it all,
            # and mitmproxy's ErrorCheck stops mitmdump/mitmweb on an ERROR logged before running.
            logger.error("%s", e)
            self._failed = True
            return
        self.setup = new
        self._failed = False
        if old is not None:
            options.retire(old, new)
        if old is not None and old.mode != new.mode:
            logger.info("wiretrim: mode %s -> %s (from the next request)", old.mode, new.mode)

    def running(self) -> None:
        self._running = True
        if self.setup is None and not self._failed:
            # Addons added programmatically get no initial configure.
            self.configure(set(options.NAMES))
        if hasattr(ctx.options, "web_columns") and "comment" not in ctx.options.web_columns:
            ctx.options.update(web_columns=[*ctx.options.web_columns, "comment"])
        if self.setup is not None:
            s = self.setup
            logger.info(
                "wiretrim: mode=%s executor=%s budget_ms=%d custom_endpoints=%d",
                s.mode, s.runner.kind, s.settings.budget_ms, len(s.custom),
            )

    def done(self) -> None:
        # Sync: mitmproxy calls `done` from sync code when a script is unloaded or reloaded.
        if self._view is not None:
            views.unregister(self._view)
            self._view = None
        for task in list(self._tasks):
            task.cancel()  # pending accounting only; every request has already gone upstream
        if self.setup is not None:
            options.close(self.setup)  # the ledger writes what it was given first

    async def settled(self) -> None:
        """Account now for requests still waiting for their response, and wait until the
        accounting and shadow work of past requests is done (for tests)."""
        while self._tasks or self._unaccounted:
            for flow in list(self._unaccounted):
                self._account_later(flow)
            await asyncio.gather(*list(self._tasks), return_exceptions=True)
            # gather() of finished tasks returns without yielding; yield so that their done
            # callbacks (which remove them from the set) run.
            await asyncio.sleep(0)

    # -- hooks ----------------------------------------------------------------------------

    def requestheaders(self, flow: http.HTTPFlow) -> None:
        setup = self.setup
        if setup is None or flow.response or flow.error or not flow.live:
            return
        bypass = gate.pop_bypass(flow.request, setup.settings.bypass_header)  # in every mode
        if setup.mode == "off":
            return
        endpoint = setup.match(flow.request)
        if endpoint is not None:
            self._tickets[flow] = Job.matched(flow, setup, endpoint, bypass)

    async def request(self, flow: http.HTTPFlow) -> None:
        job = self._tickets.pop(flow, None)
        if job is None or flow.response or flow.error or not flow.live:
            return
        job = job.begin()
        self.books.open(flow, job)
        try:
            if job.setup.mode == "shadow":
                taken = job.take(flow.request)  # read now: later addons may edit the request
                if not isinstance(taken, Outcome):
                    # The original goes upstream now; what `on` would have sent is worked out after.
                    self._spawn(self._shadow(flow, job, taken))
                    return
                outcome = taken
            else:
                outcome = await job.run_on(flow.request, self.breaker)
        except Exception as e:
            # The one broad except: the original body goes out, whatever went wrong.
            # Never exc_info: an exception's message may quote the prompt (tracebacks.py).
            logger.debug("wiretrim: rewrite failed: %s", tracebacks.scrubbed(e))
            outcome = job.failed(type(e).__name__)
        self._report(flow, job, outcome)

    def responseheaders(self, flow: http.HTTPFlow) -> None:
        assert flow.response is not None
        if streaming.wanted(flow):
            # True, or a tap that hands every chunk on unchanged while reading the usage.
            flow.response.stream = self.books.tap(flow) or True
        rewritten = self._rewritten.pop(flow, None)
        if rewritten is None or self.setup is None:
            return
        cfg = self.setup.settings.breaker
        if flow.response.status_code in cfg.statuses:
            # The key `run_on` checks, from the outcome itself (the flow's metadata is made storable).
            self.breaker.trip(breakers.key(rewritten.host, rewritten.path, rewritten.model), cfg.cooldown_s)
            logger.warning(
                "wiretrim: breaker open provider=%s model=%s status=%d cooldown_s=%d: "
                "this route gets original bodies for a while",
                rewritten.provider, report.field(rewritten.model), flow.response.status_code, cfg.cooldown_s,
            )

    def response(self, flow: http.HTTPFlow) -> None:
        # Spawned, never awaited here: the client is waiting for this response.
        self._account_later(flow)
        if self.books.pending(flow):
            self._spawn(self.books.answered(flow))

    def error(self, flow: http.HTTPFlow) -> None:
        self._tickets.pop(flow, None)
        self._account_later(flow)
        if self.books.pending(flow):
            self._spawn(self.books.answered(flow))

    # -- after the request went upstream --------------------------------------------------

    def _report(self, flow: http.HTTPFlow, job: Job, outcome: Outcome) -> None:
        if not keeps_flows(getattr(ctx, "master", None)):
            # Nobody can open the view: let the body the client sent be freed with the request.
            outcome.original = outcome.would_send = None
        report.record(flow, outcome)
        if outcome.rewritten:
            self._rewritten[flow] = outcome  # the breaker reads it when the response comes
        if outcome.needs_accounting():
            if _answered(flow):  # a shadow rewrite may end after the response
                self._spawn(self._account(flow, job, outcome))
            else:
                self._unaccounted[flow] = (job, outcome)
        else:
            report.log(flow, outcome)
            self.books.reported(flow, outcome, None)

    async def _shadow(self, flow: http.HTTPFlow, job: Job, taken: Taken) -> None:
        try:
            outcome = await job.run_shadow(taken)
        except Exception as e:
            logger.debug("wiretrim: shadow rewrite failed: %s", tracebacks.scrubbed(e))
            outcome = job.failed(type(e).__name__)
        self._report(flow, job, outcome)

    def _account_later(self, flow: http.HTTPFlow) -> None:
        waiting = self._unaccounted.pop(flow, None)
        if waiting is not None:
            self._spawn(self._account(flow, *waiting))

    async def _account(self, flow: http.HTTPFlow, job: Job, outcome: Outcome) -> None:
        """Exact token counts, then the log line and the final comment."""
        assert outcome.result is not None
        acc = None
        try:
            acc = await job.setup.runner.tokens(outcome.result)
        except Exception as e:
            logger.debug("wiretrim: token accounting failed: %s", tracebacks.scrubbed(e))
        report.record(flow, outcome, acc)
        report.log(flow, outcome, acc)
        self.books.reported(flow, outcome, acc)
        if ctx.master is not None:
            ctx.master.addons.trigger(UpdateHook([flow]))  # mitmweb shows the final comment

    def _spawn(self, coro: Coroutine[Any, Any, None]) -> None:
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)


def _answered(flow: http.HTTPFlow) -> bool:
    """The response is complete, or the flow failed."""
    return flow.error is not None or (flow.response is not None and flow.response.timestamp_end is not None)


def keeps_flows(master: Master | None) -> bool:
    """True when finished flows can still be looked at: in mitmweb or the console, or saved
    by ``mitmdump -w``. Plain mitmdump drops each flow once it is done."""
    return not isinstance(master, DumpMaster) or bool(master.options.save_stream_file)
