"""A scriptable local HTTP server, the base of the fake provider APIs used by the analysis tests.

Why a server and not a mock: the official SDKs must exercise their real request building,
headers, error mapping and response parsing, which patching the client would skip. The server
listens on 127.0.0.1 on an ephemeral port, records every request (and the peak number served at
once, for the concurrency limit) and answers from a FIFO script; a subclass adds the routes of
one provider (`route`). When the script runs dry and no `responder` is set, it answers 500 with
``x-should-retry: false`` so a test that forgot to script a reply fails fast and loudly.
"""

from __future__ import annotations

import contextlib
import json
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any, Self

__all__ = ["FakeHTTPServer", "RecordedRequest", "ScriptedResponse"]


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
    """What the fake received: method, path, headers (lower-cased names), the JSON body, and when."""

    method: str
    path: str
    headers: dict[str, str]
    body: Any
    raw: bytes
    at: float = 0.0


class FakeHTTPServer:
    """Lifecycle, recording and the script; subclasses implement `route`."""

    name = "fake"

    def __init__(self) -> None:
        self.requests: list[RecordedRequest] = []
        self.responder: Callable[[RecordedRequest, int], ScriptedResponse] | None = None
        self.peak_concurrency = 0
        self._active = 0
        self._script: deque[ScriptedResponse] = deque()
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._counter = 0

    # ---------------------------------------------------------------- lifecycle

    def start(self) -> Self:
        server = ThreadingHTTPServer(("127.0.0.1", 0), _make_handler(self))
        server.daemon_threads = True
        server.block_on_close = False
        self._server = server
        # A short poll interval keeps shutdown() (and so each test's teardown) near-instant.
        self._thread = threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": 0.01}, name=self.name, daemon=True
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

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    @property
    def url(self) -> str:
        """The server's root URL (``http://127.0.0.1:PORT``)."""
        if self._server is None:
            raise RuntimeError(f"{type(self).__name__} is not running; call start() or use it as a context manager")
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    # ---------------------------------------------------------------- scripting

    def enqueue(
        self, status: int = 200, body: Any = None, headers: dict[str, str] | None = None, delay: float = 0.0
    ) -> None:
        """Queue one raw response (status, body, headers) for the scripted route."""
        with self._lock:
            self._script.append(ScriptedResponse(status, body, dict(headers or {}), delay))

    @property
    def pending(self) -> int:
        """Scripted responses not yet served."""
        with self._lock:
            return len(self._script)

    def bodies(self) -> list[bytes]:
        """Every raw request body received, for leak checks."""
        with self._lock:
            return [r.raw for r in self.requests]

    def next_scripted(self, request: RecordedRequest, number: int) -> ScriptedResponse:
        """The next scripted answer, else the responder's, else a loud 500."""
        with self._lock:
            if self._script:
                return self._script.popleft()
        if self.responder is not None:
            return self.responder(request, number)
        return ScriptedResponse(
            500, self.error_body(500, f"{type(self).__name__}: no scripted response left"), {"x-should-retry": "false"}
        )

    # ---------------------------------------------------------------- for subclasses

    def route(self, request: RecordedRequest, number: int) -> ScriptedResponse:
        raise NotImplementedError

    def error_body(self, status: int, message: str) -> Any:
        return {"error": {"message": message}}

    # ---------------------------------------------------------------- serving

    def _record(self, request: RecordedRequest) -> int:
        with self._lock:
            self.requests.append(request)
            self._counter += 1
            self._active += 1
            self.peak_concurrency = max(self.peak_concurrency, self._active)
            return self._counter

    def _done(self) -> None:
        with self._lock:
            self._active -= 1

    @staticmethod
    def render(scripted: ScriptedResponse, request: RecordedRequest, number: int) -> bytes:
        body = scripted.body(request, number) if callable(scripted.body) else scripted.body
        if isinstance(body, bytes):
            return body
        if isinstance(body, str):
            return body.encode("utf-8")
        return json.dumps(body if body is not None else {}).encode("utf-8")


def _make_handler(fake: FakeHTTPServer) -> type[BaseHTTPRequestHandler]:
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
                at=time.monotonic(),
            )
            number = fake._record(request)
            try:
                scripted = fake.route(request, number)
                if scripted.delay:
                    time.sleep(scripted.delay)
                payload = fake.render(scripted, request, number)
            finally:
                fake._done()
            headers = {"content-type": "application/json", "request-id": f"req_fake_{number:04d}"}
            headers.update({k.lower(): v for k, v in scripted.headers.items()})
            headers["content-length"] = str(len(payload))
            with contextlib.suppress(BrokenPipeError, ConnectionResetError):  # client gave up (timeouts)
                self.send_response(scripted.status)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(payload)

        do_POST = _handle
        do_GET = _handle

        def log_message(self, format: str, *args: Any) -> None:  # keep test output clean
            return

    return Handler
