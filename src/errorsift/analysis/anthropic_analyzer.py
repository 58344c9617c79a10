"""Analysis by an Anthropic model through the official SDK.

Why these choices:
* The official `anthropic` SDK does the wire format, auth headers and retries: 408/409/429/5xx
  and 529 (overloaded) are retried `max_retries` times with backoff, honouring ``retry-after``.
  When they are exhausted this module raises one `AnalyzerError` line and the pipeline keeps the
  signature pending; nothing here re-implements retrying.
* No ``temperature``/``top_p``: the provider default is fine for a JSON answer, and newer models
  reject some sampling combinations, so not sending them keeps requests valid across models.
* Every call is metered from ``response.usage`` and priced with a `PriceTable`; the exact prompt
  is kept on the outcome so a reviewer can see what left the network. (errorsift does not use
  prompt caching, so ``input_tokens``/``output_tokens`` are the whole bill.)
* ``base_url`` (or ``ANTHROPIC_BASE_URL``) lets tests and proxies point the real SDK at another
  server; tests use a local fake on 127.0.0.1 rather than patching the client.
"""

from __future__ import annotations

import os
import re
from types import TracebackType

import anthropic
from anthropic.types import Message

from errorsift.analysis.base import AnalyzerError
from errorsift.analysis.parse import parse_analysis
from errorsift.analysis.pricing import PriceTable
from errorsift.analysis.prompt import build_prompt
from errorsift.models import AnalysisOutcome, AnalysisRequest, Usage

__all__ = ["DEFAULT_MODEL", "AnthropicAnalyzer"]

DEFAULT_MODEL = "claude-sonnet-4-5"
_KEY_ENV = "ANTHROPIC_API_KEY"
_URL_ENV = "ANTHROPIC_BASE_URL"


def _one_line(text: str, limit: int = 300) -> str:
    flat = re.sub(r"\s+", " ", text).strip()
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


class AnthropicAnalyzer:
    """An `Analyzer` backed by ``client.messages.create``.

    Raises `AnalyzerError` at construction when no API key is available, and from `analyze`
    when the API keeps failing after the SDK's retries (or rejects the request outright).
    """

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
        self.prices = prices if prices is not None else PriceTable()
        self.base_url = base_url or os.environ.get(_URL_ENV) or None
        self._client = anthropic.Anthropic(
            api_key=key, base_url=self.base_url, timeout=timeout, max_retries=max_retries
        )

    def analyze(self, request: AnalysisRequest) -> AnalysisOutcome:
        """One model call for one signature; the answer is parsed tolerantly (never raises on it)."""
        prompt = build_prompt(request)
        response = self._create(system=prompt.system, user=prompt.user)
        text = "".join(getattr(block, "text", "") for block in response.content if getattr(block, "type", "") == "text")
        input_tokens = int(response.usage.input_tokens or 0)
        output_tokens = int(response.usage.output_tokens or 0)
        usage = Usage(
            input_tokens=input_tokens,
            output_tokens=output_tokens,
            cost_usd=self.prices.cost(self.model, input_tokens, output_tokens),
            model=self.model,
        )
        return AnalysisOutcome(
            analysis=parse_analysis(text, self.name),
            usage=usage,
            model_called=True,
            prompt=prompt.as_text(),
        )

    def _create(self, *, system: str, user: str) -> Message:
        """The SDK call, with its failures turned into one-line `AnalyzerError`s."""
        where = self.base_url or "the Anthropic API"
        try:
            return self._client.messages.create(
                model=self.model,
                max_tokens=self.max_tokens,
                system=system,
                messages=[{"role": "user", "content": user}],
            )
        except anthropic.AuthenticationError as exc:
            raise AnalyzerError(f"{where} rejected the API key (HTTP 401): check {_KEY_ENV}") from exc
        except anthropic.APIStatusError as exc:
            kind, detail = self._error_detail(exc)
            retryable = exc.status_code in (408, 409, 429) or exc.status_code >= 500
            retried = f" after {self.max_retries} retries" if retryable else ""
            raise AnalyzerError(f"{where} answered HTTP {exc.status_code} ({kind}){retried}: {detail}") from exc
        except anthropic.APITimeoutError as exc:
            raise AnalyzerError(
                f"{where} timed out after {self.max_retries} retries; try again later or raise the timeout"
            ) from exc
        except anthropic.APIConnectionError as exc:
            reason = _one_line(str(exc.__cause__ or exc))
            raise AnalyzerError(f"cannot reach {where} after {self.max_retries} retries: {reason}") from exc

    @staticmethod
    def _error_detail(exc: anthropic.APIStatusError) -> tuple[str, str]:
        """(error type, message) from the API's ``{"type": "error", "error": {...}}`` body."""
        body = exc.body
        error = body.get("error") if isinstance(body, dict) else None
        if isinstance(error, dict):
            return str(error.get("type") or type(exc).__name__), _one_line(str(error.get("message") or ""))
        return type(exc).__name__, _one_line(exc.message)

    def close(self) -> None:
        """Release the SDK's HTTP connections."""
        self._client.close()

    def __enter__(self) -> AnthropicAnalyzer:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()
