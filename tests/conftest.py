"""Suite-wide guards: no test may reach a real model provider or read the developer's settings."""

from __future__ import annotations

import pytest

_PROVIDER_ENV = (
    "ANTHROPIC_API_KEY",
    "ANTHROPIC_BASE_URL",
    "OPENAI_API_KEY",
    "OPENAI_BASE_URL",
    "DD_API_KEY",
    "DD_APP_KEY",
    "ERRORSIFT_CONFIG",
    "ERRORSIFT_DB",
    "ERRORSIFT_ANALYZER",
)


@pytest.fixture(autouse=True)
def _no_real_providers(monkeypatch: pytest.MonkeyPatch) -> None:
    """With `analyzer = auto`, a key in the environment would mean real, paid calls."""
    for name in _PROVIDER_ENV:
        monkeypatch.delenv(name, raising=False)
