"""The config file, its environment overrides, and how a bad one stops the CLI (exit 2, one line)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from pydantic import BaseModel

from wiretrim import cli, launch
from wiretrim.config import ConfigError, Settings, load_settings

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "wiretrim.example.yaml"


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[None]:
    """No WIRETRIM_* variables and no ./wiretrim.yaml from the developer's shell."""
    for name in list(os.environ):
        if name.startswith("WIRETRIM_"):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)
    yield


def write(tmp_path: Path, text: str, name: str = "wt.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


@pytest.mark.parametrize(
    ("yaml_text", "message"),
    [
        ("compression:\n  level: extreme\n", r"compression\.level: Input should be 'lossless', 'balanced'"),
        ("compresion:\n  level: lossless\n", r"compresion: unknown setting$"),
        ("budget_ms: 0\n", r"budget_ms: Input should be greater than or equal to 1$"),
        ("endpoints:\n  - host: gw.example\n    shape: klingon\n", r"endpoints\.0: unknown shape 'klingon'"),
        ("compression:\n  transforms: [nope]\n", r"compression\.transforms: unknown transform\(s\) \['nope'"),
        ("mode: fast\n", r"mode: Input should be 'off', 'shadow' or 'on'$"),
        ("compression_enabled: maybe\n", r"compression_enabled must be true or false"),
        ("mode: [on\n", r"not valid YAML at line 2$"),
        ("- just\n- a list\n", r"the top level must be a mapping of settings$"),
    ],
)
def test_file_errors_name_the_field(tmp_path: Path, yaml_text: str, message: str) -> None:
    path = write(tmp_path, yaml_text)
    with pytest.raises(ConfigError, match=message) as info:
        load_settings(path, env={})
    assert str(info.value).startswith(f"{path}: ")
    assert "\n" not in str(info.value)


def test_missing_file_is_one_line(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"nope\.yaml: cannot read \(No such file or directory\)$"):
        load_settings(tmp_path / "nope.yaml", env={})


@pytest.mark.parametrize("command", ["run", "web", "compress"])
def test_bad_config_stops_the_cli_with_exit_2_and_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, command: str
) -> None:
    def no_proxy(plan: launch.Launch) -> int:
        raise AssertionError("a proxy must not start with a bad config")

    monkeypatch.setattr(launch, "run", no_proxy)
    path = write(tmp_path, "compression:\n  level: extreme\n")
    argv = [command, "--config", str(path)]
    argv += ["/dev/null"] if command == "compress" else ["--confdir", str(tmp_path / "ca")]
    assert cli.main(argv) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert err.startswith(f"wiretrim: {path}: compression.level: Input should be")
    assert not (tmp_path / "ca").exists()  # stopped before creating anything


@pytest.mark.parametrize(
    ("text", "mode"),
    [("mode: on\n", "on"), ("mode: off\n", "off"), ("mode: shadow\n", "shadow"), ("mode: 'on'\n", "on"),
     ("mode: true\n", "on")],
)
def test_mode_in_yaml(tmp_path: Path, text: str, mode: str) -> None:
    # YAML 1.1 reads a bare on/off as a boolean; both spellings mean the mode.
    assert load_settings(write(tmp_path, text), env={}).mode == mode


@pytest.mark.parametrize(
    ("text", "mode"),
    [("compression_enabled: true\n", "on"), ("compression_enabled: false\n", "off"),
     ("compression_enabled: true\nmode: shadow\n", "shadow")],
)
def test_compression_enabled_alias(tmp_path: Path, text: str, mode: str) -> None:
    assert load_settings(write(tmp_path, text), env={}).mode == mode


def test_default_is_off_so_a_new_deployment_changes_nothing() -> None:
    assert load_settings(None, env={}).mode == "off"


def test_env_overrides_the_file(tmp_path: Path) -> None:
    path = write(tmp_path, "mode: on\ncompression:\n  level: aggressive\n  min_slot_tokens: 10\n")
    env = {
        "WIRETRIM_MODE": "shadow",
        "WIRETRIM_COMPRESSION__LEVEL": "lossless",
        "WIRETRIM_INTERCEPT_HOSTS": r"[llm-gw\.corp\.example:443]",
        "WIRETRIM_BREAKER__STATUSES": "[400, 500]",
    }
    s = load_settings(path, env=env)
    assert (s.mode, s.compression.level, s.compression.min_slot_tokens) == ("shadow", "lossless", 10)
    assert s.intercept_hosts == (r"llm-gw\.corp\.example:443",)
    assert s.breaker.statuses == (400, 500)


def test_env_names_the_config_file_and_the_confdir_is_not_a_setting(tmp_path: Path) -> None:
    path = write(tmp_path, "mode: shadow\n")
    s = load_settings(None, env={"WIRETRIM_CONFIG": str(path), "WIRETRIM_CONFDIR": str(tmp_path / "ca")})
    assert s.mode == "shadow"


def test_wiretrim_yaml_in_the_working_directory_is_read(tmp_path: Path) -> None:
    write(tmp_path, "mode: shadow\n", "wiretrim.yaml")
    assert load_settings(None, env={}).mode == "shadow"


def test_bad_env_value_names_the_variable_path() -> None:
    with pytest.raises(ConfigError, match=r"^defaults \+ environment: compression\.level: Input should be"):
        load_settings(None, env={"WIRETRIM_COMPRESSION__LEVEL": "max"})
    with pytest.raises(ConfigError, match=r"^defaults \+ environment: colour: unknown setting$"):
        load_settings(None, env={"WIRETRIM_COLOUR": "blue"})


def test_bad_env_value_stops_the_cli(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("WIRETRIM_MODE", "sometimes")
    assert cli.main(["run"]) == 2
    assert capsys.readouterr().err == (
        "wiretrim: defaults + environment: mode: Input should be 'off', 'shadow' or 'on'\n"
    )


# -- the shipped example -----------------------------------------------------------------------------


def field_names(model: type[BaseModel], prefix: str = "") -> Iterator[str]:
    for name, field in model.model_fields.items():
        yield prefix + name
        sub = field.annotation
        if isinstance(sub, type) and issubclass(sub, BaseModel):
            yield from field_names(sub, f"{prefix}{name}.")


def test_example_validates_and_shows_the_defaults() -> None:
    assert load_settings(EXAMPLE, env={}) == Settings()


def test_example_documents_every_setting() -> None:
    text = EXAMPLE.read_text()
    missing = [n for n in field_names(Settings) if f"{n.rsplit('.', 1)[-1]}:" not in text]
    assert missing == []
