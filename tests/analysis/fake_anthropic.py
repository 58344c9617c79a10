"""A local fake of the Anthropic Messages and Message Batches APIs, for driving the real SDK.

Routes (the recorded wire format of the real API):

* ``POST /v1/messages`` — answered from the FIFO script, else by `answer_with`'s function.
* ``POST /v1/messages/batches`` — creates a batch ``in_progress`` and records its requests.
* ``GET /v1/messages/batches/{id}`` — the batch object; once `end_batches` ran it is ``ended``
  and carries a ``results_url`` on this server's own results route (``/results-store/…``), so
  the test proves the SDK follows the URL the API hands out.
* ``GET /results-store/{id}.jsonl`` — one JSON line per request: succeeded/errored/expired.

Usage::

    with FakeAnthropic() as fake:
        fake.reply_text('{"summary": "..."}', input_tokens=120, output_tokens=80)
        client = anthropic.Anthropic(base_url=fake.url, api_key="test-key")

`answer_with(fn, realistic=True)` answers every unscripted message with ``fn(body)`` and a usage
computed from the request the way the API bills it: ~3.5 characters per token, and the system
prompt written to the prompt cache on first sight (``cache_creation_input_tokens``) and read
from it afterwards (``cache_read_input_tokens``) when it is marked and long enough.
"""

from __future__ import annotations

import itertools
import json
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from .fake_http import FakeHTTPServer, RecordedRequest, ScriptedResponse

__all__ = [
    "FakeAnthropic",
    "RecordedRequest",
    "ScriptedResponse",
    "error_body",
    "message_body",
    "tokens",
]

MESSAGES_PATH = "/v1/messages"
BATCHES_PATH = "/v1/messages/batches"
RESULTS_PATH = "/results-store/"
MIN_CACHEABLE_TOKENS = 1024  # Sonnet/Opus minimum for a prompt-cache entry


def tokens(text: str) -> int:
    """A token count as the API would bill it, approximated at 3.5 characters per token."""
    return max(1, round(len(text) / 3.5))


def message_body(
    text: str,
    *,
    model: str = "claude-sonnet-4-5",
    input_tokens: int = 10,
    output_tokens: int = 20,
    id: str = "",
    cache_creation_input_tokens: int = 0,
    cache_read_input_tokens: int = 0,
    stop_reason: str = "end_turn",
) -> dict[str, Any]:
    """A successful Messages API response with one text block."""
    return {
        "id": id or "msg_fake",
        "type": "message",
        "role": "assistant",
        "model": model,
        "content": [{"type": "text", "text": text}],
        "stop_reason": stop_reason,
        "stop_sequence": None,
        "usage": {
            "input_tokens": input_tokens,
            "output_tokens": output_tokens,
            "cache_creation_input_tokens": cache_creation_input_tokens,
            "cache_read_input_tokens": cache_read_input_tokens,
        },
    }


def error_body(error_type: str, message: str, error_code: str = "") -> dict[str, Any]:
    """The API's error envelope, e.g. ``error_body("overloaded_error", "Overloaded")``."""
    error: dict[str, Any] = {"type": error_type, "message": message}
    if error_code:
        error["details"] = {"error_code": error_code}
    return {"type": "error", "error": error}


@dataclass(slots=True)
class FakeBatch:
    id: str
    requests: list[dict[str, Any]]
    created_at: datetime
    ended: bool = False
    results: list[dict[str, Any]] = field(default_factory=list)


class FakeAnthropic(FakeHTTPServer):
    """A scriptable fake Messages + Message Batches API server running in a background thread."""

    name = "fake-anthropic"

    def __init__(self, *, api_key: str | None = None) -> None:
        """`api_key`, when given, is required in ``x-api-key`` (else 401, like the real API)."""
        super().__init__()
        self.api_key = api_key
        self.batches: dict[str, FakeBatch] = {}
        self._answer: Callable[[dict[str, Any]], str] | None = None
        self._realistic = False
        self._cached_systems: set[str] = set()
        self._cache_lock = threading.Lock()
        self._ids = itertools.count(1)

    # ---------------------------------------------------------------- scripting messages

    def reply_text(
        self, text: str, *, input_tokens: int = 10, output_tokens: int = 20, stop_reason: str = "end_turn"
    ) -> None:
        """Queue a 200 message whose single text block is `text`; the model echoes the request's."""

        def build(request: RecordedRequest, number: int) -> dict[str, Any]:
            model = request.body.get("model", "claude-fake") if isinstance(request.body, dict) else "claude-fake"
            return message_body(
                text,
                model=model,
                input_tokens=input_tokens,
                output_tokens=output_tokens,
                id=f"msg_fake_{number:04d}",
                stop_reason=stop_reason,
            )

        self.enqueue(200, build)

    def reply_error(
        self, status: int, error_type: str, message: str, headers: dict[str, str] | None = None, error_code: str = ""
    ) -> None:
        """Queue an API error envelope with `status`."""
        self.enqueue(status, error_body(error_type, message, error_code), headers)

    def rate_limited(self, retry_after: float = 0) -> None:
        """Queue a 429 rate limit with ``retry-after`` (seconds; floats are accepted by errorsift)."""
        self.reply_error(
            429,
            "rate_limit_error",
            "Number of request tokens has exceeded your per-minute rate limit",
            {"retry-after": f"{retry_after:g}"},
        )

    def spend_limited(self) -> None:
        """Queue the 429 of an organisation's monthly spend cap (no retry-after, never heals)."""
        self.reply_error(
            429,
            "rate_limit_error",
            "You have reached your organization's monthly usage limit.",
            error_code="enforced_spend_limit_reached",
        )

    def overloaded(self, retry_after: float = 0) -> None:
        """Queue a 529 overloaded_error (the API's 'busy, try later')."""
        self.reply_error(529, "overloaded_error", "Overloaded", {"retry-after": f"{retry_after:g}"})

    def answer_with(self, answer: Callable[[dict[str, Any]], str], *, realistic: bool = True) -> None:
        """Answer every unscripted message with ``answer(request_body)``; usage computed when realistic."""
        self._answer = answer
        self._realistic = realistic
        self.responder = self._respond

    def _respond(self, request: RecordedRequest, number: int) -> ScriptedResponse:
        return ScriptedResponse(200, self._message_for(request.body, f"msg_fake_{number:04d}"))

    def _message_for(self, params: dict[str, Any], msg_id: str) -> dict[str, Any]:
        assert self._answer is not None
        text = self._answer(params)
        usage = self.usage_for(params, text) if self._realistic else {"input_tokens": 10, "output_tokens": 20}
        return message_body(text, model=params.get("model", "claude-fake"), id=msg_id, **_usage_kwargs(usage))

    def usage_for(self, params: dict[str, Any], answer: str) -> dict[str, int]:
        """Bill a request like the API: the marked system prompt is written once, then read."""
        system = params.get("system", "")
        blocks = system if isinstance(system, list) else [{"type": "text", "text": system}]
        system_text = "".join(b.get("text", "") for b in blocks)
        marked = any("cache_control" in b for b in blocks)
        rest = json.dumps(params.get("messages", [])) + json.dumps(params.get("output_config", {}))
        system_tokens, rest_tokens = tokens(system_text), tokens(rest)
        write = read = 0
        if marked and system_tokens >= MIN_CACHEABLE_TOKENS:
            with self._cache_lock:
                if system_text in self._cached_systems:
                    read = system_tokens
                else:
                    self._cached_systems.add(system_text)
                    write = system_tokens
        uncached = rest_tokens + (0 if (write or read) else system_tokens)
        return {
            "input_tokens": uncached,
            "output_tokens": tokens(answer),
            "cache_creation_input_tokens": write,
            "cache_read_input_tokens": read,
        }

    # ---------------------------------------------------------------- batches

    def end_batches(
        self,
        *,
        errored: set[str] = frozenset(),  # type: ignore[assignment]
        expired: set[str] = frozenset(),  # type: ignore[assignment]
        texts: dict[str, str] | None = None,
    ) -> None:
        """Finish every open batch: each request succeeds with the `answer_with` text (or `texts`),
        except the custom ids listed as errored or expired."""
        with self._lock:
            open_batches = [b for b in self.batches.values() if not b.ended]
        for batch in open_batches:
            results = []
            for item in batch.requests:
                cid = item["custom_id"]
                if cid in errored:
                    result: dict[str, Any] = {"type": "errored", "error": error_body("overloaded_error", "Overloaded")}
                elif cid in expired:
                    result = {"type": "expired"}
                else:
                    if texts and cid in texts:
                        answer = texts[cid]
                        result_message = message_body(answer, model=item["params"].get("model", "claude-fake"))
                        result_message["usage"] = self.usage_for(item["params"], answer)
                    else:
                        result_message = self._message_for(item["params"], f"msg_batch_{next(self._ids):04d}")
                    result = {"type": "succeeded", "message": result_message}
                results.append({"custom_id": cid, "result": result})
            batch.results = results
            batch.ended = True

    def _batch_json(self, batch: FakeBatch) -> dict[str, Any]:
        counts = {"processing": 0, "succeeded": 0, "errored": 0, "canceled": 0, "expired": 0}
        if batch.ended:
            for r in batch.results:
                counts[r["result"]["type"]] += 1
        else:
            counts["processing"] = len(batch.requests)
        iso = batch.created_at.isoformat().replace("+00:00", "Z")
        return {
            "id": batch.id,
            "type": "message_batch",
            "processing_status": "ended" if batch.ended else "in_progress",
            "request_counts": counts,
            "created_at": iso,
            "expires_at": (batch.created_at + timedelta(hours=24)).isoformat().replace("+00:00", "Z"),
            "ended_at": iso if batch.ended else None,
            "archived_at": None,
            "cancel_initiated_at": None,
            "results_url": f"{self.url}{RESULTS_PATH}{batch.id}.jsonl" if batch.ended else None,
        }

    # ---------------------------------------------------------------- routing

    def error_body(self, status: int, message: str) -> Any:
        return error_body("api_error", message)

    def route(self, request: RecordedRequest, number: int) -> ScriptedResponse:
        path = request.path.split("?")[0]
        if self.api_key is not None and request.headers.get("x-api-key") != self.api_key:
            return ScriptedResponse(401, error_body("authentication_error", "invalid x-api-key"))
        if request.method == "POST" and path == MESSAGES_PATH:
            return self.next_scripted(request, number)
        if request.method == "POST" and path == BATCHES_PATH:
            batch = FakeBatch(f"msgbatch_fake_{next(self._ids):04d}", list(request.body["requests"]), datetime.now(UTC))
            with self._lock:
                self.batches[batch.id] = batch
            return ScriptedResponse(200, self._batch_json(batch))
        match = re.fullmatch(rf"{BATCHES_PATH}/([\w-]+)", path)
        if request.method == "GET" and match and match.group(1) in self.batches:
            return ScriptedResponse(200, self._batch_json(self.batches[match.group(1)]))
        match = re.fullmatch(rf"{RESULTS_PATH}([\w-]+)\.jsonl", path)
        if request.method == "GET" and match and match.group(1) in self.batches:
            lines = "".join(json.dumps(r) + "\n" for r in self.batches[match.group(1)].results)
            return ScriptedResponse(200, lines, {"content-type": "application/binary"})
        return ScriptedResponse(404, error_body("not_found_error", f"no route {request.method} {request.path}"))


def _usage_kwargs(usage: dict[str, int]) -> dict[str, int]:
    return {
        "input_tokens": usage["input_tokens"],
        "output_tokens": usage["output_tokens"],
        "cache_creation_input_tokens": usage.get("cache_creation_input_tokens", 0),
        "cache_read_input_tokens": usage.get("cache_read_input_tokens", 0),
    }
