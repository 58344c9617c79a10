"""Choosing the analyzer from settings: offline without a key, anthropic with one, openai-compatible
on request; and the run's analysis options (budgets, concurrency, batch) from settings."""

from __future__ import annotations

import json

import pytest

from errorsift.analysis.anthropic_analyzer import AnthropicAnalyzer
from errorsift.analysis.offline import OfflineAnalyzer
from errorsift.analysis.openai_analyzer import OpenAICompatibleAnalyzer
from errorsift.build import analysis_options, make_analyzer, resolve_analyzer, run_config
from errorsift.errors import AnalyzerError, ConfigError
from errorsift.models import AnalysisRequest
from errorsift.settings import Settings, load_settings

from .conftest import ANSWER
from .fake_openai import FakeOpenAI


def test_auto_is_anthropic_only_when_the_key_is_set(monkeypatch: pytest.MonkeyPatch) -> None:
    assert resolve_analyzer(Settings(), env={}) == "offline"
    assert resolve_analyzer(Settings(), env={"ANTHROPIC_API_KEY": "  "}) == "offline"
    assert resolve_analyzer(Settings(), env={"ANTHROPIC_API_KEY": "k"}) == "anthropic"
    assert resolve_analyzer(Settings(analyzer="offline"), env={"ANTHROPIC_API_KEY": "k"}) == "offline"
    assert isinstance(make_analyzer(Settings()), OfflineAnalyzer)
    monkeypatch.setenv("ANTHROPIC_API_KEY", "k")
    analyzer = make_analyzer(Settings(base_url="http://127.0.0.1:9", request_timeout="5s", max_retries=0))
    assert isinstance(analyzer, AnthropicAnalyzer) and analyzer.base_url == "http://127.0.0.1:9"
    assert analyzer.retry.max_retries == 0


def test_anthropic_without_a_key_is_a_clear_error() -> None:
    with pytest.raises(AnalyzerError, match="ANTHROPIC_API_KEY is not set"):
        make_analyzer(Settings(analyzer="anthropic"))


def test_openai_compatible_against_a_local_server_needs_no_key(fake_openai: FakeOpenAI) -> None:
    fake_openai.reply_text(json.dumps(ANSWER))
    settings = Settings(analyzer="openai-compatible", model="llama3.1", base_url=fake_openai.base_url)
    analyzer = make_analyzer(settings)
    assert isinstance(analyzer, OpenAICompatibleAnalyzer) and analyzer.name == "openai-compatible:llama3.1"
    outcome = analyzer.analyze(AnalysisRequest("k", "KeyError", 1, 1, "KeyError: 'plan'"))
    assert not outcome.analysis.fallback
    sent = fake_openai.requests[0]
    assert sent.headers["authorization"] == "Bearer errorsift-local"  # a placeholder, not a credential
    assert sent.body["max_tokens"] == 1500 and "max_completion_tokens" not in sent.body  # local servers


def test_openai_compatible_needs_a_model_and_openai_needs_a_key() -> None:
    with pytest.raises(ConfigError, match="needs `model`"):
        make_analyzer(Settings(analyzer="openai-compatible", base_url="http://127.0.0.1:9/v1"))
    with pytest.raises(AnalyzerError, match="OPENAI_API_KEY is not set"):
        make_analyzer(Settings(analyzer="openai-compatible", model="gpt-4o-mini"))
    with pytest.raises(ConfigError, match="unknown analyzer"):
        make_analyzer(Settings(analyzer="litellm"))


def test_analysis_options_come_from_settings_and_env() -> None:
    settings = load_settings(
        None,
        env={
            "ERRORSIFT_RUN_BUDGET_USD": "0.5",
            "ERRORSIFT_DAILY_BUDGET_USD": "5",
            "ERRORSIFT_CONCURRENCY": "8",
            "ERRORSIFT_BATCH": "true",
            "ERRORSIFT_BATCH_WAIT": "2m",
        },
    )
    options = analysis_options(settings)
    assert (options.run_budget_usd, options.daily_budget_usd, options.concurrency) == (0.5, 5.0, 8)
    assert options.batch is True and options.batch_wait_s == 120
    assert run_config(settings, None).analysis == options
    with pytest.raises(ConfigError, match="must be a number"):
        load_settings(None, env={"ERRORSIFT_RUN_BUDGET_USD": "lots"})
