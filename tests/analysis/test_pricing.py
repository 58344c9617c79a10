"""Token pricing: per-model USD per million tokens, prefix and default fallback, config overrides."""

from __future__ import annotations

from typing import Any

import pytest

from errorsift.analysis.pricing import ModelPrice, PriceTable
from errorsift.errors import ConfigError

CASES = [
    # (model, input tokens, output tokens, expected USD)
    ("claude-sonnet-4-5", 200_000, 0, 0.6),  # exactly the tier threshold: still the base price
    ("claude-sonnet-4-5", 0, 1_000_000, 15.0),
    ("claude-sonnet-4-5", 1200, 350, 1200 * 3 / 1e6 + 350 * 15 / 1e6),
    ("claude-haiku-4-5", 2_000_000, 1_000_000, 2.0 + 5.0),
    ("claude-opus-4-1", 1000, 1000, 0.015 + 0.075),
    ("claude-sonnet-4-5-20250929", 100_000, 0, 0.3),  # dated snapshot → prefix
    ("claude-opus-4-1-20250805", 1_000_000, 0, 15.0),  # longest prefix wins over claude-opus-4
    ("some-unknown-model", 1_000_000, 1_000_000, 3.0 + 15.0),  # default row
    ("claude-haiku-4-5", 0, 0, 0.0),
]


@pytest.mark.parametrize(("model", "tin", "tout", "usd"), CASES, ids=[f"{c[0]}-{c[1]}-{c[2]}" for c in CASES])
def test_default_prices(model: str, tin: int, tout: int, usd: float) -> None:
    assert PriceTable().cost(model, tin, tout) == pytest.approx(usd)


def test_configured_prices_override_and_extend() -> None:
    table = PriceTable.from_dict(
        {"claude-sonnet-4-5": {"input": 2, "output": 10}, "my-model": (0.5, 1.5), "default": ModelPrice(9, 9)}
    )
    assert table.cost("claude-sonnet-4-5", 1_000_000, 1_000_000) == pytest.approx(12.0)
    assert table.cost("my-model", 1_000_000, 1_000_000) == pytest.approx(2.0)
    assert table.cost("nope", 1_000_000, 0) == pytest.approx(9.0)
    assert table.cost("claude-haiku-4-5", 1_000_000, 0) == pytest.approx(1.0)  # defaults kept
    assert table.as_dict()["my-model"] == {"input": 0.5, "output": 1.5, "cache_write": 0.625, "cache_read": 0.05}


@pytest.mark.parametrize(
    ("prices", "include_defaults", "match"),
    [
        ({"m": {"input": 1}}, True, "prices.m needs 'input' and 'output'"),
        ({"m": "cheap"}, True, "prices.m must be"),
        ({"m": {"input": "x", "output": 1}}, True, "prices.m: could not convert"),
        ({"m": (-1, 2)}, True, "prices.m: prices must be >= 0"),
        ({"m": (1, 2)}, False, "'default' row"),
    ],
)
def test_bad_price_config_is_a_clear_error(prices: dict[str, Any], include_defaults: bool, match: str) -> None:
    with pytest.raises(ConfigError, match=match):
        PriceTable(prices, include_defaults=include_defaults)


def test_negative_tokens_rejected() -> None:
    with pytest.raises(ValueError):
        PriceTable().cost("claude-sonnet-4-5", -1, 0)


def test_cache_tokens_are_priced_apart_and_batches_at_half() -> None:
    table = PriceTable()
    # Sonnet 4.5: input 3, output 15, cache write 3.75, cache read 0.30 per Mtok.
    usd = table.cost("claude-sonnet-4-5", 1000, 500, cache_write_tokens=2000, cache_read_tokens=0)
    assert usd == pytest.approx((1000 * 3 + 500 * 15 + 2000 * 3.75) / 1e6)
    read = table.cost("claude-sonnet-4-5", 1000, 500, cache_read_tokens=2000)
    assert read == pytest.approx((1000 * 3 + 500 * 15 + 2000 * 0.30) / 1e6)
    assert table.cost("claude-sonnet-4-5", 1000, 500, batch=True) == pytest.approx(
        table.cost("claude-sonnet-4-5", 1000, 500) / 2
    )
    # OpenAI: cached input at the cache-read price, no write surcharge.
    assert table.cost("gpt-4o-mini", 0, 0, cache_read_tokens=1_000_000) == pytest.approx(0.075)


def test_size_tier_applies_to_the_whole_call_above_its_threshold() -> None:
    table = PriceTable()
    below = table.cost("claude-sonnet-4-5", 150_000, 1000, cache_read_tokens=50_000)
    above = table.cost("claude-sonnet-4-5", 150_000, 1000, cache_read_tokens=50_001)
    assert below == pytest.approx((150_000 * 3 + 1000 * 15 + 50_000 * 0.3) / 1e6)
    assert above == pytest.approx((150_000 * 6 + 1000 * 22.5 + 50_001 * 0.6) / 1e6)


def test_configured_rows_with_cache_prices_tiers_and_date() -> None:
    table = PriceTable(
        {
            "as_of": "2026-01-01",
            "m": {
                "input": 1,
                "output": 2,
                "cache_write": 1.5,
                "cache_read": 0.1,
                "tiers": [{"above_input_tokens": 1000, "input": 10, "output": 20}],
            },
            "local": [0, 0],
        }
    )
    assert table.as_of == "2026-01-01" and table.as_dict()["as_of"] == "2026-01-01"
    assert table.cost("m", 100, 100, cache_write_tokens=100, cache_read_tokens=100) == pytest.approx(
        (100 * 1 + 100 * 2 + 100 * 1.5 + 100 * 0.1) / 1e6
    )
    assert table.cost("m", 2000, 0) == pytest.approx(2000 * 10 / 1e6)
    assert table.cost("local", 10**6, 10**6) == 0.0
    with pytest.raises(ConfigError, match="tiers"):
        PriceTable({"m": {"input": 1, "output": 2, "tiers": [{"input": 3}]}})
