"""The proxy's CA: create it without starting a proxy, keep its key private, and explain how to trust it.

mitmproxy signs a certificate for every intercepted host with the CA in its confdir. Clients must
trust that CA's *certificate*; its *key* (``mitmproxy-ca.pem``, ``mitmproxy-ca.p12``) can
impersonate any site to a client that trusts it, so it stays mode 0600 and is never handed out.

Python clients that take ``SSL_CERT_FILE`` or ``REQUESTS_CA_BUNDLE`` replace their whole trust
store with that file, so they get a combined bundle: the public roots plus the CA certificate.
"""

from __future__ import annotations

import os
import re
import shlex
import ssl
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import certifi

BASENAME = "mitmproxy"  # mitmproxy.options.CONF_BASENAME: the names mitmproxy itself looks for
KEY_SIZE = 2048  # mitmproxy.options.KEY_SIZE
CA_CERT = f"{BASENAME}-ca-cert.pem"
CA_KEY = f"{BASENAME}-ca.pem"  # key + certificate
SECRET_FILES = (CA_KEY, f"{BASENAME}-ca.p12")
BUNDLE = "wiretrim-ca-bundle.pem"

_PEM_CERT = re.compile(rb"-----BEGIN CERTIFICATE-----\s*([A-Za-z0-9+/=\s]+?)\s*-----END CERTIFICATE-----")


@dataclass(frozen=True, slots=True)
class CaFiles:
    confdir: Path
    cert: Path  # the CA certificate alone: give this to clients
    key: Path  # the CA key: secret
    bundle: Path  # public roots + the CA certificate
    created: bool  # True when this call generated a new CA


def ensure_ca(confdir: Path) -> CaFiles:
    """Create the CA in `confdir` if missing, tighten key permissions, (re)write the bundle.

    Raises OSError when the directory is not writable and ValueError when an existing CA file
    holds no certificate. An existing CA is not parsed here: mitmproxy validates it at start.
    """
    confdir.mkdir(parents=True, exist_ok=True)
    key = confdir / CA_KEY
    created = not key.exists()
    if created:
        from mitmproxy.certs import CertStore  # imported on use: only creating a CA needs it

        CertStore.create_store(confdir, BASENAME, KEY_SIZE)  # writes the key files with umask 077
    for name in SECRET_FILES:
        path = confdir / name
        if path.exists() and path.stat().st_mode & 0o077:
            path.chmod(0o600)
    cert = confdir / CA_CERT
    if not cert.exists():  # a user-supplied CA comes as key + certificate in one file
        bodies = _cert_bodies(key.read_bytes())
        if not bodies:
            raise ValueError(f"{key} holds no certificate")
        cert.write_bytes(_pem(bodies[0]))
    bundle = confdir / BUNDLE
    _write_if_changed(bundle, build_bundle(cert.read_bytes(), public_roots()))
    return CaFiles(confdir, cert, key, bundle, created)


def public_roots() -> list[Path]:
    """The root stores the bundle starts from: certifi's, then the OpenSSL default file if any.

    The compiled-in OpenSSL path is used, not ``$SSL_CERT_FILE``, which may be an older bundle.
    """
    paths = [Path(certifi.where())]
    system = ssl.get_default_verify_paths().openssl_cafile
    if system and Path(system).is_file():
        paths.append(Path(system))
    return paths


def build_bundle(ca_cert_pem: bytes, roots: Iterable[Path]) -> bytes:
    """The CA certificate followed by every distinct certificate in `roots`.

    Only CERTIFICATE blocks are copied, so a key in any input can never reach the bundle.
    """
    seen: set[bytes] = set()
    out: list[bytes] = []
    sources = [(b"# wiretrim: the proxy's CA certificate\n", ca_cert_pem)]
    sources += [(b"# public roots from " + str(root).encode() + b"\n", root.read_bytes()) for root in roots]
    for header, pem in sources:
        fresh: list[bytes] = []
        for body in _cert_bodies(pem):
            if body not in seen:
                seen.add(body)
                fresh.append(_pem(body))
        if fresh:
            out += [header, *fresh]
    return b"".join(out)


def _cert_bodies(pem: bytes) -> list[bytes]:
    """The base64 bodies of the CERTIFICATE blocks in `pem`, whitespace removed, in order."""
    return [b"".join(m.group(1).split()) for m in _PEM_CERT.finditer(pem)]


def _pem(body: bytes) -> bytes:
    lines = b"\n".join(body[i : i + 64] for i in range(0, len(body), 64))
    return b"-----BEGIN CERTIFICATE-----\n" + lines + b"\n-----END CERTIFICATE-----\n"


def _write_if_changed(path: Path, data: bytes) -> None:
    if path.exists() and path.read_bytes() == data:
        return
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_bytes(data)
    tmp.chmod(0o644)
    os.replace(tmp, path)


def env_lines(files: CaFiles, proxy_url: str) -> str:
    """``export`` lines for a POSIX shell: proxy plus trust for Python, requests, curl and Node."""
    bundle, cert = shlex.quote(str(files.bundle)), shlex.quote(str(files.cert))
    return "\n".join(
        (
            f"export HTTPS_PROXY={shlex.quote(proxy_url)}",
            f"export SSL_CERT_FILE={bundle}",
            f"export REQUESTS_CA_BUNDLE={bundle}",
            f"export CURL_CA_BUNDLE={bundle}",
            f"export NODE_EXTRA_CA_CERTS={cert}",
            "export NODE_USE_ENV_PROXY=1",
        )
    ) + "\n"


def instructions(files: CaFiles, proxy_url: str, env_command: str = "wiretrim certs --env") -> str:
    """Where the files are and how each kind of client trusts the CA (never the key's content)."""
    bundle, cert = shlex.quote(str(files.bundle)), shlex.quote(str(files.cert))
    state = "created" if files.created else "found"
    return f"""\
wiretrim CA ({state}) in {files.confdir}
  CA certificate   {files.cert}
                   give this to clients that add to their trust store (Node, the system store)
  combined bundle  {files.bundle}
                   public roots + the CA, for clients whose setting replaces the trust store
  CA key           {files.key}
                   secret (mode 0600): anyone with it can impersonate any site; never copy it anywhere

Send traffic through the proxy:
  export HTTPS_PROXY={proxy_url}

Python: openai, anthropic and httpx read SSL_CERT_FILE (it replaces the default store, hence the bundle)
  export SSL_CERT_FILE={bundle}
Python requests ignores SSL_CERT_FILE and reads
  export REQUESTS_CA_BUNDLE={bundle}
Node: NODE_EXTRA_CA_CERTS adds to Node's store; built-in fetch ignores HTTPS_PROXY unless
NODE_USE_ENV_PROXY=1 (Node >= 22.21 or 24; older Node: use reverse mode or the app's proxy setting)
  export NODE_EXTRA_CA_CERTS={cert} NODE_USE_ENV_PROXY=1
curl:
  curl --cacert {bundle} https://...        or  export CURL_CA_BUNDLE={bundle}
System store (every client that uses it; undo by removing the file and re-running the tool):
  Debian/Ubuntu  sudo cp {cert} /usr/local/share/ca-certificates/wiretrim.crt && sudo update-ca-certificates
  Fedora/RHEL    sudo cp {cert} /etc/pki/ca-trust/source/anchors/wiretrim.pem && sudo update-ca-trust
  macOS          sudo security add-trusted-cert -d -r trustRoot -k /Library/Keychains/System.keychain {cert}

All of the exports at once:  eval "$({env_command})"
"""


__all__ = ["BUNDLE", "CA_CERT", "CA_KEY", "CaFiles", "build_bundle", "ensure_ca", "env_lines", "instructions"]
