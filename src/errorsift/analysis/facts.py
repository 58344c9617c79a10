"""Facts for a request that the pipeline has as counts: anomaly flags and the daily history.

Kept here (pure, no I/O) so the pipeline's request building stays a few lines and the prompt's
view of the history is defined next to the prompt that uses it.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime

from errorsift.models import Anomaly

__all__ = ["anomaly_flags", "daily_history"]


def anomaly_flags(anomaly: Anomaly) -> tuple[str, ...]:
    """``("NEW", "SPIKE", "SPREAD")`` — the flags that are on, in urgency order."""
    flags = (("NEW", anomaly.new_signature), ("SPIKE", anomaly.spike), ("SPREAD", anomaly.spread))
    return tuple(name for name, on in flags if on)


def daily_history(
    days: Mapping[int, Mapping[str, int]],
    baseline_days: int,
    baseline_start_hour: int,
    current: Mapping[str, int],
) -> tuple[tuple[str, int, int], ...]:
    """``(day, occurrences, customers)`` for every baseline day (zeros included), oldest first,
    then ``("current", …)`` for the current window. Unnamed customers count as occurrences only."""
    out: list[tuple[str, int, int]] = []
    for index in range(baseline_days):
        per_customer = days.get(index, {})
        start = datetime.fromtimestamp((baseline_start_hour + 24 * index) * 3600, UTC)
        out.append((start.date().isoformat(), sum(per_customer.values()), sum(1 for c in per_customer if c)))
    out.append(("current", sum(current.values()), sum(1 for c in current if c)))
    return tuple(out)
