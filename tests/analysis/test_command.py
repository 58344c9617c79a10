"""``errorsift analysis show|batches``: the stored analysis, its calls, and the audit of what was sent."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from errorsift.analysis.anthropic_analyzer import AnthropicAnalyzer
from errorsift.analysis.cache import CachePolicy
from errorsift.analysis.command import analysis
from errorsift.analysis.step import AnalysisItem, AnalysisStep
from errorsift.models import AnalysisRequest
from errorsift.store.store import Store

from .conftest import ANSWER, KEY, schema_answer
from .fake_anthropic import FakeAnthropic

SIG = "f00df00df00df00d"


@pytest.fixture
def db(tmp_path: Path, fake_anthropic: FakeAnthropic) -> Path:
    path = tmp_path / "cmd.db"
    fake_anthropic.answer_with(schema_answer, realistic=True)
    request = AnalysisRequest(SIG, "KeyError", 7, 2, "KeyError: 'plan' in <email> checkout", days_present=4)
    store = Store(str(path))
    try:
        with AnthropicAnalyzer("claude-sonnet-4-5", api_key=KEY, base_url=fake_anthropic.url) as analyzer:
            AnalysisStep(store, analyzer, CachePolicy()).run(1, [AnalysisItem(request, escalated=True)])
    finally:
        store.close()
    return path


def invoke(*args: str) -> object:
    return CliRunner().invoke(analysis, list(args), catch_exceptions=False)


def test_show_renders_the_analysis_and_its_calls(db: Path) -> None:
    result = invoke("show", SIG, "--db", str(db))
    assert result.exit_code == 0, result.output
    assert ANSWER["summary"] in result.output and "Database" in result.output
    assert "recent analysis by anthropic:claude-sonnet-4-5" in result.output
    assert "model calls" in result.output


def test_show_sent_is_exactly_what_the_provider_received(db: Path, fake_anthropic: FakeAnthropic) -> None:
    result = invoke("show", SIG, "--sent", "--db", str(db))
    assert result.exit_code == 0
    body = next(r.body for r in fake_anthropic.requests if "long-running" not in json.dumps(r.body))
    expected = f"[system]\n{body['system'][0]['text']}\n\n[user]\n{body['messages'][0]['content']}\n"
    assert result.output == expected
    assert "<email>" in result.output  # the placeholder, never the address


def test_show_pattern_as_json(db: Path) -> None:
    result = invoke("show", SIG, "--type", "pattern", "--json", "--db", str(db))
    data = json.loads(result.output)
    assert data["type"] == "pattern" and data["fresh"] is True
    assert data["analysis"]["trend"] == "worsening"
    (call,) = data["calls"]
    assert call["ok"] is True and call["cost_usd"] > 0 and call["usage"]["how"] == "schema"
    assert "sent" not in data


def test_unknown_signature_is_one_clear_line(db: Path) -> None:
    result = CliRunner().invoke(analysis, ["show", "0000000000000000", "--db", str(db)])
    assert result.exit_code == 2
    assert "no signature '0000000000000000'" in result.output


def test_batches_lists_open_batches(db: Path) -> None:
    result = invoke("batches", "--json", "--db", str(db))
    assert json.loads(result.output) == []


def test_every_command_has_help_and_an_example() -> None:
    for name, command in analysis.commands.items():
        assert command.help and "Example:" in command.help, name
        assert CliRunner().invoke(analysis, [name, "--help"]).exit_code == 0
