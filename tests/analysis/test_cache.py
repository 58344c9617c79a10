"""Cache TTL policy (SPEC layer 2): fresh up to and including the TTL, a miss just after."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from errorsift.analysis.cache import CachePolicy
from errorsift.errors import ConfigError
from errorsift.models import AnalysisType

T0 = datetime(2025, 3, 1, 6, 15, tzinfo=UTC)
TICK = timedelta(microseconds=1)
SIX_HOURS = timedelta(hours=6)
SEVEN_DAYS = timedelta(days=7)

CASES = [
    # (name, analysis type, age, fresh?)
    ("recent just cached", AnalysisType.RECENT, timedelta(0), True),
    ("recent just before expiry", AnalysisType.RECENT, SIX_HOURS - TICK, True),
    ("recent exactly at ttl (seed: still fresh)", AnalysisType.RECENT, SIX_HOURS, True),
    ("recent just after expiry", AnalysisType.RECENT, SIX_HOURS + TICK, False),
    ("recent a day old", AnalysisType.RECENT, timedelta(days=1), False),
    ("pattern past the recent ttl", AnalysisType.PATTERN, SIX_HOURS + TICK, True),
    ("pattern just before expiry", AnalysisType.PATTERN, SEVEN_DAYS - TICK, True),
    ("pattern exactly at ttl", AnalysisType.PATTERN, SEVEN_DAYS, True),
    ("pattern just after expiry", AnalysisType.PATTERN, SEVEN_DAYS + TICK, False),
    ("clock skew: cached in the future", AnalysisType.RECENT, -timedelta(minutes=5), True),
]


@pytest.mark.parametrize(("name", "kind", "age", "fresh"), CASES, ids=[c[0] for c in CASES])
def test_is_fresh(name: str, kind: AnalysisType, age: timedelta, fresh: bool) -> None:
    assert CachePolicy().is_fresh(T0, T0 + age, kind) is fresh
    assert CachePolicy().is_fresh(T0, T0 + age, kind.value) is fresh  # plain strings from the store


def test_ttl_for_defaults_and_overrides() -> None:
    assert CachePolicy().ttl_for("recent") == SIX_HOURS
    assert CachePolicy().ttl_for(AnalysisType.PATTERN) == SEVEN_DAYS
    policy = CachePolicy(recent_ttl=timedelta(minutes=30), pattern_ttl=timedelta(days=1))
    assert policy.ttl_for("recent") == timedelta(minutes=30)
    assert policy.is_fresh(T0, T0 + timedelta(minutes=31), "recent") is False
    assert policy.expires_at(T0, "pattern") == T0 + timedelta(days=1)


def test_unknown_type_and_bad_ttl_are_errors() -> None:
    with pytest.raises(ValueError):
        CachePolicy().ttl_for("weekly")
    with pytest.raises(ConfigError, match="recent_ttl must be a positive duration"):
        CachePolicy(recent_ttl=timedelta(0))
    with pytest.raises(ConfigError, match="pattern_ttl"):
        CachePolicy(pattern_ttl=-timedelta(days=1))


def test_naive_and_aware_datetimes_are_not_mixed() -> None:
    with pytest.raises(TypeError):
        CachePolicy().is_fresh(T0.replace(tzinfo=None), T0, "recent")
