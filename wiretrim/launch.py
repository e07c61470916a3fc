"""Build the mitmproxy command line for ``wiretrim run``, ``web`` and ``console``, and run it.

The launcher decides what mitmproxy's own flags cannot express safely by default: the addon
script, the confdir, the mode switch, and ``--allow-hosts`` from the endpoint table so that only
LLM hosts are decrypted. Everything after ``--`` goes to mitmproxy unchanged and last, so it can
override any of these.
"""

from __future__ import annotations

import ipaddress
import logging
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit

from wiretrim.config import Settings
from wiretrim.endpoints import CustomEndpoint, intercept_patterns

Tool = Literal["mitmdump", "mitmweb", "mitmproxy"]  # run, web, console
Switch = Literal["on", "shadow", "off"]
_DEFAULT_PORTS = {"http": 80, "https": 443, "ws": 80, "wss": 443, "dns": 53, "quic": 443, "tls": 443}


class LaunchError(ValueError):
    """A launch that must not start; the message is one line for the user."""


@dataclass(frozen=True, slots=True)
class LaunchRequest:
    tool: Tool = "mitmdump"
    listen_host: str = "127.0.0.1"
    port: int = 8080
    switch: Switch | None = None  # None: the mode comes from the config file / WIRETRIM_MODE
    config: str | None = None
    endpoints: tuple[str, ...] = ()  # HOST[:PORT][/PATH]=SHAPE
    modes: tuple[str, ...] = ()  # mitmproxy --mode specs; empty means regular
    allow_remote: bool = False
    web_host: str = "127.0.0.1"
    web_port: int = 8081
    metrics_port: int | None = None  # None: the config's metrics_port
    extra: tuple[str, ...] = ()  # after `--`, passed through last


@dataclass(frozen=True, slots=True)
class Launch:
    tool: Tool
    argv: tuple[str, ...]  # without the program name
    warnings: tuple[str, ...]
    listen: str  # host:port of the proxy, for messages
    modes: tuple[str, ...]  # effective mitmproxy modes, for messages
    quiet: bool = False  # hide per-connection lines (mitmdump without -v or a verbosity setting)


def is_loopback(host: str) -> bool:
    """True for 127.0.0.0/8, ::1 and localhost; "" (every interface) is not loopback."""
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def _flag_values(extra: Sequence[str], flags: Iterable[str], option: str | None = None) -> list[str]:
    """Values given in `extra` as ``--flag V``, ``--flag=V``, ``-fV`` or ``--set option=V``."""
    flags = tuple(flags)
    found: list[str] = []
    i = 0
    while i < len(extra):
        arg = extra[i]
        nxt = extra[i + 1] if i + 1 < len(extra) else None
        if arg in flags and nxt is not None:
            found.append(nxt)
            i += 2
            continue
        if arg == "--set" and nxt is not None and option and nxt.startswith(f"{option}="):
            found.append(nxt.split("=", 1)[1])
            i += 2
            continue
        for f in flags:
            if f.startswith("--") and arg.startswith(f + "="):
                found.append(arg.split("=", 1)[1])
            elif not f.startswith("--") and arg.startswith(f) and len(arg) > len(f):
                found.append(arg[len(f) :])
        i += 1
    return found


def _reverse_target(spec: str) -> str | None:
    """``reverse:https://api.openai.com@8001`` -> an anchored ``api\\.openai\\.com:443`` pattern."""
    target = spec.removeprefix("reverse:")
    if "@" in target:
        target = target.rpartition("@")[0]
    parts = urlsplit(target)
    if not parts.hostname:
        return None
    try:
        port = parts.port or _DEFAULT_PORTS.get(parts.scheme)
    except ValueError:
        return None
    return f"^{re.escape(parts.hostname)}:{port}$" if port else None


def build(req: LaunchRequest, settings: Settings, confdir: Path, script: Path) -> Launch:
    """The argv for `req.tool`; raises LaunchError for a request that must not start."""
    custom: list[CustomEndpoint] = []
    for spec in req.endpoints:
        try:
            custom.append(CustomEndpoint.parse(spec))
        except ValueError as e:
            raise LaunchError(f"--endpoint: {e}") from None

    extra = tuple(req.extra)
    listen_host = ([req.listen_host, *_flag_values(extra, ("--listen-host",), "listen_host")])[-1]
    port = req.port
    for value in _flag_values(extra, ("--listen-port", "-p"), "listen_port"):
        port = int(value) if value.isdigit() else port
    web_host = ([req.web_host, *_flag_values(extra, ("--web-host",), "web_host")])[-1]
    if not req.allow_remote:
        exposed = [("--listen-host", listen_host)]
        if req.tool == "mitmweb":
            exposed.append(("web host", web_host))
        for what, host in exposed:
            if not is_loopback(host):
                shown = host or "every interface"
                raise LaunchError(
                    f"{what} {shown} is reachable from other machines; add --allow-remote if that is intended"
                )

    warnings: list[str] = []
    proxyauth = _flag_values(extra, ("--proxyauth",), "proxyauth")
    if req.allow_remote and not is_loopback(listen_host) and not proxyauth:
        warnings.append(
            f"listening on {listen_host or 'every interface'}:{port} without --proxyauth: anyone who can "
            "reach it can use the proxy and read the decrypted LLM traffic (add `-- --proxyauth USER:PASS`)"
        )

    modes = (*req.modes, *_flag_values(extra, ("--mode", "-m"), "mode"))
    reverse_only = bool(modes) and all(m.startswith("reverse:") for m in modes)

    argv: list[str] = ["-s", str(script), "--listen-host", req.listen_host, "--listen-port", str(req.port)]
    for m in req.modes:
        argv += ["--mode", m]
    argv += ["--set", f"confdir={confdir}"]
    if req.tool == "mitmdump":
        argv += ["--set", "flow_detail=0"]  # one wiretrim log line per LLM call instead of every flow
    elif req.tool == "mitmweb":
        argv += ["--set", "web_open_browser=false", "--set", f"web_host={req.web_host}",
                 "--set", f"web_port={req.web_port}"]
    if req.switch is not None:
        argv += ["--set", f"wiretrim_mode={req.switch}"]
    if req.config is not None:
        argv += ["--set", f"wiretrim_config={Path(req.config).resolve()}"]
    for spec in req.endpoints:
        argv += ["--set", f"wiretrim_endpoint={spec}"]
    if req.metrics_port is not None:
        argv += ["--set", f"wiretrim_metrics_port={req.metrics_port}"]

    if _flag_values(extra, ("--ignore-hosts",), "ignore_hosts"):
        warnings.append("--ignore-hosts given: mitmproxy decrypts every other host (no --allow-hosts list)")
    elif not reverse_only:
        patterns = intercept_patterns([*custom, *settings.custom_endpoints()], settings.intercept_hosts)
        patterns += [p for m in modes if m.startswith("reverse:") and (p := _reverse_target(m))]
        for pattern in dict.fromkeys(patterns):  # first-seen order, no duplicates
            argv += ["--allow-hosts", pattern]
    argv += extra
    verbose = any(
        a in ("-v", "--verbose") or a.startswith(("termlog_verbosity=", "flow_detail=")) for a in extra
    )
    return Launch(
        req.tool, tuple(argv), tuple(warnings), f"{listen_host}:{port}", modes or ("regular",),
        quiet=req.tool == "mitmdump" and not verbose,
    )


def run(launch: Launch) -> int:
    """Run mitmdump, mitmweb or mitmproxy in this process until it stops; its exit status.

    In-process rather than exec: the interpreter and the wiretrim imports are already paid for,
    and mitmproxy installs its own SIGINT/SIGTERM handlers either way.
    """
    from mitmproxy.tools import main

    if launch.quiet:
        # "client connect" / "server disconnect" at INFO for every connection would drown the one
        # wiretrim line per LLM call; connection problems are logged at WARNING and still show.
        logging.getLogger("mitmproxy.proxy.server").setLevel(logging.WARNING)
    entry = {"mitmdump": main.mitmdump, "mitmweb": main.mitmweb, "mitmproxy": main.mitmproxy}[launch.tool]
    try:
        entry(list(launch.argv))
    except SystemExit as e:  # mitmproxy exits 1 on option errors and on start-up errors
        return e.code if isinstance(e.code, int) else 1
    return 0


__all__ = ["Launch", "LaunchError", "LaunchRequest", "build", "is_loopback", "run"]
