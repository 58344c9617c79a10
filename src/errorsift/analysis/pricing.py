"""Token prices, so every model call and every run can say what it cost (SPEC layer 3).

Prices are data, not code: a `PriceTable` maps a model id to USD per million input and output
tokens. List prices change, so the defaults are a starting point and a deployment overrides
them from configuration (``PriceTable.from_dict``). Dated snapshot ids such as
``claude-sonnet-4-5-20250929`` resolve to the longest matching prefix; anything unknown falls
back to the ``default`` row, so cost is never silently zero for a model we forgot to list.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from errorsift.errors import ConfigError

__all__ = ["DEFAULT_MODEL_KEY", "DEFAULT_PRICES", "ModelPrice", "PriceTable"]

DEFAULT_MODEL_KEY = "default"
_PER = 1_000_000


@dataclass(frozen=True, slots=True)
class ModelPrice:
    """USD per million tokens for one model."""

    input_per_mtok: float
    output_per_mtok: float

    def __post_init__(self) -> None:
        if self.input_per_mtok < 0 or self.output_per_mtok < 0:
            raise ValueError(f"prices must be >= 0, got {self.input_per_mtok}/{self.output_per_mtok}")


# Anthropic list prices (standard tier, no prompt caching). Check them against the provider's
# pricing page before relying on the totals for budgeting.
DEFAULT_PRICES: Mapping[str, ModelPrice] = {
    "claude-opus-4-5": ModelPrice(5.0, 25.0),
    "claude-opus-4-1": ModelPrice(15.0, 75.0),
    "claude-opus-4": ModelPrice(15.0, 75.0),
    "claude-sonnet-4-5": ModelPrice(3.0, 15.0),
    "claude-sonnet-4": ModelPrice(3.0, 15.0),
    "claude-haiku-4-5": ModelPrice(1.0, 5.0),
    "claude-3-5-haiku": ModelPrice(0.8, 4.0),
    DEFAULT_MODEL_KEY: ModelPrice(3.0, 15.0),
}


def _coerce(model: str, value: Any) -> ModelPrice:
    """Accept the shapes a config file naturally produces for one row; a bad row is a ConfigError."""
    if isinstance(value, ModelPrice):
        return value
    try:
        if isinstance(value, Mapping):
            return ModelPrice(float(value["input"]), float(value["output"]))
        if isinstance(value, Iterable) and not isinstance(value, str | bytes):
            pair = list(value)
            if len(pair) == 2:
                return ModelPrice(float(pair[0]), float(pair[1]))
    except KeyError:
        raise ConfigError(f"prices.{model} needs 'input' and 'output' (USD per million tokens)") from None
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"prices.{model}: {exc}") from None
    raise ConfigError(f"prices.{model} must be {{input: x, output: y}} or [x, y], got {value!r}")


class PriceTable:
    """Per-model prices with prefix and ``default`` fallback.

    `prices` rows override (or add to) `DEFAULT_PRICES` unless ``include_defaults=False``.
    Each row is a `ModelPrice`, an ``(input, output)`` pair or ``{"input": x, "output": y}``;
    a malformed row raises `ConfigError` naming the row (prices come from the config file).
    """

    def __init__(self, prices: Mapping[str, Any] | None = None, *, include_defaults: bool = True) -> None:
        rows: dict[str, ModelPrice] = dict(DEFAULT_PRICES) if include_defaults else {}
        for model, value in (prices or {}).items():
            rows[model] = _coerce(model, value)
        if DEFAULT_MODEL_KEY not in rows:
            raise ConfigError(f"prices needs a {DEFAULT_MODEL_KEY!r} row for models it does not list")
        self._rows = rows
        # Longest first, so "claude-opus-4-1" wins over "claude-opus-4" for "claude-opus-4-1-2025…".
        self._prefixes = sorted((m for m in rows if m != DEFAULT_MODEL_KEY), key=len, reverse=True)

    @classmethod
    def from_dict(cls, prices: Mapping[str, Any], *, include_defaults: bool = True) -> PriceTable:
        """Build from configuration, e.g. ``{"claude-sonnet-4-5": {"input": 3, "output": 15}}``."""
        return cls(prices, include_defaults=include_defaults)

    def as_dict(self) -> dict[str, dict[str, float]]:
        """The table as plain data (for settings output and the run log)."""
        return {m: {"input": p.input_per_mtok, "output": p.output_per_mtok} for m, p in self._rows.items()}

    def price_for(self, model: str) -> ModelPrice:
        """Exact id, else the longest listed prefix (dated snapshots), else ``default``."""
        if model in self._rows:
            return self._rows[model]
        for prefix in self._prefixes:
            if model.startswith(prefix):
                return self._rows[prefix]
        return self._rows[DEFAULT_MODEL_KEY]

    def cost(self, model: str, input_tokens: int, output_tokens: int) -> float:
        """USD for one call: tokens / 1M × the model's rate, input and output priced separately."""
        if input_tokens < 0 or output_tokens < 0:
            raise ValueError(f"token counts must be >= 0, got {input_tokens}/{output_tokens}")
        price = self.price_for(model)
        return input_tokens * price.input_per_mtok / _PER + output_tokens * price.output_per_mtok / _PER
