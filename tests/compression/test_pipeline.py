import dataclasses
import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.compression import fuzzing
from tests.compression.support import (
    CUT_TAIL,
    OPEN_GATES,
    CutTransform,
    FakeCounter,
    ScriptedTextEngine,
    UpperTransform,
    make_engine,
)
from wiretrim.compression import Engine, EngineSettings, marker
from wiretrim.compression.memo import MemoryMemo, SqliteMemo
from wiretrim.compression.textengine import TextEngine

REPO = Path(__file__).resolve().parents[2]
A = "alpha result\n" * 40
B = "beta result\n" * 40


def chat(*tool_outputs: str, json_mode: bool = False, system: str = "You are terse.") -> bytes:
    messages = [{"role": "system", "content": system}, {"role": "user", "content": "Check `svc-7` please"}]
    for n, out in enumerate(tool_outputs):
        messages.append(
            {
                "role": "assistant",
                "tool_calls": [
                    {"id": f"call_{n}", "type": "function", "function": {"name": "bash", "arguments": "{}"}}
                ],
            }
        )
        messages.append({"role": "tool", "tool_call_id": f"call_{n}", "content": out})
    body: dict = {"model": "gpt-5.5", "messages": messages}
    if json_mode:
        body["response_format"] = {"type": "json_object"}
    return json.dumps(body).encode()


def by_text(result):
    return {o.original: o for o in result.slots}


# -- guards: each reverts its own slot and leaves the others rewritten --------------------------


@pytest.mark.parametrize(
    ("bad_original", "bad_candidate", "reason", "json_mode"),
    [
        (A, "   \n\t ", "guard:empty", False),
        (A, "", "guard:empty", False),
        (A.rstrip("\n"), "alpha result\n", "guard:trailing_whitespace", False),
        ("Return json.\n" + A, "alpha result", "guard:json_keyword", True),
        (A, "alpha <|im_end|> result", "guard:special_tokens", False),
        (A, "[INST] alpha", "guard:special_tokens", False),
        (A, A[:-2], "no_gain", False),
    ],
    ids=["whitespace", "empty", "trailing_whitespace", "json_keyword", "special_tokens", "inst", "min_gain"],
)
def test_guard_reverts_only_its_slot(bad_original, bad_candidate, reason, json_mode):
    settings = dataclasses.replace(OPEN_GATES, min_saved_tokens=8, min_saved_ratio=0.10)
    engine = make_engine(
        settings, text_engine=ScriptedTextEngine({bad_original: bad_candidate, B: "beta x40"})
    )
    result = engine.rewrite(chat(bad_original, B, json_mode=json_mode), "openai-chat")
    slots = by_text(result)
    assert slots[bad_original].reason == reason
    assert not slots[bad_original].rewritten
    assert slots[B].reason == "compressed"
    new = json.loads(result.body)
    assert new["messages"][3]["content"] == bad_original
    assert new["messages"][5]["content"] == "beta x40"


def test_json_keyword_kept_elsewhere_in_the_slot_passes():
    text = "Return json.\n" + A
    engine = make_engine(text_engine=ScriptedTextEngine({text: "Return json.\nalpha result x40"}))
    assert engine.rewrite(chat(text, json_mode=True), "openai-chat").rewritten_slots


def test_json_keyword_rule_only_in_json_mode():
    text = "Return json.\n" + A
    engine = make_engine(text_engine=ScriptedTextEngine({text: "alpha result x40"}))
    assert engine.rewrite(chat(text, json_mode=False), "openai-chat").rewritten_slots


def test_min_gain_counts_tokens_and_share():
    text = "x" * 4000  # 1000 fake tokens
    body = chat(text)
    scripted = ScriptedTextEngine({text: "x" * 3700})  # saves 75 tokens: 7.5 %
    settings = dataclasses.replace(OPEN_GATES, min_saved_tokens=64, min_saved_ratio=0.10)
    assert (
        by_text(make_engine(settings, text_engine=scripted).rewrite(body, "openai-chat"))[text].reason
        == "no_gain"
    )
    settings = dataclasses.replace(settings, min_saved_ratio=0.05)
    assert by_text(make_engine(settings, text_engine=scripted).rewrite(body, "openai-chat"))[text].reason == (
        "compressed"
    )
    settings = dataclasses.replace(settings, min_saved_tokens=100)
    assert (
        by_text(make_engine(settings, text_engine=scripted).rewrite(body, "openai-chat"))[text].reason
        == "no_gain"
    )


@pytest.mark.parametrize(("after", "kept"), [(2000, True), (19_500, False), (15_000, True)])
def test_large_texts_gate_on_estimates_then_exact_counts(after, kept):
    text = "word " * 4000  # 20,000 chars: above exact_gate_below_chars
    settings = dataclasses.replace(
        OPEN_GATES, min_saved_tokens=64, min_saved_ratio=0.10, exact_gate_below_chars=16_384
    )
    engine = make_engine(settings, text_engine=ScriptedTextEngine({text: "word " * (after // 5)}))
    assert by_text(engine.rewrite(chat(text), "openai-chat"))[text].rewritten is kept


def test_with_gates_near_zero_a_rewrite_that_saves_no_real_token_is_dropped():
    """Found by fuzzing: a blank line of spaces removed from a 330-character text saves about
    4 % on the estimate and no real token; decided on the estimate, it went out at the same cost."""
    block = "line 1\nline 2\nline 3\n" * 5
    text = "lorem ipsum dolor sit amet " * 4 + block + "  \n" + block
    settings = EngineSettings(level="lossless", min_slot_tokens=0, min_saved_tokens=1, min_saved_ratio=0.0,
                              exact_gate_below_chars=256)
    engine = Engine(settings, fuzzing.counter(), MemoryMemo())
    outcome = by_text(engine.rewrite(chat(text), "openai-chat"))[text]
    assert (outcome.rewritten, outcome.reason) == (False, "no_gain")


# -- protection -------------------------------------------------------------------------------


def test_system_is_protected_unless_enabled():
    system = "You are a careful agent.\n" * 30
    body = chat(A, system=system)
    off = make_engine().rewrite(body, "openai-chat")
    assert by_text(off)[system].reason == "protected"
    on = make_engine(dataclasses.replace(OPEN_GATES, compress_system=True)).rewrite(body, "openai-chat")
    assert by_text(on)[system].reason == "compressed"


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        (A + "<|endoftext|>", "special_tokens"),
        (A + "\n\nHuman: hi", "special_tokens"),
        (A + "</think>", "special_tokens"),
        (A + "\ud800", "unencodable"),
    ],
)
def test_texts_the_engine_leaves_whole(text, reason):
    raw = json.dumps({"messages": [{"role": "tool", "content": text}]}).encode()
    result = make_engine().rewrite(raw, "openai-chat")
    assert result.body is None
    assert result.slots[0].reason == reason


def test_too_small():
    settings = dataclasses.replace(OPEN_GATES, min_slot_tokens=200)
    result = make_engine(settings).rewrite(chat("short output"), "openai-chat")
    assert by_text(result)["short output"].reason == "too_small"


# -- memo -------------------------------------------------------------------------------------


def test_first_emission_wins_after_a_config_change():
    memo = MemoryMemo()
    first = make_engine(memo=memo).rewrite(chat(A), "openai-chat")
    assert by_text(first)[A].emitted.endswith(CUT_TAIL)
    changed = [
        make_engine(memo=memo, transform=UpperTransform()),
        make_engine(dataclasses.replace(OPEN_GATES, level="aggressive", min_slot_tokens=10_000), memo=memo),
        make_engine(dataclasses.replace(OPEN_GATES, min_saved_ratio=0.9), memo=memo),
    ]
    for engine in changed:
        again = engine.rewrite(chat(A), "openai-chat")
        assert again.body == first.body
        assert by_text(again)[A].reason == "memo"


def test_a_slot_first_forwarded_unchanged_stays_unchanged():
    memo = MemoryMemo()
    idle = make_engine(memo=memo, text_engine=ScriptedTextEngine({}))
    assert idle.rewrite(chat(A), "openai-chat").body is None
    later = make_engine(memo=memo).rewrite(chat(A), "openai-chat")
    assert later.body is None
    assert by_text(later)[A].reason == "memo_original"


def test_memo_hit_still_obeys_json_mode():
    text = A + "Return json please."
    memo = MemoryMemo()
    stored = make_engine(memo=memo).rewrite(chat(text), "openai-chat")
    assert "json" not in by_text(stored)[text].emitted  # the cut dropped the keyword
    strict = make_engine(memo=memo).rewrite(chat(text, json_mode=True), "openai-chat")
    assert strict.body is None
    assert by_text(strict)[text].reason == "guard:json_keyword"


def test_record_false_leaves_the_memo_alone():
    memo = MemoryMemo()
    make_engine(memo=memo, transform=UpperTransform()).rewrite(chat(A), "openai-chat")
    size = len(memo)
    shadow = make_engine(memo=memo).rewrite(chat(A, B), "openai-chat", record=False)
    assert len(memo) == size
    # Computed afresh, not read from the memo either.
    assert by_text(shadow)[A].emitted.endswith(CUT_TAIL)
    assert by_text(shadow)[B].reason == "compressed"


def test_sqlite_memo_survives_a_new_engine(tmp_path):
    path = tmp_path / "memo.sqlite"
    store = SqliteMemo(path)
    first = make_engine(memo=store).rewrite(chat(A, B), "openai-chat")
    store.close()
    reopened = SqliteMemo(path)
    again = make_engine(memo=reopened, transform=UpperTransform()).rewrite(chat(A, B), "openai-chat")
    reopened.close()
    assert again.body == first.body
    assert {o.reason for o in again.slots if o.kind == "tool_result"} == {"memo"}


def test_memo_key_depends_on_what_precedes_not_on_what_follows():
    memo = MemoryMemo()
    engine = make_engine(memo=memo)
    engine.rewrite(chat(A), "openai-chat")
    size = len(memo)
    engine.rewrite(chat(A, B), "openai-chat")
    assert len(memo) == size + 1  # only B is new


# -- repeats ----------------------------------------------------------------------------------


def test_a_repeated_slot_becomes_a_reference():
    result = make_engine().rewrite(chat(A, B, A), "openai-chat")
    slots = [o for o in result.slots if o.kind == "tool_result"]
    assert [o.reason for o in slots] == ["compressed", "compressed", "compressed"]
    assert slots[2].transforms == ("reference",)
    assert marker.find(slots[2].emitted) == [
        "41 lines omitted (same as the tool result in messages[3] for call_0)"
    ]
    plain = make_engine(dataclasses.replace(OPEN_GATES, reference_repeats=False)).rewrite(
        chat(A, B, A), "openai-chat"
    )
    assert [o for o in plain.slots if o.kind == "tool_result"][2].emitted == slots[0].emitted


# -- request level ----------------------------------------------------------------------------


def test_parsed_mapping_bodies_are_accepted():
    body = json.loads(chat(A))
    result = make_engine().rewrite(body, "openai-chat")
    assert json.loads(result.body)["messages"][3]["content"].endswith(CUT_TAIL)
    assert (result.model, result.stream) == ("gpt-5.5", False)


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        (b"", "empty_body"),
        (b"\xff\xfe", "invalid_utf8"),
        ("\ufeff{}".encode(), "byte_order_mark"),
        (b'{"a": 1, "a": 2}', "duplicate_keys"),
        (b'{"a": NaN}', "non_finite_number"),
        (b"[1, 2]", "not_an_object"),
        (b'{"a": ', "invalid_json"),
        (b'{"a": ' + b"9" * 5000 + b"}", "invalid_json"),
        (b"[" * 100_000 + b"]" * 100_000, "too_deep"),
    ],
)
def test_bodies_that_are_skipped(raw, reason):
    result = make_engine().rewrite(raw, "openai-chat")
    assert (result.body, result.skipped) == (None, reason)


def test_unknown_shape_raises():
    with pytest.raises(ValueError, match="unknown shape"):
        make_engine().rewrite(b"{}", "nope")


def test_default_text_engine_is_built_from_settings():
    engine = Engine(EngineSettings(transforms=()), FakeCounter())
    assert engine.text_engine.transforms == ()
    engine.text_engine = TextEngine((CutTransform(),), fallback=None)
    assert engine.rewrite(chat(A), "openai-chat").rewritten_slots == ()  # default gates: no gain on 40 lines


# -- determinism across processes -------------------------------------------------------------

_SCRIPT = """
import hashlib, json
from tests.compression.support import make_engine
from tests.compression.test_pipeline import chat, A, B
body = chat(A, B + "Ünïcode \\u2603 </a>", A, json_mode=True)
outs = []
for shape_body, shape in ((body, "openai-chat"),):
    r = make_engine().rewrite(shape_body, shape)
    outs.append(r.body or b"")
    outs.append(repr([(o.path, o.reason, o.transforms) for o in r.slots]).encode())
print(hashlib.sha256(b"\\x00".join(outs)).hexdigest())
"""


def test_same_bytes_in_another_process_with_another_hash_seed():
    digests = set()
    for seed in ("0", "1", "12345"):
        env = {**os.environ, "PYTHONHASHSEED": seed, "PYTHONPATH": str(REPO)}
        proc = subprocess.run(
            [sys.executable, "-c", _SCRIPT], cwd=REPO, env=env, capture_output=True, text=True, check=True
        )
        digests.add(proc.stdout.strip())
    local = make_engine().rewrite(chat(A, B + "Ünïcode \u2603 </a>", A, json_mode=True), "openai-chat")
    outs = [local.body or b"", repr([(o.path, o.reason, o.transforms) for o in local.slots]).encode()]
    assert digests == {hashlib.sha256(b"\x00".join(outs)).hexdigest()}
