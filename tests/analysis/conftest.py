"""Fixtures for the analysis tests: running fake provider servers, torn down after each test.

Every provider test drives the real official SDK against one of these fakes on 127.0.0.1; the
developer's real keys and base URLs are hidden from every test here so nothing can reach the
internet by accident.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from errorsift.store.store import Store

from .fake_anthropic import FakeAnthropic
from .fake_openai import FakeOpenAI

KEY = "sk-ant-test-not-a-real-key"

ANSWER: dict[str, Any] = {
    "summary": "Order writes deadlock under concurrent checkout",
    "explanation": "Two checkouts update the same rows in opposite order.",
    "severity": "High",
    "user_impact": "Checkout fails and must be retried.",
    "root_cause": {"likely_cause": "Lock ordering", "confidence": 0.8},
    "recommendations": {"immediate_actions": ["Add deadlock retry"], "resolution_priority": "High"},
    "customer_communication": "We are aware of intermittent checkout errors.",
    "technical_details": {
        "error_category": "Database",
        "real_application_bug": False,
        "affects_critical_operation": True,
    },
}
PATTERN_ANSWER: dict[str, Any] = {**ANSWER, "trend": "worsening", "permanent_fix": "Lock rows in primary-key order"}


def schema_answer(params: dict[str, Any]) -> str:
    """A schema-valid answer for whichever analysis type the request is (pattern or recent)."""
    text = json.dumps(params)
    return json.dumps(PATTERN_ANSWER if "long-running" in text else ANSWER)


@pytest.fixture(autouse=True)
def no_provider_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """Hide the developer's real ANTHROPIC_*/OPENAI_* settings so no test can reach a real API."""
    for name in ("ANTHROPIC_API_KEY", "ANTHROPIC_BASE_URL", "OPENAI_API_KEY", "OPENAI_BASE_URL"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def no_anthropic_env(no_provider_env: None) -> None:
    """Kept for older tests; `no_provider_env` already does this for every test here."""


@pytest.fixture
def fake_anthropic() -> Iterator[FakeAnthropic]:
    """A fresh `FakeAnthropic` on 127.0.0.1 (ephemeral port); script it, then point the SDK at `.url`."""
    with FakeAnthropic() as fake:
        yield fake


@pytest.fixture
def fake_openai() -> Iterator[FakeOpenAI]:
    """A fresh `FakeOpenAI`; point the SDK at `.base_url`."""
    with FakeOpenAI() as fake:
        yield fake


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    """A real SQLite file, migrated."""
    s = Store(str(tmp_path / "errorsift.db"))
    yield s
    s.close()
