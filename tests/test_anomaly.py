"""Layer 4 pinned to SPEC at every boundary: one table row per threshold, on both sides of it."""

from __future__ import annotations

import pytest

from errorsift.anomaly import (
    DayCount,
    baseline_from_days,
    classify,
    spike_threshold,
    urgency_key,
    why_flagged,
)
from errorsift.models import Anomaly, BaselineStats


def stats(
    *,
    mean: float = 1.0,
    max_occ: int = 1,
    max_customers: int = 1,
    seen: tuple[str, ...] = ("a", "b", "c", "d", "e"),
    days: int = 7,
) -> BaselineStats:
    return BaselineStats(
        days_present=days,
        mean_occurrences=mean,
        max_occurrences=max_occ,
        max_customers=max_customers,
        customers_seen=frozenset(seen),
    )


def day(occurrences: int, *customers: str) -> DayCount:
    return DayCount(occurrences, frozenset(customers))


# --- baseline_from_days ---------------------------------------------------------------------------


def test_no_days_is_no_baseline() -> None:
    assert baseline_from_days([]) is None


def test_days_with_zero_occurrences_are_no_baseline() -> None:
    assert baseline_from_days([day(0), day(0, "a")]) is None


def test_baseline_stats_over_present_days() -> None:
    b = baseline_from_days([day(3, "a", "b"), day(0, "z"), day(7, "c"), day(5, "a", "b", "d")])
    assert b == BaselineStats(
        days_present=3,
        mean_occurrences=5.0,  # (3 + 7 + 5) / 3 present days, not / 4 given nor / N window days
        max_occurrences=7,
        max_customers=3,
        customers_seen=frozenset({"a", "b", "c", "d"}),  # the zero day's "z" is not a sighting
    )


def test_baseline_accepts_any_iterable() -> None:
    b = baseline_from_days(day(n, "a") for n in (1, 2))
    assert b is not None
    assert b.days_present == 2


@pytest.mark.parametrize(
    ("counts", "raw_mean", "shown_mean"),
    [
        pytest.param((1, 2, 2), 5 / 3, 1.67, id="thirds-round-up"),
        pytest.param((1, 1, 2), 4 / 3, 1.33, id="thirds-round-down"),
        pytest.param((3, 3, 4, 3), 3.25, 3.25, id="two-decimals-kept"),
        pytest.param((4,), 4.0, 4.0, id="single-day"),
    ],
)
def test_mean_is_unrounded_in_stats_and_rounded_to_2_decimals_in_anomaly(
    counts: tuple[int, ...], raw_mean: float, shown_mean: float
) -> None:
    b = baseline_from_days(day(n, "a") for n in counts)
    assert b is not None
    assert b.mean_occurrences == pytest.approx(raw_mean)
    a = classify(1, ["a"], b)
    assert a.baseline_mean == shown_mean
    assert a.baseline_days_present == len(counts)
    assert a.baseline_max == max(counts)


# --- classify: no baseline (NEW) ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("occurrences", "customers", "spike", "spread"),
    [
        pytest.param(9, ["a"], False, False, id="occ-9-no-spike"),
        pytest.param(10, ["a"], True, False, id="occ-10-spike"),
        pytest.param(1, ["a", "b"], False, False, id="2-customers-no-spread"),
        pytest.param(1, ["a", "b", "c"], False, True, id="3-customers-spread"),
        pytest.param(1, ["a", "b", "b", "a"], False, False, id="duplicates-collapse"),
        pytest.param(0, [], False, False, id="empty"),
    ],
)
def test_new_signature(occurrences: int, customers: list[str], spike: bool, spread: bool) -> None:
    a = classify(occurrences, customers, None)
    assert a.new_signature is True
    assert (a.spike, a.spread) == (spike, spread)
    assert a.new_customers == tuple(sorted(set(customers)))
    assert (a.baseline_days_present, a.baseline_mean, a.baseline_max) == (0, 0.0, 0)


def test_new_signature_new_customers_are_all_current_sorted() -> None:
    assert classify(3, ["zeta", "acme", "mid"], None).new_customers == ("acme", "mid", "zeta")


# --- classify: known, SPIKE -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("occurrences", "baseline", "spike"),
    [
        # 2 * max dominates (max 6 -> 12; 3 * mean 2 -> 6)
        pytest.param(12, stats(mean=2, max_occ=6), False, id="exactly-2x-max"),
        pytest.param(13, stats(mean=2, max_occ=6), True, id="one-above-2x-max"),
        # 3 * mean dominates (mean 5 -> 15; 2 * max 5 -> 10)
        pytest.param(15, stats(mean=5, max_occ=5), False, id="exactly-3x-mean"),
        pytest.param(16, stats(mean=5, max_occ=5), True, id="one-above-3x-mean"),
        pytest.param(13, stats(mean=4.5, max_occ=5), False, id="fractional-mean-13.5-threshold"),
        pytest.param(14, stats(mean=4.5, max_occ=5), True, id="fractional-mean-above"),
        # the >= 10 guard: tiny baselines (threshold 2..3) still need 10 occurrences
        pytest.param(9, stats(mean=1, max_occ=1), False, id="guard-occ-9"),
        pytest.param(10, stats(mean=1, max_occ=1), True, id="guard-occ-10"),
        pytest.param(9, stats(mean=0.2, max_occ=0), False, id="guard-occ-9-mean-below-1"),
        pytest.param(10, stats(mean=0.2, max_occ=0), True, id="mean-below-1-occ-10"),
        # the absolute clause: >= 25 and above the busiest day, even when the relative one fails
        pytest.param(25, stats(mean=20, max_occ=24), True, id="occ-25-max-24"),
        pytest.param(25, stats(mean=20, max_occ=25), False, id="occ-25-max-25"),
        pytest.param(24, stats(mean=1, max_occ=23), False, id="occ-24-max-23-below-absolute-floor"),
        pytest.param(47, stats(mean=1, max_occ=23), True, id="occ-47-max-23-relative"),
        pytest.param(46, stats(mean=1, max_occ=23), True, id="occ-46-max-23-absolute-only"),
        pytest.param(23, stats(mean=1, max_occ=23), False, id="at-max"),
    ],
)
def test_known_spike(occurrences: int, baseline: BaselineStats, spike: bool) -> None:
    a = classify(occurrences, ["a"], baseline)
    assert a.new_signature is False
    assert a.spike is spike


@pytest.mark.parametrize(
    ("baseline", "threshold"),
    [
        pytest.param(stats(mean=2, max_occ=6), 12, id="2x-max"),
        pytest.param(stats(mean=5, max_occ=5), 15, id="3x-mean"),
        pytest.param(stats(mean=0.5, max_occ=1), 3, id="mean-below-1-uses-1"),
        pytest.param(stats(mean=0.0, max_occ=0), 3, id="zero-mean-uses-1"),
    ],
)
def test_spike_threshold(baseline: BaselineStats, threshold: float) -> None:
    # The mean floor cannot be observed through classify (the >= 10 guard is above 3), so pin it here.
    assert spike_threshold(baseline) == threshold


# --- classify: known, SPREAD ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("current", "baseline", "spread", "new_customers"),
    [
        pytest.param(["a", "x"], stats(seen=("a",)), False, ("x",), id="1-new-customer"),
        pytest.param(["a", "x", "y"], stats(seen=("a",), max_customers=2), True, ("x", "y"), id="2-new"),
        pytest.param(["y", "x"], stats(seen=("a",), max_customers=5), True, ("x", "y"), id="2-new-2-total"),
        pytest.param(["a", "b", "c"], stats(max_customers=1), True, (), id="count-3-vs-peak-1"),
        pytest.param(["a", "b", "c"], stats(max_customers=2), False, (), id="count-3-vs-peak-2"),
        pytest.param(["a", "b", "c", "d", "e"], stats(max_customers=2), True, (), id="count-5-vs-peak-2"),
        pytest.param(["a", "b", "c", "d"], stats(max_customers=2), False, (), id="count-4-vs-peak-2"),
        pytest.param(["a", "b"], stats(max_customers=0), False, (), id="count-2-below-floor"),
        pytest.param(["a", "b", "c"], stats(max_customers=0), True, (), id="count-3-vs-peak-0"),
    ],
)
def test_known_spread(
    current: list[str], baseline: BaselineStats, spread: bool, new_customers: tuple[str, ...]
) -> None:
    a = classify(1, current, baseline)
    assert a.spread is spread
    assert a.new_customers == new_customers


def test_new_customers_are_sorted() -> None:
    a = classify(1, ["zed", "old", "acme", "mid"], stats(seen=("old",)))
    assert a.new_customers == ("acme", "mid", "zed")


def test_known_output_carries_baseline() -> None:
    a = classify(4, ["a"], stats(mean=3.14159, max_occ=5, days=4))
    assert a == Anomaly(
        new_signature=False,
        spike=False,
        spread=False,
        new_customers=(),
        baseline_days_present=4,
        baseline_mean=3.14,
        baseline_max=5,
    )
    assert not a.escalated


def test_negative_occurrences_rejected() -> None:
    with pytest.raises(ValueError, match="occurrences"):
        classify(-1, [], None)


# --- why_flagged ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("anomaly", "occurrences", "customers", "kwargs", "expected"),
    [
        pytest.param(
            Anomaly(False, False, False, (), 7, 3.0, 5),
            3,
            1,
            {},
            "",
            id="stable-is-empty",
        ),
        pytest.param(
            Anomaly(True, False, False, ("a", "b")),
            4,
            2,
            {},
            "NEW: first seen in this window, absent from the previous 7 days (4 occurrences, 2 customers)",
            id="new",
        ),
        pytest.param(
            Anomaly(True, True, True, ("acme", "globex", "initech")),
            12,
            3,
            {},
            "NEW: first seen in this window, absent from the previous 7 days (12 occurrences, 3 customers); "
            "SPIKE: 12 in window with no baseline (>= 10); "
            "SPREAD: 3 customers with no baseline (acme, globex, initech)",
            id="new-spike-spread",
        ),
        pytest.param(
            Anomaly(False, True, False, (), 4, 3.2, 5),
            30,
            1,
            {},
            "SPIKE: 30 in window vs max 5/day (mean 3.2) over 7 days, present on 4",
            id="spike",
        ),
        pytest.param(
            Anomaly(False, False, True, ("acme-prod", "globex-eu"), 7, 2.0, 3),
            3,
            3,
            {},
            "SPREAD: 2 new customers (acme-prod, globex-eu)",
            id="spread-new-customers",
        ),
        pytest.param(
            Anomaly(False, False, True, ("x",), 7, 2.0, 3),
            5,
            5,
            {"baseline_max_customers": 2},
            "SPREAD: 5 customers in window vs peak 2/day, 1 new (x)",
            id="spread-by-count",
        ),
        pytest.param(
            Anomaly(False, True, True, ("a", "b", "c", "d", "e", "f", "g"), 7, 4.0, 4),
            40,
            7,
            {},
            "SPIKE: 40 in window vs max 4/day (mean 4) over 7 days, present on 7; "
            "SPREAD: 7 new customers (a, b, c, d, e, +2 more)",
            id="spike-and-spread-truncated-names",
        ),
    ],
)
def test_why_flagged(
    anomaly: Anomaly, occurrences: int, customers: int, kwargs: dict[str, int], expected: str
) -> None:
    assert why_flagged(anomaly, occurrences, customers, 7, **kwargs) == expected


def test_why_flagged_singulars_and_no_window() -> None:
    text = why_flagged(Anomaly(True, False, False, ("a",)), 1, 1, 0)
    assert text == "NEW: first seen in this window (1 occurrence, 1 customer)"


def test_why_flagged_is_one_line_for_classified_results() -> None:
    b = stats(mean=2, max_occ=3, seen=("a",))
    a = classify(40, ["a", "x", "y"], b)
    text = why_flagged(a, 40, 3, 7, baseline_max_customers=b.max_customers)
    assert text.startswith("SPIKE: 40 in window vs max 3/day")
    assert "SPREAD: 2 new customers (x, y)" in text
    assert "\n" not in text


# --- urgency_key ----------------------------------------------------------------------------------

STABLE = Anomaly(False, False, False, ())
NEW = Anomaly(True, False, False, ("a",))
SPIKE = Anomaly(False, True, False, ())
SPREAD = Anomaly(False, False, True, ("x", "y"))


def test_urgency_ordering() -> None:
    # (expected position, anomaly, severity, customers, occurrences, key, suppressed)
    rows: list[tuple[int, Anomaly, str | None, int, int, str, bool]] = [
        (9, NEW, "Critical", 50, 500, "k-noise", True),
        (8, STABLE, None, 9, 90, "k-unanalyzed", False),
        (7, STABLE, "Low", 9, 90, "k-low", False),
        (6, STABLE, "Critical", 1, 1, "k-stable-critical", False),
        (5, SPREAD, "Medium", 1, 1, "k-spread-medium", False),
        (4, SPIKE, "high", 1, 5, "k-spike-high-few", False),  # severity compares case-insensitively
        (3, SPIKE, "High", 1, 50, "k-spike-high-b", False),
        (2, NEW, "High", 1, 50, "k-new-high-a", False),  # full tie with the row above: key breaks it
        (1, NEW, "High", 3, 2, "k-new-high-more-customers", False),
        (0, NEW, "Critical", 1, 1, "k-new-critical", False),
    ]
    ranked = sorted(rows, key=lambda r: urgency_key(r[1], r[2], r[3], r[4], r[5], suppressed=r[6]))
    assert [r[0] for r in ranked] == list(range(10))


@pytest.mark.parametrize(
    ("severity", "rank"),
    [
        pytest.param("Critical", 0, id="critical"),
        pytest.param("High", 1, id="high"),
        pytest.param("Medium", 2, id="medium"),
        pytest.param("Low", 3, id="low"),
        pytest.param(None, 4, id="none-after-low"),
        pytest.param("Catastrophic", 4, id="unknown-after-low"),
    ],
)
def test_urgency_severity_rank(severity: str | None, rank: int) -> None:
    assert urgency_key(STABLE, severity, 0, 0, "k")[2] == rank


def test_suppressed_sorts_after_everything_even_when_escalated() -> None:
    loud_noise = urgency_key(NEW, "Critical", 100, 1000, "a", suppressed=True)
    quiet = urgency_key(STABLE, None, 0, 0, "z")
    assert quiet < loud_noise
