"""Prometheus `/metrics` and `/healthz`, computed from the database.

Why from the database and not from counters bumped by the run: the dashboard (`serve`) and the
scheduler (`worker`) may be different processes, and either may restart. The runs table already
records every run's report (events, signatures, cache hits, model calls, tokens, cost, duration),
so each process syncs its metrics incrementally from the rows it has not seen yet: the numbers are
the same whichever process is scraped, a restart is an ordinary counter reset, and a scrape costs
one indexed query for new rows plus a few small aggregates.
"""

from __future__ import annotations

import threading
from collections import Counter as Tally
from datetime import UTC, datetime, timedelta
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST

from errorsift.store import service_queries as q
from errorsift.store.store import Store

__all__ = ["CONTENT_TYPE_LATEST", "ServiceMetrics", "healthz", "mount"]

_DURATION_BUCKETS = (1, 5, 15, 30, 60, 120, 300, 600, 1200, 1800, 3600)
_FLAGS = (("new_signature", "new"), ("spike", "spike"), ("spread", "spread"))


class ServiceMetrics:
    """A private registry (never the global one, so tests and several stores never collide)."""

    def __init__(self) -> None:
        r = self.registry = CollectorRegistry()
        self.runs = Counter("errorsift_runs", "Finished pipeline runs by status.", ["status"], registry=r)
        self.duration = Histogram(
            "errorsift_run_duration_seconds", "Pipeline run duration.", buckets=_DURATION_BUCKETS, registry=r
        )
        self.events = Counter("errorsift_events_ingested", "Events read by runs.", registry=r)
        self.new_events = Counter("errorsift_events_new", "Events counted for the first time.", registry=r)
        self.cache = Counter("errorsift_analysis_cache", "Analysis cache lookups by result.", ["result"], registry=r)
        self.model_calls = Counter("errorsift_model_calls", "Paid model calls.", registry=r)
        self.tokens = Counter("errorsift_model_tokens", "Model tokens by direction.", ["direction"], registry=r)
        self.cost = Counter("errorsift_model_cost_usd", "Model spend in USD.", registry=r)
        self.notifications = Counter(
            "errorsift_notifications", "Notifications by channel and status.", ["channel", "status"], registry=r
        )
        self.notification_failures = Counter(
            "errorsift_notification_failures", "Notifications that failed after retries.", ["channel"], registry=r
        )
        self.signatures = Gauge("errorsift_signatures", "Signatures known to the store.", registry=r)
        self.last_run_signatures = Gauge(
            "errorsift_last_run_signatures", "Distinct signatures seen by the last successful run.", registry=r
        )
        self.patterns = Gauge(
            "errorsift_patterns",
            "Patterns of the last successful run by owner bucket and flag (flag=none: not escalated).",
            ["bucket", "flag"],
            registry=r,
        )
        self.last_success = Gauge(
            "errorsift_last_success_timestamp_seconds", "When the last successful run finished.", registry=r
        )
        self.last_success_age = Gauge(
            "errorsift_last_success_age_seconds", "Seconds since the last successful run finished.", registry=r
        )
        self.running = Gauge("errorsift_run_in_progress", "1 while a run is in progress.", registry=r)
        self.next_run = Gauge(
            "errorsift_next_run_timestamp_seconds", "When the schedule fires next (0 = unknown).", registry=r
        )
        self._lock = threading.Lock()
        self._run_cursor = 0  # every run with id <= cursor has been counted
        self._counted: set[int] = set()  # finished runs above the cursor (a run still going blocks it)
        self._notify_cursor = 0
        self._patterns_run: int | None = None

    # --- sync from the database --------------------------------------------------------------------

    def sync(self, store: Store, next_run_at: datetime | None = None) -> None:
        """Fold rows written since the last sync into the metrics (thread-safe, incremental)."""
        with self._lock, store.read() as conn:
            pending_from: int | None = None
            for run in q.runs_since(conn, self._run_cursor):
                run_id = int(run["id"])
                if run["status"] == "running":
                    pending_from = run_id if pending_from is None else pending_from
                    continue
                if run_id not in self._counted:
                    self._count_run(run)
                    self._counted.add(run_id)
                if pending_from is None:
                    self._run_cursor = run_id
            self._counted = {i for i in self._counted if i > self._run_cursor}
            deliveries = set()
            for note_id, channel, status, signature, sent_at in q.notifications_since(conn, self._notify_cursor):
                self._notify_cursor = note_id
                if (signature, channel, sent_at) in deliveries:
                    continue  # another flag of the same message
                deliveries.add((signature, channel, sent_at))
                self.notifications.labels(channel=channel, status=status).inc()
                if status == "failed":
                    self.notification_failures.labels(channel=channel).inc()
            summary = q.run_status_summary(conn)
            self.running.set(1 if summary["running"] else 0)
            self.signatures.set(q.signature_count(conn))
            ok = summary["last_ok"]
            if ok is not None:
                finished = ok["finished_at"] or ok["started_at"]
                self.last_success.set(finished.timestamp())
                self.last_success_age.set(max(0.0, (datetime.now(UTC) - finished).total_seconds()))
                if ok["id"] != self._patterns_run:
                    self._set_patterns(q.latest_triage(conn, ok["id"]))
                    self._patterns_run = ok["id"]
        self.next_run.set(next_run_at.timestamp() if next_run_at else 0)

    def _count_run(self, run: dict[str, Any]) -> None:
        report = run.get("report") or {}
        self.runs.labels(status=run["status"]).inc()
        duration = report.get("duration_s")
        if duration is None and run.get("finished_at") and run.get("started_at"):
            duration = (run["finished_at"] - run["started_at"]).total_seconds()
        if duration is not None and run["status"] in ("ok", "failed"):
            self.duration.observe(float(duration))
        self.events.inc(max(0, int(report.get("raw_events", 0))))
        self.new_events.inc(max(0, int(report.get("new_events", 0))))
        self.cache.labels(result="hit").inc(max(0, int(report.get("cache_hits", 0))))
        self.cache.labels(result="miss").inc(max(0, int(report.get("cache_misses", 0))))
        self.model_calls.inc(max(0, int(report.get("model_calls", 0))))
        self.tokens.labels(direction="input").inc(max(0, int(report.get("input_tokens", 0))))
        self.tokens.labels(direction="output").inc(max(0, int(report.get("output_tokens", 0))))
        self.cost.inc(max(0.0, float(report.get("cost_usd", 0.0))))
        if run["status"] == "ok":
            self.last_run_signatures.set(int(report.get("signatures", 0)))

    def _set_patterns(self, rows: list[tuple[str, dict[str, Any], bool]]) -> None:
        tally: Tally[tuple[str, str]] = Tally()
        for bucket, anomaly, _suppressed in rows:
            flags = [name for key, name in _FLAGS if anomaly.get(key)]
            for flag in flags or ["none"]:
                tally[(bucket, flag)] += 1
        self.patterns.clear()
        for (bucket, flag), n in tally.items():
            self.patterns.labels(bucket=bucket, flag=flag).set(n)

    def payload(self, store: Store, next_run_at: datetime | None = None) -> bytes:
        """The `/metrics` body (Prometheus text format, `CONTENT_TYPE_LATEST`)."""
        self.sync(store, next_run_at)
        return generate_latest(self.registry)


def healthz(store: Store, max_age: timedelta) -> tuple[int, dict[str, Any]]:
    """(HTTP status, body): 200 while the last successful run is younger than `max_age`, else 503.

    A fresh install with no successful run yet is 503 too: nothing has been triaged, and a
    monitor should say so rather than report a service that has never worked as healthy.
    """
    now = datetime.now(UTC)
    try:
        with store.read() as conn:
            summary = q.run_status_summary(conn)
    except Exception as exc:
        return 503, {"status": "error", "error": f"database unavailable: {exc}"[:300]}
    last, ok = summary["last"], summary["last_ok"]
    body: dict[str, Any] = {
        "status": "never",
        "max_age_seconds": max_age.total_seconds(),
        "running": bool(summary["running"]),
        "last_run": None
        if last is None
        else {"id": last["id"], "status": last["status"], "started_at": last["started_at"].isoformat()},
        "last_success_at": None,
        "last_success_age_seconds": None,
    }
    if ok is None:
        return 503, body
    finished = ok["finished_at"] or ok["started_at"]
    age = (now - finished).total_seconds()
    body.update(last_success_at=finished.isoformat(), last_success_age_seconds=round(age, 3))
    body["status"] = "ok" if age <= max_age.total_seconds() else "stale"
    return (200 if body["status"] == "ok" else 503), body


def mount(
    app: Any,
    store: Store,
    *,
    max_age: timedelta = timedelta(hours=2),
    metrics: ServiceMetrics | None = None,
    next_run: Any = None,
) -> ServiceMetrics:
    """Add `GET /metrics` and `GET /healthz` to a FastAPI (or Starlette) app.

    `next_run` is an optional callable returning the schedule's next fire time, so the gauge is
    filled when the schedule runs in this process.
    """
    from starlette.responses import JSONResponse, Response

    metrics = metrics or ServiceMetrics()

    def metrics_endpoint() -> Response:
        when = next_run() if callable(next_run) else None
        return Response(metrics.payload(store, when), media_type=CONTENT_TYPE_LATEST)

    def healthz_endpoint() -> JSONResponse:
        status, body = healthz(store, max_age)
        return JSONResponse(body, status_code=status)

    app.add_route("/metrics", lambda _request: metrics_endpoint(), methods=["GET"], include_in_schema=False)
    app.add_route("/healthz", lambda _request: healthz_endpoint(), methods=["GET"], include_in_schema=False)
    return metrics


def serve_http(
    store: Store,
    port: int,
    *,
    host: str = "127.0.0.1",
    max_age: timedelta = timedelta(hours=2),
    next_run: Any = None,
) -> Any:
    """`/metrics` and `/healthz` for `errorsift worker` (no web framework needed); returns the server.

    Unauthenticated, so it binds loopback unless told otherwise (`metrics_host`): the figures
    include counts and model spend. Runs in a daemon thread; call ``.shutdown()`` to stop it.
    """
    import json
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    metrics = ServiceMetrics()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            path = self.path.split("?")[0]
            if path == "/metrics":
                when = next_run() if callable(next_run) else None
                status, body, ctype = 200, metrics.payload(store, when), CONTENT_TYPE_LATEST
            elif path == "/healthz":
                status, data = healthz(store, max_age)
                body, ctype = json.dumps(data).encode(), "application/json"
            else:
                status, body, ctype = 404, b"not found\n", "text/plain"
            self.send_response(status)
            self.send_header("content-type", ctype)
            self.send_header("content-length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            return

    server = ThreadingHTTPServer((host, port), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, name="metrics-http", daemon=True).start()
    return server
