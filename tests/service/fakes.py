"""Local fakes for the service tests: an endless, slow Anthropic and webhook receivers.

`SlowAnthropic` reuses the shared `FakeAnthropic` server (tests/analysis/fake_anthropic.py) but
answers every request, after `delay` seconds, with an analysis derived from the prompt, so a run
is slow enough to be killed mid-analysis and two runs of the same data get the same analyses.

`FakeHooks` is one HTTP server standing in for Slack, a JSON webhook and PagerDuty: it records
every POST by path and answers with a per-path scripted status (e.g. 500 for a failing webhook).
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections import defaultdict
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from analysis.fake_anthropic import FakeAnthropic, RecordedRequest, ScriptedResponse, message_body

__all__ = ["FakeHooks", "Hook", "SlowAnthropic", "user_text"]


def user_text(request: RecordedRequest) -> str:
    """The user message of a recorded Messages API request (what identifies the signature)."""
    body = request.body if isinstance(request.body, dict) else {}
    content = (body.get("messages") or [{}])[0].get("content", "")
    if isinstance(content, list):
        return "".join(part.get("text", "") for part in content if isinstance(part, dict))
    return str(content)


def _analysis_for(request: RecordedRequest) -> str:
    digest = hashlib.sha256(user_text(request).encode()).hexdigest()[:10]
    return json.dumps(
        {
            "summary": f"Fake analysis {digest}",
            "explanation": "Deterministic answer of the fake model server.",
            "severity": "Critical" if int(digest, 16) % 3 == 0 else "High",
            "user_impact": "Some requests fail.",
            "root_cause": {"likely_cause": "fake", "confidence": 0.5},
            "recommendations": {"immediate_actions": ["look"], "resolution_priority": "High"},
            "customer_communication": "We are on it.",
            "technical_details": {
                "error_category": "Application",
                "real_application_bug": True,
                "affects_critical_operation": False,
            },
        }
    )


class SlowAnthropic(FakeAnthropic):
    """Answers every message (no script needed) after `delay` seconds, deterministically."""

    def __init__(self, delay: float = 0.0) -> None:
        super().__init__()
        self.delay = delay
        self.responder = self._slow

    def _slow(self, request: RecordedRequest, number: int) -> ScriptedResponse:
        body = message_body(_analysis_for(request), input_tokens=100, output_tokens=50, id=f"msg_{number:04d}")
        return ScriptedResponse(200, body, {}, self.delay)


@dataclass(frozen=True, slots=True)
class Hook:
    path: str
    body: Any
    headers: dict[str, str]


class FakeHooks:
    """Records POSTs per path; `fail(path, status, times)` scripts failures (times=None: always)."""

    def __init__(self) -> None:
        self.received: dict[str, list[Hook]] = defaultdict(list)
        self.attempts: dict[str, int] = defaultdict(int)
        self._failures: dict[str, tuple[int, int | None]] = {}
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None

    def fail(self, path: str, status: int = 500, times: int | None = None) -> None:
        self._failures[path] = (status, times)

    def url(self, path: str) -> str:
        assert self._server is not None
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}{path}"

    def __enter__(self) -> FakeHooks:
        hooks = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:
                raw = self.rfile.read(int(self.headers.get("content-length") or 0))
                with hooks._lock:
                    hooks.attempts[self.path] += 1
                    status, times = hooks._failures.get(self.path, (0, 0))
                    failing = status and (times is None or hooks.attempts[self.path] <= times)
                    if not failing:
                        hooks.received[self.path].append(
                            Hook(self.path, json.loads(raw or b"null"), {k.lower(): v for k, v in self.headers.items()})
                        )
                code = status if failing else (202 if "enqueue" in self.path else 200)
                payload = b'{"status":"success"}' if code == 202 else (b"ok" if code == 200 else b"boom")
                self.send_response(code)
                self.send_header("content-length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, format: str, *args: Any) -> None:
                return

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
