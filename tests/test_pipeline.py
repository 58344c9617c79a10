"""The pipeline end to end on real SQLite files: exactly-once counts, cache reuse, anomalies, routing."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from errorsift.analysis.cache import CachePolicy
from errorsift.analysis.offline import OfflineAnalyzer
from errorsift.models import AnalysisOutcome, AnalysisRequest, ErrorEvent
from errorsift.pipeline import Pipeline, RunConfig, window_hours
from errorsift.signatures.redact import Redactor
from errorsift.signatures.seed import SeedNormalizer
from errorsift.sources.memory import MemorySource
from errorsift.store.store import Store

AT = datetime(2026, 11, 20, 6, 0, tzinfo=UTC)


def ev(i: int, message: str, customer: str, hours_ago: float, error_type: str = "") -> ErrorEvent:
    return ErrorEvent(AT - timedelta(hours=hours_ago), message, error_type, "api", customer, "h1", f"e{i}")


class CountingAnalyzer:
    """An analyzer that counts its calls (stands in for a paid model)."""

    name = "counting"

    def __init__(self) -> None:
        self.calls: list[str] = []
        self.inner = OfflineAnalyzer()

    def analyze(self, request: AnalysisRequest) -> AnalysisOutcome:
        self.calls.append(request.signature)
        analysis = self.inner.analyze(request).analysis.model_copy(update={"analyzer": self.name})
        return AnalysisOutcome(analysis, model_called=True)


def pipeline(store: Store, analyzer: object | None = None, **config: object) -> Pipeline:
    return Pipeline(
        store,
        SeedNormalizer(),
        Redactor().redact_with_counts,
        analyzer or OfflineAnalyzer(),  # type: ignore[arg-type]
        RunConfig(at=AT, **config),  # type: ignore[arg-type]
    )


def fleet() -> list[ErrorEvent]:
    events = []
    i = 0
    # A stable recurring deadlock: 3/day for acme on each of the 7 baseline days, and 3 today.
    for day in range(0, 8):
        for k in range(3):
            i += 1
            events.append(ev(i, f"Deadlock detected on orders row {100000 + i}", "acme", 24 * day + k + 1, "sql"))
    # A brand-new KeyError today for three customers.
    for k, cust in enumerate(["acme", "globex", "initech"] * 4):
        i += 1
        events.append(ev(i, f"KeyError: 'plan' for user_id: {k}", cust, 2, "KeyError"))
    return events


@pytest.fixture
def store(tmp_path):
    s = Store(str(tmp_path / "t.db"))
    yield s
    s.close()


def test_run_finds_patterns_flags_and_routes(store):
    result = pipeline(store).run(MemorySource(fleet()))
    by_type = {p.error_type: p for p in result.patterns}
    deadlock, keyerror = by_type["sql"], by_type["KeyError"]
    assert deadlock.occurrences == 3 and deadlock.customers == ["acme"]
    assert not deadlock.anomaly.escalated and deadlock.anomaly.baseline_days_present == 7
    assert deadlock.triage.bucket == "platform"
    assert keyerror.anomaly.new_signature and keyerror.anomaly.spike and keyerror.anomaly.spread
    assert keyerror.occurrences == 12 and keyerror.customers == ["acme", "globex", "initech"]
    assert keyerror.triage.bucket == "application"
    assert result.patterns[0] is keyerror  # most urgent first
    assert result.report["raw_events"] == len(fleet())
    assert result.report["signatures"] == 2


def test_second_run_counts_nothing_twice_and_calls_no_model(store):
    analyzer = CountingAnalyzer()
    first = pipeline(store, analyzer).run(MemorySource(fleet()))
    second = pipeline(store, analyzer).run(MemorySource(fleet()))
    assert len(analyzer.calls) == 2
    assert second.report["new_events"] == 0 and second.report["already_seen"] == len(fleet())
    assert second.report["cache_hits"] == 2 and second.report["model_calls"] == 0
    assert [p.occurrences for p in first.patterns] == [p.occurrences for p in second.patterns]


def test_expired_cache_entry_is_a_miss(store):
    analyzer = CountingAnalyzer()
    pipeline(store, analyzer).run(MemorySource(fleet()))
    pipeline(store, analyzer, cache=CachePolicy(recent_ttl=timedelta(microseconds=1))).run(MemorySource(fleet()))
    assert len(analyzer.calls) == 4


def test_known_noise_is_suppressed_unless_new(store):
    with store.begin() as conn:
        conn.add_noise_rule("regex", "Deadlock detected", "expected during batch jobs")
        conn.add_noise_rule("regex", "KeyError", "pretend benign")
    result = pipeline(store).run(MemorySource(fleet()))
    by_type = {p.error_type: p for p in result.patterns}
    assert by_type["sql"].triage.suppressed and by_type["sql"].triage.bucket == "non_issue"
    assert not by_type["KeyError"].triage.suppressed  # NEW escalates despite the noise rule
    assert "escalated" in by_type["KeyError"].triage.reason
    assert result.patterns[-1].triage.suppressed  # suppressed noise sorts last


def test_window_rounds_at_up_to_the_hour():
    at = datetime(2026, 11, 20, 6, 30, tzinfo=UTC)
    base, start, end = window_hours(at, timedelta(hours=24), 7)
    assert end * 3600 == datetime(2026, 11, 20, 7, tzinfo=UTC).timestamp()
    assert end - start == 24 and start - base == 7 * 24


def test_events_outside_window_and_baseline_do_not_count(store):
    events = [ev(1, "boom 123456", "a", 1), ev(2, "boom 123457", "a", 24 * 9), ev(3, "boom 123458", "b", -2)]
    result = pipeline(store).run(MemorySource(events))
    (pattern,) = result.patterns
    assert pattern.occurrences == 1 and pattern.anomaly.new_signature  # 9 days ago is outside a 7-day baseline


def test_events_without_customer_count_as_occurrences_only(store):
    events = [ev(i, "Disk full on /var 123456", "", 1) for i in range(4)]
    (pattern,) = pipeline(store).run(MemorySource(events)).patterns
    assert pattern.occurrences == 4 and pattern.customers == []


def test_redacted_text_is_all_that_is_stored(store, tmp_path):
    secret = "hunter2hunter2"
    events = [ev(1, f"Login failed for bob@example.com password={secret}", "a", 1)]
    pipeline(store).run(MemorySource(events))
    raw = (tmp_path / "t.db").read_bytes()
    assert secret.encode() not in raw and b"bob@example.com" not in raw


def test_failed_analysis_stays_pending_and_is_retried_next_run(store):
    from errorsift.errors import AnalyzerError

    class Flaky(CountingAnalyzer):
        fail = True

        def analyze(self, request):
            if self.fail:
                raise AnalyzerError("429 rate limited")
            return super().analyze(request)

    flaky = Flaky()
    first = pipeline(store, flaky).run(MemorySource(fleet()))
    assert first.report["pending"] == 2 and first.report["model_calls"] == 0
    flaky.fail = False
    second = pipeline(store, flaky).run(MemorySource(fleet()))
    assert second.report["cache_misses"] == 2 and second.report["model_calls"] == 2


def test_owner_override_routes_the_next_run(store):
    first = pipeline(store).run(MemorySource(fleet()))
    deadlock = next(p for p in first.patterns if p.error_type == "sql")
    with store.begin() as conn:
        conn.set_owner_override(deadlock.signature, "application", "dev", "orders team owns this query")
    second = pipeline(store).run(MemorySource(fleet()))
    again = next(p for p in second.patterns if p.signature == deadlock.signature)
    assert (again.triage.bucket, again.triage.owner) == ("application", "dev")
    assert "Owner overridden: orders team owns this query" in again.triage.reason


def test_merged_signature_takes_the_history_and_future_events(store):
    first = pipeline(store).run(MemorySource(fleet()))
    a, b = first.patterns[0].signature, first.patterns[1].signature
    with store.begin() as conn:
        conn.add_alias(a, b, "merged")
    second = pipeline(store).run(MemorySource([*fleet(), ev(999, "KeyError: 'plan' for user_id: 5", "zeta", 1)]))
    (merged,) = second.patterns
    assert merged.signature == b
    assert merged.occurrences == sum(p.occurrences for p in first.patterns) + 1


def test_error_type_and_service_are_redacted_before_they_are_stored(store):
    event = ErrorEvent(
        AT - timedelta(hours=1),
        "Auth failed",
        "AuthError token=Tk9ErrTypeSecretZZ",
        "api password=Pw9ServiceSecretQQ",
        "a",
        "h",
        "x1",
    )
    (pattern,) = pipeline(store).run(MemorySource([event])).patterns
    assert "Tk9ErrTypeSecretZZ" not in pattern.error_type and "Pw9ServiceSecretQQ" not in pattern.service
    with store.read() as conn:
        stored = repr(conn.signature_rows())
    assert "Tk9ErrTypeSecret" not in stored and "Pw9ServiceSecret" not in stored and "<secret>" in stored


def test_signature_rules_and_overrides_follow_a_merge(store):
    first = pipeline(store).run(MemorySource(fleet()))
    old, survivor = first.patterns[0].signature, first.patterns[1].signature
    with store.begin() as conn:
        conn.add_noise_rule("signature", old, "benign after all")
        conn.set_owner_override(old, "platform", "sre", "sre owns it")
        conn.add_alias(old, survivor, "merged")
    (merged,) = pipeline(store).run(MemorySource(fleet())).patterns
    assert merged.signature == survivor
    assert "Owner overridden: sre owns it" in merged.triage.reason or "Known noise" in merged.triage.reason


def test_report_counts_signatures_after_generalization_and_keeps_templates_current(tmp_path):
    from errorsift.signatures.mined import MinedGrouper

    s = Store(str(tmp_path / "g.db"))
    users = ["cyrus"] * 3 + ["root", "news", "test", "guest", "admin"]
    events = [ev(i, f"session opened for user {u} by (uid=0)", "a", 1) for i, u in enumerate(users)]
    result = Pipeline(s, MinedGrouper(), Redactor().redact_with_counts, OfflineAnalyzer(), RunConfig(at=AT)).run(
        MemorySource(events)
    )
    (pattern,) = result.patterns
    assert result.report["signatures"] == 1 and result.report["dedup_ratio"] == len(users)
    assert "cyrus" not in pattern.template and "<*>" in pattern.template
    s.close()
