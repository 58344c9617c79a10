"""A local fake of Datadog's Logs search API (``POST /api/v2/logs/events/search``).

Why a server and not a mock: the official ``datadog-api-client`` must do its real work (model
serialization, urllib3, status-code → exception mapping, response deserialization), so tests talk
to it over a socket on 127.0.0.1 exactly as production talks to Datadog. The fake speaks the recorded
wire format: the ``{"data", "meta", "links"}`` envelope, opaque ``meta.page.after`` cursors, an empty
last page without ``after``, ``X-RateLimit-*`` headers on 429, ``{"errors": [...]}`` bodies.

Faults are scripted per request (``fake.script(...)``) so a test says *what* the next requests see
(429, 500, a ``timeout`` page, a warning, a short page, a dropped connection), plus a ``kill_after_pages``
switch that simulates Datadog going away between pages of one run.
"""

from __future__ import annotations

import base64
import bisect
import contextlib
import json
import sys
import threading
import time
import uuid
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

SEARCH_PATH = "/api/v2/logs/events/search"
API_KEY = "fake-api-key"
APP_KEY = "fake-app-key"
MAX_LIMIT = 1000  # Datadog's documented maximum for page[limit]
BASE_TIME = datetime(2024, 5, 1, tzinfo=UTC)

_TENANTS = ("acme-prod", "globex-prod", "initech-staging", "umbrella-prod", "hooli-prod")
_SERVICES = ("billing-api", "checkout", "auth", "search-worker")
_KINDS = (
    ("TimeoutError", "upstream timed out after 30000ms calling payments"),
    ("KeyError", "KeyError: 'invoice_id' for customer_id: 4417"),
    ("OperationalError", "could not connect to server: Connection refused db-7"),
    ("ValueError", "invalid literal for int() with base 10: 'abc'"),
)


def iso(ts: datetime) -> str:
    """Datadog's timestamp form: UTC, milliseconds, ``Z``."""
    return ts.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def make_log(i: int, ts: datetime, **overrides: Any) -> dict[str, Any]:
    """One synthetic ``status:error`` log in Datadog's wire shape (``data[]`` item).

    ``overrides`` replace top-level ``attributes`` keys (``message``, ``tags``, ``attributes``…).
    """
    kind, message = _KINDS[i % len(_KINDS)]
    tenant = _TENANTS[i % len(_TENANTS)]
    service = _SERVICES[i % len(_SERVICES)]
    attrs: dict[str, Any] = {
        "timestamp": iso(ts),
        "status": "error",
        "service": service,
        "host": f"i-{i % 7:04x}",
        "message": f"{kind}: {message}",
        "tags": [f"tenant:{tenant}", f"service:{service}", "env:prod", "source:python"],
        "attributes": {
            "error": {
                "kind": kind,
                "message": message,
                "stack": f'Traceback (most recent call last):\n  File "app.py", line {10 + i % 3}\n{kind}',
            },
            "http": {"status_code": 500, "method": "POST"},
            "seq": i,
        },
    }
    attrs.update(overrides)
    return {"id": f"AQAAAY{i:010d}", "type": "log", "attributes": attrs}


def make_logs(
    n: int, start: datetime = BASE_TIME, step: timedelta = timedelta(seconds=1)
) -> list[dict[str, Any]]:
    return [make_log(i, start + i * step) for i in range(n)]


@dataclass
class Fault:
    """What one request sees instead of (or on top of) a normal page.

    kind: ``rate_limit`` (429 with X-RateLimit-* headers, ``reset`` seconds), ``error`` (``status``,
    e.g. 500/503/400), ``timeout`` (normal page with ``meta.status: "timeout"``), ``warning`` (normal
    page with a ``meta.warnings`` entry), ``short`` (only ``count`` logs but the cursor still goes on),
    ``drop`` (close the socket without answering), ``hang`` (sleep ``seconds`` before answering),
    ``done`` (a normal page: lets a script skip requests).
    """

    kind: str
    reset: int | None = 1  # None: a 429 without X-RateLimit-* headers
    status: int = 500
    count: int = 1
    seconds: float = 1.0


def rate_limit(reset: int | None = 1) -> Fault:
    return Fault("rate_limit", reset=reset)


def error(status: int = 500) -> Fault:
    return Fault("error", status=status)


@dataclass
class FakeDatadog:
    """The fake service's state; ``url`` is what ``Configuration(host=...)`` gets."""

    logs: list[dict[str, Any]] = field(default_factory=list)
    api_key: str = API_KEY
    app_key: str = APP_KEY
    logs_read_data: bool = True  # False → 403, as for an application key without that permission
    kill_after_pages: int | None = None  # after K answered pages every request is dropped
    requests: list[dict[str, Any]] = field(default_factory=list)  # JSON bodies, in arrival order
    pages_served: int = 0
    _faults: deque[Fault] = field(default_factory=deque)
    _server: ThreadingHTTPServer | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _times: list[datetime] = field(default_factory=list)
    _url: str = ""

    # -- control -------------------------------------------------------------------------------
    def script(self, *faults: Fault) -> None:
        """Queue faults: the next ``len(faults)`` requests get them, one each, in order."""
        self._faults.extend(faults)

    @property
    def request_count(self) -> int:
        return len(self.requests)

    @property
    def url(self) -> str:
        assert self._url, "fake not started"
        return self._url

    def set_logs(self, logs: list[dict[str, Any]]) -> None:
        """Replace the stored logs (kept sorted by timestamp, with parsed times for bisecting)."""
        with self._lock:
            self.logs = sorted(logs, key=lambda log: log["attributes"]["timestamp"])
            self._times = [_parse_time(log["attributes"]["timestamp"], BASE_TIME) for log in self.logs]

    def start(self) -> FakeDatadog:
        self.set_logs(self.logs)
        handler = type("Handler", (_Handler,), {"fake": self})
        self._server = _Server(("127.0.0.1", 0), handler)
        self._url = f"http://127.0.0.1:{self._server.server_address[1]}"
        threading.Thread(  # a short poll interval keeps shutdown (fixture teardown) fast
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.02},
            name="fake-datadog",
            daemon=True,
        ).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    # -- behaviour -----------------------------------------------------------------------------
    def next_fault(self) -> Fault | None:
        with self._lock:
            return self._faults.popleft() if self._faults else None

    def search(self, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        """Answer one search body as Datadog would (sorted by timestamp, cursor-paginated)."""
        flt = body.get("filter") or {}
        page = body.get("page") or {}
        limit = int(page.get("limit", 10))
        if limit > MAX_LIMIT:
            return 400, {"errors": [f"page[limit] must be <= {MAX_LIMIT}"]}
        lo = _parse_time(flt.get("from"), datetime.min.replace(tzinfo=UTC))
        hi = _parse_time(flt.get("to"), datetime.max.replace(tzinfo=UTC))
        matching = self.logs[bisect.bisect_left(self._times, lo) : bisect.bisect_left(self._times, hi)]
        if body.get("sort") == "-timestamp":
            matching = matching[::-1]
        offset = _decode_cursor(page["cursor"]) if page.get("cursor") else 0
        chunk = matching[offset : offset + limit]
        meta: dict[str, Any] = {
            "elapsed": 12,
            "request_id": uuid.uuid4().hex,
            "status": "done",
            "page": {},
        }
        if chunk:
            meta["page"]["after"] = _encode_cursor(offset + len(chunk))
        links = {"next": f"{self.url}{SEARCH_PATH}?cursor={meta['page']['after']}"} if chunk else {}
        return 200, {"data": chunk, "meta": meta, "links": links}


def _parse_time(value: str | None, default: datetime) -> datetime:
    """ISO-8601 (``Z`` or offset) or ``now``; Datadog's relative forms (``now-15m``) are not needed."""
    if not value:
        return default
    if value == "now":
        return datetime.now(UTC)
    parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _encode_cursor(offset: int) -> str:
    return base64.urlsafe_b64encode(json.dumps({"o": offset}).encode()).decode()


def _decode_cursor(cursor: str) -> int:
    return int(json.loads(base64.urlsafe_b64decode(cursor.encode()))["o"])


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that gave up (timeout test) closes the socket under us: expected, not noise."""
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, like the real API behind its load balancer
    fake: FakeDatadog

    def log_message(self, format: str, *args: Any) -> None:  # quiet test output
        pass

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length", "0"))
        raw = self.rfile.read(length)
        if self.headers.get("Content-Encoding") == "gzip":  # the client may compress bodies
            import gzip

            raw = gzip.decompress(raw)
        body = json.loads(raw or b"{}")
        fake = self.fake
        with fake._lock:
            fake.requests.append(body)
            killed = fake.kill_after_pages is not None and fake.pages_served >= fake.kill_after_pages
        if killed:
            self._drop()
            return
        if self.path.split("?")[0] != SEARCH_PATH:
            self._send(404, {"errors": ["Not found"]})
            return
        if self.headers.get("DD-API-KEY") != fake.api_key:
            self._send(401, {"errors": ["Unauthorized"]})
            return
        if self.headers.get("DD-APPLICATION-KEY") != fake.app_key or not fake.logs_read_data:
            self._send(403, {"errors": ["Forbidden"]})
            return
        fault = fake.next_fault()
        if fault is not None and fault.kind == "drop":
            self._drop()
            return
        if fault is not None and fault.kind == "hang":
            time.sleep(fault.seconds)
        if fault is not None and fault.kind == "rate_limit":
            self._send(429, {"errors": ["Too many requests"]}, _rate_limit_headers(fault.reset))
            return
        if fault is not None and fault.kind == "error":
            self._send(fault.status, {"errors": [f"fake error {fault.status}"]})
            return
        status, payload = fake.search(body)
        if status == 200 and fault is not None:
            _apply_page_fault(fault, body, payload)
        if status == 200:
            with fake._lock:
                fake.pages_served += 1
        self._send(status, payload)

    def _drop(self) -> None:
        """Close the socket without a response, as a dying process or a cut connection does."""
        self.close_connection = True
        with contextlib.suppress(OSError):
            self.connection.shutdown(2)

    def _send(self, status: int, payload: dict[str, Any], headers: dict[str, str] | None = None) -> None:
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)


def _rate_limit_headers(reset: int | None) -> dict[str, str]:
    if reset is None:
        return {}
    return {
        "X-RateLimit-Limit": "300",
        "X-RateLimit-Period": "3600",
        "X-RateLimit-Remaining": "0",
        "X-RateLimit-Reset": str(reset),
        "X-RateLimit-Name": "logs_list",
    }


def _apply_page_fault(fault: Fault, body: dict[str, Any], payload: dict[str, Any]) -> None:
    meta = payload["meta"]
    if fault.kind == "timeout":
        meta["status"] = "timeout"
    elif fault.kind == "warning":
        meta["warnings"] = [
            {
                "code": "unknown_index",
                "title": "One or several indexes are missing or invalid",
                "detail": "indexes: nope; results only include existing indexes",
            }
        ]
    elif fault.kind == "short" and payload["data"]:
        # A short page whose cursor still continues right after the logs it did return.
        page = body.get("page") or {}
        offset = _decode_cursor(page["cursor"]) if page.get("cursor") else 0
        payload["data"] = payload["data"][: fault.count]
        meta["page"]["after"] = _encode_cursor(offset + len(payload["data"]))


@pytest.fixture
def fake_datadog() -> Iterator[FakeDatadog]:
    """A started fake with 250 logs; tests call ``set_logs`` or ``script`` before pulling."""
    fake = FakeDatadog(logs=make_logs(250)).start()
    try:
        yield fake
    finally:
        fake.stop()
