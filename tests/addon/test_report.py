from __future__ import annotations

import logging

import pytest
from mitmproxy.io import tnetstring

from tests.addon.conftest import api_flow
from wiretrim.addon import report
from wiretrim.addon.report import Outcome
from wiretrim.compression import Accounting, RewriteResult, SlotOutcome
from wiretrim.compression.results import SlotTokens

SECRET = "SECRET-PROMPT-TEXT"


def outcome(action: str = "compressed", mode: str = "on", reason: str | None = None) -> Outcome:
    slots = (
        SlotOutcome(("messages", 0, "content"), "user_text", "user", "too_small", (), "hi", "hi"),
        SlotOutcome(("messages", 3, "content"), "tool_result", "tool", "compressed", ("json",),
                    f"{SECRET} original", f"{SECRET}"),
    )
    result = RewriteResult(body=b'{"new": 1}', slots=slots, model="gpt-4o")
    return Outcome("openai", "openai-chat", mode, "api.openai.com", "/v1/chat/completions", "gpt-4o",
                   action, reason, 4.2, result, original=b'{"old": 1}')  # type: ignore[arg-type]


ACC = Accounting(20000, 7655, (SlotTokens(("messages", 0, "content"), "too_small", (), 2, 2),
                               SlotTokens(("messages", 3, "content"), "compressed", ("json",), 19998, 7653)))


def test_log_line_has_fixed_fields_and_no_text() -> None:
    line = report.log_line(outcome(), ACC)
    assert line == ("wiretrim provider=openai model=gpt-4o mode=on action=compressed tokens_before=20000 "
                    "tokens_after=7655 tokens_saved=12345 ms=4.2 slots=1/2")
    assert SECRET not in line


def test_log_line_for_a_skip_has_unknown_counts() -> None:
    o = Outcome("openai", "openai-chat", "on", "h", "/p", None, "skipped", "n>1", 0.3)
    assert report.log_line(o, None) == ("wiretrim provider=openai model=- mode=on action=skipped:n>1 "
                                        "tokens_before=- tokens_after=- tokens_saved=- ms=0.3")


def test_model_names_cannot_inject_fields() -> None:
    o = Outcome("openai", "openai-chat", "on", "h", "/p", "gpt x\nmode=off", "unchanged")
    assert "model=gpt_x_mode_off " in report.log_line(o, None)


@pytest.mark.parametrize(
    ("o", "acc", "text"),
    [
        (outcome(), ACC, "wiretrim −12,345 tok (−62%) · 1 slot · 4 ms"),
        (outcome(), None, "wiretrim rewritten · 1 slot · 4 ms"),
        (outcome(mode="shadow"), ACC, "wiretrim shadow: would save 12,345 tok (62%) · 1 slot · 4 ms"),
        (outcome(mode="shadow"), None, "wiretrim shadow: would rewrite · 1 slot · 4 ms"),
        (outcome("unchanged"), ACC, "wiretrim unchanged · 2 slots · 4 ms"),
        (outcome("skipped", reason="bypass"), None, "wiretrim skipped: bypass"),
        (outcome("failed", reason="budget"), None, "wiretrim failed: budget · original forwarded"),
    ],
)
def test_comment(o: Outcome, acc: Accounting | None, text: str) -> None:
    assert report.comment(o, acc) == text


def test_record_marks_rewritten_flows_and_keeps_plain_data() -> None:
    f = api_flow("https://api.openai.com/v1/chat/completions", b"{}")
    report.record(f, outcome(), ACC)
    assert f.marked == report.MARK
    data = f.metadata[report.KEY]
    assert data["original"] == b'{"old": 1}'
    assert data["tokens_before"] == 20000 and data["tokens_after"] == 7655
    assert data["slots"][1] == {
        "path": ["messages", 3, "content"], "kind": "tool_result", "reason": "compressed",
        "transforms": ["json"], "rewritten": True, "tokens_before": 19998, "tokens_after": 7653,
    }
    # What `mitmdump -w` saves must serialise.
    assert tnetstring.loads(tnetstring.dumps(f.get_state()))["metadata"]["wiretrim"]["action"] == "compressed"


def test_shadow_flows_are_not_marked_and_keep_no_original() -> None:
    f = api_flow("https://api.openai.com/v1/chat/completions", b"{}")
    o = outcome(mode="shadow")
    o.would_send = b'{"new": 1}'
    report.record(f, o, ACC)
    assert not f.marked
    assert "original" not in f.metadata[report.KEY]
    assert f.metadata[report.KEY]["would_send"] == b'{"new": 1}'


def test_failures_log_at_warning(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, "wiretrim")
    f = api_flow("https://api.openai.com/v1/chat/completions", b"{}")
    report.log(f, outcome("failed", reason="budget"))
    report.log(f, outcome("skipped", reason="bypass"))
    levels = [(r.name, r.levelno) for r in caplog.records]
    assert levels == [("wiretrim", logging.WARNING), ("wiretrim", logging.INFO)]
