"""Analysis by any OpenAI-compatible server (OpenAI, Ollama, vLLM, llama.cpp) via the `openai` SDK.

Why these choices:
* One client for many servers: ``base_url`` points the official SDK at Ollama
  (``http://localhost:11434/v1``), vLLM, a llama.cpp server or OpenAI itself. No litellm.
* Structured output through ``response_format`` (json_schema, strict). Servers differ: OpenAI and
  vLLM enforce it, llama.cpp turns it into a grammar, some ignore it and some reject it. A server
  that *rejects* it (HTTP 400 naming ``response_format``/``json_schema``) is asked again without
  it, once per analyzer; one that *ignores* it is caught by validating every answer with the
  same pydantic model and the tolerant parse, then one repair call, then a marked fallback.
* No sampling parameters, for the same reason as the Anthropic analyzer.
* Prompt caching is automatic on OpenAI for a repeated prefix of 1,024+ tokens; the stable system
  prompt comes first so it is that prefix. ``usage.prompt_tokens`` *includes* the cached tokens,
  so they are split out here: `Usage.input_tokens` is always the uncached part.
* OpenAI's current models take ``max_completion_tokens`` and reject ``max_tokens``; most local
  servers only know ``max_tokens``. The official endpoint gets the former, any other the latter.
* The SDK's own retries are off; `faults` retries rate limits and outages and stops at once on
  ``insufficient_quota`` / spend-limit 429s.
* A local server needs no key: without ``OPENAI_API_KEY`` and with a ``base_url``, a placeholder
  key is sent (the SDK insists on one).
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from typing import Any

import openai

from errorsift.analysis.base import AnalyzerError
from errorsift.analysis.faults import Fault, RetryPolicy, call_with_retries, classify_sdk_error
from errorsift.analysis.pricing import PriceTable
from errorsift.analysis.provider import Conversation, ModelAnalyzer, Reply
from errorsift.analysis.schema import SCHEMA_NAME, answer_schema
from errorsift.models import Usage

__all__ = ["OpenAICompatibleAnalyzer"]

_KEY_ENV = "OPENAI_API_KEY"
_URL_ENV = "OPENAI_BASE_URL"
_OFFICIAL_HOST = "api.openai.com"
_LOCAL_KEY = "errorsift-local"  # sent to servers that need no key; never a real credential
_STRUCTURED_HINTS = ("response_format", "json_schema", "structured output")


class OpenAICompatibleAnalyzer(ModelAnalyzer):
    """An `Analyzer` backed by ``client.chat.completions.create`` on any compatible server."""

    provider = "openai-compatible"
    supports_batch = False

    def __init__(
        self,
        model: str,
        *,
        api_key: str | None = None,
        base_url: str | None = None,
        max_tokens: int = 1500,
        prices: PriceTable | None = None,
        timeout: float = 60.0,
        max_retries: int = 2,
        structured: bool = True,
        max_retry_wait: float = 60.0,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if not model.strip():
            raise AnalyzerError("the openai-compatible analyzer needs a model name (set `model`)")
        if max_tokens < 1 or max_retries < 0 or timeout <= 0:
            raise ValueError("max_tokens must be >= 1, max_retries >= 0 and timeout > 0")
        self.base_url = base_url or os.environ.get(_URL_ENV) or None
        key = api_key if api_key is not None else os.environ.get(_KEY_ENV, "")
        if not key.strip():
            if self.base_url is None or _OFFICIAL_HOST in self.base_url:
                raise AnalyzerError(
                    f"{_KEY_ENV} is not set: export it to use OpenAI, or set base_url to a local server "
                    "(e.g. http://localhost:11434/v1 for Ollama)"
                )
            key = _LOCAL_KEY
        self.model = model
        self.name = f"openai-compatible:{model}"
        self.max_tokens = max_tokens
        self.structured = structured
        self.prices = prices if prices is not None else PriceTable()
        self.retry = RetryPolicy(max_retries=max_retries, max_wait=max_retry_wait)
        self.official = self.base_url is None or _OFFICIAL_HOST in self.base_url
        self._sleep = sleep
        self._where = self.base_url or "the OpenAI API"
        self._client = openai.OpenAI(api_key=key, base_url=self.base_url, timeout=timeout, max_retries=0)

    def params(self, conversation: Conversation) -> dict[str, Any]:
        """The chat-completions parameters for one conversation."""
        messages = [{"role": "system", "content": conversation.prompt.system}]
        messages += [{"role": role, "content": text} for role, text in conversation.turns()]
        params: dict[str, Any] = {"model": self.model, "messages": messages}
        params["max_completion_tokens" if self.official else "max_tokens"] = self.max_tokens
        if self.structured:
            params["response_format"] = {
                "type": "json_schema",
                "json_schema": {"name": SCHEMA_NAME, "schema": answer_schema(conversation.kind), "strict": True},
            }
        return params

    def send(self, conversation: Conversation) -> Reply:
        def call() -> Any:
            return self._client.chat.completions.create(**self.params(conversation))

        try:
            completion = call_with_retries(call, self._classify, self.retry, self._where, sleep=self._sleep)
        except AnalyzerError as exc:
            fault: Fault | None = getattr(exc, "fault", None)
            if not (self.structured and fault is not None and fault.kind == "bad_request"):
                raise
            if not any(hint in fault.message.lower() for hint in _STRUCTURED_HINTS):
                raise
            self.structured = False  # the server rejects the schema parameter: prose + validation from now on
            completion = call_with_retries(call, self._classify, self.retry, self._where, sleep=self._sleep)
        choice = completion.choices[0] if completion.choices else None
        message = choice.message if choice is not None else None
        text = (message.content or "") if message is not None else ""
        if not text and message is not None and getattr(message, "refusal", None):
            text = f"(refused) {message.refusal}"
        finish = choice.finish_reason if choice is not None else None
        return Reply(text, self._usage(completion.usage), {"finish_reason": finish})

    def _usage(self, usage: Any) -> Usage:
        if usage is None:
            return Usage(model=self.model)
        prompt_tokens = int(getattr(usage, "prompt_tokens", 0) or 0)
        details = getattr(usage, "prompt_tokens_details", None)
        cached = int(getattr(details, "cached_tokens", 0) or 0) if details is not None else 0
        cached = min(cached, prompt_tokens)
        output_tokens = int(getattr(usage, "completion_tokens", 0) or 0)
        raw = usage.model_dump(mode="json", exclude_none=True) if hasattr(usage, "model_dump") else {}
        return Usage(
            input_tokens=prompt_tokens - cached,
            output_tokens=output_tokens,
            cost_usd=self.price(prompt_tokens - cached, output_tokens, 0, cached, False),
            model=self.model,
            cache_read_tokens=cached,
            raw=raw,
        )

    def _classify(self, exc: Exception) -> Fault | None:
        return classify_sdk_error(exc, openai)
