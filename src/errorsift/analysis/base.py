"""The analyzer seam: anything that turns an `AnalysisRequest` into an `AnalysisOutcome`.

The pipeline depends only on this Protocol, so the offline rules, the Anthropic model and any
future provider are interchangeable, and tests can hand in the offline analyzer (or a real SDK
talking to a fake server) without patching anything.
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from errorsift.errors import AnalyzerError
from errorsift.models import AnalysisOutcome, AnalysisRequest

# `AnalyzerError` lives in the project's error tree (`errorsift.errors`) so the pipeline and the
# CLI catch one class; it is re-exported here because it is part of the analyzer contract: an
# analysis could not be produced (no key, provider unreachable, retries exhausted). Its message
# is one line saying what went wrong and what to do; the pipeline keeps the signature pending.
# An *unparseable answer* is not an error: it becomes a marked fallback `Analysis` instead.
__all__ = ["Analyzer", "AnalyzerError"]


@runtime_checkable
class Analyzer(Protocol):
    """A provider of analyses.

    `name` is stored with every analysis (``offline``, ``anthropic:<model>``) so a reader can
    always tell rules from a model. `analyze` either returns an outcome or raises
    `AnalyzerError`; a parse failure is reported inside the outcome (``analysis.fallback``).
    """

    name: str

    def analyze(self, request: AnalysisRequest) -> AnalysisOutcome: ...
