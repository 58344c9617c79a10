"""The analysis step on a real SQLite file with the real Anthropic SDK against the fake server:
budgets, urgency order, concurrency, faults left pending, pattern analyses, nothing lost."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from errorsift.analysis.anthropic_analyzer import AnthropicAnalyzer
from errorsift.analysis.cache import CachePolicy
from errorsift.analysis.offline import OfflineAnalyzer
from errorsift.analysis.step import AnalysisItem, AnalysisOptions, AnalysisStep
from errorsift.errors import ConfigError
from errorsift.models import AnalysisRequest
from errorsift.store.analysis_queries import latest_failure, spend_since
from errorsift.store.store import Store

from .conftest import ANSWER, KEY, schema_answer
from .fake_anthropic import FakeAnthropic

MODEL = "claude-sonnet-4-5"
# Every answer is billed 10,000 in / 1,000 out = $0.045 at Sonnet 4.5 prices.
CALL_USD = 10_000 * 3 / 1e6 + 1_000 * 15 / 1e6


def item(key: str, occ: int = 10, customers: int = 1, flags: tuple[str, ...] = (), days: int = 0) -> AnalysisItem:
    request = AnalysisRequest(
        signature=key,
        error_type="TimeoutError",
        occurrences=occ,
        customers_affected=customers,
        normalized=f"Timeout calling service {key}",
        anomaly_flags=flags,
        days_present=days,
        daily_history=(*tuple((f"2026-11-{10 + d:02d}", 3, 1) for d in range(7)), ("current", occ, customers)),
    )
    return AnalysisItem(request, escalated=bool(flags))


ITEMS = [
    item("aaaaaaaaaaaaaaa1", occ=500),  # quiet but loud
    item("aaaaaaaaaaaaaaa2", occ=5, flags=("SPREAD",), customers=4),
    item("aaaaaaaaaaaaaaa3", occ=5, flags=("NEW",)),
    item("aaaaaaaaaaaaaaa4", occ=50, flags=("SPIKE",)),
    item("aaaaaaaaaaaaaaa5", occ=1),
]
URGENCY = ["aaaaaaaaaaaaaaa3", "aaaaaaaaaaaaaaa4", "aaaaaaaaaaaaaaa2", "aaaaaaaaaaaaaaa1", "aaaaaaaaaaaaaaa5"]


@pytest.fixture
def analyzer(fake_anthropic: FakeAnthropic) -> Iterator[AnthropicAnalyzer]:
    with AnthropicAnalyzer(MODEL, api_key=KEY, base_url=fake_anthropic.url, timeout=5) as a:
        yield a


def billed(fake: FakeAnthropic) -> None:
    """Answer every call with a valid analysis billed at a fixed CALL_USD."""

    def respond(request, number):  # type: ignore[no-untyped-def]
        from .fake_anthropic import ScriptedResponse, message_body

        body = message_body(schema_answer(request.body), input_tokens=10_000, output_tokens=1_000)
        return ScriptedResponse(200, body)

    fake.responder = respond


def sent_keys(fake: FakeAnthropic) -> list[str]:
    """The signature each message request was about (from the data block), in arrival order."""
    keys = []
    for r in fake.requests:
        if r.path == "/v1/messages":
            text = json.dumps(r.body)
            keys.append(next(i.request.signature for i in ITEMS if f"service {i.request.signature}" in text))
    return keys


def step(store: Store, analyzer: object, **options: object) -> AnalysisStep:
    return AnalysisStep(store, analyzer, CachePolicy(), AnalysisOptions(**options))  # type: ignore[arg-type]


def test_run_budget_leaves_the_rest_pending_in_urgency_order_and_the_next_run_completes_them(
    store: Store, fake_anthropic: FakeAnthropic, analyzer: AnthropicAnalyzer
) -> None:
    billed(fake_anthropic)
    first = step(store, analyzer, run_budget_usd=CALL_USD * 2.5, concurrency=1).run(1, ITEMS)
    assert first["model_calls"] == 2 and first["cost_usd"] == pytest.approx(2 * CALL_USD)
    assert first["cost_usd"] <= CALL_USD * 2.5  # never over the budget
    assert sent_keys(fake_anthropic) == URGENCY[:2]  # NEW, then SPIKE: the most urgent were analysed
    report = first["report"]
    assert first["pending"] == 3 and report["pending_by_reason"] == {"budget_run": 3}
    assert [p["signature"] for p in report["pending_signatures"]] == URGENCY[2:]
    assert "run budget $0.11 reached" in report["stopped"]
    assert first["analyses"][URGENCY[4]].fallback and "budget" in first["analyses"][URGENCY[4]].summary
    with store.read() as conn:  # nothing is recorded for calls that were never made
        assert latest_failure(conn, URGENCY[4], "recent") is None

    second = step(store, analyzer, run_budget_usd=CALL_USD * 10, concurrency=1).run(2, ITEMS)
    assert second["cache_hits"] == 2 and second["model_calls"] == 3 and second["pending"] == 0
    assert sent_keys(fake_anthropic)[2:] == URGENCY[2:]
    assert all(not a.fallback for a in second["analyses"].values())


def test_daily_budget_counts_earlier_runs_of_the_day(
    store: Store, fake_anthropic: FakeAnthropic, analyzer: AnthropicAnalyzer
) -> None:
    billed(fake_anthropic)
    step(store, analyzer, daily_budget_usd=CALL_USD * 3.5).run(1, ITEMS[:2])
    with store.read() as conn:
        midnight = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
        assert spend_since(conn, midnight) == pytest.approx(2 * CALL_USD)
    later = step(store, analyzer, daily_budget_usd=CALL_USD * 3.5, concurrency=2).run(2, ITEMS)
    assert later["model_calls"] == 1 and later["report"]["pending_by_reason"] == {"budget_day": 2}
    assert later["report"]["budget"]["day_spent_usd"] == pytest.approx(3 * CALL_USD)


def test_concurrency_is_limited_and_used(store: Store, fake_anthropic: FakeAnthropic) -> None:
    from .fake_anthropic import ScriptedResponse, message_body

    fake_anthropic.responder = lambda request, n: ScriptedResponse(
        200, message_body(schema_answer(request.body)), delay=0.15
    )
    items = [item(f"bbbbbbbbbbbbbb{i:02d}") for i in range(9)]
    with AnthropicAnalyzer(MODEL, api_key=KEY, base_url=fake_anthropic.url) as analyzer:
        meter = step(store, analyzer, concurrency=3).run(1, items)
    assert meter["model_calls"] == 9
    assert fake_anthropic.peak_concurrency == 3


def test_faults_leave_signatures_pending_with_the_error_and_keep_the_rest(
    store: Store, fake_anthropic: FakeAnthropic
) -> None:
    fake_anthropic.reply_text(json.dumps(ANSWER))  # NEW: fine
    fake_anthropic.reply_error(400, "invalid_request_error", "prompt is too long")  # SPIKE: fails for good
    fake_anthropic.overloaded()  # SPREAD: overloaded twice, the retries run out
    fake_anthropic.overloaded()
    fake_anthropic.reply_text(json.dumps(ANSWER))
    fake_anthropic.reply_text(json.dumps(ANSWER))
    with AnthropicAnalyzer(MODEL, api_key=KEY, base_url=fake_anthropic.url, max_retries=1) as analyzer:
        meter = step(store, analyzer, concurrency=1).run(7, ITEMS)
    assert meter["model_calls"] == 3 and meter["pending"] == 2
    assert meter["report"]["pending_by_reason"] == {"error": 2}
    with store.read() as conn:
        assert "prompt is too long" in latest_failure(conn, URGENCY[1], "recent")["error"]
        assert "HTTP 529" in latest_failure(conn, URGENCY[2], "recent")["error"]
        stored = conn.analyses_for(URGENCY, "recent")
    assert set(stored) == {URGENCY[0], URGENCY[3], URGENCY[4]}  # what was paid for is kept


def test_spend_limit_mid_run_stops_the_calls_but_the_run_completes(
    store: Store, fake_anthropic: FakeAnthropic, analyzer: AnthropicAnalyzer
) -> None:
    fake_anthropic.reply_text(json.dumps(ANSWER))
    fake_anthropic.spend_limited()
    meter = step(store, analyzer, concurrency=1).run(1, ITEMS)
    assert len(fake_anthropic.requests) == 2  # nothing after the spend limit
    assert meter["model_calls"] == 1
    assert meter["report"]["pending_by_reason"] == {"spend_limit": 4}
    assert "spend limit" in meter["report"]["stopped"]
    assert not meter["analyses"][URGENCY[0]].fallback  # the analysis made before it is kept


def test_recurring_signatures_also_get_a_pattern_analysis(
    store: Store, fake_anthropic: FakeAnthropic, analyzer: AnthropicAnalyzer
) -> None:
    fake_anthropic.answer_with(schema_answer, realistic=False)
    items = [item("cccccccccccccc01", days=5), item("cccccccccccccc02", days=2)]
    first = step(store, analyzer).run(1, items)
    assert first["model_calls"] == 3  # two recent, one pattern (only the one present on >= 3 days)
    assert set(first["pattern_analyses"]) == {"cccccccccccccc01"}
    pattern = first["pattern_analyses"]["cccccccccccccc01"].model_dump()
    assert pattern["trend"] == "worsening" and pattern["permanent_fix"]
    assert first["report"]["pattern"] == {"hits": 0, "misses": 1}
    again = step(store, analyzer).run(2, items)
    assert again["model_calls"] == 0 and again["cache_hits"] == 3
    with store.read() as conn:
        assert conn.cached_analysis("cccccccccccccc01", "pattern") is not None


def test_offline_analyzer_makes_no_pattern_analyses_and_needs_no_budget(store: Store) -> None:
    meter = step(store, OfflineAnalyzer(), run_budget_usd=0.000001).run(1, [item("dddddddddddddd01", days=7)])
    assert meter["pending"] == 0 and meter["pattern_analyses"] == {}
    assert meter["report"]["analyses_made"] == 0  # offline answers are not model calls


def test_bad_options_are_config_errors(store: Store) -> None:
    with pytest.raises(ConfigError, match="concurrency"):
        AnalysisOptions(concurrency=0)
    with pytest.raises(ConfigError, match="batch"):
        step(store, OfflineAnalyzer(), batch=True)


def test_through_the_pipeline_the_run_report_says_how_many_are_pending(
    store: Store, fake_anthropic: FakeAnthropic, analyzer: AnthropicAnalyzer
) -> None:
    from datetime import timedelta

    from errorsift.models import ErrorEvent
    from errorsift.pipeline import Pipeline, RunConfig
    from errorsift.signatures.redact import Redactor
    from errorsift.signatures.seed import SeedNormalizer
    from errorsift.sources.memory import MemorySource

    billed(fake_anthropic)
    at = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
    events = [
        ErrorEvent(at - timedelta(hours=1), f"{name} failed while saving the order", name, "api", "acme", "h", name)
        for name in ("KeyError", "TypeError", "ValueError", "IndexError")
    ]

    def run(budget: float) -> dict:
        config = RunConfig(at=at, analysis=AnalysisOptions(run_budget_usd=budget, concurrency=1))
        pipeline = Pipeline(store, SeedNormalizer(), Redactor().redact_with_counts, analyzer, config)
        return pipeline.run(MemorySource(events)).report

    first = run(CALL_USD * 1.5)
    assert first["model_calls"] == 1 and first["pending"] == 3
    assert first["analysis"]["pending_by_reason"] == {"budget_run": 3}
    second = run(CALL_USD * 1.5)  # the same small budget: one more each run, none paid twice
    assert second["cache_hits"] == 1 and second["model_calls"] == 1 and second["pending"] == 2
    third = run(0)  # no limit
    assert third["cache_hits"] == 2 and third["model_calls"] == 2 and third["pending"] == 0
