"""AnthropicAnalyzer specifics: the Messages wire format, prompt caching, structured output, keys.

Nothing here patches the client: the real `anthropic` SDK builds real requests and parses real
responses from `FakeAnthropic` on 127.0.0.1. Behaviour shared with the OpenAI-compatible
analyzer (answers, repair, faults) is in test_providers.py.
"""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from errorsift.analysis.anthropic_analyzer import AnthropicAnalyzer
from errorsift.analysis.base import Analyzer, AnalyzerError
from errorsift.analysis.pricing import PriceTable
from errorsift.analysis.prompt import DATA_CLOSE, DATA_OPEN, SYSTEM_PROMPT
from errorsift.analysis.schema import answer_schema
from errorsift.models import AnalysisRequest, AnalysisType

from .conftest import ANSWER, KEY, PATTERN_ANSWER
from .fake_anthropic import FakeAnthropic

MODEL = "claude-sonnet-4-5"
REQUEST = AnalysisRequest(
    signature="0123456789abcdef",
    error_type="SqlException",
    occurrences=42,
    customers_affected=3,
    normalized="Transaction (Process ID [ID]) was deadlocked on lock resources",
    samples=("deadlocked at [TIMESTAMP]",),
    anomaly_flags=("SPIKE",),
)
DOC = json.dumps(ANSWER)


@pytest.fixture
def analyzer(fake_anthropic: FakeAnthropic) -> Iterator[AnthropicAnalyzer]:
    with AnthropicAnalyzer(MODEL, api_key=KEY, base_url=fake_anthropic.url, max_retries=2, timeout=5) as a:
        yield a


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
    assert not {"temperature", "top_p", "top_k"} & set(body)  # no sampling parameters
    # The stable system prompt is one block marked for prompt caching.
    assert body["system"] == [{"type": "text", "text": SYSTEM_PROMPT, "cache_control": {"type": "ephemeral"}}]
    # Structured output: the SPEC schema as a JSON schema.
    assert body["output_config"] == {"format": {"type": "json_schema", "schema": answer_schema(AnalysisType.RECENT)}}
    (message,) = body["messages"]
    assert message["role"] == "user"
    user = message["content"]
    assert DATA_OPEN in user and DATA_CLOSE in user
    assert REQUEST.normalized in user.split(DATA_OPEN)[1].split(DATA_CLOSE)[0]
    assert outcome.prompt == f"[system]\n{SYSTEM_PROMPT}\n\n[user]\n{user}"  # exactly what was sent


def test_schema_is_strict_in_the_subset_both_providers_accept() -> None:
    def walk(node: dict) -> None:
        assert not {"minimum", "maximum", "$ref", "$defs"} & set(node)
        if node.get("type") == "object":
            assert node["additionalProperties"] is False
            assert node["required"] == list(node["properties"])
            for child in node["properties"].values():
                walk(child)
        if node.get("type") == "array":
            walk(node["items"])

    for kind in AnalysisType:
        walk(answer_schema(kind))
    assert "trend" in answer_schema(AnalysisType.PATTERN)["properties"]
    assert "trend" not in answer_schema(AnalysisType.RECENT)["properties"]


def test_pattern_analysis_sends_history_and_reads_the_trend(
    fake_anthropic: FakeAnthropic, analyzer: AnthropicAnalyzer
) -> None:
    fake_anthropic.reply_text(json.dumps(PATTERN_ANSWER))
    request = AnalysisRequest(
        "0123456789abcdef",
        "SqlException",
        42,
        3,
        "deadlocked",
        analysis_type=AnalysisType.PATTERN,
        days_present=5,
        daily_history=(("2026-11-13", 3, 1), ("2026-11-14", 9, 2), ("current", 40, 3)),
    )
    outcome = analyzer.analyze(request)
    body = fake_anthropic.requests[0].body
    assert body["output_config"]["format"]["schema"] == answer_schema(AnalysisType.PATTERN)
    user = body["messages"][0]["content"]
    facts = json.loads(user.split(DATA_OPEN)[1].split(DATA_CLOSE)[0])
    assert facts["daily_history"][-1] == {"day": "current", "occurrences": 40, "customers": 3}
    assert facts["baseline_days_present"] == 5
    assert "chronic, worsening or improving" in user
    dumped = outcome.analysis.model_dump()
    assert (dumped["trend"], dumped["permanent_fix"]) == ("worsening", "Lock rows in primary-key order")


def test_prompt_cache_tokens_are_metered_and_priced(fake_anthropic: FakeAnthropic) -> None:
    fake_anthropic.answer_with(lambda body: DOC, realistic=True)
    with AnthropicAnalyzer(MODEL, api_key=KEY, base_url=fake_anthropic.url) as analyzer:
        first = analyzer.analyze(REQUEST).usage
        second = analyzer.analyze(REQUEST).usage
    assert first.cache_write_tokens > 1024 and first.cache_read_tokens == 0  # the system prompt is cacheable
    assert second.cache_read_tokens == first.cache_write_tokens and second.cache_write_tokens == 0
    prices = PriceTable()
    assert second.cost_usd == pytest.approx(
        prices.cost(MODEL, second.input_tokens, second.output_tokens, cache_read_tokens=second.cache_read_tokens)
    )
    assert second.cost_usd < first.cost_usd
    raw = second.raw["calls"][0]
    assert raw["cache_read_input_tokens"] == second.cache_read_tokens  # provider usage kept verbatim


def test_a_proxy_that_rejects_structured_output_is_asked_again_without_it(
    fake_anthropic: FakeAnthropic, analyzer: AnthropicAnalyzer
) -> None:
    fake_anthropic.reply_error(400, "invalid_request_error", "output_config: Extra inputs are not permitted")
    fake_anthropic.reply_text(f"```json\n{DOC}\n```")
    fake_anthropic.reply_text(DOC)
    assert analyzer.analyze(REQUEST).analysis.summary == ANSWER["summary"]
    assert analyzer.analyze(REQUEST).analysis.fallback is False
    first, retried, later = (r.body for r in fake_anthropic.requests)
    assert "output_config" in first and "output_config" not in retried and "output_config" not in later


def test_non_retryable_bad_request_fails_at_once(fake_anthropic: FakeAnthropic, analyzer: AnthropicAnalyzer) -> None:
    fake_anthropic.reply_error(400, "invalid_request_error", "bad model")
    with pytest.raises(AnalyzerError, match=r"HTTP 400 \(invalid_request_error\): bad model"):
        analyzer.analyze(REQUEST)
    assert len(fake_anthropic.requests) == 1


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
            pytest.raises(AnalyzerError, match="401") as info,
        ):
            analyzer.analyze(REQUEST)
        assert fake.pending == 1
        assert getattr(info.value, "stop_run", False) is True  # a bad key fails every later call too


def test_analyzer_error_is_the_project_error_the_pipeline_catches() -> None:
    from errorsift import errors

    assert AnalyzerError is errors.AnalyzerError
    assert issubclass(AnalyzerError, errors.ErrorsiftError)
