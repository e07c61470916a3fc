"""The price table: longest-prefix lookup, overrides, money from usage, unknown models."""

from __future__ import annotations

from pathlib import Path

import pytest

from wiretrim import prices
from wiretrim.prices import Price, PriceTable
from wiretrim.usage import Usage

TABLE = PriceTable(
    {
        "gpt-4.1": Price(input=2.0, cache_read=0.5, output=8.0),
        "gpt-4.1-mini": Price(input=0.4, cache_read=0.1, output=1.6),
        "claude-sonnet-4": Price(input=3.0, cache_read=0.3, cache_write=3.75, output=15.0),
        "plain": Price(input=1.0, output=2.0),
    }
)


@pytest.mark.parametrize(
    ("model", "family"),
    [
        ("gpt-4.1", "gpt-4.1"),
        ("gpt-4.1-2025-04-14", "gpt-4.1"),
        ("gpt-4.1-mini-2025-04-14", "gpt-4.1-mini"),  # the longest prefix wins
        ("GPT-4.1-Mini", "gpt-4.1-mini"),
        ("openai/gpt-4.1-mini", "gpt-4.1-mini"),  # a gateway's vendor prefix
        ("models/claude-sonnet-4-5-20250929", "claude-sonnet-4"),
        ("gpt-4", None),
        ("llama3.2:8b", None),
        ("", None),
        (None, None),
    ],
)
def test_models_are_found_by_their_longest_known_prefix(model: str | None, family: str | None) -> None:
    expected = None if family is None else TABLE.lookup(family)
    assert TABLE.lookup(model) == expected


def test_cost_prices_cache_reads_and_writes_at_their_own_rates() -> None:
    usage = Usage(
        input_tokens=1_000_000, output_tokens=100_000, cache_read_tokens=600_000, cache_write_tokens=200_000
    )
    # 200k uncached at 3.00, 600k reads at 0.30, 200k writes at 3.75, 100k output at 15.00
    assert TABLE.cost("claude-sonnet-4-5", usage) == pytest.approx(0.6 + 0.18 + 0.75 + 1.5)


def test_without_cache_prices_cached_tokens_cost_the_input_price() -> None:
    usage = Usage(input_tokens=1_000_000, output_tokens=0, cache_read_tokens=500_000, cache_write_tokens=0)
    assert TABLE.cost("plain", usage) == pytest.approx(1.0)


def test_savings_are_tokens_priced_as_uncached_input() -> None:
    assert TABLE.saving("gpt-4.1-mini", 250_000) == pytest.approx(0.1)
    assert TABLE.money("gpt-4.1", None, 1_000_000) == prices.Money(cost=None, saved=pytest.approx(2.0))


@pytest.mark.parametrize("model", ["unknown-model", None])
def test_an_unknown_model_has_no_money_figures(model: str | None) -> None:
    assert TABLE.money(model, Usage(100, 10), 50) == prices.Money(None, None)


def test_the_shipped_table_loads_and_covers_the_common_families() -> None:
    table = prices.load()
    for model in (
        "gpt-4.1",
        "gpt-4o-mini",
        "gpt-5.4-mini",
        "claude-sonnet-4-5",
        "claude-opus-4-6",
        "claude-haiku-4-5",
        "gemini-2.5-pro",
        "gemini-2.5-flash",
        "command-a-03-2025",
        "deepseek-chat",
    ):
        assert table.lookup(model) is not None, model
    assert table.lookup("claude-opus-4-1").input == 15.0  # type: ignore[union-attr]
    assert table.lookup("claude-opus-4-5-20251101").input == 5.0  # type: ignore[union-attr]


def test_a_user_file_overrides_and_adds_entries(tmp_path: Path) -> None:
    mine = tmp_path / "prices.yaml"
    mine.write_text("models:\n  gpt-4.1: {input: 1.0, output: 4.0}\n  my-finetune: {input: 9, output: 9}\n")
    table = prices.load(mine)
    assert table.lookup("gpt-4.1") == Price(input=1.0, output=4.0)
    assert table.lookup("my-finetune-v2") == Price(input=9, output=9)
    assert table.lookup("gpt-4o") == prices.load().lookup("gpt-4o")  # the rest stays


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("models: [1, 2]", "models: Input should be a valid dictionary"),
        (
            "models:\n  x: {input: -1, output: 1}",
            "models.x.input: Input should be greater than or equal to 0",
        ),
        (
            "models:\n  x: {input: 1, output: 1, cached: 0.1}",
            "models.x.cached: Extra inputs are not permitted",
        ),
        ("models: {x: [", "not valid YAML"),
    ],
)
def test_a_bad_price_file_is_one_error_naming_the_entry(tmp_path: Path, text: str, message: str) -> None:
    bad = tmp_path / "p.yaml"
    bad.write_text(text)
    with pytest.raises(prices.PriceError, match=f"^{bad}: {message}"):
        prices.load(bad)


def test_a_missing_price_file_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(prices.PriceError, match="cannot read"):
        prices.load(tmp_path / "nope.yaml")
