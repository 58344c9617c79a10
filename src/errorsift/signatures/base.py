"""The grouping seam: every strategy turns a redacted message into a stable signature."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from typing import Any, Protocol

from errorsift.models import SignatureResult


@dataclass(frozen=True, slots=True)
class Rule:
    """A masking rule as data: adding a rule adds a row, not a branch."""

    name: str
    pattern: str
    placeholder: str
    flags: int = 0

    def compiled(self) -> re.Pattern[str]:
        return re.compile(self.pattern, self.flags)


def stable_key(text: str) -> str:
    """First 16 hex chars of MD5 (the seed's hash); never change without a migration."""
    return hashlib.md5(text.encode("utf-8", "surrogatepass")).hexdigest()[:16]


class Grouper(Protocol):
    """A grouping strategy. `sign` must be deterministic for the same input order.

    Strategies with learned state (template miners) export it as JSON-able data so the store
    can persist it; stateless strategies return None.
    """

    strategy_id: str

    def sign(self, message: str) -> SignatureResult: ...

    def normalize(self, message: str) -> str:
        """The SPEC's seed normalization of one message (pure: learns nothing)."""
        ...

    def export_state(self) -> dict[str, Any] | None: ...
