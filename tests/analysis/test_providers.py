"""Both providers, one behaviour: answers, repair, fallback and faults through the real SDKs.

Each test runs twice: the `anthropic` SDK against `FakeAnthropic` and the `openai` SDK against
`FakeOpenAI`, both local servers speaking the providers' wire formats. Nothing is patched.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from errorsift.analysis.anthropic_analyzer import AnthropicAnalyzer
from errorsift.analysis.base import AnalyzerError
from errorsift.analysis.faults import CallFailed
from errorsift.analysis.openai_analyzer import OpenAICompatibleAnalyzer
from errorsift.analysis.parse import FALLBACK_EXPLANATION
from errorsift.analysis.provider import ModelAnalyzer
from errorsift.models import AnalysisRequest

from .conftest import ANSWER, KEY
from .fake_anthropic import FakeAnthropic
from .fake_http import FakeHTTPServer
from .fake_openai import FakeOpenAI

REQUEST = AnalysisRequest(
    signature="0123456789abcdef",
    error_type="SqlException",
    occurrences=42,
    customers_affected=3,
    normalized="Transaction (Process ID [ID]) was deadlocked on lock resources",
)
DOC = json.dumps(ANSWER)
GARBAGE = "I'm sorry, I cannot help with that. " * 10


@dataclass
class Harness:
    """One provider: its fake, how to build the analyzer, and its dialect of each fault."""

    name: str
    fake: FakeHTTPServer
    build: Callable[..., ModelAnalyzer]
    reply: Callable[[str], None]
    rate_limited: Callable[[float], None]
    spend_limited: Callable[[], None]
    overloaded: Callable[[], None]

    def messages(self, index: int) -> list[dict[str, Any]]:
        """The conversation of request `index` (system prompt excluded)."""
        body = self.fake.requests[index].body
        return [m for m in body["messages"] if m["role"] != "system"]


def _anthropic() -> Iterator[Harness]:
    with FakeAnthropic() as fake:

        def build(**kw: Any) -> ModelAnalyzer:
            kw.setdefault("timeout", 5)
            return AnthropicAnalyzer("claude-sonnet-4-5", api_key=KEY, base_url=fake.url, **kw)

        yield Harness(
            "anthropic",
            fake,
            build,
            lambda text: fake.reply_text(text, input_tokens=1234, output_tokens=567),
            lambda wait: fake.rate_limited(wait),
            fake.spend_limited,
            fake.overloaded,
        )


def _openai() -> Iterator[Harness]:
    with FakeOpenAI() as fake:

        def build(**kw: Any) -> ModelAnalyzer:
            kw.setdefault("timeout", 5)
            return OpenAICompatibleAnalyzer("gpt-4o-mini", base_url=fake.base_url, **kw)

        yield Harness(
            "openai",
            fake,
            build,
            lambda text: fake.reply_text(text, prompt_tokens=1234, completion_tokens=567),
            lambda wait: fake.rate_limited(wait),
            fake.quota_exceeded,
            lambda: fake.reply_error(503, "The server is overloaded", "server_error", retry_after="0"),
        )


@pytest.fixture(params=["anthropic", "openai"])
def provider(request: pytest.FixtureRequest) -> Iterator[Harness]:
    yield from (_anthropic() if request.param == "anthropic" else _openai())


# ---------------------------------------------------------------- answers


ANSWERS = [
    ("schema-valid", DOC, "schema"),
    ("fenced json", f"Here you go:\n```json\n{DOC}\n```", "tolerant"),
    ("json in prose", f"Based on the facts, {DOC} — let me know if you need more.", "tolerant"),
    ("loose enums", DOC.replace('"High"', '"high"'), "tolerant"),
]


@pytest.mark.parametrize(("name", "text", "how"), ANSWERS, ids=[a[0] for a in ANSWERS])
def test_answers_are_validated_and_read(provider: Harness, name: str, text: str, how: str) -> None:
    provider.reply(text)
    with provider.build() as analyzer:
        outcome = analyzer.analyze(REQUEST)
    a = outcome.analysis
    assert outcome.model_called and not a.fallback
    assert a.analyzer == analyzer.name
    assert (a.summary, a.severity, a.technical_details.error_category) == (ANSWER["summary"], "High", "Database")
    assert outcome.usage.raw["how"] == how
    assert len(provider.fake.requests) == 1  # no repair needed


def test_structured_output_is_requested_without_sampling_params(provider: Harness) -> None:
    provider.reply(DOC)
    with provider.build() as analyzer:
        analyzer.analyze(REQUEST)
    body = provider.fake.requests[0].body
    assert not {"temperature", "top_p", "top_k", "seed", "frequency_penalty"} & set(body)
    if provider.name == "anthropic":
        assert body["output_config"]["format"]["type"] == "json_schema"
    else:
        assert body["response_format"]["type"] == "json_schema"
        assert body["response_format"]["json_schema"]["strict"] is True
        assert body["messages"][0]["role"] == "system"  # the stable prefix first, for automatic caching


def test_invalid_answer_is_repaired_once(provider: Harness) -> None:
    provider.reply(GARBAGE)
    provider.reply(DOC)
    with provider.build() as analyzer:
        outcome = analyzer.analyze(REQUEST)
    assert not outcome.analysis.fallback
    assert outcome.usage.raw["how"] == "repaired"
    assert (outcome.usage.input_tokens, outcome.usage.output_tokens) == (2 * 1234, 2 * 567)  # both calls metered
    assert len(outcome.usage.raw["calls"]) == 2
    repair = provider.messages(1)
    assert [m["role"] for m in repair] == ["user", "assistant", "user"]
    assert repair[1]["content"] == GARBAGE.strip()
    assert "could not be used" in repair[2]["content"]
    assert "[assistant]" in outcome.prompt and "could not be used" in outcome.prompt  # the audit shows both turns


def test_still_invalid_after_repair_is_a_marked_fallback(provider: Harness) -> None:
    provider.reply(GARBAGE)
    provider.reply("Still not JSON, sorry.")
    with provider.build() as analyzer:
        outcome = analyzer.analyze(REQUEST)
    a = outcome.analysis
    assert a.fallback and a.explanation == FALLBACK_EXPLANATION
    assert a.summary == "Still not JSON, sorry."[:200]
    assert a.technical_details.error_category is None  # routing gets no category from a fallback
    assert outcome.usage.raw["how"] == "fallback"
    assert len(provider.fake.requests) == 2  # one repair, never more


def test_a_schema_object_with_a_wrong_enum_and_no_tolerant_reading_is_repaired(provider: Harness) -> None:
    provider.reply(json.dumps({"verdict": "route to platform"}))
    provider.reply(DOC)
    with provider.build() as analyzer:
        outcome = analyzer.analyze(REQUEST)
    assert outcome.usage.raw["how"] == "repaired"
    assert "missing keys" in provider.messages(1)[2]["content"]


# ---------------------------------------------------------------- faults


def test_rate_limit_is_retried_after_retry_after(provider: Harness) -> None:
    provider.rate_limited(0.3)
    provider.reply(DOC)
    with provider.build() as analyzer:
        outcome = analyzer.analyze(REQUEST)
    first, second = provider.fake.requests
    assert second.at - first.at >= 0.28  # the server's retry-after was honoured
    assert not outcome.analysis.fallback
    assert outcome.usage.input_tokens == 1234  # only the successful call is metered


def test_overload_then_success(provider: Harness) -> None:
    provider.overloaded()
    provider.overloaded()
    provider.reply(DOC)
    with provider.build(max_retries=2) as analyzer:
        assert analyzer.analyze(REQUEST).analysis.summary == ANSWER["summary"]
    assert len(provider.fake.requests) == 3


def test_retries_exhausted_is_one_clear_error(provider: Harness) -> None:
    for _ in range(3):
        provider.overloaded()
    with provider.build(max_retries=1) as analyzer, pytest.raises(CallFailed) as info:
        analyzer.analyze(REQUEST)
    message = str(info.value)
    assert "\n" not in message and "after 1 retries" in message
    assert ("HTTP 529" if provider.name == "anthropic" else "HTTP 503") in message
    assert info.value.stop_run is False
    assert len(provider.fake.requests) == 2 and provider.fake.pending == 1


def test_spend_limit_is_never_retried_and_stops_the_run(provider: Harness) -> None:
    provider.spend_limited()
    provider.reply(DOC)
    with provider.build(max_retries=3) as analyzer, pytest.raises(CallFailed) as info:
        analyzer.analyze(REQUEST)
    assert info.value.kind == "spend_limit" and info.value.stop_run is True
    assert "spend limit" in str(info.value)
    assert len(provider.fake.requests) == 1 and provider.fake.pending == 1


def test_timeout_is_retried_then_a_clear_error(provider: Harness) -> None:
    provider.fake.enqueue(200, {}, delay=0.6)
    provider.fake.enqueue(200, {}, delay=0.6)
    with provider.build(timeout=0.2, max_retries=1) as analyzer, pytest.raises(AnalyzerError, match="timed out"):
        analyzer.analyze(REQUEST)
    assert len(provider.fake.requests) == 2


def test_timeout_then_success(provider: Harness) -> None:
    provider.fake.enqueue(200, {}, delay=0.6)
    provider.reply(DOC)
    with provider.build(timeout=0.3, max_retries=1) as analyzer:
        assert not analyzer.analyze(REQUEST).analysis.fallback


def test_unreachable_server_is_a_clear_error(provider: Harness) -> None:
    with provider.build(max_retries=1) as analyzer:
        provider.fake.stop()
        with pytest.raises(CallFailed, match="cannot reach") as info:
            analyzer.analyze(REQUEST)
    assert info.value.kind == "connection"


def test_server_error_that_says_do_not_retry_is_not_retried(provider: Harness) -> None:
    with provider.build(max_retries=3) as analyzer, pytest.raises(CallFailed):
        analyzer.analyze(REQUEST)  # the fake's "nothing scripted" 500 carries x-should-retry: false
    assert len(provider.fake.requests) == 1
