from __future__ import annotations

from pathlib import Path

import pytest

from wiretrim.cli import main


def test_missing_directories_are_named_and_the_report_still_prints(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["bench", "--only", "engine,sessions", "--corpus", str(tmp_path / "none"),
                 "--sessions", str(tmp_path / "nowhere")])
    out = capsys.readouterr().out
    assert code == 0
    assert f"Not run: no corpus directory at {tmp_path / 'none'} (pass --corpus DIR)." in out
    assert f"Not run: no sessions directory at {tmp_path / 'nowhere'}" in out
    assert "CPUs (nproc)" in out and "mitmproxy" in out


def test_an_unknown_section_is_refused(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["bench", "--only", "engine,speed"]) == 2
    assert "unknown section(s) speed" in capsys.readouterr().err


@pytest.mark.slow
def test_the_proxy_sections_print_their_tables(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["bench", "--quick", "--only", "proxy,streams,memory", "--requests", "5"]) == 0
    out = capsys.readouterr().out
    assert out.count("| addon on |") == 5  # two latency rows, a first-event row, a stall row, memory
    assert "Not run" not in out
