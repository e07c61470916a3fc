"""Token prices per model family, and what a request cost or saved in dollars.

The shipped table (``wiretrim/data/prices.yaml``) holds defaults; ``prices:`` in the config
names a YAML file of the same form whose entries override them one by one. Models are found
by the longest matching prefix; an unknown model has no price, and every money figure for it
is None rather than a guess.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from wiretrim.usage import Usage

PER = 1_000_000  # prices are per million tokens


class Price(BaseModel):
    """Dollars per million tokens for one model family."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    input: float = Field(ge=0)
    output: float = Field(ge=0)
    cache_read: float | None = Field(None, ge=0)  # None: cache reads cost the input price
    cache_write: float | None = Field(None, ge=0)  # None: cache writes cost the input price


class _File(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    models: dict[str, Price] = {}


class PriceError(ValueError):
    """A price file that cannot be read or does not have the expected form."""


@dataclass(frozen=True, slots=True)
class Money:
    """What one request cost, and what its rewrite saved, in dollars."""

    cost: float | None  # from the response's usage, cache reads and writes at their prices
    saved: float | None  # tokens the rewrite removed, priced as uncached input


def normalize(model: str) -> str:
    """``models/gemini-2.5-pro`` and ``openai/gpt-4.1`` -> the bare, lower-case model name."""
    return model.strip().lower().rpartition("/")[2]


class PriceTable:
    def __init__(self, prices: Mapping[str, Price]) -> None:
        self._prices = {normalize(k): v for k, v in prices.items()}
        # Longest first, so the first prefix that matches is the longest one.
        self._order = sorted(self._prices, key=len, reverse=True)

    def __len__(self) -> int:
        return len(self._prices)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, PriceTable) and other._prices == self._prices

    __hash__ = None  # type: ignore[assignment]

    def lookup(self, model: str | None) -> Price | None:
        """The price of the longest known prefix of `model`, or None."""
        if not model:
            return None
        name = normalize(model)
        for prefix in self._order:
            if name.startswith(prefix):
                return self._prices[prefix]
        return None

    def cost(self, model: str | None, usage: Usage | None) -> float | None:
        """Dollars the response's usage cost; None without a price or without usage."""
        price = self.lookup(model)
        if price is None or usage is None or usage.empty:
            return None
        read = usage.cache_read_tokens or 0
        write = usage.cache_write_tokens or 0
        return (
            (usage.uncached_input_tokens or 0) * price.input
            + read * (price.input if price.cache_read is None else price.cache_read)
            + write * (price.input if price.cache_write is None else price.cache_write)
            + (usage.output_tokens or 0) * price.output
        ) / PER

    def saving(self, model: str | None, tokens_saved: int | None) -> float | None:
        """Dollars the removed tokens would have cost as uncached input (an upper bound when
        they would have been cache reads); None without a price or without a count."""
        price = self.lookup(model)
        if price is None or tokens_saved is None:
            return None
        return tokens_saved * price.input / PER

    def money(self, model: str | None, usage: Usage | None, tokens_saved: int | None) -> Money:
        return Money(self.cost(model, usage), self.saving(model, tokens_saved))


def _read(text: str, source: str) -> dict[str, Price]:
    try:
        data: Any = yaml.safe_load(text) or {}
    except yaml.YAMLError:
        raise PriceError(f"{source}: not valid YAML") from None
    try:
        return dict(_File.model_validate(data).models)
    except ValidationError as e:
        err = e.errors()[0]
        where = ".".join(str(p) for p in err["loc"])
        raise PriceError(f"{source}: {where}: {err['msg']}") from None


def defaults() -> dict[str, Price]:
    text = resources.files("wiretrim").joinpath("data/prices.yaml").read_text(encoding="utf-8")
    return _read(text, "wiretrim/data/prices.yaml")


def load(path: str | os.PathLike[str] | None = None) -> PriceTable:
    """The shipped prices, overridden entry by entry by the file at `path`; raises PriceError."""
    prices = defaults()
    if path is not None:
        try:
            text = Path(path).expanduser().read_text(encoding="utf-8")
        except OSError as e:
            raise PriceError(f"{path}: cannot read ({e.strerror or e})") from None
        prices.update(_read(text, str(path)))
    return PriceTable(prices)


__all__ = ["Money", "Price", "PriceError", "PriceTable", "defaults", "load", "normalize"]
