"""`wiretrim doctor`: every check passes on a good set-up, and each mistake fails with its fix."""

from __future__ import annotations

import re
import socket
import stat
import time
from pathlib import Path

import pytest

from tests import environ
from tests.e2e.tls import make_pki
from wiretrim import certs, cli, doctor
from wiretrim.config import Settings
from wiretrim.doctor import Check


@pytest.fixture(autouse=True)
def clean_environ(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    environ.scrub(monkeypatch, tmp_path, (*environ.PROXY_AND_TRUST, "TIKTOKEN_CACHE_DIR"))


@pytest.fixture(scope="module")
def ca(tmp_path_factory: pytest.TempPathFactory) -> certs.CaFiles:
    return certs.ensure_ca(tmp_path_factory.mktemp("confdir"))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def quick(confdir: Path, env: dict[str, str], port: int = 0, config: str | None = None) -> dict[str, Check]:
    """Every check but the two that start processes (they have their own tests)."""
    results = doctor.run_checks(
        confdir,
        "127.0.0.1",
        port,
        config,
        env,
        engine=lambda s: doctor.ok("engine", "stub"),
        tokenizer=lambda e: doctor.ok("tokenizer", "stub"),
    )
    return {r.name: r for r in results}


def test_a_good_set_up_passes_every_check_and_exits_0(
    ca: certs.CaFiles, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("SSL_CERT_FILE", str(ca.bundle))  # what `eval "$(wiretrim certs --env)"` sets
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(ca.bundle))
    code = cli.main(["doctor", "--confdir", str(ca.confdir), "--port", str(free_port())])
    out = capsys.readouterr().out
    lines = out.splitlines()
    assert code == 0, out
    assert [line.split()[1] for line in lines[:-1]] == [
        "CA",
        "trust",
        "trust",
        "port",
        "config",
        "mitmproxy",
        "tokenizer",
        "engine",
    ]
    assert all(line.startswith("OK ") for line in lines[:-1])
    assert lines[-1] == "all checks passed"
    assert "fix:" not in out


def test_without_the_bundle_the_default_context_does_not_trust_the_ca(ca: certs.CaFiles) -> None:
    r = quick(ca.confdir, {})
    assert r["trust"].status == "FAIL"
    assert "SSL_CERT_FILE not set" in r["trust"].detail
    assert 'eval "$(wiretrim certs --env)"' in r["trust"].fix
    assert "trust (requests)" not in r  # only checked when the variable is set


def test_a_bundle_of_another_ca_does_not_trust_it(ca: certs.CaFiles, tmp_path: Path) -> None:
    other = make_pki(tmp_path / "other")
    r = quick(ca.confdir, {"SSL_CERT_FILE": str(other.ca_cert), "REQUESTS_CA_BUNDLE": str(other.ca_cert)})
    assert (r["trust"].status, r["trust (requests)"].status) == ("FAIL", "FAIL")
    assert "certificate" in r["trust"].detail
    assert r["trust (requests)"].fix == f"export REQUESTS_CA_BUNDLE={ca.bundle}"


def test_a_missing_bundle_file_is_named(ca: certs.CaFiles, tmp_path: Path) -> None:
    r = quick(ca.confdir, {"SSL_CERT_FILE": str(tmp_path / "gone.pem")})
    assert r["trust"].status == "FAIL" and "gone.pem cannot be loaded" in r["trust"].detail


def test_no_ca_yet(tmp_path: Path) -> None:
    r = quick(tmp_path / "empty", {})
    assert r["CA"].status == "FAIL" and "wiretrim certs" in r["CA"].fix
    assert r["trust"].status == "SKIP"
    assert not (tmp_path / "empty").exists()  # the doctor creates nothing


def test_a_key_others_can_read(tmp_path: Path) -> None:
    files = certs.ensure_ca(tmp_path / "confdir")
    files.key.chmod(0o644)
    r = quick(files.confdir, {"SSL_CERT_FILE": str(files.bundle)})
    assert r["CA"].status == "FAIL"
    assert r["CA"].fix.startswith(f"chmod 600 {files.key}")
    assert stat.S_IMODE(files.key.stat().st_mode) == 0o644  # reported, not changed


def test_a_port_in_use(ca: certs.CaFiles) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        port = s.getsockname()[1]
        r = quick(ca.confdir, {"SSL_CERT_FILE": str(ca.bundle)}, port=port)
    assert r["port"].status == "FAIL"
    assert f"127.0.0.1:{port} is not free" in r["port"].detail and "--port" in r["port"].fix


def test_an_invalid_config_names_the_setting_and_skips_what_needs_it(
    ca: certs.CaFiles, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("compression:\n  level: extreme\n")
    code = cli.main(
        ["doctor", "--confdir", str(ca.confdir), "--port", str(free_port()), "--config", str(bad)]
    )
    out = capsys.readouterr().out
    assert code == 1
    assert re.search(rf"^FAIL +config +{re.escape(str(bad))}: compression\.level: Input should be", out, re.M)
    assert re.search(r"^SKIP +tokenizer", out, re.M) and re.search(r"^SKIP +engine", out, re.M)
    assert out.splitlines()[-1].endswith("checks did not pass")


@pytest.mark.parametrize(
    ("version", "spec", "expected"),
    [
        ("12.3.1", "<13,>=12.2", True),
        ("12.2", "<13,>=12.2", True),
        ("12.1.9", "<13,>=12.2", False),
        ("13.0.0", "<13,>=12.2", False),
        ("13.0.0.dev0", "<13,>=12.2", False),
        ("12.3.1", "==12.3.1", True),
        ("12.3.1", "~=12.2", True),
        ("13.1", "~=12.2", False),
        ("12.3", "!=12.3.0", False),
    ],
)
def test_version_ranges(version: str, spec: str, expected: bool) -> None:
    assert doctor.in_range(version, spec) is expected


def test_mitmproxy_out_of_range_says_what_to_install() -> None:
    r = doctor.check_mitmproxy("11.0.2", "<13,>=12.2")
    assert r.status == "FAIL" and "needs mitmproxy<13,>=12.2" in r.detail
    assert r.fix.startswith('pip install "mitmproxy<13,>=12.2"')
    assert doctor.check_mitmproxy().passed  # the installed one
    assert doctor.mitmproxy_spec() == "<13,>=12.2"


def test_the_offline_tokenizer_loads_and_a_missing_download_fails_fast(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert doctor.check_tokenizer("auto").passed
    monkeypatch.setenv("TIKTOKEN_CACHE_DIR", str(tmp_path / "empty-cache"))  # o200k is not cached there
    started = time.perf_counter()
    r = doctor.check_tokenizer("o200k_base")
    assert r.status == "FAIL"
    assert "without the network" in r.detail and "encoding to auto" in r.fix
    assert time.perf_counter() - started < 30


def test_the_engine_worker_starts_and_answers() -> None:
    r = doctor.check_engine(Settings())
    assert r.passed, r.detail
    assert "process worker answered" in r.detail


def test_an_engine_that_cannot_start_fails_with_a_hint(tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    settings = Settings.model_validate({"memo": {"path": str(blocker / "memo.sqlite")}})  # under a file
    r = doctor.check_engine(settings, timeout=20)
    assert r.status == "FAIL" and "did not answer" in r.detail
    assert "memo.path" in r.fix


def test_the_report_shows_each_fix_under_its_check() -> None:
    text = doctor.render([doctor.ok("CA", "fine"), doctor.fail("port", "busy", "use --port 8090")])
    assert text.splitlines() == [
        "OK    CA    fine",
        "FAIL  port  busy",
        "            fix: use --port 8090",
        "1 of 2 checks did not pass",
    ]
