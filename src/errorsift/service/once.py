"""One scheduled run, done properly: lease → pipeline → notify → retention → release.

This is what every tick of the schedule (and `errorsift worker --once`) calls. It never raises for
an expected failure: a held lease, a source or analyzer error, notification trouble and a stop
request all come back as a `OnceResult`, so a scheduler thread can log it and carry on.

Stopping (SIGTERM, a lost lease) is cooperative and happens only where nothing is lost:

* during the ingest, the ingest transaction completes, then the run stops (marked failed, with
  the reason) before any model is called;
* during the analysis, no new model call starts; calls already in flight finish and are stored
  (each analysis commits as soon as it is paid for); the rest are left pending and the run
  finishes its cheap remaining steps, so it ends `ok` with those analyses pending;
* after the analysis nothing is slow, so the run simply finishes.

Either way the next run picks up exactly where this one stopped, paying for nothing twice.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from errorsift.analysis.base import Analyzer
from errorsift.build import make_analyzer, make_grouper, make_redactor, open_configured_source, run_config
from errorsift.errors import AnalyzerError, ConfigError, ErrorsiftError
from errorsift.models import AnalysisOutcome, AnalysisRequest
from errorsift.service.lease import DEFAULT_LEASE, Lease
from errorsift.service.notify import Notifier, NotifyConfig
from errorsift.service.retention import RetentionPolicy, drop_events_before, prune, seen_horizon
from errorsift.settings import Settings, parse_duration
from errorsift.store.store import Store

__all__ = ["OnceResult", "StopRequested", "run_once"]

log = logging.getLogger("errorsift.run")


class StopRequested(Exception):
    """Raised at a safe point when the process was asked to stop or lost its lease."""


@dataclass(slots=True)
class OnceResult:
    status: str  # ok | busy | failed | stopped
    message: str = ""
    run_id: int | None = None
    report: dict[str, Any] = field(default_factory=dict)
    notify: dict[str, Any] = field(default_factory=dict)
    retention: dict[str, Any] = field(default_factory=dict)
    overhead_s: float = 0.0  # time spent outside the pipeline itself (lease, notify, retention)

    def as_dict(self) -> dict[str, Any]:
        return {
            "status": self.status,
            "message": self.message,
            "run_id": self.run_id,
            "report": self.report,
            "notify": self.notify,
            "retention": self.retention,
            "overhead_s": round(self.overhead_s, 4),
        }


class AnalysisStopped(AnalyzerError):
    """A stop request seen before a model call: the analysis step stops dispatching (``stop_run``),
    still stores every call already in flight, and leaves the rest pending for the next run."""

    stop_run = True
    kind = "stopped"


class _StoppableAnalyzer:
    """Checks for a stop request before each model call (the analysis step's safe points)."""

    def __init__(self, inner: Analyzer, should_stop: Callable[[], str]) -> None:
        self._inner = inner
        self._should_stop = should_stop
        self.name = inner.name

    def __getattr__(self, name: str) -> Any:  # batch support, prices, … of the wrapped analyzer
        return getattr(self._inner, name)

    def analyze(self, request: AnalysisRequest) -> AnalysisOutcome:
        reason = self._should_stop()
        if reason:
            raise AnalysisStopped(f"{reason}: analysis left pending for the next run")
        return self._inner.analyze(request)


def _log_step(step: str, detail: str) -> None:
    log.info("%-10s %s", step, detail)


def run_once(
    settings: Settings,
    source_spec: str | None = None,
    *,
    at: datetime | None = None,
    holder: str | None = None,
    wait: float | None = None,
    stop: threading.Event | None = None,
    store: Store | None = None,
    step_log: Callable[[str, str], None] = _log_step,
    notify: bool = True,
    retention: bool = True,
) -> OnceResult:
    """Run the pipeline once under the lease; see the module docstring for the guarantees."""
    from errorsift.pipeline import Pipeline

    spec = source_spec or settings.source
    if not spec:
        return OnceResult("failed", "no source: pass --source (or set `source` in the config file)")
    started = time.perf_counter()
    own_store = store is None
    try:
        store = store or Store(settings.db)
        ttl = parse_duration(settings.lease_ttl)
        lease = Lease(store, DEFAULT_LEASE, ttl, holder=holder)
        wait_s = parse_duration(settings.lease_wait).total_seconds() if wait is None else wait
    except ErrorsiftError as exc:
        return OnceResult("failed", str(exc))
    try:
        if not lease.acquire(wait_s):
            message = lease.busy_message()
            log.info("skipped: %s", message)
            return OnceResult("busy", message, overhead_s=time.perf_counter() - started)

        def should_stop() -> str:
            if stop is not None and stop.is_set():
                return "stop requested (SIGTERM)"
            if lease.lost.is_set():
                return f"lease {DEFAULT_LEASE!r} lost to another holder"
            return ""

        def logged_step(step: str, detail: str) -> None:
            step_log(step, detail)
            reason = should_stop() if step == "signatures" else ""  # the ingest has just committed
            if reason:
                raise StopRequested(f"{reason} (stopped after the ingest step)")

        if reason := should_stop():
            return OnceResult("stopped", reason)
        pipeline_started = time.perf_counter()
        try:
            source = open_configured_source(settings, spec, store, datetime.now(UTC))
            source = drop_events_before(source, seen_horizon(store))
            pipeline = Pipeline(
                store,
                make_grouper(settings, store),
                make_redactor(settings),
                _StoppableAnalyzer(make_analyzer(settings), should_stop),  # type: ignore[arg-type]
                run_config(settings, at),
                logged_step,
            )
            result = pipeline.run(source)
        except StopRequested as exc:
            log.warning("run stopped cleanly: %s", exc)
            return OnceResult("stopped", str(exc))
        except ErrorsiftError as exc:
            log.error("run failed: %s", exc)
            return OnceResult("failed", str(exc))
        pipeline_s = time.perf_counter() - pipeline_started
        dropped = getattr(source, "dropped", 0)
        if dropped:
            log.info("%d events older than the seen-ids horizon were ignored", dropped)
        stopped = should_stop()
        message = f"run {result.run_id} ok" + (f"; {stopped}: pending analyses left for later" if stopped else "")
        out = OnceResult("stopped" if stopped else "ok", message, result.run_id, result.report)
        if notify and not stopped:  # the next run notifies, with complete analyses
            out.notify = _notify(store, settings, result)
        if retention and not stopped:
            try:
                out.retention = prune(store, RetentionPolicy.from_settings(settings))
            except Exception as exc:  # never fail a good run over housekeeping
                log.error("retention failed: %s", exc)
                out.retention = {"error": str(exc)}
        out.overhead_s = time.perf_counter() - started - pipeline_s
        return out
    finally:
        lease.release()
        if own_store:
            store.close()


def _notify(store: Store, settings: Settings, result: Any) -> dict[str, Any]:
    try:
        config = NotifyConfig.from_settings(settings)
    except ConfigError as exc:
        log.error("notifications not sent: %s", exc)
        return {"error": str(exc)}
    if not config.enabled:
        return {}
    notifier = Notifier(store, config)
    try:
        report = notifier.notify(result.run_id, result.patterns).as_dict()
    finally:
        notifier.close()
    log.info("notify     %s", report)
    return report
