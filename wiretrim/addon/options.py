"""The addon's mitmproxy options, and the immutable setup the hooks read them through.

Four options, all ``wiretrim_``-prefixed; everything else lives in the YAML config. A
change builds a new `Setup` and swaps it in whole, so a request sees one consistent setup
from its first hook to its last. The engine runner (and the memo inside it), the ledger and
the metrics server are kept when the settings they were built from did not change.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, cast

from mitmproxy import http
from mitmproxy.addonmanager import Loader
from mitmproxy.exceptions import OptionsError

from wiretrim import paths, prices
from wiretrim.addon.metrics import Metrics
from wiretrim.addon.runner import Runner, make_runner
from wiretrim.addon.worker import EngineFactory
from wiretrim.config import MODES, ConfigError, Mode, Settings, load_settings
from wiretrim.endpoints import SHAPE_NAMES, CustomEndpoint, Endpoint, match
from wiretrim.ledger import Ledger

MODE = "wiretrim_mode"
CONFIG = "wiretrim_config"
ENDPOINT = "wiretrim_endpoint"
METRICS_PORT = "wiretrim_metrics_port"
NAMES = frozenset({MODE, CONFIG, ENDPOINT, METRICS_PORT})


def add_options(loader: Loader) -> None:
    loader.add_option(
        MODE, str, "",
        "Rewrite mode: 'on' forwards rewritten bodies, 'shadow' measures and forwards the original, "
        "'off' passes everything through. Empty uses the config file's mode (built-in default: off). "
        "A change applies from the next request.",
        choices=("", *MODES),
    )
    loader.add_option(
        CONFIG, str | None, None,  # type: ignore[arg-type]
        "Path of a wiretrim YAML config. Unset: $WIRETRIM_CONFIG, else ./wiretrim.yaml if present, "
        "else the built-in defaults.",
    )
    loader.add_option(
        ENDPOINT, Sequence[str], [],
        f"An extra LLM endpoint as HOST[:PORT][/PATH]=SHAPE, SHAPE one of {', '.join(SHAPE_NAMES)}. "
        "Repeatable. Its host must also be intercepted (--allow-hosts).",
    )
    loader.add_option(
        METRICS_PORT, int | None, None,  # type: ignore[arg-type]
        "Serve Prometheus metrics on 127.0.0.1 at this port (0: any free port). Unset uses the "
        "config file's metrics_port (built-in default: no metrics).",
    )


@dataclass(frozen=True, slots=True)
class Setup:
    settings: Settings
    mode: Mode
    custom: tuple[CustomEndpoint, ...]  # the config file's endpoints, then the option's
    runner: Runner
    prices: prices.PriceTable
    ledger: Ledger | None  # None: the ledger is off
    metrics: Metrics | None  # None: no metrics port

    @property
    def bookkeeping(self) -> bool:
        """True when responses are read for their usage: someone records it."""
        return self.ledger is not None or self.metrics is not None

    @property
    def max_body_bytes(self) -> int:
        return self.settings.max_body_bytes

    @property
    def budget_s(self) -> float:
        return self.settings.budget_ms / 1000

    def match(self, request: http.Request) -> Endpoint | None:
        return match(request.method, request.pretty_host, request.port, request.path, self.custom)


def _engine_part(s: Settings) -> tuple[Any, ...]:
    """The settings a running engine was built from: a change needs a new engine."""
    return s.compression, s.memo, s.executor


def parse_mode(value: str) -> Mode | None:
    """The option's mode, None for "use the config file's"; OptionsError otherwise."""
    mode = value.strip().lower()
    if not mode:
        return None
    if mode not in MODES:
        raise OptionsError(f"{MODE}: {value!r} is not one of {', '.join(MODES)} (or empty)")
    return cast(Mode, mode)


def parse_endpoints(specs: Iterable[str]) -> tuple[CustomEndpoint, ...]:
    try:
        return tuple(CustomEndpoint.parse(spec) for spec in specs)
    except ValueError as e:
        raise OptionsError(f"{ENDPOINT}: {e}") from None


def _ledger(settings: Settings, confdir: str, previous: Setup | None) -> Ledger | None:
    if not settings.ledger.enabled:
        return None
    path = paths.ledger(settings.ledger.path, confdir)
    if previous is not None and previous.ledger is not None and previous.ledger.path == path:
        return previous.ledger
    return Ledger(path)


def _metrics(port: int | None, previous: Setup | None) -> Metrics | None:
    if port is None:
        return None
    old = previous.metrics if previous is not None else None
    if old is not None and port in (0, old.port):
        return old
    if old is not None:
        old.close()  # free the port before binding again
    try:
        return Metrics(port)
    except OSError as e:
        why = e.strerror or e
        raise OptionsError(f"{METRICS_PORT}: cannot serve metrics on 127.0.0.1:{port} ({why})") from None


def retire(old: Setup, new: Setup) -> None:
    """Close what `old` holds and `new` does not reuse."""
    if old.runner is not new.runner:
        old.runner.close()
    if old.ledger is not None and old.ledger is not new.ledger:
        old.ledger.close()
    if old.metrics is not None and old.metrics is not new.metrics:
        old.metrics.close()


def close(setup: Setup) -> None:
    setup.runner.close()
    if setup.ledger is not None:
        setup.ledger.close()
    if setup.metrics is not None:
        setup.metrics.close()


def load(path: str | None) -> Settings:
    try:
        return load_settings(path)
    except ConfigError as e:
        raise OptionsError(f"{CONFIG}: {e}") from None


def build(
    values: Any,
    previous: Setup | None,
    updated: set[str],
    factory: EngineFactory,
) -> Setup:
    """The setup for the current option `values`, reusing what `previous` can lend.

    Raises OptionsError naming the option at fault.
    """
    mode = parse_mode(getattr(values, MODE))
    option_endpoints = parse_endpoints(getattr(values, ENDPOINT))
    reload = previous is None or CONFIG in updated
    settings = load(getattr(values, CONFIG)) if reload else previous.settings
    if reload or previous is None:
        try:
            price_table = prices.load(settings.prices)
        except prices.PriceError as e:
            raise OptionsError(f"{CONFIG}: prices: {e}") from None
    else:
        price_table = previous.prices
    port = getattr(values, METRICS_PORT)
    metrics = _metrics(settings.metrics_port if port is None else port, previous)
    if previous is not None and _engine_part(previous.settings) == _engine_part(settings):
        runner = previous.runner
    else:
        runner = make_runner(settings, factory)
    return Setup(
        settings=settings,
        mode=mode or settings.mode,
        custom=settings.custom_endpoints() + option_endpoints,
        runner=runner,
        prices=price_table,
        ledger=_ledger(settings, getattr(values, "confdir", "~/.mitmproxy"), previous),
        metrics=metrics,
    )
