"""/metrics and /healthz: content after real runs, on a FastAPI app (mount) and the worker's port."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from fakes import FakeHooks
from helpers import write_fleet
from prometheus_client.parser import text_string_to_metric_families

from errorsift.service.metrics import ServiceMetrics, healthz, mount, serve_http
from errorsift.service.once import run_once
from errorsift.settings import Settings
from errorsift.store.store import Store


def samples(payload: bytes) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    out = {}
    for family in text_string_to_metric_families(payload.decode()):
        for s in family.samples:
            out[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return out


@pytest.fixture
def ran(tmp_path: Path, db_url: str):
    """Two scheduled runs on a fleet, with one working and one failing notification channel."""
    fleet = tmp_path / "fleet.jsonl"
    n = write_fleet(fleet, datetime.now(UTC).replace(minute=0, second=0, microsecond=0))
    with FakeHooks() as hooks:
        hooks.fail("/down", 400)  # rejected: recorded as failed, not retried
        settings = Settings(db=db_url, slack_webhook_url=hooks.url("/slack"), notify_webhook_url=hooks.url("/down"))
        first = run_once(settings, str(fleet))
        second = run_once(settings, str(fleet))
    assert first.status == second.status == "ok"
    store = Store(db_url)
    yield store, n, first
    store.close()


def test_metrics_payload_after_runs(ran):
    store, n, first = ran
    metrics = ServiceMetrics()
    values = samples(metrics.payload(store, datetime.now(UTC) + timedelta(minutes=30)))
    assert values[("errorsift_runs_total", (("status", "ok"),))] == 2
    assert values[("errorsift_run_duration_seconds_count", ())] == 2
    assert values[("errorsift_events_ingested_total", ())] == 2 * n
    assert values[("errorsift_events_new_total", ())] == n
    hits = values[("errorsift_analysis_cache_total", (("result", "hit"),))]
    misses = values[("errorsift_analysis_cache_total", (("result", "miss"),))]
    assert misses == first.report["cache_misses"] and hits >= 1
    assert ("errorsift_model_calls_total", ()) in values and ("errorsift_model_cost_usd_total", ()) in values
    assert ("errorsift_model_tokens_total", (("direction", "input"),)) in values
    assert values[("errorsift_signatures", ())] >= 5
    flagged = {k[1] for k in values if k[0] == "errorsift_patterns"}
    assert any(dict(labels).get("flag") == "new" for labels in flagged)
    assert sum(v for k, v in values.items() if k[0] == "errorsift_patterns") >= first.report["patterns"]
    escalations = first.notify["escalations"]
    # The failing webhook was tried again by the second run (failures do not mute); Slack was not.
    assert values[("errorsift_notification_failures_total", (("channel", "webhook:*"),))] == 2 * escalations
    assert values[("errorsift_notifications_total", (("channel", "slack:*"), ("status", "sent")))] == escalations
    assert 0 <= values[("errorsift_last_success_age_seconds", ())] < 60
    assert values[("errorsift_next_run_timestamp_seconds", ())] > datetime.now(UTC).timestamp()
    # Incremental: a second scrape counts nothing twice.
    again = samples(metrics.payload(store))
    assert again[("errorsift_runs_total", (("status", "ok"),))] == 2


def test_healthz_states(ran, tmp_path):
    store, _, _ = ran
    status, body = healthz(store, timedelta(hours=1))
    assert status == 200 and body["status"] == "ok" and body["last_run"]["status"] == "ok"
    status, body = healthz(store, timedelta(microseconds=1))
    assert status == 503 and body["status"] == "stale" and body["last_success_age_seconds"] > 0
    empty = Store(str(tmp_path / "empty.db"))
    status, body = healthz(empty, timedelta(hours=1))
    assert status == 503 and body["status"] == "never"
    empty.close()


def test_mount_on_a_fastapi_app_and_the_worker_port(ran):
    store, _, _ = ran
    fastapi = pytest.importorskip("fastapi")
    from fastapi.testclient import TestClient

    app = fastapi.FastAPI()
    mount(app, store, max_age=timedelta(hours=1))
    client = TestClient(app)
    metrics = client.get("/metrics")
    assert metrics.status_code == 200 and metrics.headers["content-type"].startswith("text/plain")
    assert b"errorsift_runs_total" in metrics.content
    health = client.get("/healthz")
    assert health.status_code == 200 and health.json()["status"] == "ok"

    server = serve_http(store, 0, host="127.0.0.1", max_age=timedelta(hours=1))
    try:
        port = server.server_address[1]
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as r:
            assert b'errorsift_runs_total{status="ok"} 2.0' in r.read()
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=5) as r:
            assert json.loads(r.read())["status"] == "ok"
        with pytest.raises(urllib.error.HTTPError):
            urllib.request.urlopen(f"http://127.0.0.1:{port}/nope", timeout=5)
    finally:
        server.shutdown()


def test_the_worker_metrics_port_binds_loopback_unless_configured(tmp_path, monkeypatch):
    from errorsift.service import command, scheduler
    from errorsift.service import metrics as metrics_module
    from errorsift.settings import load_settings

    store = Store(str(tmp_path / "m.db"))
    server = serve_http(store, 0)  # unauthenticated counts and spend: loopback unless asked
    try:
        assert server.server_address[0] == "127.0.0.1"
    finally:
        server.shutdown()
        store.close()
    assert Settings().metrics_host == "127.0.0.1" and load_settings(None, env={}).metrics_host == "127.0.0.1"
    assert load_settings(None, env={"ERRORSIFT_METRICS_HOST": "0.0.0.0"}).metrics_host == "0.0.0.0"

    # The worker hands the setting to the server.
    bound: dict[str, object] = {}

    class Stopped:
        def shutdown(self, wait: bool = True) -> None:
            pass

    class FakeSchedule(Stopped):
        store, worker_id = None, "w"

        def __init__(self, *args: object, **kwargs: object) -> None:
            pass

        def start(self) -> FakeSchedule:
            return self

        def next_run_at(self) -> None:
            return None

    def fake_serve_http(_store: object, port: int, **kwargs: object) -> Stopped:
        bound.update(port=port, host=kwargs.get("host"))
        return Stopped()

    monkeypatch.setattr(scheduler, "Schedule", FakeSchedule)
    monkeypatch.setattr(metrics_module, "serve_http", fake_serve_http)
    stop = command.threading.Event()
    stop.set()
    command._serve_schedule(Settings(metrics_port=9464), "x.jsonl", stop)
    assert bound == {"port": 9464, "host": "127.0.0.1"}
    command._serve_schedule(Settings(metrics_port=9464, metrics_host="0.0.0.0"), "x.jsonl", stop)
    assert bound == {"port": 9464, "host": "0.0.0.0"}
    # The image must be reachable through a published port, so it asks for all interfaces itself.
    dockerfile = (Path(__file__).resolve().parents[2] / "Dockerfile").read_text()
    assert "ERRORSIFT_METRICS_HOST=0.0.0.0" in dockerfile
