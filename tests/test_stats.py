"""`wiretrim stats`: totals and groups from a ledger the test fills; table, JSON, chart."""

from __future__ import annotations

import json
import sys
from datetime import datetime
from pathlib import Path

import pytest

from wiretrim import cli, stats
from wiretrim.ledger import Entry, Ledger

DAY1 = datetime(2026, 11, 2, 10, 0).timestamp()
DAY2 = datetime(2026, 11, 3, 15, 30).timestamp()


def row(ts: float, provider: str, model: str | None, **fields: object) -> Entry:
    base: dict[str, object] = {
        "ts": ts,
        "host": f"api.{provider}.com",
        "provider": provider,
        "shape": "openai-chat",
        "model": model,
        "mode": "on",
        "action": "compressed",
    }
    return Entry(**{**base, **fields})  # type: ignore[arg-type]


ROWS = [
    # 1000 -> 600 examined; the provider billed 4600 (the client's prompt was 5000); 4000 cached
    row(
        DAY1,
        "openai",
        "gpt-4.1",
        tokens_before=1000,
        tokens_after=600,
        input_tokens=4600,
        output_tokens=10,
        cache_read_tokens=4000,
        cost_usd=0.004,
        saved_usd=0.0008,
        latency_ms=4.0,
        compress_ms=4.0,
    ),
    row(
        DAY1 + 60,
        "openai",
        "gpt-4.1",
        action="unchanged",
        tokens_before=300,
        tokens_after=300,
        input_tokens=2000,
        output_tokens=5,
        cache_read_tokens=0,
        cost_usd=0.004,
        latency_ms=2.0,
        compress_ms=2.0,
    ),
    row(
        DAY2,
        "anthropic",
        "claude-sonnet-4-5",
        shape="anthropic-messages",
        tokens_before=2000,
        tokens_after=1000,
        input_tokens=9000,
        output_tokens=20,
        cache_read_tokens=6000,
        cache_write_tokens=2000,
        cost_usd=0.02,
        saved_usd=0.003,
        latency_ms=10.0,
        compress_ms=10.0,
    ),
    row(DAY2 + 60, "anthropic", None, action="skipped", reason="signed:sigv4"),
    row(
        DAY2 + 120,
        "openai",
        "gpt-4.1",
        mode="shadow",
        tokens_before=500,
        tokens_after=100,
        input_tokens=3000,
        output_tokens=1,
        cache_read_tokens=0,
        saved_usd=0.0008,
        cost_usd=0.006,
        compress_ms=6.0,
    ),
    row(DAY2 + 180, "anthropic", "claude-sonnet-4-5", count_only=True, tokens_before=800, tokens_after=100),
]


@pytest.fixture
def filled(tmp_path: Path) -> Path:
    path = tmp_path / "ledger.sqlite"
    book = Ledger(path)
    for r in ROWS:
        book.add(r)
    book.close()
    return path


def test_totals_and_groups_follow_the_definitions() -> None:
    s = stats.summarize(ROWS, "provider")
    t = s.total
    assert (t.requests, t.compressed, t.skipped, t.shadow) == (6, 4, 1, 1)
    assert t.tokens_saved == 400 + 1000 + 400  # the count-only call is left out
    # prompts: 4600+400 (on), 2000, 9000+1000, 3000 (shadow: billed the original)
    assert t.prompt_tokens == 5000 + 2000 + 10000 + 3000
    assert t.saved_share == pytest.approx(1800 / 20000)
    assert t.cache_hit_share == pytest.approx((4000 + 6000) / (4600 + 2000 + 9000 + 3000))
    assert t.saved_usd == pytest.approx(0.0046) and t.billed_usd == pytest.approx(0.034)
    assert list(s.groups) == ["anthropic", "openai"]  # most tokens saved first: 1000, then 800
    assert s.reasons == {"skipped: signed:sigv4": 1}


def test_groups_by_model_and_by_day() -> None:
    by_model = stats.summarize(ROWS, "model")
    assert set(by_model.groups) == {"gpt-4.1", "claude-sonnet-4-5", "(unknown)"}
    by_day = stats.summarize(ROWS, "day")
    assert list(by_day.groups) == ["2026-11-02", "2026-11-03"]
    assert by_day.groups["2026-11-02"].requests == 2


@pytest.mark.parametrize(
    ("text", "seconds_ago"),
    [("7d", 7 * 86400), ("12h", 12 * 3600), ("30m", 1800), ("2w", 14 * 86400), ("1.5h", 5400)],
)
def test_since_spans(text: str, seconds_ago: float) -> None:
    assert stats.parse_since(text, now=1_000_000.0) == 1_000_000.0 - seconds_ago


def test_since_dates_and_mistakes() -> None:
    assert stats.parse_since("2026-11-03") == datetime(2026, 11, 3).timestamp()
    with pytest.raises(ValueError, match="use a span like 7d"):
        stats.parse_since("last week")


def test_the_table_shows_totals_money_cache_share_and_skip_reasons(
    filled: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli.main(["stats", "--ledger", str(filled)]) == 0
    out = capsys.readouterr().out
    assert "wiretrim savings" in out and "6 requests" in out
    for text in (
        "openai",
        "anthropic",
        "1,800",
        "9.0%",
        "$0.0046",
        "$0.0340",
        "53.8%",
        "skipped: signed:sigv4",
        "shadow-mode requests",
    ):
        assert text in out, text


def test_json_is_for_machines(filled: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert (
        cli.main(["stats", "--ledger", str(filled), "--json", "--by", "model", "--since", "2026-11-03"]) == 0
    )
    doc = json.loads(capsys.readouterr().out)
    assert doc["by"] == "model" and doc["totals"]["requests"] == 4
    assert doc["totals"]["tokens_saved"] == 1400
    assert {g["model"] for g in doc["groups"]} == {"gpt-4.1", "claude-sonnet-4-5", "(unknown)"}
    assert doc["skip_reasons"] == {"skipped: signed:sigv4": 1}


def test_the_chart_is_a_png(filled: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    png = tmp_path / "savings.png"
    assert cli.main(["stats", "--ledger", str(filled), "--chart", str(png)]) == 0
    data = png.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 10_000
    assert f"chart written to {png}" in capsys.readouterr().err


def test_without_matplotlib_the_chart_says_what_to_install(
    filled: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    assert cli.main(["stats", "--ledger", str(filled), "--chart", str(tmp_path / "x.png")]) == 1
    assert "pip install 'wiretrim[chart]'" in capsys.readouterr().err
    assert not (tmp_path / "x.png").exists()


def test_a_missing_ledger_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["stats", "--ledger", str(tmp_path / "none.sqlite")]) == 1
    assert capsys.readouterr().err.startswith(f"wiretrim: no ledger at {tmp_path / 'none.sqlite'}")


def test_the_default_ledger_is_the_one_in_the_confdir(
    tmp_path: Path, filled: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("WIRETRIM_CONFIG", raising=False)
    confdir = tmp_path / "conf"
    confdir.mkdir()
    filled.rename(confdir / "wiretrim-ledger.sqlite")
    assert cli.main(["stats", "--confdir", str(confdir), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["ledger"] == str(confdir / "wiretrim-ledger.sqlite")


def test_an_empty_period_says_so(filled: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["stats", "--ledger", str(filled), "--since", "1h"]) == 0
    assert "no requests" in capsys.readouterr().out
