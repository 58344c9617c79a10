"""Provider faults: which failures are worth another try, how long to wait, and when to stop.

Why errorsift retries by itself instead of leaving it to the SDKs: both official SDKs retry every
429, but a 429 can mean two opposite things. A *rate limit* heals in seconds (wait what
``retry-after`` says, try again); a *spend limit* (Anthropic ``enforced_spend_limit_reached``,
OpenAI ``insufficient_quota`` / ``*_spend_limit_exceeded``) does not heal until someone raises
the limit or the month ends, so retrying only burns time — and every further call this run
would fail the same way. So the SDK clients are built with ``max_retries=0`` and `call_with_retries`
decides from the classified `Fault`:

=================  ==========  =====================================================
kind               retried     note
=================  ==========  =====================================================
rate_limit         yes         waits ``retry-after`` (``-ms`` first); too long → give up
overloaded         yes         Anthropic 529
server             yes         5xx, 408, 409
timeout            yes         the client's timeout expired
connection         yes         refused, reset, DNS
spend_limit        no          stops the run's remaining calls (they stay pending)
auth               no          401/403: stops the run's remaining calls too
bad_request        no          this signature only
=================  ==========  =====================================================

A fault that is not retried, or that is still failing after the retries, becomes one
`CallFailed` (an `AnalyzerError`): the step keeps the signature pending with the error recorded,
and the run goes on unless ``stop_run`` says every later call is doomed too.
"""

from __future__ import annotations

import email.utils
import random
import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

from errorsift.errors import AnalyzerError

__all__ = ["CallFailed", "Fault", "RetryPolicy", "call_with_retries", "fault_from_status", "retry_after_seconds"]

T = TypeVar("T")

RETRYABLE = frozenset({"rate_limit", "overloaded", "server", "timeout", "connection"})
STOPS_RUN = frozenset({"spend_limit", "auth"})

# Markers of a spend/quota limit in an error's code, type or message (lower-cased). Data, not code.
SPEND_LIMIT_MARKERS = (
    "enforced_spend_limit_reached",
    "insufficient_quota",
    "spend_limit_exceeded",
    "usage_limit_exceeded",
    "credit_balance_exhausted",
    "billing_error",
    "you have reached your specified",
    "api usage limits",
    "credit balance is too low",
    "exceeded your current quota",
)


@dataclass(frozen=True, slots=True)
class Fault:
    """One failed attempt, classified. `retry_after` is the server's wish in seconds, if it said."""

    kind: str
    status: int | None
    message: str
    retry_after: float | None = None
    server_says_final: bool = False  # ``x-should-retry: false``: the server knows better than the table

    @property
    def retryable(self) -> bool:
        return self.kind in RETRYABLE and not self.server_says_final

    @property
    def stops_run(self) -> bool:
        return self.kind in STOPS_RUN


class CallFailed(AnalyzerError):
    """A provider call that failed for good; `kind` and `stop_run` tell the step what to do next."""

    def __init__(self, message: str, fault: Fault, attempts: int) -> None:
        super().__init__(message)
        self.fault = fault
        self.kind = fault.kind
        self.attempts = attempts
        self.stop_run = fault.stops_run


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """How many retries, how the backoff grows, and the longest wait worth sitting through.

    A ``retry-after`` longer than `max_wait` is not waited for: the signature stays pending and
    the next run tries again, rather than one call stalling the whole run.
    """

    max_retries: int = 2
    backoff: float = 0.5
    max_backoff: float = 8.0
    max_wait: float = 60.0

    def delay(self, attempt: int, fault: Fault) -> float | None:
        """Seconds to wait before retry number `attempt` (1-based), or None to give up now."""
        if attempt > self.max_retries or not fault.retryable:
            return None
        if fault.retry_after is not None:
            return fault.retry_after if fault.retry_after <= self.max_wait else None
        base = min(self.max_backoff, self.backoff * 2 ** (attempt - 1))
        return base * (0.75 + random.random() * 0.25)  # jitter so parallel workers do not stampede


def retry_after_seconds(headers: Mapping[str, str] | None) -> float | None:
    """``retry-after-ms``, else ``retry-after`` as seconds (floats accepted) or an HTTP date."""
    if not headers:
        return None
    ms = headers.get("retry-after-ms")
    if ms:
        try:
            return max(0.0, float(ms) / 1000)
        except ValueError:
            pass
    value = headers.get("retry-after")
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        parsed = email.utils.parsedate_tz(value)
        if parsed is None:
            return None
        return max(0.0, float(email.utils.mktime_tz(parsed) - time.time()))


def _error_fields(body: Any) -> tuple[str, str, str]:
    """(type, code, message) from either provider's error body (enveloped or not)."""
    error = body.get("error", body) if isinstance(body, dict) else None
    if not isinstance(error, dict):
        return "", "", ""
    details = error.get("details") if isinstance(error.get("details"), dict) else {}
    code = str(error.get("code") or (details or {}).get("error_code") or "")
    return str(error.get("type") or ""), code, str(error.get("message") or "")


def classify_sdk_error(exc: Exception, sdk: Any) -> Fault | None:
    """The fault behind an `anthropic` or `openai` SDK exception (None: not a provider fault).

    Both official SDKs are generated from one template and share their exception classes' names,
    so one mapping serves both; `sdk` is the module.
    """
    if isinstance(exc, sdk.APIStatusError):
        headers = dict(exc.response.headers) if exc.response is not None else {}
        return fault_from_status(exc.status_code, exc.body, headers, exc.message)
    if isinstance(exc, sdk.APITimeoutError):
        return Fault("timeout", None, "timed out")
    if isinstance(exc, sdk.APIConnectionError):
        return Fault("connection", None, one_line(str(exc.__cause__ or exc)))
    return None


def one_line(text: str, limit: int = 300) -> str:
    flat = re.sub(r"\s+", " ", text).strip()
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def fault_from_status(status: int, body: Any, headers: Mapping[str, str] | None, fallback_message: str) -> Fault:
    """Classify an HTTP error answer from either provider."""
    etype, code, message = _error_fields(body)
    message = one_line(message or fallback_message)
    label = " ".join(x for x in (etype, code) if x)
    text = f"{etype} {code} {message}".lower()
    described = f"HTTP {status}" + (f" ({label})" if label else "") + (f": {message}" if message else "")
    may_be_spend = status in (402, 429) or (status in (400, 403) and etype != "authentication_error")
    if may_be_spend and (status == 402 or any(marker in text for marker in SPEND_LIMIT_MARKERS)):
        return Fault("spend_limit", status, described)
    final = (headers or {}).get("x-should-retry", "").lower() == "false"
    wait = retry_after_seconds(headers)
    if status == 429:
        return Fault("rate_limit", status, described, wait, final)
    if status == 529:
        return Fault("overloaded", status, described, wait, final)
    if status in (401, 403):
        return Fault("auth", status, described)
    if status >= 500 or status in (408, 409):
        return Fault("server", status, described, wait, final)
    return Fault("bad_request", status, described)


def call_with_retries(
    call: Callable[[], T],
    classify: Callable[[Exception], Fault | None],
    policy: RetryPolicy,
    where: str,
    *,
    sleep: Callable[[float], None] = time.sleep,
) -> T:
    """Run `call`, retrying classified faults per `policy`; raise one `CallFailed` line when done.

    `classify` returns None for exceptions that are not provider faults (programming errors),
    which propagate unchanged.
    """
    attempt = 0
    while True:
        try:
            return call()
        except Exception as exc:
            fault = classify(exc)
            if fault is None:
                raise
            attempt += 1
            wait = policy.delay(attempt, fault)
            if wait is None:
                raise CallFailed(_describe(where, fault, attempt - 1, policy), fault, attempt) from exc
            sleep(wait)


def _describe(where: str, fault: Fault, retries: int, policy: RetryPolicy) -> str:
    """One line for people: what failed, after how many retries, and what happens next."""
    after = f" after {retries} retries" if fault.retryable else ""
    if fault.kind == "spend_limit":
        return (
            f"{where} refused the call: spend limit reached ({fault.message}); raise the limit, the rest stays pending"
        )
    if fault.kind == "auth":
        return f"{where} rejected the API key ({fault.message}): check the key and its permissions"
    if fault.kind == "timeout":
        return f"{where} timed out{after}; try again later or raise the timeout"
    if fault.kind == "connection":
        return f"cannot reach {where}{after}: {fault.message}"
    if fault.retry_after is not None and fault.retry_after > policy.max_wait:
        return f"{where} answered {fault.message}; asked to wait {fault.retry_after:g}s, kept pending for the next run"
    return f"{where} answered {fault.message}{after}"
