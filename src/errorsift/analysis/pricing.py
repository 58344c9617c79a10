"""Token prices, so every model call and every run can say what it cost (SPEC layer 3).

Prices are data, not code. A `PriceTable` maps a model id to USD per million tokens for four
kinds of token, because providers bill them differently:

* ``input`` — uncached input tokens;
* ``output`` — generated tokens;
* ``cache_write`` — input written to the prompt cache (Anthropic: 1.25 × input for the 5-minute
  cache; OpenAI: not billed extra, so equal to ``input``);
* ``cache_read`` — input served from the prompt cache (Anthropic 0.1 ×, OpenAI 0.1–0.5 × input).

A row may have *size tiers*: long-context prices that apply to the whole call once its total input
(uncached + cache write + cache read) exceeds a threshold, as Anthropic bills prompts over 200k
tokens. Batch calls (Message Batches API) cost `batch_discount` of the standard price (0.5).

The table is dated (`as_of`): list prices change, so a deployment overrides rows from its config
file, and raw usage is stored per call so any past cost can be recomputed. Dated snapshot ids
such as ``claude-sonnet-4-5-20250929`` resolve to the longest matching prefix; anything unknown
falls back to the ``default`` row, so cost is never silently zero for a model nobody listed.
A local model (Ollama, vLLM) costs what its row says: add ``{"llama3.1": [0, 0]}``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from errorsift.errors import ConfigError

__all__ = ["DEFAULT_AS_OF", "DEFAULT_MODEL_KEY", "DEFAULT_PRICES", "ModelPrice", "PriceTable", "PriceTier"]

DEFAULT_MODEL_KEY = "default"
DEFAULT_AS_OF = "2025-11-24"
"""The day the built-in rows were checked against the providers' public price pages."""
BATCH_DISCOUNT = 0.5
_PER = 1_000_000


@dataclass(frozen=True, slots=True)
class PriceTier:
    """Prices that replace the base row once a call's total input exceeds `above_input_tokens`."""

    above_input_tokens: int
    input_per_mtok: float
    output_per_mtok: float
    cache_write_per_mtok: float
    cache_read_per_mtok: float


@dataclass(frozen=True, slots=True)
class ModelPrice:
    """USD per million tokens for one model; cache prices default to Anthropic's ratios of input."""

    input_per_mtok: float
    output_per_mtok: float
    cache_write_per_mtok: float | None = None
    cache_read_per_mtok: float | None = None
    tiers: tuple[PriceTier, ...] = field(default=())

    def __post_init__(self) -> None:
        values = (self.input_per_mtok, self.output_per_mtok, self.cache_write_per_mtok, self.cache_read_per_mtok)
        if any(v is not None and v < 0 for v in values):
            raise ValueError(f"prices must be >= 0, got {self.input_per_mtok}/{self.output_per_mtok}")
        if self.cache_write_per_mtok is None:
            object.__setattr__(self, "cache_write_per_mtok", round(self.input_per_mtok * 1.25, 6))
        if self.cache_read_per_mtok is None:
            object.__setattr__(self, "cache_read_per_mtok", round(self.input_per_mtok * 0.1, 6))
        object.__setattr__(self, "tiers", tuple(sorted(self.tiers, key=lambda t: t.above_input_tokens)))

    def rates(self, total_input: int) -> tuple[float, float, float, float]:
        """(input, output, cache write, cache read) USD/Mtok for a call with this much input."""
        chosen: PriceTier | None = None
        for tier in self.tiers:
            if total_input > tier.above_input_tokens:
                chosen = tier
        if chosen is not None:
            return (
                chosen.input_per_mtok,
                chosen.output_per_mtok,
                chosen.cache_write_per_mtok,
                chosen.cache_read_per_mtok,
            )
        return (
            self.input_per_mtok,
            self.output_per_mtok,
            float(self.cache_write_per_mtok or 0.0),
            float(self.cache_read_per_mtok or 0.0),
        )

    def as_dict(self) -> dict[str, Any]:
        row: dict[str, Any] = {
            "input": self.input_per_mtok,
            "output": self.output_per_mtok,
            "cache_write": self.cache_write_per_mtok,
            "cache_read": self.cache_read_per_mtok,
        }
        if self.tiers:
            row["tiers"] = [
                {
                    "above_input_tokens": t.above_input_tokens,
                    "input": t.input_per_mtok,
                    "output": t.output_per_mtok,
                    "cache_write": t.cache_write_per_mtok,
                    "cache_read": t.cache_read_per_mtok,
                }
                for t in self.tiers
            ]
        return row


def _long_context(input_: float, output: float) -> tuple[PriceTier, ...]:
    """Anthropic's >200k-token prices: 2 × input (and cache), 1.5 × output."""
    return (PriceTier(200_000, input_ * 2, output * 1.5, input_ * 2 * 1.25, input_ * 2 * 0.1),)


# List prices (standard tier) as of DEFAULT_AS_OF. Check them against the providers' pricing
# pages before relying on the totals for budgeting; override rows in the config file.
DEFAULT_PRICES: Mapping[str, ModelPrice] = {
    "claude-opus-4-5": ModelPrice(5.0, 25.0),
    "claude-opus-4-1": ModelPrice(15.0, 75.0),
    "claude-opus-4": ModelPrice(15.0, 75.0),
    "claude-sonnet-4-5": ModelPrice(3.0, 15.0, tiers=_long_context(3.0, 15.0)),
    "claude-sonnet-4": ModelPrice(3.0, 15.0, tiers=_long_context(3.0, 15.0)),
    "claude-haiku-4-5": ModelPrice(1.0, 5.0),
    "claude-3-5-haiku": ModelPrice(0.8, 4.0),
    # OpenAI: cached input is billed at the cache-read price, there is no cache-write surcharge.
    "gpt-4o-mini": ModelPrice(0.15, 0.60, 0.15, 0.075),
    "gpt-4o": ModelPrice(2.50, 10.0, 2.50, 1.25),
    "gpt-4.1-mini": ModelPrice(0.40, 1.60, 0.40, 0.10),
    "gpt-4.1": ModelPrice(2.0, 8.0, 2.0, 0.50),
    "gpt-5-mini": ModelPrice(0.25, 2.0, 0.25, 0.025),
    "gpt-5": ModelPrice(1.25, 10.0, 1.25, 0.125),
    DEFAULT_MODEL_KEY: ModelPrice(3.0, 15.0),
}


def _num(model: str, row: Mapping[str, Any], key: str, default: float | None = None) -> float | None:
    if key not in row:
        return default
    try:
        return float(row[key])
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"prices.{model}: {exc}") from None


def _tier(model: str, raw: Any) -> PriceTier:
    if not isinstance(raw, Mapping) or "above_input_tokens" not in raw or "input" not in raw or "output" not in raw:
        raise ConfigError(f"prices.{model}.tiers: each tier needs above_input_tokens, input and output")
    input_ = float(_num(model, raw, "input") or 0.0)
    return PriceTier(
        int(raw["above_input_tokens"]),
        input_,
        float(_num(model, raw, "output") or 0.0),
        float(_num(model, raw, "cache_write", input_ * 1.25) or 0.0),
        float(_num(model, raw, "cache_read", input_ * 0.1) or 0.0),
    )


def _coerce(model: str, value: Any) -> ModelPrice:
    """Accept the shapes a config file naturally produces for one row; a bad row is a ConfigError."""
    if isinstance(value, ModelPrice):
        return value
    try:
        if isinstance(value, Mapping):
            if "input" not in value or "output" not in value:
                raise KeyError("input")
            return ModelPrice(
                float(value["input"]),
                float(value["output"]),
                _num(model, value, "cache_write"),
                _num(model, value, "cache_read"),
                tuple(_tier(model, t) for t in value.get("tiers", ())),
            )
        if isinstance(value, Iterable) and not isinstance(value, str | bytes):
            parts = [float(v) for v in value]
            if len(parts) in (2, 4):
                return ModelPrice(*parts)  # type: ignore[arg-type]
    except KeyError:
        raise ConfigError(f"prices.{model} needs 'input' and 'output' (USD per million tokens)") from None
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"prices.{model}: {exc}") from None
    raise ConfigError(
        f"prices.{model} must be {{input, output[, cache_write, cache_read, tiers]}} or [in, out], got {value!r}"
    )


class PriceTable:
    """Per-model prices with prefix and ``default`` fallback.

    `prices` rows override (or add to) `DEFAULT_PRICES` unless ``include_defaults=False``. A row
    is a `ModelPrice`, an ``(input, output)`` or ``(input, output, cache_write, cache_read)``
    sequence, or ``{"input": x, "output": y, "cache_write": w, "cache_read": r, "tiers": [...]}``.
    The optional key ``as_of`` dates the table. A malformed row raises `ConfigError` naming it.
    """

    def __init__(
        self,
        prices: Mapping[str, Any] | None = None,
        *,
        include_defaults: bool = True,
        batch_discount: float = BATCH_DISCOUNT,
    ) -> None:
        rows: dict[str, ModelPrice] = dict(DEFAULT_PRICES) if include_defaults else {}
        self.as_of = DEFAULT_AS_OF if include_defaults else ""
        for model, value in (prices or {}).items():
            if model == "as_of":
                self.as_of = str(value)
                continue
            rows[model] = _coerce(model, value)
        if DEFAULT_MODEL_KEY not in rows:
            raise ConfigError(f"prices needs a {DEFAULT_MODEL_KEY!r} row for models it does not list")
        if not 0 < batch_discount <= 1:
            raise ConfigError(f"batch discount must be in (0, 1], got {batch_discount}")
        self.batch_discount = batch_discount
        self._rows = rows
        # Longest first, so "claude-opus-4-1" wins over "claude-opus-4" for "claude-opus-4-1-2025…".
        self._prefixes = sorted((m for m in rows if m != DEFAULT_MODEL_KEY), key=len, reverse=True)

    @classmethod
    def from_dict(cls, prices: Mapping[str, Any], *, include_defaults: bool = True) -> PriceTable:
        """Build from configuration, e.g. ``{"claude-sonnet-4-5": {"input": 3, "output": 15}}``."""
        return cls(prices, include_defaults=include_defaults)

    def as_dict(self) -> dict[str, Any]:
        """The table as plain data (for settings output and the run log)."""
        return {"as_of": self.as_of, **{m: p.as_dict() for m, p in self._rows.items()}}

    def price_for(self, model: str) -> ModelPrice:
        """Exact id, else the longest listed prefix (dated snapshots), else ``default``."""
        if model in self._rows:
            return self._rows[model]
        for prefix in self._prefixes:
            if model.startswith(prefix):
                return self._rows[prefix]
        return self._rows[DEFAULT_MODEL_KEY]

    def cost(
        self,
        model: str,
        input_tokens: int,
        output_tokens: int,
        *,
        cache_write_tokens: int = 0,
        cache_read_tokens: int = 0,
        batch: bool = False,
    ) -> float:
        """USD for one call: each kind of token × its rate (the tier chosen by total input)."""
        counts = (input_tokens, output_tokens, cache_write_tokens, cache_read_tokens)
        if any(n < 0 for n in counts):
            raise ValueError(f"token counts must be >= 0, got {counts}")
        total_input = input_tokens + cache_write_tokens + cache_read_tokens
        rin, rout, rwrite, rread = self.price_for(model).rates(total_input)
        usd = (
            input_tokens * rin + output_tokens * rout + cache_write_tokens * rwrite + cache_read_tokens * rread
        ) / _PER
        return usd * self.batch_discount if batch else usd
