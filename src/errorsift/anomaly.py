"""Layer 4, pure: is this pattern NEW, a SPIKE, or SPREADing, compared with its own recent past?

The rules are the seed's, exactly as SPEC layer 4 states them. They are deliberately simple
thresholds rather than statistics: a flag you cannot explain to a stakeholder in half a minute
is not operationally useful, so every flag here can also say why (:func:`why_flagged`).

Nothing in this module does I/O. The store turns its daily rows into :class:`DayCount` values,
:func:`baseline_from_days` folds them into :class:`~errorsift.models.BaselineStats`, and
:func:`classify` compares the current window against that.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from errorsift.models import Anomaly, BaselineStats

__all__ = [
    "NEW_SIGNATURE_SPIKE_MIN",
    "NEW_SIGNATURE_SPREAD_MIN",
    "SEVERITY_RANK",
    "SPIKE_ABSOLUTE_MIN",
    "SPIKE_MIN",
    "DayCount",
    "baseline_from_days",
    "classify",
    "spike_threshold",
    "urgency_key",
    "why_flagged",
]

# The seed's thresholds, named so the explanation text and the tests can refer to them.
SPIKE_MIN = 10  # a known pattern needs at least this many occurrences to be a relative spike
SPIKE_ABSOLUTE_MIN = 25  # ... or at least this many and simply more than its busiest baseline day
NEW_SIGNATURE_SPIKE_MIN = 10  # with no baseline there is nothing to compare with: a plain floor
NEW_SIGNATURE_SPREAD_MIN = 3  # distinct customers for a brand-new pattern to count as spreading
_SPREAD_NEW_CUSTOMERS_MIN = 2
_SPREAD_COUNT_MIN = 3

SEVERITY_RANK: dict[str, int] = {"critical": 0, "high": 1, "medium": 2, "low": 3}
_UNKNOWN_SEVERITY_RANK = len(SEVERITY_RANK)  # not analyzed yet, or a label we do not know: after Low

_MAX_NAMED_CUSTOMERS = 5  # an explanation names at most this many customers, then says "+N more"


@dataclass(frozen=True, slots=True)
class DayCount:
    """One baseline day-slice in which the signature occurred.

    Days on which the signature did not occur are simply absent (a day given with
    ``occurrences == 0`` is ignored), which is what a ``GROUP BY day`` over stored occurrences
    naturally yields.
    """

    occurrences: int
    customers: frozenset[str] = frozenset()


def baseline_from_days(days: Iterable[DayCount]) -> BaselineStats | None:
    """Fold a signature's baseline day-slices into :class:`BaselineStats`; ``None`` means no baseline.

    ``None`` (rather than a zero-filled object) is returned when no day has occurrences, because
    "never seen in the window" is a different state from "seen, but quietly": only the former makes
    a pattern NEW.

    The mean is over the days the signature was **present**, not over all N days of the window
    (exactly like an SQL ``AVG(daily_count)`` over the per-day rows). A pattern that fires 40 times
    on one day a week therefore has mean 40, not 5.7: the spike rule compares against "a typical day
    when this happens", and intermittent patterns are not flagged merely for showing up.

    ``mean_occurrences`` is kept unrounded; :func:`classify` rounds it to 2 decimals for display.
    """
    present = [day for day in days if day.occurrences > 0]
    if not present:
        return None
    total = sum(day.occurrences for day in present)
    seen: frozenset[str] = frozenset().union(*(day.customers for day in present))
    return BaselineStats(
        days_present=len(present),
        mean_occurrences=total / len(present),
        max_occurrences=max(day.occurrences for day in present),
        max_customers=max(len(day.customers) for day in present),
        customers_seen=seen,
    )


def spike_threshold(baseline: BaselineStats) -> float:
    """The count a known pattern must strictly exceed (with at least :data:`SPIKE_MIN`) to be a spike.

    ``max(2 * max_daily, 3 * max(1, mean_daily))``: "far above" both the busiest day and the typical
    day. The mean is floored at 1 so a pattern with a tiny (or externally computed, fractional) mean
    is not flagged for a handful of extra lines. Because of the :data:`SPIKE_MIN` guard the floor is
    only visible here, not through :func:`classify`; it is exposed so the explanation can quote it.
    """
    return max(2 * baseline.max_occurrences, 3 * max(1.0, baseline.mean_occurrences))


def classify(occurrences: int, customers: Iterable[str], baseline: BaselineStats | None) -> Anomaly:
    """Compare the current window's count and customers with the baseline (SPEC layer 4, exactly).

    ``customers`` are the distinct tenants affected in the current window (duplicates are fine,
    they are collapsed). The caller decides whether an unknown tenant (``""``) counts as one; it
    must decide the same way when it builds the baseline.

    With no baseline the pattern is NEW; SPIKE and SPREAD then fall back to plain floors (10
    occurrences, 3 customers) since there is nothing to be relative to, and every current customer
    is a new customer. With a baseline:

    * SPIKE when ``occ >= 10 and occ > spike_threshold(baseline)``, or ``occ >= 25 and occ > max_daily``
      (the second clause catches large absolute jumps on patterns whose mean is inflated);
    * SPREAD when at least two customers that never saw it in the baseline see it now, or when at
      least three customers see it and that is more than twice the baseline's daily peak.

    ``new_customers`` is sorted so the result (and anything rendered from it) is deterministic.
    """
    if occurrences < 0:
        raise ValueError(f"occurrences must be >= 0, got {occurrences}")
    current = frozenset(customers)

    if baseline is None:
        return Anomaly(
            new_signature=True,
            spike=occurrences >= NEW_SIGNATURE_SPIKE_MIN,
            spread=len(current) >= NEW_SIGNATURE_SPREAD_MIN,
            new_customers=tuple(sorted(current)),
        )

    spike = (occurrences >= SPIKE_MIN and occurrences > spike_threshold(baseline)) or (
        occurrences >= SPIKE_ABSOLUTE_MIN and occurrences > baseline.max_occurrences
    )
    new_customers = tuple(sorted(current - baseline.customers_seen))
    spread = len(new_customers) >= _SPREAD_NEW_CUSTOMERS_MIN or _spread_by_count(
        len(current), baseline.max_customers
    )
    return Anomaly(
        new_signature=False,
        spike=spike,
        spread=spread,
        new_customers=new_customers,
        baseline_days_present=baseline.days_present,
        baseline_mean=round(baseline.mean_occurrences, 2),
        baseline_max=baseline.max_occurrences,
    )


def _spread_by_count(current_customers: int, max_customers: int) -> bool:
    return current_customers >= _SPREAD_COUNT_MIN and current_customers > max(1, 2 * max_customers)


def why_flagged(
    anomaly: Anomaly,
    occurrences: int,
    customers: int,
    baseline_days: int,
    *,
    baseline_max_customers: int | None = None,
) -> str:
    """One line a person can read aloud: which flags fired and the numbers behind them.

    Parts are ``NEW``, ``SPIKE`` and ``SPREAD`` in that order, joined with ``"; "``. A pattern with
    no flag returns ``""`` (not ``"stable"``), so callers can test it for truth and choose their own
    wording for the quiet case ("stable", "KNOWN", or nothing).

    ``baseline_days`` is the length of the baseline window (N, e.g. 7), ``customers`` the number of
    distinct customers in the current window. :class:`Anomaly` does not carry the baseline's daily
    customer peak; pass ``baseline_max_customers`` to have a count-driven SPREAD quote it.
    """
    parts: list[str] = []
    counts = f"{_plural(occurrences, 'occurrence')}, {_plural(customers, 'customer')}"
    if anomaly.new_signature:
        absent = f", absent from the previous {_plural(baseline_days, 'day')}" if baseline_days > 0 else ""
        parts.append(f"NEW: first seen in this window{absent} ({counts})")

    if anomaly.spike:
        if anomaly.new_signature:
            parts.append(f"SPIKE: {occurrences} in window with no baseline (>= {NEW_SIGNATURE_SPIKE_MIN})")
        else:
            text = f"SPIKE: {occurrences} in window vs max {anomaly.baseline_max}/day "
            text += f"(mean {_number(anomaly.baseline_mean)})"
            if baseline_days > 0:
                text += f" over {_plural(baseline_days, 'day')}, present on {anomaly.baseline_days_present}"
            parts.append(text)

    if anomaly.spread:
        if anomaly.new_signature:
            parts.append(
                f"SPREAD: {_plural(customers, 'customer')} with no baseline ({_names(anomaly.new_customers)})"
            )
        elif len(anomaly.new_customers) >= _SPREAD_NEW_CUSTOMERS_MIN:
            parts.append(
                f"SPREAD: {_plural(len(anomaly.new_customers), 'new customer')} "
                f"({_names(anomaly.new_customers)})"
            )
        else:
            peak = f" vs peak {baseline_max_customers}/day" if baseline_max_customers is not None else ""
            new = ""
            if anomaly.new_customers:
                new = f", {len(anomaly.new_customers)} new ({_names(anomaly.new_customers)})"
            parts.append(f"SPREAD: {_plural(customers, 'customer')} in window{peak}{new}")

    return "; ".join(parts)


def _plural(n: int, noun: str) -> str:
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


def _number(value: float) -> str:
    """3.2 -> "3.2", 4.0 -> "4", 3.25 -> "3.25" (values are already rounded to 2 decimals)."""
    return f"{value:.2f}".rstrip("0").rstrip(".")


def _names(customers: tuple[str, ...]) -> str:
    shown = ", ".join(customers[:_MAX_NAMED_CUSTOMERS])
    hidden = len(customers) - _MAX_NAMED_CUSTOMERS
    return f"{shown}, +{hidden} more" if hidden > 0 else shown


def urgency_key(
    anomaly: Anomaly,
    severity: str | None,
    customers: int,
    occurrences: int,
    key: str,
    suppressed: bool = False,
) -> tuple[int, int, int, int, int, str]:
    """Sort key for "most urgent first" (use with ``sorted(..., key=...)``, ascending).

    Order: suppressed known noise last of all; then escalated patterns (NEW, SPIKE or SPREAD) before
    quiet ones, because a change is what needs a human today; then severity Critical > High >
    Medium > Low > unknown (not analyzed, or an unexpected label; compared case-insensitively); then
    more customers affected, then more occurrences; finally the signature key, so equal patterns
    keep one stable order across runs and pages.
    """
    severity_rank = SEVERITY_RANK.get((severity or "").strip().lower(), _UNKNOWN_SEVERITY_RANK)
    return (
        1 if suppressed else 0,
        0 if anomaly.escalated else 1,
        severity_rank,
        -customers,
        -occurrences,
        key,
    )
