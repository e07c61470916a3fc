"""Every registered transform and the text router on any text (issue 8).

For each generated text and params: `detect` is a number in [0, 1]; `apply` never raises,
returns a string, never an empty one (nor whitespace only) from text that has more, and gives
the same string twice; the router likewise. At the end, a fresh process recomputes every case
and must agree. CI runs the profile's sample; the full run (10,000 texts) is ``-m slow``:

    HYPOTHESIS_PROFILE=fuzz .venv/bin/pytest -m slow tests/compression/transforms/test_fuzz.py
"""

from __future__ import annotations

import time

import pytest
from hypothesis import given, settings

from tests.compression import fuzzing
from tests.compression.tool_texts import params, tool_texts
from wiretrim.compression.textengine import TextEngine
from wiretrim.compression.transforms import TRANSFORMS, TransformParams

FUZZ = settings.get_profile("fuzz")


def check(text: str, p: TransformParams) -> None:
    for t in TRANSFORMS:
        score = t.detect(text)
        assert isinstance(score, int | float) and 0.0 <= score <= 1.0, t.name
        out = t.apply(text, p)
        assert isinstance(out, str), t.name
        if text:
            assert out, f"{t.name} returned nothing"
        if text.strip():
            assert out.strip(), f"{t.name} returned only whitespace"
        assert t.apply(text, p) == out and t.detect(text) == score, f"{t.name} is not deterministic"
    routed = TextEngine().compress(text, p)
    if text.strip():
        assert routed.text.strip()
    assert TextEngine().compress(text, p) == routed


def fuzz(profile: settings) -> tuple[int, float]:
    cases: list[tuple[str, TransformParams]] = []
    started = time.perf_counter()

    @settings(profile)
    @given(tool_texts, params)
    def run(text: str, p: TransformParams) -> None:
        check(text, p)
        cases.append((text, p))

    run()
    digests = [fuzzing.text_outputs(*case) for case in cases]
    fuzzing.same_in_a_fresh_process("text_outputs", cases, digests)
    return len(cases), time.perf_counter() - started


def test_transforms_and_router_on_any_text(capsys: pytest.CaptureFixture[str]) -> None:
    n, _ = fuzz(settings())
    assert n >= 50


@pytest.mark.slow
def test_fuzz_transforms_and_router(capsys: pytest.CaptureFixture[str]) -> None:
    n, seconds = fuzz(FUZZ)
    with capsys.disabled():
        print(
            f"\ntransforms and router: {n} texts x {len(TRANSFORMS)} transforms + router, "
            f"0 failures, same in a fresh process, {seconds:.0f} s"
        )
    assert n >= FUZZ.max_examples
