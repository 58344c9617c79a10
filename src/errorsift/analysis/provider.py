"""What every model-backed analyzer shares: read the answer, repair it once, meter the calls.

A provider module (Anthropic, OpenAI-compatible) only knows how to send one conversation and
what its usage object means. This base class owns the policy that must be identical for both:

1. The answer is checked strictly against the schema (`strict_validate`); a server that ignored
   the schema still gets the tolerant SPEC parse (fenced JSON, JSON inside prose).
2. When neither reading works, one *repair* call replays the conversation with the previous
   answer and says what was wrong. If that answer is unusable too, a marked fallback is stored
   (``fallback=True``), never an exception: the run goes on and the card says so.
3. Every call is metered; a repaired analysis carries the sum of both calls, and `Usage.raw`
   keeps each call's provider usage so the cost can be recomputed later.

``how`` in the raw usage says which path produced the analysis: ``schema``, ``tolerant``,
``repaired`` or ``fallback``.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any, Self

from errorsift.analysis.faults import CallFailed, RetryPolicy
from errorsift.analysis.parse import fallback_analysis, parse_analysis
from errorsift.analysis.pricing import PriceTable
from errorsift.analysis.prompt import PromptParts, build_prompt, echo_answer, repair_instruction
from errorsift.analysis.schema import strict_validate
from errorsift.models import Analysis, AnalysisOutcome, AnalysisRequest, AnalysisType, Usage

__all__ = ["Conversation", "ModelAnalyzer", "Reply", "read_answer"]


@dataclass(frozen=True, slots=True)
class Conversation:
    """One request to send: the prompt, the analysis type, and the repair turn if any."""

    prompt: PromptParts
    kind: AnalysisType
    previous_answer: str | None = None
    problem: str = ""

    def turns(self) -> list[tuple[str, str]]:
        """(role, text) after the system prompt, in order."""
        turns = [("user", self.prompt.user)]
        if self.previous_answer is not None:
            turns += [("assistant", echo_answer(self.previous_answer)), ("user", repair_instruction(self.problem))]
        return turns

    def as_text(self) -> str:
        """Exactly what was sent, for the audit view (`analysis show --sent`)."""
        parts = [f"[system]\n{self.prompt.system}"]
        parts += [f"[{role}]\n{text}" for role, text in self.turns()]
        return "\n\n".join(parts)


@dataclass(frozen=True, slots=True)
class Reply:
    """One answer: its text and its metered usage."""

    text: str
    usage: Usage
    meta: dict[str, Any] = field(default_factory=dict)


def read_answer(text: str, kind: AnalysisType, analyzer: str) -> tuple[Analysis | None, str, str]:
    """(analysis, how, problem): strict schema first, then the tolerant parse, else None."""
    analysis, problem = strict_validate(text, kind, analyzer)
    if analysis is not None:
        return analysis, "schema", ""
    tolerant = parse_analysis(text, analyzer, kind)
    if not tolerant.fallback:
        return tolerant, "tolerant", ""
    return None, "", problem or "no JSON object with the analysis keys"


def combine(usages: list[Usage], how: str, model: str) -> Usage:
    """The usage of one analysis: the sum of its calls, each call's raw usage kept."""
    return Usage(
        input_tokens=sum(u.input_tokens for u in usages),
        output_tokens=sum(u.output_tokens for u in usages),
        cost_usd=sum(u.cost_usd for u in usages),
        model=model,
        cache_write_tokens=sum(u.cache_write_tokens for u in usages),
        cache_read_tokens=sum(u.cache_read_tokens for u in usages),
        raw={"how": how, "calls": [u.raw for u in usages]},
        batch=any(u.batch for u in usages),
    )


class ModelAnalyzer(ABC):
    """Base for analyzers backed by a hosted or local model. Subclasses implement `send`."""

    name: str
    model: str
    provider: str
    supports_pattern = True  # reads the daily history, so long-term `pattern` analyses are worth making
    prices: PriceTable
    retry: RetryPolicy
    _client: Any  # the official SDK client

    def close(self) -> None:
        """Release the SDK's HTTP connections."""
        self._client.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    @abstractmethod
    def send(self, conversation: Conversation) -> Reply:
        """Send one conversation (with retries); raise `CallFailed` when it cannot be answered."""

    def analyze(self, request: AnalysisRequest) -> AnalysisOutcome:
        """One analysis: a call, at most one repair call, never an exception for a bad answer."""
        conversation = Conversation(build_prompt(request), AnalysisType(request.analysis_type))
        return self.finish(conversation, self.send(conversation))

    def finish(self, conversation: Conversation, first: Reply) -> AnalysisOutcome:
        """Turn a first reply (synchronous or from a batch) into an outcome, repairing once."""
        kind = conversation.kind
        analysis, how, problem = read_answer(first.text, kind, self.name)
        usages = [first.usage]
        sent = conversation
        if analysis is None:
            repair = Conversation(conversation.prompt, kind, first.text, problem)
            try:
                second = self.send(repair)
            except CallFailed as exc:  # the first call is paid for: keep its fallback, say why
                fallback = fallback_analysis(first.text, self.name, kind)
                analysis, how = (
                    fallback.model_copy(update={"explanation": f"{fallback.explanation} ({exc})"}),
                    "fallback",
                )
            else:
                usages.append(second.usage)
                sent = repair
                analysis, how, _ = read_answer(second.text, kind, self.name)
                if analysis is None:
                    analysis, how = fallback_analysis(second.text or first.text, self.name, kind), "fallback"
                else:
                    how = "repaired"
        return AnalysisOutcome(
            analysis=analysis,
            usage=combine(usages, how, self.model),
            model_called=True,
            prompt=sent.as_text(),
        )

    def price(self, input_tokens: int, output_tokens: int, cache_write: int, cache_read: int, batch: bool) -> float:
        return self.prices.cost(
            self.model,
            input_tokens,
            output_tokens,
            cache_write_tokens=cache_write,
            cache_read_tokens=cache_read,
            batch=batch,
        )

    def estimate_cost(self, request: AnalysisRequest, *, batch: bool = False) -> float:
        """A cautious price for one analysis before it is made, for budget admission.

        Input is estimated from the prompt at ~3.5 characters per token (no tokenizer needed);
        output at half the answer cap, which is above what the schema's answers use.
        """
        prompt = build_prompt(request)
        input_tokens = (len(prompt.system) + len(prompt.user)) * 2 // 7 + 32
        return self.price(input_tokens, max(200, self.max_output_tokens() // 2), 0, 0, batch)

    def max_output_tokens(self) -> int:
        return int(getattr(self, "max_tokens", 1500))
