from __future__ import annotations

import json
from pathlib import Path

from tests.addon.bodies import OPENAI_URL, openai_tool_chat, pretty_rows
from wiretrim.bench import sessions
from wiretrim.bench.report import Report
from wiretrim.bench.report import sessions as render
from wiretrim.config import Settings


def test_sessions_are_replayed_request_by_request(tmp_path: Path) -> None:
    first = openai_tool_chat(pretty_rows(80, tag="a"))
    second = {**first, "messages": [*first["messages"], {"role": "user", "content": "and now?"}]}
    session = {"id": "s1", "url": OPENAI_URL, "requests": [first, second]}
    (tmp_path / "s1.json").write_text(json.dumps(session))
    not_llm = {"id": "x", "url": "https://example.com/", "requests": []}
    (tmp_path / "notes.json").write_text(json.dumps(not_llm))
    figures = sessions.run(tmp_path, Settings(), 2, lambda _: None)
    assert figures.skipped == ["notes.json"]
    (times,) = figures.times
    assert times.session.shape == "openai-chat"
    assert len(times.ms) == 2 and times.first > 0 and times.last > 0
    report = Report()
    render(report, figures)
    assert "| s1 | openai-chat | 2 |" in report.text()
    # No session of 50 requests: the target is judged on all of them, and says so.
    assert "no session has 50 requests" in report.targets[0].measured
