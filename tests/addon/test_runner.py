from __future__ import annotations

import logging
import os
import signal
from collections.abc import AsyncIterator, Callable
from functools import partial
from typing import Any

import pytest

from tests.addon import fakes
from tests.addon.bodies import EAGER, encode, openai_tool_chat, pretty_rows
from wiretrim.addon.runner import (
    RUNNERS,
    BudgetExceededError,
    BusyError,
    ProcessRunner,
    Runner,
    StartingError,
    ThreadRunner,
    WorkerLostError,
)
from wiretrim.addon.worker import Uncounted
from wiretrim.compression import measure
from wiretrim.config import Settings

SHAPE = "openai-chat"


def body(tag: str) -> bytes:
    return encode(openai_tool_chat(pretty_rows(tag=tag)))


def settings(**extra: Any) -> Settings:
    return Settings.model_validate({**EAGER, **extra})


@pytest.fixture
async def runners() -> AsyncIterator[Callable[..., Any]]:
    made: list[Runner] = []

    async def make(kind: str, factory: Any = fakes.light_engine, **kw: Any) -> Runner:
        runner = RUNNERS[kind](settings(executor=kind), factory, **kw)
        made.append(runner)
        await runner.started()
        return runner

    yield make
    for runner in made:
        runner.close()


@pytest.mark.parametrize("kind", ["thread", "process"])
async def test_result_is_the_engines(runners: Callable[..., Any], kind: str) -> None:
    result = await (await runners(kind)).rewrite(body("a"), SHAPE, shadow=False, budget_s=30)
    direct = fakes.light_engine(settings()).rewrite(body("a"), SHAPE)
    assert result.body is not None
    assert result.body == direct.body
    assert [s.reason for s in result.slots] == [s.reason for s in direct.slots]


@pytest.mark.parametrize("kind", ["thread", "process"])
async def test_the_runner_counts_exactly_with_the_engines_counter(
    runners: Callable[..., Any], kind: str
) -> None:
    runner = await runners(kind)
    result = await runner.rewrite(body("t"), SHAPE, shadow=False, budget_s=30)
    direct = fakes.light_engine(settings()).rewrite(body("t"), SHAPE)
    acc = await runner.tokens(result)
    assert acc == measure(direct, fakes.WordCounter())
    assert acc.tokens_before > acc.tokens_after > 0


async def test_the_worker_counts_the_tokens_and_keeps_the_slot_texts(runners: Callable[..., Any]) -> None:
    runner = await runners("process")
    result = await runner.rewrite(body("t"), SHAPE, shadow=False, budget_s=30)
    direct = fakes.light_engine(settings()).rewrite(body("t"), SHAPE)
    assert await runner.tokens(result) == measure(direct, fakes.WordCounter())
    assert result.body == direct.body
    assert {s.original for s in result.slots} == {""}  # the texts stayed in the worker
    assert [s.rewritten for s in result.slots] == [s.rewritten for s in direct.slots]


async def test_counts_of_a_result_pushed_out_of_the_worker_are_a_lookup_error(
    runners: Callable[..., Any],
) -> None:
    runner = await runners("process")
    first = await runner.rewrite(body("first"), SHAPE, shadow=False, budget_s=30)
    for i in range(Uncounted.MAX_RESULTS):
        await runner.rewrite(body(f"later-{i}"), SHAPE, shadow=False, budget_s=30)
    with pytest.raises(LookupError):
        await runner.tokens(first)
    last = await runner.rewrite(body("last"), SHAPE, shadow=False, budget_s=30)
    assert (await runner.tokens(last)).tokens_saved > 0


def test_uncounted_results_are_bounded_by_number_and_by_characters(monkeypatch: pytest.MonkeyPatch) -> None:
    engine = fakes.light_engine(settings())
    result = engine.rewrite(body("a"), SHAPE)
    chars = sum(len(s.original) + len(s.emitted) for s in result.slots)
    monkeypatch.setattr(Uncounted, "MAX_CHARS", 2 * chars)
    kept = Uncounted()
    for job in range(1, 4):
        kept.put(job, result)
    assert len(kept) == 2 and kept.pop(1) is None and kept.pop(3) is result
    monkeypatch.setattr(Uncounted, "MAX_CHARS", 0)
    kept.put(4, result)  # larger than the bound alone: kept until the next one comes
    assert len(kept) == 1 and kept.pop(4) is result


@pytest.mark.parametrize("kind", ["thread", "process"])
async def test_over_budget_then_busy_then_the_late_rewrite_is_forgotten(
    runners: Callable[..., Any], kind: str
) -> None:
    runner = await runners(kind, partial(fakes.sleepy_engine, delay_s=0.25))
    warm = await runner.rewrite(body("warm"), SHAPE, shadow=False, budget_s=30)
    assert warm.body is not None

    with pytest.raises(BudgetExceededError):
        await runner.rewrite(body("late"), SHAPE, shadow=False, budget_s=0.05)
    # The late job still occupies the worker: the next request is not queued behind it.
    with pytest.raises(BusyError):
        await runner.rewrite(body("other"), SHAPE, shadow=False, budget_s=0.05)
    await runner.idle()

    # The late rewrite was never forwarded: the memo now says "forwarded unchanged".
    again = await runner.rewrite(body("late"), SHAPE, shadow=False, budget_s=30)
    assert again.body is None
    assert [s.reason for s in again.slots if s.kind == "tool_result"] == ["memo_original"]
    fresh = await runner.rewrite(body("fresh"), SHAPE, shadow=False, budget_s=30)
    assert fresh.body is not None


@pytest.mark.parametrize("kind", ["thread", "process"])
async def test_shadow_records_originals_so_on_mode_keeps_history(
    runners: Callable[..., Any], kind: str
) -> None:
    runner = await runners(kind)
    shadow = await runner.rewrite(body("s"), SHAPE, shadow=True, budget_s=30)
    assert shadow.body is not None  # what `on` would have sent
    on = await runner.rewrite(body("s"), SHAPE, shadow=False, budget_s=30)
    assert on.body is None
    assert [s.reason for s in on.slots if s.kind == "tool_result"] == ["memo_original"]


@pytest.mark.parametrize("kind", ["thread", "process"])
async def test_unsupported_shape_is_a_skip(runners: Callable[..., Any], kind: str) -> None:
    result = await (await runners(kind)).rewrite(b"{}", "no-such-shape", shadow=False, budget_s=30)
    assert result.skipped == "unsupported_shape"


async def test_requests_before_the_engine_is_built_are_not_held(runners: Callable[..., Any]) -> None:
    runner = ProcessRunner(settings(), fakes.light_engine)
    try:
        with pytest.raises(StartingError):
            await runner.rewrite(body("a"), SHAPE, shadow=False, budget_s=30)
        await runner.started()
        assert (await runner.rewrite(body("a"), SHAPE, shadow=False, budget_s=30)).body is not None
    finally:
        runner.close()


async def test_engine_exceptions_reach_the_caller(runners: Callable[..., Any]) -> None:
    for kind in ("thread", "process"):
        with pytest.raises(RuntimeError, match="SECRET"):
            runner = await runners(kind, fakes.raising_engine)
            await runner.rewrite(body("x"), SHAPE, shadow=False, budget_s=30)


async def test_a_dead_worker_is_replaced(
    runners: Callable[..., Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(ProcessRunner, "RESTART_INTERVAL_S", 0.0)
    runner = await runners("process")
    assert isinstance(runner, ProcessRunner)
    await runner.rewrite(body("a"), SHAPE, shadow=False, budget_s=30)
    (pid,) = runner.worker_pids()
    os.kill(pid, signal.SIGKILL)
    with pytest.raises(WorkerLostError):
        await runner.rewrite(body("b"), SHAPE, shadow=False, budget_s=30)
    assert runner.restarts == 1
    await runner.started()
    result = await runner.rewrite(body("c"), SHAPE, shadow=False, budget_s=30)
    assert result.body is not None
    assert runner.worker_pids() != [pid]


async def test_counts_asked_of_a_replaced_worker_are_never_another_requests(
    runners: Callable[..., Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(ProcessRunner, "RESTART_INTERVAL_S", 0.0)
    runner = await runners("process")
    assert isinstance(runner, ProcessRunner)
    before = await runner.rewrite(body("before"), SHAPE, shadow=False, budget_s=30)
    (pid,) = runner.worker_pids()
    os.kill(pid, signal.SIGKILL)
    with pytest.raises(WorkerLostError):
        await runner.rewrite(body("lost"), SHAPE, shadow=False, budget_s=30)
    await runner.started()
    after = await runner.rewrite(body("after, longer: " + "x" * 200), SHAPE, shadow=False, budget_s=30)
    with pytest.raises(LookupError):
        await runner.tokens(before)
    direct = fakes.light_engine(settings()).rewrite(body("after, longer: " + "x" * 200), SHAPE)
    assert await runner.tokens(after) == measure(direct, fakes.WordCounter())


async def test_a_hung_worker_is_killed_and_replaced(runners: Callable[..., Any]) -> None:
    runner = await runners("process", partial(fakes.sleepy_engine, delay_s=120), hang_s=0.1)
    assert isinstance(runner, ProcessRunner)
    await runner.rewrite(b"{}", "no-such-shape", shadow=False, budget_s=30)  # worker up, engine built
    old = runner._worker.process
    with pytest.raises(BudgetExceededError):
        await runner.rewrite(body("a"), SHAPE, shadow=False, budget_s=0.1)
    assert runner.restarts == 1
    old.join(10)
    assert old.exitcode == -signal.SIGKILL
    await runner.started()
    result = await runner.rewrite(b"{}", "no-such-shape", shadow=False, budget_s=30)
    assert result.skipped == "unsupported_shape"


async def test_a_hung_thread_is_reported(
    runners: Callable[..., Any], caplog: pytest.LogCaptureFixture
) -> None:
    runner = await runners("thread", partial(fakes.sleepy_engine, delay_s=0.5), hang_s=0.05)
    assert isinstance(runner, ThreadRunner)
    with pytest.raises(BudgetExceededError):
        await runner.rewrite(body("a"), SHAPE, shadow=False, budget_s=0.05)
    assert "engine thread has run one request for over" in caplog.text
    await runner.idle()


async def test_an_engine_that_cannot_be_built(
    runners: Callable[..., Any], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.ERROR)
    with pytest.raises(RuntimeError, match="cannot build"):
        runner = await runners("thread", fakes.failing_factory)
        await runner.rewrite(body("a"), SHAPE, shadow=False, budget_s=30)
    with pytest.raises(WorkerLostError):
        runner = await runners("process", fakes.failing_factory)
        await runner.rewrite(body("a"), SHAPE, shadow=False, budget_s=30)
    assert "failed to start" in caplog.text
