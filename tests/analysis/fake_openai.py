"""A local fake of an OpenAI-compatible chat-completions server, for driving the real `openai` SDK.

Speaks ``POST /v1/chat/completions`` in the recorded wire format (the shape OpenAI, vLLM, Ollama
and llama.cpp all return), including ``usage.prompt_tokens_details.cached_tokens`` and OpenAI's
error envelope ``{"error": {"message", "type", "param", "code"}}``. Point the SDK at
``fake.base_url`` (the root URL plus ``/v1``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .fake_http import FakeHTTPServer, RecordedRequest, ScriptedResponse

__all__ = ["FakeOpenAI", "completion_body", "openai_error"]

COMPLETIONS_PATH = "/v1/chat/completions"


def completion_body(
    text: str | None,
    *,
    model: str = "gpt-4o-mini",
    prompt_tokens: int = 10,
    completion_tokens: int = 20,
    cached_tokens: int = 0,
    id: str = "chatcmpl-fake",
    finish_reason: str = "stop",
    refusal: str | None = None,
) -> dict[str, Any]:
    """A successful chat completion with one choice."""
    return {
        "id": id,
        "object": "chat.completion",
        "created": 1_764_000_000,
        "model": model,
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": text, "refusal": refusal},
                "finish_reason": finish_reason,
                "logprobs": None,
            }
        ],
        "usage": {
            "prompt_tokens": prompt_tokens,
            "completion_tokens": completion_tokens,
            "total_tokens": prompt_tokens + completion_tokens,
            "prompt_tokens_details": {"cached_tokens": cached_tokens},
        },
    }


def openai_error(message: str, type_: str, code: str | None = None) -> dict[str, Any]:
    return {"error": {"message": message, "type": type_, "param": None, "code": code}}


class FakeOpenAI(FakeHTTPServer):
    """A scriptable fake chat-completions server running in a background thread."""

    name = "fake-openai"

    @property
    def base_url(self) -> str:
        """What to hand to ``openai.OpenAI(base_url=...)``."""
        return f"{self.url}/v1"

    def reply_text(
        self, text: str | None, *, prompt_tokens: int = 10, completion_tokens: int = 20, cached_tokens: int = 0
    ) -> None:
        """Queue a 200 completion whose message content is `text`; the model echoes the request's."""

        def build(request: RecordedRequest, number: int) -> dict[str, Any]:
            model = request.body.get("model", "fake") if isinstance(request.body, dict) else "fake"
            return completion_body(
                text,
                model=model,
                prompt_tokens=prompt_tokens,
                completion_tokens=completion_tokens,
                cached_tokens=cached_tokens,
                id=f"chatcmpl-fake-{number:04d}",
            )

        self.enqueue(200, build)

    def reply_error(self, status: int, message: str, type_: str, code: str | None = None, **headers: str) -> None:
        self.enqueue(status, openai_error(message, type_, code), {k.replace("_", "-"): v for k, v in headers.items()})

    def rate_limited(self, retry_after: float = 0) -> None:
        self.reply_error(
            429, "Rate limit reached for requests", "requests", "rate_limit_exceeded", retry_after=f"{retry_after:g}"
        )

    def quota_exceeded(self) -> None:
        """Queue OpenAI's spend/quota 429 (retrying it never helps)."""
        self.reply_error(
            429,
            "You exceeded your current quota, please check your plan and billing details.",
            "insufficient_quota",
            "insufficient_quota",
        )

    def answer_with(self, answer: Callable[[dict[str, Any]], str]) -> None:
        """Answer every unscripted completion with ``answer(request_body)``."""

        def respond(request: RecordedRequest, number: int) -> ScriptedResponse:
            return ScriptedResponse(200, completion_body(answer(request.body), id=f"chatcmpl-fake-{number:04d}"))

        self.responder = respond

    def route(self, request: RecordedRequest, number: int) -> ScriptedResponse:
        if request.method == "POST" and request.path.split("?")[0] == COMPLETIONS_PATH:
            return self.next_scripted(request, number)
        return ScriptedResponse(404, openai_error(f"no route {request.path}", "invalid_request_error"))

    def error_body(self, status: int, message: str) -> Any:
        return openai_error(message, "server_error")
