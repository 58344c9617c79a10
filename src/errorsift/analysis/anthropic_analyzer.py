"""Analysis by an Anthropic model through the official SDK, one call at a time or in batches.

Why these choices:
* The official `anthropic` SDK does the wire format and auth headers. Its own retry loop is
  turned off (``max_retries=0``) because errorsift must tell a rate-limit 429 (wait
  ``retry-after``, retry) from a spend-limit 429 (never retry, stop the run's calls); see
  `faults`. Timeouts, 5xx and 529 are retried there too.
* Structured output: the answer schema goes in ``output_config.format`` (json_schema), so a
  current model can only answer with the schema's object. A model or proxy that rejects the
  parameter (HTTP 400 naming it) is asked again without it, once per analyzer, and the tolerant
  parse takes over. Every answer is validated with the same pydantic model either way.
* No ``temperature``/``top_p``/``top_k``: current models reject non-default sampling values, and
  the default is right for a JSON answer.
* The system prompt (identical in every call) carries a ``cache_control`` mark, so a run's second
  and later calls read it from the prompt cache at a tenth of the input price.
* Every call is metered from ``response.usage`` (input, output, cache write, cache read) and
  priced with a `PriceTable`; the raw usage is kept so cost can be recomputed.
* Batches: `submit_batch` sends many analyses through the Message Batches API (half price,
  results within 24 h); `batch_status` and `batch_results` collect them on a later run. The
  step stores the batch id, so collection survives restarts.
* ``base_url`` (or ``ANTHROPIC_BASE_URL``) lets tests and proxies point the real SDK at another
  server; tests use a local fake on 127.0.0.1 rather than patching the client.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import anthropic

from errorsift.analysis.base import AnalyzerError
from errorsift.analysis.faults import Fault, RetryPolicy, call_with_retries, classify_sdk_error, one_line
from errorsift.analysis.pricing import PriceTable
from errorsift.analysis.prompt import build_prompt
from errorsift.analysis.provider import Conversation, ModelAnalyzer, Reply
from errorsift.analysis.schema import answer_schema
from errorsift.models import AnalysisOutcome, AnalysisRequest, AnalysisType, Usage

__all__ = ["DEFAULT_MODEL", "AnthropicAnalyzer", "BatchEntry", "BatchItemResult"]

DEFAULT_MODEL = "claude-sonnet-4-5"
_KEY_ENV = "ANTHROPIC_API_KEY"
_URL_ENV = "ANTHROPIC_BASE_URL"
_STRUCTURED_HINTS = ("output_config", "output_format", "json_schema", "structured output")


@dataclass(frozen=True, slots=True)
class BatchEntry:
    """One analysis inside a batch: its custom id, the request and exactly what was sent."""

    custom_id: str
    request: AnalysisRequest
    conversation: Conversation


@dataclass(frozen=True, slots=True)
class BatchItemResult:
    """One line of a batch's results: a reply, or why there is none (errored/canceled/expired)."""

    custom_id: str
    reply: Reply | None
    error: str = ""


class AnthropicAnalyzer(ModelAnalyzer):
    """An `Analyzer` backed by ``client.messages.create`` (and ``messages.batches``).

    Raises `AnalyzerError` at construction when no API key is available, and from `analyze`
    (as `CallFailed`) when the API keeps failing after the retries or refuses outright.
    """

    provider = "anthropic"
    supports_batch = True

    def __init__(
        self,
        model: str = DEFAULT_MODEL,
        *,
        api_key: str | None = None,
        base_url: str | None = None,
        max_tokens: int = 1500,
        prices: PriceTable | None = None,
        timeout: float = 60.0,
        max_retries: int = 2,
        structured: bool = True,
        cache_prompt: bool = True,
        max_retry_wait: float = 60.0,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        key = api_key if api_key is not None else os.environ.get(_KEY_ENV, "")
        if not key.strip():
            raise AnalyzerError(
                f"{_KEY_ENV} is not set: export it (or pass api_key) to use the Anthropic analyzer, "
                "or choose the offline analyzer"
            )
        if max_tokens < 1 or max_retries < 0 or timeout <= 0:
            raise ValueError("max_tokens must be >= 1, max_retries >= 0 and timeout > 0")
        self.model = model
        self.name = f"anthropic:{model}"
        self.max_tokens = max_tokens
        self.max_retries = max_retries
        self.structured = structured
        self.cache_prompt = cache_prompt
        self.prices = prices if prices is not None else PriceTable()
        self.retry = RetryPolicy(max_retries=max_retries, max_wait=max_retry_wait)
        self.base_url = base_url or os.environ.get(_URL_ENV) or None
        self._sleep = sleep
        self._where = self.base_url or "the Anthropic API"
        self._client = anthropic.Anthropic(api_key=key, base_url=self.base_url, timeout=timeout, max_retries=0)

    # ------------------------------------------------------------------ one call

    def params(self, conversation: Conversation) -> dict[str, Any]:
        """The Messages API parameters for one conversation (also a batch item's ``params``)."""
        system: dict[str, Any] = {"type": "text", "text": conversation.prompt.system}
        if self.cache_prompt:
            system["cache_control"] = {"type": "ephemeral"}
        params: dict[str, Any] = {
            "model": self.model,
            "max_tokens": self.max_tokens,
            "system": [system],
            "messages": [{"role": role, "content": text} for role, text in conversation.turns()],
        }
        if self.structured:
            params["output_config"] = {"format": {"type": "json_schema", "schema": answer_schema(conversation.kind)}}
        return params

    def send(self, conversation: Conversation) -> Reply:
        def call() -> anthropic.types.Message:
            return self._client.messages.create(**self.params(conversation))

        try:
            message = call_with_retries(call, self._classify, self.retry, self._where, sleep=self._sleep)
        except AnalyzerError as exc:
            fault: Fault | None = getattr(exc, "fault", None)
            if not (self.structured and fault is not None and fault.kind == "bad_request"):
                raise
            if not any(hint in fault.message.lower() for hint in _STRUCTURED_HINTS):
                raise
            self.structured = False  # this model/proxy does not take the schema: ask in prose from now on
            message = call_with_retries(call, self._classify, self.retry, self._where, sleep=self._sleep)
        return self._reply(message.content, message.usage, batch=False, stop_reason=message.stop_reason)

    def _reply(self, content: Sequence[Any], usage: Any, *, batch: bool, stop_reason: str | None) -> Reply:
        text = "".join(getattr(block, "text", "") for block in content if getattr(block, "type", "") == "text")
        return Reply(text, self._usage(usage, batch), {"stop_reason": stop_reason})

    def _usage(self, usage: Any, batch: bool) -> Usage:
        input_tokens = int(getattr(usage, "input_tokens", 0) or 0)
        output_tokens = int(getattr(usage, "output_tokens", 0) or 0)
        cache_write = int(getattr(usage, "cache_creation_input_tokens", 0) or 0)
        cache_read = int(getattr(usage, "cache_read_input_tokens", 0) or 0)
        raw = usage.model_dump(mode="json", exclude_none=True) if hasattr(usage, "model_dump") else {}
        return Usage(
            input_tokens=input_tokens,
            output_tokens=output_tokens,
            cost_usd=self.price(input_tokens, output_tokens, cache_write, cache_read, batch),
            model=self.model,
            cache_write_tokens=cache_write,
            cache_read_tokens=cache_read,
            raw=raw,
            batch=batch,
        )

    def _classify(self, exc: Exception) -> Fault | None:
        return classify_sdk_error(exc, anthropic)

    # ------------------------------------------------------------------ batches

    def batch_entry(self, custom_id: str, request: AnalysisRequest) -> BatchEntry:
        conversation = Conversation(build_prompt(request), AnalysisType(request.analysis_type))
        return BatchEntry(custom_id, request, conversation)

    def submit_batch(self, entries: Sequence[BatchEntry]) -> str:
        """Submit one Message Batch; returns its id (store it before anything else can fail)."""
        requests = [{"custom_id": e.custom_id, "params": self.params(e.conversation)} for e in entries]

        def call() -> Any:
            return self._client.messages.batches.create(requests=requests)  # type: ignore[arg-type]

        batch = call_with_retries(call, self._classify, self.retry, self._where, sleep=self._sleep)
        return str(batch.id)

    def batch_status(self, batch_id: str) -> str:
        """``in_progress``, ``canceling`` or ``ended`` (results are ready only when ended)."""

        def call() -> Any:
            return self._client.messages.batches.retrieve(batch_id)

        batch = call_with_retries(call, self._classify, self.retry, self._where, sleep=self._sleep)
        return str(batch.processing_status)

    def batch_results(self, batch_id: str) -> Iterator[BatchItemResult]:
        """The results of an ended batch, streamed from its ``results_url``."""

        def call() -> Any:
            return list(self._client.messages.batches.results(batch_id))

        for line in call_with_retries(call, self._classify, self.retry, self._where, sleep=self._sleep):
            result = line.result
            if result.type == "succeeded":
                message = result.message
                reply = self._reply(message.content, message.usage, batch=True, stop_reason=message.stop_reason)
                yield BatchItemResult(line.custom_id, reply)
            elif result.type == "errored":
                error = getattr(result.error, "error", None)
                detail = f"{getattr(error, 'type', 'error')}: {getattr(error, 'message', '')}"
                yield BatchItemResult(line.custom_id, None, f"batch item errored ({one_line(detail)})")
            else:
                yield BatchItemResult(line.custom_id, None, f"batch item {result.type}")

    def finish_batch_item(self, entry: BatchEntry, reply: Reply) -> AnalysisOutcome:
        """A batch answer becomes an outcome like a synchronous one (a repair, if needed, is synchronous)."""
        return self.finish(entry.conversation, reply)
