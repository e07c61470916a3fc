"""Configuration: one validated model, from YAML, then environment, then command-line options.

Every user mistake becomes one :class:`ConfigError` whose message names the field, so a bad
config stops start-up with a one-line error instead of failing mid-flow.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from wiretrim.compression import EngineSettings
from wiretrim.compression.transforms import LEVELS, names
from wiretrim.endpoints import SHAPE_NAMES, CustomEndpoint

Mode = Literal["off", "shadow", "on"]
MODES: tuple[str, ...] = ("off", "shadow", "on")
ENV_PREFIX = "WIRETRIM_"
# WIRETRIM_* variables that are not settings: the config file's path and the CA directory.
_NOT_SETTINGS = frozenset({f"{ENV_PREFIX}CONFIG", f"{ENV_PREFIX}CONFDIR"})
DEFAULT_FILE = "wiretrim.yaml"


class ConfigError(ValueError):
    """A configuration the user wrote (file, environment or option) is invalid."""


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class CompressionConfig(_Model):
    level: Literal["lossless", "balanced", "aggressive"] = "balanced"
    compress_system: bool = False
    min_slot_tokens: int = Field(200, ge=0)
    min_saved_tokens: int = Field(64, ge=0)
    min_saved_ratio: float = Field(0.05, ge=0, le=1)
    lossy_above_tokens: int = Field(1500, ge=0)
    reference_repeats: bool = True
    transforms: tuple[str, ...] | None = None
    encoding: str = "auto"

    @field_validator("transforms")
    @classmethod
    def _known_transforms(cls, value: tuple[str, ...] | None) -> tuple[str, ...] | None:
        if value is not None:
            unknown = [n for n in value if n not in names()]
            if unknown:
                raise ValueError(f"unknown transform(s) {unknown}; known: {', '.join(names())}")
        return value


class EndpointConfig(_Model):
    host: str  # host[:port][/path-prefix]
    shape: str

    @model_validator(mode="after")
    def _valid(self) -> EndpointConfig:
        if self.shape not in SHAPE_NAMES:
            raise ValueError(f"unknown shape {self.shape!r}; known: {', '.join(SHAPE_NAMES)}")
        CustomEndpoint.parse(f"{self.host}={self.shape}")
        return self

    def to_custom(self) -> CustomEndpoint:
        return CustomEndpoint.parse(f"{self.host}={self.shape}")


class BreakerConfig(_Model):
    statuses: tuple[int, ...] = (400, 413, 422)
    cooldown_s: int = Field(600, ge=0)


class MemoConfig(_Model):
    max_entries: int = Field(200_000, ge=0)
    max_mb: int = Field(256, ge=1)
    path: str | None = None  # a SQLite file; unset keeps the memo in memory only
    ttl_hours: int = Field(168, ge=1)


class LedgerConfig(_Model):
    enabled: bool = True
    path: str | None = None  # unset: wiretrim-ledger.sqlite in the proxy's confdir


class Settings(_Model):
    mode: Mode = "off"  # off: pass through; shadow: measure only; on: forward the rewritten body
    compression: CompressionConfig = CompressionConfig()
    endpoints: tuple[EndpointConfig, ...] = ()
    intercept_hosts: tuple[str, ...] = ()  # extra host:port regexes to decrypt (without rewriting)
    max_body_mb: float = Field(32, gt=0)  # larger bodies are forwarded untouched
    budget_ms: int = Field(250, ge=1)  # compression time after which the original goes upstream
    executor: Literal["process", "thread"] = "process"
    bypass_header: str = "x-wiretrim"
    breaker: BreakerConfig = BreakerConfig()
    memo: MemoConfig = MemoConfig()
    ledger: LedgerConfig = LedgerConfig()
    metrics_port: int | None = Field(None, ge=0, lt=65536)
    prices: str | None = None  # a YAML price table overriding the shipped one

    @model_validator(mode="before")
    @classmethod
    def _compression_enabled(cls, data: Any) -> Any:
        """Accept ``compression_enabled: true/false`` as the switch for on/off."""
        if isinstance(data, dict) and isinstance(data.get("mode"), bool):
            # YAML 1.1 reads a bare `mode: on` / `mode: off` as a boolean.
            data = {**data, "mode": "on" if data["mode"] else "off"}
        if isinstance(data, dict) and "compression_enabled" in data:
            data = dict(data)
            enabled = data.pop("compression_enabled")
            if not isinstance(enabled, bool):
                raise ValueError("compression_enabled must be true or false")
            data.setdefault("mode", "on" if enabled else "off")
        return data

    def custom_endpoints(self) -> tuple[CustomEndpoint, ...]:
        return tuple(e.to_custom() for e in self.endpoints)

    @property
    def max_body_bytes(self) -> int:
        return int(self.max_body_mb * 1024 * 1024)

    def engine_settings(self) -> EngineSettings:
        c = self.compression
        return EngineSettings(
            level=c.level,
            compress_system=c.compress_system,
            min_slot_tokens=c.min_slot_tokens,
            min_saved_tokens=c.min_saved_tokens,
            min_saved_ratio=c.min_saved_ratio,
            lossy_above_tokens=c.lossy_above_tokens,
            reference_repeats=c.reference_repeats,
            transforms=c.transforms,
        )


def _env_overrides(env: Mapping[str, str]) -> dict[str, Any]:
    """``WIRETRIM_MODE=on``, ``WIRETRIM_COMPRESSION__LEVEL=lossless``: nested keys joined by ``__``."""
    out: dict[str, Any] = {}
    for name, raw in sorted(env.items()):
        if not name.startswith(ENV_PREFIX) or name in _NOT_SETTINGS:
            continue
        keys = [k.lower() for k in name[len(ENV_PREFIX) :].split("__") if k]
        if not keys:
            continue
        # Plain values stay strings for pydantic to coerce ("on" must not become True);
        # lists and mappings are written in YAML flow style.
        value: Any = raw
        if raw.strip().startswith(("[", "{")):
            try:
                value = yaml.safe_load(raw)
            except yaml.YAMLError:
                raise ConfigError(f"{name}: not a valid YAML list or mapping") from None
        node = out
        for k in keys[:-1]:
            node = node.setdefault(k, {})
            if not isinstance(node, dict):
                raise ConfigError(f"{name}: conflicts with another WIRETRIM_ variable")
        node[keys[-1]] = value
    return out


def _merge(base: dict[str, Any], over: Mapping[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for k, v in over.items():
        if isinstance(v, Mapping) and isinstance(out.get(k), Mapping):
            out[k] = _merge(dict(out[k]), v)
        else:
            out[k] = v
    return out


def _describe(e: ValidationError, source: str) -> str:
    err = e.errors()[0]
    where = ".".join(str(p) for p in err["loc"]) or "(top level)"
    msg = err["msg"].removeprefix("Value error, ")
    more = f" (and {len(e.errors()) - 1} more)" if len(e.errors()) > 1 else ""
    if err["type"] == "extra_forbidden":
        msg = "unknown setting"
    return f"{source}: {where}: {msg}{more}"


def config_path(path: str | None, env: Mapping[str, str]) -> str | None:
    """The config file `load_settings` reads: `path`, else ``$WIRETRIM_CONFIG``, else
    ``./wiretrim.yaml`` when present; None for the built-in defaults."""
    if path is not None:
        return path
    return env.get(f"{ENV_PREFIX}CONFIG") or (DEFAULT_FILE if Path(DEFAULT_FILE).is_file() else None)


def load_settings(
    path: str | os.PathLike[str] | None = None,
    env: Mapping[str, str] | None = None,
    overrides: Mapping[str, Any] | None = None,
) -> Settings:
    """Settings from the YAML file (if any), then WIRETRIM_* variables, then `overrides`.

    `path` None means ``$WIRETRIM_CONFIG`` or ``./wiretrim.yaml`` when present, else defaults.
    Raises ConfigError.
    """
    env = os.environ if env is None else env
    path = config_path(path, env)
    data: dict[str, Any] = {}
    source = "defaults"
    if path is not None:
        source = str(path)
        try:
            text = Path(path).read_text(encoding="utf-8")
        except OSError as e:
            raise ConfigError(f"{path}: cannot read ({e.strerror or e})") from None
        try:
            loaded = yaml.safe_load(text)
        except yaml.YAMLError as e:
            mark = getattr(e, "problem_mark", None)
            where = f" at line {mark.line + 1}" if mark is not None else ""
            raise ConfigError(f"{path}: not valid YAML{where}") from None
        if loaded is not None and not isinstance(loaded, dict):
            raise ConfigError(f"{path}: the top level must be a mapping of settings")
        data = loaded or {}
    env_data = _env_overrides(env)
    if env_data:
        data = _merge(data, env_data)
        source = f"{source} + environment"
    if overrides:
        data = _merge(data, overrides)
    try:
        return Settings.model_validate(data)
    except ValidationError as e:
        raise ConfigError(_describe(e, source)) from None


__all__ = ["LEVELS", "MODES", "ConfigError", "Settings", "load_settings"]
