"""The seed's normalization rules, exactly as SPEC layer 1 states them (strategy ``seed-v1``)."""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from errorsift.models import SignatureResult
from errorsift.signatures.base import Rule, stable_key

SEED_RULES: tuple[Rule, ...] = (
    Rule("customer_scope", r"(customer|account|tenant)[_-]?id[:\s]+\S+", "[CUSTOMER_SCOPE]", re.IGNORECASE),
    Rule("user_id", r"user[_-]?id[:\s]+\d+", "[USER_ID]", re.IGNORECASE),
    Rule("timestamp", r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}:\d{2}[\.\d]*Z?", "[TIMESTAMP]"),
    Rule("guid", r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", "[GUID]", re.IGNORECASE),
    Rule("long_number", r"\b\d{5,}\b", "[ID]"),
)
_WHITESPACE = re.compile(r"\s+")


class SeedNormalizer:
    """Applies the seed rules in order (each sees the previous one's output), then extra user rules.

    The order matters: a customer id that is a GUID becomes [CUSTOMER_SCOPE], not [GUID].
    """

    strategy_id = "seed-v1"

    def __init__(self, extra_rules: Iterable[Rule] = ()) -> None:
        self.rules = (*SEED_RULES, *extra_rules)
        self._compiled = [(r.compiled(), r.placeholder) for r in self.rules]
        if tuple(extra_rules):
            self.strategy_id = f"seed-v1+{stable_key(repr([(r.pattern, r.placeholder) for r in extra_rules]))[:8]}"

    def normalize(self, message: str) -> str:
        text = message
        for pattern, placeholder in self._compiled:
            text = pattern.sub(placeholder, text)
        return _WHITESPACE.sub(" ", text).strip()

    def sign(self, message: str) -> SignatureResult:
        normalized = self.normalize(message)
        return SignatureResult(stable_key(normalized), normalized, self.strategy_id, normalized)

    def export_state(self) -> dict[str, Any] | None:
        return None
