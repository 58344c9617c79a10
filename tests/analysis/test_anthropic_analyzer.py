"""AnthropicAnalyzer end to end: the real `anthropic` SDK against a local fake Messages API.

Nothing here patches the client: the SDK builds real requests, maps real HTTP errors and runs its
own retry loop against `FakeAnthropic` on 127.0.0.1.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator

import pytest

from errorsift.analysis.anthropic_analyzer import AnthropicAnalyzer
from errorsift.analysis.base import Analyzer, AnalyzerError
from errorsift.analysis.pricing import PriceTable
from errorsift.analysis.prompt import DATA_CLOSE, DATA_OPEN, SYSTEM_PROMPT
from errorsift.models import AnalysisRequest

from .fake_anthropic import FakeAnthropic

pytestmark = pytest.mark.usefixtures("no_anthropic_env")

KEY = "sk-ant-test-not-a-real-key"
MODEL = "claude-sonnet-4-5"
REQUEST = AnalysisRequest(
    signature="0123456789abcdef",
    error_type="SqlException",
    occurrences=42,
    customers_affected=3,
    normalized="Transaction (Process ID [ID]) was deadlocked on lock resources",
    samples=("deadlocked at [TIMESTAMP]",),
)
ANSWER = {
    "summary": "Order writes deadlock under concurrent checkout",
    "explanation": "Two checkouts update the same rows in opposite order.",
    "severity": "high",
    "user_impact": "Checkout fails and must be retried.",
    "root_cause": {"likely_cause": "Lock ordering", "confidence": "0.8"},
    "recommendations": {"immediate_actions": ["Add deadlock retry"], "resolution_priority": "High"},
    "customer_communication": "We are aware of intermittent checkout errors.",
    "technical_details": {
        "error_category": "Database",
        "real_application_bug": False,
        "affects_critical_operation": True,
    },
}
DOC = json.dumps(ANSWER, indent=2)


@pytest.fixture
def analyzer(fake_anthropic: FakeAnthropic) -> Iterator[AnthropicAnalyzer]:
    with AnthropicAnalyzer(MODEL, api_key=KEY, base_url=fake_anthropic.url, max_retries=2, timeout=5) as a:
        yield a


ANSWERS = [
    ("fenced json", f"Here you go:\n```json\n{DOC}\n```", False),
    ("json in prose", f"Based on the facts, {DOC} — let me know if you need more.", False),
    ("garbage", "I'm sorry, I cannot help with that. " * 10, True),
]


@pytest.mark.parametrize(("name", "text", "fallback"), ANSWERS, ids=[a[0] for a in ANSWERS])
def test_answers_parse_through_the_sdk(
    fake_anthropic: FakeAnthropic, analyzer: AnthropicAnalyzer, name: str, text: str, fallback: bool
) -> None:
    fake_anthropic.reply_text(text, input_tokens=1234, output_tokens=567)
    outcome = analyzer.analyze(REQUEST)
    analysis = outcome.analysis
    assert outcome.model_called is True
    assert analysis.analyzer == f"anthropic:{MODEL}"
    assert analysis.fallback is fallback
    if fallback:
        assert analysis.summary == text[:200]
    else:
        assert analysis.summary == ANSWER["summary"]
        assert analysis.severity == "High"
        assert analysis.root_cause.confidence == pytest.approx(0.8)
        assert analysis.technical_details.error_category == "Database"
    assert len(fake_anthropic.requests) == 1


def test_usage_and_cost_follow_the_fake_and_the_price_table(fake_anthropic: FakeAnthropic) -> None:
    prices = PriceTable({MODEL: {"input": 3.0, "output": 15.0}})
    fake_anthropic.reply_text(DOC, input_tokens=1200, output_tokens=350)
    with AnthropicAnalyzer(MODEL, api_key=KEY, base_url=fake_anthropic.url, prices=prices) as analyzer:
        usage = analyzer.analyze(REQUEST).usage
    assert (usage.input_tokens, usage.output_tokens, usage.model) == (1200, 350, MODEL)
    assert usage.cost_usd == pytest.approx(1200 * 3.0 / 1e6 + 350 * 15.0 / 1e6)
    assert usage.cost_usd == pytest.approx(prices.cost(MODEL, 1200, 350))


def test_request_wire_format(fake_anthropic: FakeAnthropic, analyzer: AnthropicAnalyzer) -> None:
    fake_anthropic.reply_text(DOC)
    outcome = analyzer.analyze(REQUEST)
    (sent,) = fake_anthropic.requests
    assert (sent.method, sent.path) == ("POST", "/v1/messages")
    assert sent.headers["x-api-key"] == KEY
    assert "anthropic-version" in sent.headers
    body = sent.body
    assert body["model"] == MODEL
    assert body["max_tokens"] == 1500
    assert "temperature" not in body and "top_p" not in body and "top_k" not in body
    assert body["system"] == SYSTEM_PROMPT
    (message,) = body["messages"]
    assert message["role"] == "user"
    user = message["content"]
    assert DATA_OPEN in user and DATA_CLOSE in user
    assert REQUEST.normalized in user.split(DATA_OPEN)[1].split(DATA_CLOSE)[0]
    assert outcome.prompt == f"[system]\n{body['system']}\n\n[user]\n{user}"  # exactly what was sent


def test_rate_limit_is_retried_by_the_sdk(fake_anthropic: FakeAnthropic, analyzer: AnthropicAnalyzer) -> None:
    fake_anthropic.rate_limited(retry_after=0)
    fake_anthropic.reply_text(DOC, input_tokens=10, output_tokens=20)
    outcome = analyzer.analyze(REQUEST)
    assert len(fake_anthropic.requests) == 2
    assert outcome.analysis.fallback is False
    assert outcome.usage.input_tokens == 10  # only the successful call is metered
    assert fake_anthropic.requests[1].headers.get("x-stainless-retry-count") == "1"


def test_overloaded_then_success(fake_anthropic: FakeAnthropic, analyzer: AnthropicAnalyzer) -> None:
    fake_anthropic.overloaded()
    fake_anthropic.overloaded()
    fake_anthropic.reply_text(DOC)
    assert analyzer.analyze(REQUEST).analysis.summary == ANSWER["summary"]
    assert len(fake_anthropic.requests) == 3


def test_retries_exhausted_is_one_clear_error(fake_anthropic: FakeAnthropic) -> None:
    for _ in range(3):
        fake_anthropic.overloaded()
    with (
        AnthropicAnalyzer(MODEL, api_key=KEY, base_url=fake_anthropic.url, max_retries=1) as analyzer,
        pytest.raises(AnalyzerError) as info,
    ):
        analyzer.analyze(REQUEST)
    message = str(info.value)
    assert "\n" not in message
    assert "HTTP 529" in message and "overloaded_error" in message and "after 1 retries" in message
    assert len(fake_anthropic.requests) == 2  # first try + 1 retry
    assert fake_anthropic.pending == 1


@pytest.mark.parametrize(
    ("status", "error_type", "expect"),
    [
        (400, "invalid_request_error", "HTTP 400 (invalid_request_error): bad model"),
        (401, "authentication_error", "rejected the API key"),
    ],
)
def test_non_retryable_errors_fail_at_once(
    fake_anthropic: FakeAnthropic, analyzer: AnthropicAnalyzer, status: int, error_type: str, expect: str
) -> None:
    fake_anthropic.reply_error(status, error_type, "bad model")
    with pytest.raises(AnalyzerError, match=re.escape(expect)):
        analyzer.analyze(REQUEST)
    assert len(fake_anthropic.requests) == 1


def test_unreachable_server_is_a_clear_error(fake_anthropic: FakeAnthropic) -> None:
    url = fake_anthropic.url
    fake_anthropic.stop()
    with (
        AnthropicAnalyzer(MODEL, api_key=KEY, base_url=url, max_retries=0, timeout=2) as analyzer,
        pytest.raises(AnalyzerError, match="cannot reach"),
    ):
        analyzer.analyze(REQUEST)


def test_timeout_is_a_clear_error(fake_anthropic: FakeAnthropic) -> None:
    fake_anthropic.enqueue(200, {}, delay=1.0)
    with (
        AnthropicAnalyzer(MODEL, api_key=KEY, base_url=fake_anthropic.url, max_retries=0, timeout=0.2) as a,
        pytest.raises(AnalyzerError, match="timed out"),
    ):
        a.analyze(REQUEST)


def test_missing_api_key_fails_at_construction() -> None:
    with pytest.raises(AnalyzerError, match=r"^ANTHROPIC_API_KEY is not set"):
        AnthropicAnalyzer(MODEL)
    with pytest.raises(AnalyzerError, match="ANTHROPIC_API_KEY"):
        AnthropicAnalyzer(MODEL, api_key="  ")


def test_key_and_base_url_from_environment(fake_anthropic: FakeAnthropic, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ANTHROPIC_API_KEY", "env-key")
    monkeypatch.setenv("ANTHROPIC_BASE_URL", fake_anthropic.url)
    fake_anthropic.reply_text(DOC)
    with AnthropicAnalyzer("claude-haiku-4-5") as analyzer:
        assert isinstance(analyzer, Analyzer)
        assert analyzer.name == "anthropic:claude-haiku-4-5"
        outcome = analyzer.analyze(REQUEST)
    assert fake_anthropic.requests[0].headers["x-api-key"] == "env-key"
    assert fake_anthropic.requests[0].body["model"] == "claude-haiku-4-5"
    assert outcome.usage.cost_usd == pytest.approx(PriceTable().cost("claude-haiku-4-5", 10, 20))


def test_fake_requires_its_key_like_the_real_api() -> None:
    with FakeAnthropic(api_key="right") as fake:
        fake.reply_text(DOC)
        with (
            AnthropicAnalyzer(MODEL, api_key="wrong", base_url=fake.url) as analyzer,
            pytest.raises(AnalyzerError, match="401"),
        ):
            analyzer.analyze(REQUEST)
        assert fake.pending == 1


def test_analyzer_error_is_the_project_error_the_pipeline_catches() -> None:
    from errorsift import errors

    assert AnalyzerError is errors.AnalyzerError
    assert issubclass(AnalyzerError, errors.ErrorsiftError)
