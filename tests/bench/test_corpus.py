from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from tests.addon.bodies import OPENAI_URL, encode, openai_tool_chat, pretty_rows
from wiretrim.bench import corpus
from wiretrim.bench.peer import Peer, PeerError, headroom_command
from wiretrim.bench.report import Report
from wiretrim.bench.report import corpus as render
from wiretrim.config import Settings

PEER = """
import json, sys
for line in sys.stdin:
    case = json.loads(line)
    if case["id"] == "die":
        sys.exit(3)
    print("a stray line the protocol ignores", flush=True)
    print(json.dumps({"id": case["id"], "body": case["body"], "ms": 7.5}), flush=True)
"""


def write_case(directory: Path, case_id: str, category: str, body: object, url: str = OPENAI_URL) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    doc = {"id": case_id, "category": category, "url": url, "request": body}
    (directory / f"{case_id}.json").write_text(json.dumps(doc))


@pytest.fixture
def cases(tmp_path: Path) -> Path:
    root = tmp_path / "corpus"
    write_case(root / "json", "rows-1", "json", json.loads(encode(openai_tool_chat(pretty_rows(60)))))
    write_case(root / "guard", "raw-text", "guard", "not json at all")
    write_case(root / "guard", "embeddings", "guard", {"input": "x"}, "https://api.openai.com/v1/embeddings")
    (root / "README.md").write_text("not a case")
    (root / "json" / "broken.json").write_text("{")
    return root


def test_every_case_is_timed_and_grouped_by_category(cases: Path) -> None:
    figures = corpus.run(cases, Settings(), None, "no peer here", lambda _: None)
    assert [t.case.id for t in figures.times] == ["embeddings", "raw-text", "rows-1"]
    assert figures.categories == ["guard", "json"]
    assert all(t.ours_ms > 0 and t.peer_ms is None for t in figures.times)
    report = Report()
    render(report, figures)
    text = report.text()
    assert "| json | 1 |" in text and "| **all** | 3 |" in text
    assert "Headroom: no peer here." in text
    assert "Headroom not run" in text  # the target is listed, unmeasured


def test_a_peer_is_asked_one_case_at_a_time(cases: Path, tmp_path: Path) -> None:
    script = tmp_path / "peer.py"
    script.write_text(PEER)
    figures = corpus.run(cases, Settings(), [sys.executable, str(script)], None, lambda _: None)
    assert [t.peer_ms for t in figures.times] == [7.5, 7.5, 7.5]
    report = Report()
    render(report, figures)
    assert "Headroom p50 ms" in report.text()
    assert [t.measured.split(":")[0].endswith("vs 7.5 ms") for t in report.targets] == [True, True]
    assert all(t.met is not None for t in report.targets)  # both targets judged in this run


def test_a_peer_that_exits_is_reported(tmp_path: Path) -> None:
    script = tmp_path / "peer.py"
    script.write_text(PEER)
    peer = Peer([sys.executable, str(script)])
    try:
        assert peer.ms("a", OPENAI_URL, {}) == 7.5
        with pytest.raises(PeerError, match="exited"):
            peer.ms("die", OPENAI_URL, {})
    finally:
        peer.close()


def test_headroom_is_skipped_with_a_reason_when_its_venv_is_missing(tmp_path: Path) -> None:
    argv, why = headroom_command(tmp_path / "peers", tmp_path / "adapters")
    assert argv is None
    assert "no Headroom venv" in why
