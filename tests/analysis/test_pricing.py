"""Token pricing: per-model USD per million tokens, prefix and default fallback, config overrides."""

from __future__ import annotations

from typing import Any

import pytest

from errorsift.analysis.pricing import ModelPrice, PriceTable
from errorsift.errors import ConfigError

CASES = [
    # (model, input tokens, output tokens, expected USD)
    ("claude-sonnet-4-5", 1_000_000, 0, 3.0),
    ("claude-sonnet-4-5", 0, 1_000_000, 15.0),
    ("claude-sonnet-4-5", 1200, 350, 1200 * 3 / 1e6 + 350 * 15 / 1e6),
    ("claude-haiku-4-5", 2_000_000, 1_000_000, 2.0 + 5.0),
    ("claude-opus-4-1", 1000, 1000, 0.015 + 0.075),
    ("claude-sonnet-4-5-20250929", 1_000_000, 0, 3.0),  # dated snapshot → prefix
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
    assert table.as_dict()["my-model"] == {"input": 0.5, "output": 1.5}


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
