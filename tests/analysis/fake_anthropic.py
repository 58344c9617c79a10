"""A local fake of the Anthropic Messages API, for driving the real SDK in tests.

Why a server and not a mock: the official SDK must exercise its real request building, headers,
error mapping and retry loop (``retry-after``, 429/529), which patching the client would skip.
The fake listens on 127.0.0.1 on an ephemeral port, speaks the recorded wire format of
``POST /v1/messages`` and records every request it receives.

Usage::

    with FakeAnthropic() as fake:
        fake.reply_text('{"summary": "..."}', input_tokens=120, output_tokens=80)
        client = anthropic.Anthropic(base_url=fake.url, api_key="test-key")
        ...
        assert fake.requests[0].body["model"] == "claude-sonnet-4-5"

Responses are served from a FIFO script; when it runs dry the fake answers 500 with
``x-should-retry: false`` so a test that forgot to script a reply fails fast and loudly.
"""

from __future__ import annotations

import contextlib
import json
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any

__all__ = ["FakeAnthropic", "RecordedRequest", "ScriptedResponse", "error_body", "message_body"]

MESSAGES_PATH = "/v1/messages"


@dataclass(frozen=True, slots=True)
class ScriptedResponse:
    """One queued answer.

    `body` is a JSON-able value, `str`/`bytes` sent verbatim, or a callable
    ``(request, number) -> body`` for answers that depend on the request (e.g. echo its model).
    """

    status: int = 200
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0  # seconds to wait before answering (for client-timeout tests)


@dataclass(frozen=True, slots=True)
class RecordedRequest:
    """What the fake received: method, path, headers (lower-cased names) and the JSON body."""

    method: str
    path: str
    headers: dict[str, str]
    body: Any
    raw: bytes


def message_body(
    text: str,
    *,
    model: str = "claude-sonnet-4-5",
    input_tokens: int = 10,
    output_tokens: int = 20,
    id: str = "",
) -> dict[str, Any]:
    """A successful Messages API response with one text block."""
    return {
        "id": id or "msg_fake",
        "type": "message",
        "role": "assistant",
        "model": model,
        "content": [{"type": "text", "text": text}],
        "stop_reason": "end_turn",
        "stop_sequence": None,
        "usage": {"input_tokens": input_tokens, "output_tokens": output_tokens},
    }


def error_body(error_type: str, message: str) -> dict[str, Any]:
    """The API's error envelope, e.g. ``error_body("overloaded_error", "Overloaded")``."""
    return {"type": "error", "error": {"type": error_type, "message": message}}


class FakeAnthropic:
    """A scriptable fake Messages API server running in a background thread."""

    def __init__(self, *, api_key: str | None = None) -> None:
        """`api_key`, when given, is required in ``x-api-key`` (else 401, like the real API)."""
        self.api_key = api_key
        self.requests: list[RecordedRequest] = []
        self._script: deque[ScriptedResponse] = deque()
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._counter = 0

    # ---------------------------------------------------------------- lifecycle

    def start(self) -> FakeAnthropic:
        handler = _make_handler(self)
        server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        server.daemon_threads = True
        server.block_on_close = False
        self._server = server
        # A short poll interval keeps shutdown() (and so each test's teardown) near-instant.
        self._thread = threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": 0.01}, name="fake-anthropic", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def __enter__(self) -> FakeAnthropic:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    @property
    def url(self) -> str:
        """Base URL to hand to ``anthropic.Anthropic(base_url=...)``."""
        if self._server is None:
            raise RuntimeError("FakeAnthropic is not running; call start() or use it as a context manager")
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    # ---------------------------------------------------------------- scripting

    def enqueue(
        self, status: int = 200, body: Any = None, headers: dict[str, str] | None = None, delay: float = 0.0
    ) -> None:
        """Queue one raw response (status, body, headers)."""
        with self._lock:
            self._script.append(ScriptedResponse(status, body, dict(headers or {}), delay))

    def reply_text(self, text: str, *, input_tokens: int = 10, output_tokens: int = 20) -> None:
        """Queue a 200 message whose single text block is `text`; the model echoes the request's."""

        def build(request: RecordedRequest, number: int) -> dict[str, Any]:
            model = request.body.get("model", "claude-fake") if isinstance(request.body, dict) else "claude-fake"
            return message_body(
                text,
                model=model,
                input_tokens=input_tokens,
                output_tokens=output_tokens,
                id=f"msg_fake_{number:04d}",
            )

        self.enqueue(200, build)

    def reply_error(self, status: int, error_type: str, message: str, headers: dict[str, str] | None = None) -> None:
        """Queue an API error envelope with `status`."""
        self.enqueue(status, error_body(error_type, message), headers)

    def rate_limited(self, retry_after: float = 0) -> None:
        """Queue a 429. ``retry-after-ms`` is sent too because the SDK ignores ``retry-after: 0``
        (it only honours 0 < value <= 60) and would otherwise back off for ~0.5 s."""
        self.reply_error(
            429,
            "rate_limit_error",
            "Number of request tokens has exceeded your per-minute rate limit",
            {"retry-after": f"{retry_after:g}", "retry-after-ms": f"{max(retry_after * 1000, 1):g}"},
        )

    def overloaded(self, retry_after: float = 0) -> None:
        """Queue a 529 overloaded_error (the API's 'busy, try later')."""
        self.reply_error(
            529,
            "overloaded_error",
            "Overloaded",
            {"retry-after": f"{retry_after:g}", "retry-after-ms": f"{max(retry_after * 1000, 1):g}"},
        )

    @property
    def pending(self) -> int:
        """Scripted responses not yet served."""
        with self._lock:
            return len(self._script)

    # ---------------------------------------------------------------- serving

    def _next(self, request: RecordedRequest) -> tuple[ScriptedResponse, int]:
        with self._lock:
            self.requests.append(request)
            self._counter += 1
            number = self._counter
            if self.api_key is not None and request.headers.get("x-api-key") != self.api_key:
                return ScriptedResponse(401, error_body("authentication_error", "invalid x-api-key")), number
            if request.method != "POST" or request.path.split("?")[0] != MESSAGES_PATH:
                return ScriptedResponse(404, error_body("not_found_error", f"no route {request.path}")), number
            if not self._script:
                return (
                    ScriptedResponse(
                        500,
                        error_body("api_error", "FakeAnthropic: no scripted response left"),
                        {"x-should-retry": "false"},
                    ),
                    number,
                )
            return self._script.popleft(), number

    def _render(self, scripted: ScriptedResponse, request: RecordedRequest, number: int) -> bytes:
        body = scripted.body(request, number) if callable(scripted.body) else scripted.body
        if isinstance(body, bytes):
            return body
        if isinstance(body, str):
            return body.encode("utf-8")
        return json.dumps(body if body is not None else {}).encode("utf-8")


def _make_handler(fake: FakeAnthropic) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def _handle(self) -> None:
            length = int(self.headers.get("content-length") or 0)
            raw = self.rfile.read(length) if length else b""
            try:
                parsed: Any = json.loads(raw) if raw else None
            except ValueError:
                parsed = None
            request = RecordedRequest(
                method=self.command,
                path=self.path,
                headers={k.lower(): v for k, v in self.headers.items()},
                body=parsed,
                raw=raw,
            )
            scripted, number = fake._next(request)
            if scripted.delay:
                time.sleep(scripted.delay)
            payload = fake._render(scripted, request, number)
            headers = {"content-type": "application/json", "request-id": f"req_fake_{number:04d}"}
            headers.update({k.lower(): v for k, v in scripted.headers.items()})
            headers["content-length"] = str(len(payload))
            self.send_response(scripted.status)
            for name, value in headers.items():
                self.send_header(name, value)
            self.end_headers()
            with contextlib.suppress(BrokenPipeError, ConnectionResetError):  # client gave up (timeouts)
                self.wfile.write(payload)

        do_POST = _handle
        do_GET = _handle

        def log_message(self, format: str, *args: Any) -> None:  # keep test output clean
            return

    return Handler
