"""The CA that `wiretrim certs` creates, the trust bundle beside it, and what it tells people."""

from __future__ import annotations

import re
import ssl
import stat
from pathlib import Path

import certifi
import pytest

from wiretrim import certs, paths
from wiretrim.certs import CaFiles, build_bundle, ensure_ca, env_lines, instructions

PROXY = "http://127.0.0.1:8080"


def pem_bodies(data: bytes) -> list[bytes]:
    return [b"".join(m.split()) for m in re.findall(rb"-----BEGIN CERTIFICATE-----(.*?)-----END", data, re.S)]


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture(scope="module")
def ca(tmp_path_factory: pytest.TempPathFactory) -> CaFiles:
    return ensure_ca(tmp_path_factory.mktemp("confdir"))


def test_ca_is_created_with_private_key_files_0600(ca: CaFiles) -> None:
    assert ca.created
    assert ca.cert == ca.confdir / "mitmproxy-ca-cert.pem"
    assert ca.key == ca.confdir / "mitmproxy-ca.pem"
    assert ca.bundle == ca.confdir / "wiretrim-ca-bundle.pem"
    assert b"PRIVATE KEY" in ca.key.read_bytes()
    assert mode(ca.key) == 0o600
    assert mode(ca.confdir / "mitmproxy-ca.p12") == 0o600
    assert b"PRIVATE KEY" not in ca.cert.read_bytes()


def test_bundle_holds_the_ca_and_the_public_roots_but_no_key(ca: CaFiles) -> None:
    bundle = ca.bundle.read_bytes()
    bodies = pem_bodies(bundle)
    assert bodies[0] == pem_bodies(ca.cert.read_bytes())[0]
    assert set(pem_bodies(Path(certifi.where()).read_bytes())) <= set(bodies)
    assert len(bodies) == len(set(bodies))
    assert b"PRIVATE KEY" not in bundle
    # OpenSSL (what Python, curl and the SDKs use) loads it, every certificate as a CA.
    context = ssl.create_default_context(cafile=str(ca.bundle))
    assert len(context.get_ca_certs()) == len(bodies)


def test_second_run_keeps_the_ca_and_repairs_key_permissions(ca: CaFiles) -> None:
    cert_before = ca.cert.read_bytes()
    bundle_mtime = ca.bundle.stat().st_mtime_ns
    ca.key.chmod(0o644)
    again = ensure_ca(ca.confdir)
    assert not again.created
    assert again.cert.read_bytes() == cert_before
    assert mode(ca.key) == 0o600
    assert ca.bundle.stat().st_mtime_ns == bundle_mtime  # unchanged content is not rewritten


def test_user_supplied_ca_without_a_cert_file_gets_one(ca: CaFiles, tmp_path: Path) -> None:
    (tmp_path / "mitmproxy-ca.pem").write_bytes(ca.key.read_bytes())  # key + certificate, as documented
    files = ensure_ca(tmp_path)
    assert not files.created
    assert pem_bodies(files.cert.read_bytes()) == pem_bodies(ca.cert.read_bytes())
    assert b"PRIVATE KEY" not in files.cert.read_bytes()


def test_build_bundle_copies_only_distinct_certificates(ca: CaFiles, tmp_path: Path) -> None:
    cert = ca.cert.read_bytes()
    roots = tmp_path / "roots.pem"
    roots.write_bytes(b"# a comment\n" + ca.key.read_bytes() + cert + cert)  # a key, the CA twice
    bundle = build_bundle(cert, [roots])
    assert pem_bodies(bundle) == pem_bodies(cert)
    assert b"PRIVATE KEY" not in bundle


def test_instructions_say_how_to_trust_and_never_show_the_key(ca: CaFiles) -> None:
    text = instructions(ca, PROXY)
    key_pem = ca.key.read_text()
    key_lines = [line for line in key_pem.splitlines() if line and "-----" not in line]
    assert not any(line in text for line in key_lines)
    assert "PRIVATE KEY" not in text
    assert f"export HTTPS_PROXY={PROXY}" in text
    assert f"export SSL_CERT_FILE={ca.bundle}" in text
    assert f"export REQUESTS_CA_BUNDLE={ca.bundle}" in text
    assert f"export NODE_EXTRA_CA_CERTS={ca.cert} NODE_USE_ENV_PROXY=1" in text
    assert f"curl --cacert {ca.bundle}" in text
    assert f"export CURL_CA_BUNDLE={ca.bundle}" in text
    assert "update-ca-certificates" in text
    assert "security add-trusted-cert" in text
    # The key file is named only on its own "secret" line, never in a command.
    key_mentions = [line for line in text.splitlines() if str(ca.key) in line]
    assert key_mentions == [f"  CA key           {ca.key}"]


def test_env_lines_are_exports_without_the_key(ca: CaFiles) -> None:
    lines = env_lines(ca, PROXY).splitlines()
    assert lines == [
        f"export HTTPS_PROXY={PROXY}",
        f"export SSL_CERT_FILE={ca.bundle}",
        f"export REQUESTS_CA_BUNDLE={ca.bundle}",
        f"export CURL_CA_BUNDLE={ca.bundle}",
        f"export NODE_EXTRA_CA_CERTS={ca.cert}",
        "export NODE_USE_ENV_PROXY=1",
    ]


def test_env_lines_quote_paths_for_the_shell(tmp_path: Path) -> None:
    files = CaFiles(tmp_path, tmp_path / "my certs" / "ca.pem", tmp_path / "k", tmp_path / "b.pem", False)
    assert f"export NODE_EXTRA_CA_CERTS='{tmp_path}/my certs/ca.pem'" in env_lines(files, PROXY)


# -- where the confdir is --------------------------------------------------------------------------


def make_checkout(root: Path) -> Path:
    (root / "wiretrim").mkdir(parents=True)
    (root / "certs").mkdir()
    (root / "pyproject.toml").write_text("[project]\n")
    (root / "certs" / "README.md").write_text("certs\n")
    return root / "wiretrim"


def test_confdir_explicit_beats_env_beats_checkout(tmp_path: Path) -> None:
    package = make_checkout(tmp_path / "repo")
    env = {paths.CONFDIR_ENV: str(tmp_path / "from-env")}
    assert paths.confdir(str(tmp_path / "explicit"), env, package) == tmp_path / "explicit"
    assert paths.confdir(None, env, package) == tmp_path / "from-env"
    assert paths.confdir(None, {}, package) == tmp_path / "repo" / "certs"


def test_confdir_outside_a_checkout_is_in_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    (tmp_path / "site-packages" / "wiretrim").mkdir(parents=True)
    assert paths.confdir(None, {}, tmp_path / "site-packages" / "wiretrim") == tmp_path / "home" / ".wiretrim"


def test_this_checkout_keeps_its_ca_in_certs() -> None:
    root = Path(__file__).resolve().parent.parent
    assert paths.checkout_root() == root
    assert paths.confdir(None, {}) == root / "certs"
    ignored = (root / "certs" / ".gitignore").read_text().split()
    assert ignored[-3:] == ["*", "!README.md", "!.gitignore"]


def test_names_match_mitmproxy() -> None:
    from mitmproxy import options

    assert certs.BASENAME == options.CONF_BASENAME
    assert certs.KEY_SIZE == options.KEY_SIZE
