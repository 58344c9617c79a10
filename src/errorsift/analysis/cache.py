"""Layer 2 cache policy: when a stored analysis may be reused instead of calling a model.

Pure time arithmetic, no storage: the store owns where entries live, this module owns how long
they stay good. Key = (signature, analysis type); an expired entry is a miss.

Boundary: the seed treats an entry as expired when ``now - cached_at > ttl``, so an entry that
is *exactly* TTL old is still fresh; errorsift follows the seed so a run scheduled on a 6-hour
cadence reuses, rather than re-buys, the analysis written by the run 6 hours earlier.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from errorsift.errors import ConfigError
from errorsift.models import AnalysisType

__all__ = ["DEFAULT_PATTERN_TTL", "DEFAULT_RECENT_TTL", "CachePolicy"]

DEFAULT_RECENT_TTL = timedelta(hours=6)
"""Short enough that a new variant surfaces within a business window (SPEC layer 2)."""

DEFAULT_PATTERN_TTL = timedelta(days=7)
"""Long-term pattern analyses change slowly; a week avoids re-buying them every run."""


@dataclass(frozen=True, slots=True)
class CachePolicy:
    """How long each analysis type stays fresh.

    Both TTLs must be positive (they come from settings, so a bad one is a `ConfigError`); to
    force fresh analyses use a tiny TTL rather than zero.
    """

    recent_ttl: timedelta = DEFAULT_RECENT_TTL
    pattern_ttl: timedelta = DEFAULT_PATTERN_TTL

    def __post_init__(self) -> None:
        for name in ("recent_ttl", "pattern_ttl"):
            value = getattr(self, name)
            if not isinstance(value, timedelta) or value <= timedelta(0):
                raise ConfigError(f"{name} must be a positive duration (e.g. 6h, 7d), got {value!r}")

    def ttl_for(self, analysis_type: AnalysisType | str) -> timedelta:
        """The TTL for an analysis type; an unknown type raises ValueError (never a silent default)."""
        kind = AnalysisType(analysis_type)
        return self.recent_ttl if kind is AnalysisType.RECENT else self.pattern_ttl

    def expires_at(self, cached_at: datetime, analysis_type: AnalysisType | str) -> datetime:
        """The last instant at which the entry is still a hit (inclusive, see module docstring)."""
        return cached_at + self.ttl_for(analysis_type)

    def is_fresh(self, cached_at: datetime, now: datetime, analysis_type: AnalysisType | str) -> bool:
        """True while ``now - cached_at <= ttl`` (exactly at TTL is still fresh, as in the seed).

        Pass both datetimes timezone-aware (UTC); mixing naive and aware raises TypeError rather
        than guessing. An entry stamped slightly in the future (clock skew between hosts) counts
        as fresh, which is the cheap and harmless reading.
        """
        return now - cached_at <= self.ttl_for(analysis_type)
