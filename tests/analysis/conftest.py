"""Fixtures for the analysis tests: a running fake Anthropic server, torn down after each test."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from .fake_anthropic import FakeAnthropic


@pytest.fixture
def fake_anthropic() -> Iterator[FakeAnthropic]:
    """A fresh `FakeAnthropic` on 127.0.0.1 (ephemeral port); script it, then point the SDK at `.url`."""
    with FakeAnthropic() as fake:
        yield fake


@pytest.fixture
def no_anthropic_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """Hide the developer's real ANTHROPIC_* settings so no test can reach the real API."""
    monkeypatch.delenv("ANTHROPIC_API_KEY", raising=False)
    monkeypatch.delenv("ANTHROPIC_BASE_URL", raising=False)
