"""The mitmdump / mitmweb command line that `wiretrim run` and `wiretrim web` build."""

from __future__ import annotations

from pathlib import Path

import pytest

from wiretrim.config import Settings
from wiretrim.endpoints import intercept_patterns
from wiretrim.launch import Launch, LaunchError, LaunchRequest, build, is_loopback

CONFDIR = Path("/srv/wt/certs")
SCRIPT = Path("/srv/wt/wiretrim/addon/script.py")
DEFAULTS = Settings()


def plan(settings: Settings = DEFAULTS, **kw: object) -> Launch:
    return build(LaunchRequest(**kw), settings, CONFDIR, SCRIPT)  # type: ignore[arg-type]


def sets(argv: tuple[str, ...]) -> list[str]:
    return [argv[i + 1] for i, a in enumerate(argv) if a == "--set"]


def allowed(argv: tuple[str, ...]) -> list[str]:
    return [argv[i + 1] for i, a in enumerate(argv) if a == "--allow-hosts"]


def test_default_run_is_mitmdump_on_loopback_with_only_llm_hosts_decrypted() -> None:
    launch = plan()
    assert launch.tool == "mitmdump"
    assert launch.argv[:6] == ("-s", str(SCRIPT), "--listen-host", "127.0.0.1", "--listen-port", "8080")
    assert sets(launch.argv) == [f"confdir={CONFDIR}", "flow_detail=0"]
    assert allowed(launch.argv) == intercept_patterns()
    assert r"^api\.openai\.com:443$" in allowed(launch.argv)
    assert launch.warnings == ()
    assert launch.listen == "127.0.0.1:8080"
    assert launch.modes == ("regular",)
    assert launch.quiet


@pytest.mark.parametrize(
    ("tool", "extra", "quiet"),
    [("mitmdump", (), True), ("mitmdump", ("-v",), False), ("mitmdump", ("--set", "flow_detail=2"), False),
     ("mitmdump", ("--set", "termlog_verbosity=debug"), False), ("mitmweb", (), False),
     ("mitmproxy", (), False)],
)
def test_quiet_only_for_plain_mitmdump(tool: str, extra: tuple[str, ...], quiet: bool) -> None:
    """Per-connection log lines are hidden unless the user asks for verbosity."""
    assert plan(tool=tool, extra=extra).quiet is quiet


@pytest.mark.parametrize("switch", ["on", "shadow", "off"])
def test_mode_switch_becomes_the_addon_option(switch: str) -> None:
    assert f"wiretrim_mode={switch}" in sets(plan(switch=switch).argv)


def test_no_switch_leaves_the_mode_to_the_config() -> None:
    assert not any(s.startswith("wiretrim_mode") for s in sets(plan().argv))


def test_metrics_port_becomes_the_addon_option_and_is_off_unless_given() -> None:
    assert "wiretrim_metrics_port=9464" in sets(plan(metrics_port=9464).argv)
    assert not any(s.startswith("wiretrim_metrics_port") for s in sets(plan().argv))


def test_port_and_config_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    launch = plan(port=9001, config="conf/wt.yaml")
    assert launch.argv[4:6] == ("--listen-port", "9001")
    assert f"wiretrim_config={tmp_path / 'conf' / 'wt.yaml'}" in sets(launch.argv)


def test_endpoints_are_passed_to_the_addon_and_decrypted() -> None:
    launch = plan(endpoints=("gw.corp.example:8443/v1=openai-chat", "localhost:9999=ollama"))
    assert sets(launch.argv)[-2:] == [
        "wiretrim_endpoint=gw.corp.example:8443/v1=openai-chat",
        "wiretrim_endpoint=localhost:9999=ollama",
    ]
    assert allowed(launch.argv)[-2:] == [r"^gw\.corp\.example:8443$", r"^localhost:9999$"]


def test_config_endpoints_and_intercept_hosts_are_decrypted() -> None:
    settings = Settings.model_validate(
        {"endpoints": [{"host": "llm.corp.example", "shape": "anthropic-messages"}],
         "intercept_hosts": [r"auth\.corp\.example:443"]}
    )
    assert allowed(plan(settings).argv)[-2:] == [r"^llm\.corp\.example:\d+$", r"^auth\.corp\.example:443$"]


@pytest.mark.parametrize("spec", ["no-shape-here", "host=klingon", "host:99999=openai-chat"])
def test_bad_endpoint_is_refused(spec: str) -> None:
    with pytest.raises(LaunchError, match=r"^--endpoint: endpoint "):
        plan(endpoints=(spec,))


def test_reverse_only_run_has_no_allow_list() -> None:
    launch = plan(modes=("reverse:https://api.openai.com@8001", "reverse:https://api.anthropic.com@8002"))
    assert allowed(launch.argv) == []
    assert launch.argv[6:10] == (
        "--mode", "reverse:https://api.openai.com@8001", "--mode", "reverse:https://api.anthropic.com@8002",
    )
    assert launch.modes == ("reverse:https://api.openai.com@8001", "reverse:https://api.anthropic.com@8002")


@pytest.mark.parametrize(
    "extra",
    [("--mode", "reverse:https://api.openai.com@8001"), ("--mode=reverse:https://api.openai.com@8001",),
     ("-m", "reverse:https://api.openai.com@8001"), ("--set", "mode=reverse:https://api.openai.com@8001")],
)
def test_reverse_mode_after_double_dash_counts_too(extra: tuple[str, ...]) -> None:
    launch = plan(extra=extra)
    assert allowed(launch.argv) == []
    assert launch.argv[-len(extra) :] == extra


def test_mixed_regular_and_reverse_decrypts_the_reverse_target() -> None:
    launch = plan(modes=("regular", "reverse:http://127.0.0.1:11434@8002"))
    assert allowed(launch.argv)[:-1] == intercept_patterns()
    assert allowed(launch.argv)[-1] == r"^127\.0\.0\.1:11434$"


def test_extra_args_come_last_unchanged() -> None:
    extra = ("--set", "flow_detail=2", "--set", "wiretrim_mode=off", "-v")
    launch = plan(switch="on", extra=extra)
    assert launch.argv[-5:] == extra
    # mitmproxy applies --set in order, so the user's value after -- wins over the launcher's.
    assert sets(launch.argv).index("wiretrim_mode=on") < sets(launch.argv).index("wiretrim_mode=off")


def test_ignore_hosts_replaces_the_allow_list_with_a_warning() -> None:
    launch = plan(extra=("--ignore-hosts", r"^example\.com:443$"))
    assert allowed(launch.argv) == []
    assert launch.warnings == (
        "--ignore-hosts given: mitmproxy decrypts every other host (no --allow-hosts list)",
    )


def test_web_uses_mitmweb_without_a_browser() -> None:
    launch = plan(tool="mitmweb", web_port=9090)
    assert launch.tool == "mitmweb"
    assert sets(launch.argv) == [
        f"confdir={CONFDIR}", "web_open_browser=false", "web_host=127.0.0.1", "web_port=9090",
    ]
    assert allowed(launch.argv) == intercept_patterns()


def test_console_uses_mitmproxy_with_the_same_options() -> None:
    launch = plan(tool="mitmproxy", switch="on")
    assert launch.tool == "mitmproxy"
    assert sets(launch.argv) == [f"confdir={CONFDIR}", "wiretrim_mode=on"]
    assert allowed(launch.argv) == intercept_patterns()


@pytest.mark.parametrize("host", ["0.0.0.0", "", "::", "192.168.1.20", "proxy.lan"])
def test_non_loopback_listen_host_needs_allow_remote(host: str) -> None:
    with pytest.raises(LaunchError, match="reachable from other machines; add --allow-remote"):
        plan(listen_host=host)


@pytest.mark.parametrize(
    "extra", [("--listen-host", "0.0.0.0"), ("--listen-host=0.0.0.0",), ("--set", "listen_host=0.0.0.0")]
)
def test_non_loopback_after_double_dash_is_refused_too(extra: tuple[str, ...]) -> None:
    with pytest.raises(LaunchError, match=r"^--listen-host 0\.0\.0\.0 is reachable"):
        plan(extra=extra)


def test_non_loopback_web_ui_is_refused() -> None:
    with pytest.raises(LaunchError, match=r"^web host 0\.0\.0\.0 is reachable"):
        plan(tool="mitmweb", web_host="0.0.0.0")


def test_allow_remote_without_proxyauth_warns() -> None:
    launch = plan(listen_host="0.0.0.0", allow_remote=True)
    assert launch.argv[2:4] == ("--listen-host", "0.0.0.0")
    assert len(launch.warnings) == 1
    assert launch.warnings[0].startswith("listening on 0.0.0.0:8080 without --proxyauth")


@pytest.mark.parametrize("extra", [("--proxyauth", "me:secret"), ("--set", "proxyauth=me:secret")])
def test_allow_remote_with_proxyauth_is_quiet(extra: tuple[str, ...]) -> None:
    assert plan(listen_host="0.0.0.0", allow_remote=True, extra=extra).warnings == ()


@pytest.mark.parametrize(
    ("host", "loopback"),
    [("127.0.0.1", True), ("127.9.9.9", True), ("localhost", True), ("LOCALHOST", True), ("::1", True),
     ("[::1]", True), ("0.0.0.0", False), ("", False), ("::", False), ("10.0.0.1", False),
     ("example.com", False)],
)
def test_is_loopback(host: str, loopback: bool) -> None:
    assert is_loopback(host) is loopback
