"""Layers 2–3: cache policy, prompt, tolerant parsing, pricing and the analyzers.

`AnthropicAnalyzer` and `OpenAICompatibleAnalyzer` are imported lazily (on first attribute access)
because importing an SDK costs about half a second, which offline runs, the CLI's ``--help`` and
pure tests should not pay.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from errorsift.analysis.base import Analyzer, AnalyzerError
from errorsift.analysis.cache import CachePolicy
from errorsift.analysis.offline import OfflineAnalyzer, OfflineRule
from errorsift.analysis.parse import parse_analysis
from errorsift.analysis.pricing import ModelPrice, PriceTable
from errorsift.analysis.prompt import PromptParts, build_prompt

if TYPE_CHECKING:
    from errorsift.analysis.anthropic_analyzer import AnthropicAnalyzer
    from errorsift.analysis.openai_analyzer import OpenAICompatibleAnalyzer

__all__ = [
    "Analyzer",
    "AnalyzerError",
    "AnthropicAnalyzer",
    "CachePolicy",
    "ModelPrice",
    "OfflineAnalyzer",
    "OfflineRule",
    "OpenAICompatibleAnalyzer",
    "PriceTable",
    "PromptParts",
    "build_prompt",
    "parse_analysis",
]


def __getattr__(name: str) -> Any:
    if name == "AnthropicAnalyzer":
        from errorsift.analysis.anthropic_analyzer import AnthropicAnalyzer

        return AnthropicAnalyzer
    if name == "OpenAICompatibleAnalyzer":
        from errorsift.analysis.openai_analyzer import OpenAICompatibleAnalyzer

        return OpenAICompatibleAnalyzer
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
