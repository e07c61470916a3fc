"""The per-shape properties for every shape, a sample in CI and 10,000 bodies each outside it;
and the real engine (real transforms and tokenizer) on every shape's bodies with tool output in their slots, a
sample in CI and 10,000 bodies per API outside it, checked again in a fresh process.

Run: HYPOTHESIS_PROFILE=fuzz .venv/bin/pytest -m slow tests/compression/shapes/test_fuzz.py
"""

import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.compression import fuzzing
from tests.compression.shapes.bodies import BODIES, garbage
from tests.compression.shapes.checks import check_all, check_any_object, check_real_engine, styles, with_texts
from tests.compression.support import Style
from tests.compression.tool_texts import tool_texts
from wiretrim.compression import EngineSettings
from wiretrim.compression.transforms import LEVELS

FUZZ = settings.get_profile("fuzz")
CI_REAL_ENGINE_EXAMPLES = 40  # per shape: the real engine costs more per body than the test double

engine_settings = st.builds(
    EngineSettings,
    level=st.sampled_from(LEVELS),
    compress_system=st.just(True),
    min_slot_tokens=st.sampled_from([0, 0, 20]),
    min_saved_tokens=st.sampled_from([1, 1, 64]),
    min_saved_ratio=st.sampled_from([0.0, 0.0, 0.05]),
    lossy_above_tokens=st.sampled_from([0, 50, 1500]),
    reference_repeats=st.booleans(),
    exact_gate_below_chars=st.sampled_from([8192, 256]),  # 256: large texts are gated on estimates
)
slot_texts = st.lists(st.one_of(st.none(), tool_texts), max_size=8)


# Which object gets a key written twice: a legacy completions body holds few objects.
DUPLICATED_OBJECT = {name: st.integers(0, 3 if name == "openai-completions" else 6) for name in BODIES}


@pytest.mark.parametrize("name", list(BODIES))
def test_rewrite_keeps_everything_but_slots(name):
    @given(BODIES[name], styles)
    def run(case, style):
        check_all(name, case, style)

    run()


@pytest.mark.parametrize("name", list(BODIES))
def test_duplicate_keys_skip_the_body(name):
    @given(BODIES[name], DUPLICATED_OBJECT[name])
    def run(case, n):
        check_all(name, case, Style(dup_object=n))

    run()


@pytest.mark.parametrize("name", list(BODIES))
def test_any_object_is_safe(name):
    @given(garbage)
    def run(value):
        check_any_object(name, value)

    run()


@pytest.mark.slow
@pytest.mark.parametrize("name", list(BODIES))
def test_fuzz_rewrite(name):
    @settings(FUZZ)
    @given(BODIES[name], styles, st.one_of(st.none(), st.integers(0, 8)))
    def run(case, style, dup):
        if dup is not None:
            style = Style(dup_object=dup)
        check_all(name, case, style)

    run()


@pytest.mark.slow
@pytest.mark.parametrize("name", list(BODIES))
def test_fuzz_any_object(name):
    @settings(FUZZ)
    @given(garbage)
    def run(value):
        check_any_object(name, value)

    run()


def real_engine(name: str, profile: settings) -> tuple[int, int, float]:
    """Fuzz the real engine on `name`'s bodies; (bodies, bodies rewritten, seconds)."""
    cases: list[tuple[str, bytes, EngineSettings]] = []
    rewritten = 0
    started = time.perf_counter()

    @settings(profile)
    @given(BODIES[name], slot_texts, styles, st.one_of(st.none(), st.integers(0, 8)), engine_settings)
    def run(case, texts, style, dup, engine):
        if dup is not None:
            style = Style(dup_object=dup)
        nonlocal rewritten
        raw, changed = check_real_engine(name, with_texts(case, texts), style, engine)
        cases.append((name, raw, engine))
        rewritten += changed

    run()
    digests = [fuzzing.engine_output(*case) for case in cases]
    fuzzing.same_in_a_fresh_process("engine_output", cases, digests)
    return len(cases), rewritten, time.perf_counter() - started


@pytest.mark.parametrize("name", list(BODIES))
def test_real_engine_on_every_shape(name):
    n, rewritten, _ = real_engine(name, settings(settings(), max_examples=CI_REAL_ENGINE_EXAMPLES))
    assert n >= CI_REAL_ENGINE_EXAMPLES and rewritten > 0


@pytest.mark.slow
@pytest.mark.parametrize("name", list(BODIES))
def test_fuzz_real_engine(name, capsys):
    n, rewritten, seconds = real_engine(name, FUZZ)
    with capsys.disabled():
        print(f"\n{name}: {n} bodies ({rewritten} rewritten), 0 crashes, 0 structure violations, "
              f"never larger, same in a fresh process, {seconds:.0f} s")
    assert n >= FUZZ.max_examples
