"""One matched request, from its gates to the body that goes upstream.

`Job.run_on` decides and applies (``on`` mode); `Job.run_shadow` only decides, after the
original has gone upstream (``shadow``). Every way out that is not "compressed" leaves the
client's bytes untouched. Expected failures (budget, busy worker) become outcomes here;
anything else is raised to the hook, which fails open.
"""

from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass

from mitmproxy import http

from wiretrim.addon import breaker as breakers
from wiretrim.addon import flowio, gate
from wiretrim.addon.breaker import Breaker
from wiretrim.addon.options import Setup
from wiretrim.addon.report import Action, Outcome
from wiretrim.addon.runner import BudgetExceededError, BusyError, StartingError, WorkerLostError
from wiretrim.compression import RewriteResult
from wiretrim.endpoints import Endpoint

Taken = tuple[bytes, str | None]  # the raw body and its content coding


@dataclass(frozen=True, slots=True)
class Job:
    """A matched request, with the setup it started under. Holds no reference to the flow."""

    setup: Setup
    endpoint: Endpoint
    host: str
    path: str  # without the query
    bypass: bool  # the client sent the bypass header with "off"
    started: float = 0.0  # perf_counter when the body was complete: `ms` counts from here

    @classmethod
    def matched(cls, flow: http.HTTPFlow, setup: Setup, endpoint: Endpoint, bypass: bool) -> Job:
        r = flow.request
        return cls(setup, endpoint, r.pretty_host.lower(), r.path.partition("?")[0], bypass)

    def begin(self) -> Job:
        return dataclasses.replace(self, started=time.perf_counter())

    def outcome(self, action: Action, reason: str | None = None, **fields: object) -> Outcome:
        out = Outcome(
            provider=self.endpoint.provider,
            shape=self.endpoint.shape,
            mode=self.setup.mode,
            host=self.host,
            path=self.path,
            model=self.endpoint.model,
            action=action,
            reason=reason,
            ms=(time.perf_counter() - self.started) * 1000,
        )
        for name, value in fields.items():
            setattr(out, name, value)
        return out

    def failed(self, reason: str) -> Outcome:
        return self.outcome("failed", reason)

    def take(self, request: http.Request) -> Taken | Outcome:
        """The body to work on, or the skip outcome the gates decided. Never awaits."""
        if self.bypass:
            return self.outcome("skipped", "bypass")
        reason = gate.skip_reason(request)
        if reason is not None:
            return self.outcome("skipped", reason)
        try:
            return flowio.take(request, self.setup.max_body_bytes)
        except flowio.NotRewritableError as e:
            return self.outcome("skipped", e.reason)

    async def run_on(self, request: http.Request, breaker: Breaker) -> Outcome:
        taken = self.take(request)
        if isinstance(taken, Outcome):
            return taken
        raw, coding = taken
        computed = await self._compute(raw, coding, shadow=False)
        if isinstance(computed, Outcome):
            return computed
        body, result = computed
        model = result.model or self.endpoint.model
        if breaker.is_open(breakers.key(self.host, self.path, model)):
            self.setup.runner.forget(result)
            return self.outcome("skipped", "breaker", model=model, result=result)
        try:
            assert result.body is not None
            await flowio.commit(request, result.body, coding)
        except BaseException:
            self.setup.runner.forget(result)
            raise
        return self.outcome("compressed", model=model, result=result, original=body)

    async def run_shadow(self, taken: Taken) -> Outcome:
        started = time.perf_counter()
        computed = await self._compute(*taken, shadow=True)
        if isinstance(computed, Outcome):
            return computed
        _, result = computed
        out = self.outcome("compressed", model=result.model or self.endpoint.model, result=result)
        out.ms = (time.perf_counter() - started) * 1000
        out.would_send = result.body
        return out

    async def _compute(
        self, raw: bytes, coding: str | None, *, shadow: bool
    ) -> tuple[bytes, RewriteResult] | Outcome:
        """The decoded body and a result that changes it, or the outcome that ends the job."""
        try:
            body = await flowio.decoded(raw, coding, self.setup.max_body_bytes)
        except flowio.NotRewritableError as e:
            return self.outcome("skipped", e.reason)
        try:
            result = await self.setup.runner.rewrite(
                body, self.endpoint.shape, shadow=shadow, budget_s=self.setup.budget_s
            )
        except StartingError:
            return self.outcome("skipped", "engine_starting")
        except BusyError:
            return self.outcome("skipped", "busy")
        except BudgetExceededError:
            return self.outcome("failed", "budget")
        except WorkerLostError:
            return self.outcome("failed", "worker_lost")
        model = result.model or self.endpoint.model
        if result.skipped is not None:
            return self.outcome("skipped", result.skipped, model=model, result=result)
        if result.body is None:
            return self.outcome("unchanged", model=model, result=result)
        return body, result
