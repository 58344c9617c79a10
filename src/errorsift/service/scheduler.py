"""The schedule: run the pipeline every N minutes (or on a cron line), in a worker or in `serve`.

APScheduler 3 does the timing. Each tick calls `run_once`, which takes the database lease first,
so any number of workers (and `serve` processes) can run the same schedule against one database
and exactly one of them runs at a time; the others log "skipped: … holds the lease" for that tick.

Each worker writes its presence and next fire time to the `workers` table, so the runs page can
show "next run at …" even when the schedule runs in another process (`schedule_status`).
"""

from __future__ import annotations

import logging
import os
import re
import socket
import threading
from datetime import UTC, datetime, timedelta
from typing import Any

from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.base import BaseTrigger
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from errorsift.errors import ConfigError
from errorsift.service.lease import DEFAULT_LEASE, holder_id
from errorsift.service.once import OnceResult, run_once
from errorsift.settings import Settings, parse_duration
from errorsift.store import service_queries as q
from errorsift.store.store import Store

__all__ = ["Schedule", "parse_schedule", "schedule_status", "start_in_process"]

log = logging.getLogger("errorsift.scheduler")
_JOB = "pipeline"
_PRESENCE_MAX = 60.0  # seconds between presence updates of an idle worker


def parse_schedule(text: str) -> BaseTrigger:
    """`30m`, `1h`, `90` (seconds) → an interval; five cron fields (`*/30 * * * *`) → cron, in UTC."""
    value = str(text).strip()
    if len(value.split()) == 5:
        try:
            return CronTrigger.from_crontab(value, timezone=UTC)
        except ValueError as exc:
            raise ConfigError(f"schedule {value!r} is not a valid cron line: {exc}") from None
    if re.match(r"^\d", value):
        every = parse_duration(value)
        if every.total_seconds() <= 0:
            raise ConfigError("schedule must be a positive duration")
        return IntervalTrigger(seconds=every.total_seconds(), timezone=UTC)
    raise ConfigError(f"schedule {value!r}: use a duration (30m, 1h) or a 5-field cron line (*/30 * * * *)")


class Schedule:
    """A background schedule of `run_once` ticks; `start()`, `status()`, `shutdown()`.

    `run_at_start` (default: by trigger): an interval schedule runs once at start, which catches
    up after a restart; a cron schedule waits for its next fire time, since a cron line says *when*
    runs happen (e.g. business hours only). Pass True or False to force either.
    """

    def __init__(
        self,
        settings: Settings,
        source_spec: str | None = None,
        *,
        worker_id: str | None = None,
        run_at_start: bool | None = None,
        stop: threading.Event | None = None,
    ) -> None:
        self.settings = settings
        self.source_spec = source_spec or settings.source
        if not self.source_spec:
            raise ConfigError("the schedule needs a source: pass --source (or set `source` in the config file)")
        self.trigger = parse_schedule(settings.schedule)
        self.worker_id = worker_id or holder_id()
        self.run_at_start = isinstance(self.trigger, IntervalTrigger) if run_at_start is None else run_at_start
        self.stop = stop or threading.Event()
        self.store = Store(settings.db)
        self.scheduler = BackgroundScheduler(timezone=UTC)
        self.last: OnceResult | None = None
        self.last_tick_at: datetime | None = None
        self.ticks = 0
        every = getattr(self.trigger, "interval", None)
        seconds = every.total_seconds() if isinstance(every, timedelta) else _PRESENCE_MAX
        self._presence_every = max(1.0, min(_PRESENCE_MAX, seconds))

    def start(self) -> Schedule:
        kwargs: dict[str, Any] = {}
        if self.run_at_start:
            kwargs["next_run_time"] = datetime.now(UTC)
        self.scheduler.add_job(
            self.tick, self.trigger, id=_JOB, max_instances=1, coalesce=True, misfire_grace_time=None, **kwargs
        )
        self.scheduler.add_job(
            self._presence, IntervalTrigger(seconds=self._presence_every, timezone=UTC), id="presence", coalesce=True
        )
        self.scheduler.start()
        self._presence()
        log.info("schedule %s started as %s", self.settings.schedule, self.worker_id)
        return self

    def tick(self) -> OnceResult:
        """One scheduled run (also callable directly, e.g. by a "run now" button)."""
        self.last_tick_at = datetime.now(UTC)
        try:
            result = run_once(self.settings, self.source_spec, holder=self.worker_id, stop=self.stop, store=self.store)
        except Exception as exc:  # a bug must not kill the schedule: log it, try again next tick
            log.exception("scheduled run crashed")
            result = OnceResult("failed", f"crashed: {exc}")
        self.ticks += 1
        self.last = result
        log.info("tick %d: %s %s", self.ticks, result.status, result.message)
        self._presence()
        return result

    def next_run_at(self) -> datetime | None:
        job = self.scheduler.get_job(_JOB) if self.scheduler.running else None
        when = getattr(job, "next_run_time", None) if job is not None else None
        return when.astimezone(UTC) if when is not None else None

    def _presence(self) -> None:
        now = datetime.now(UTC)
        try:
            with self.store.begin() as conn:
                q.upsert_worker(
                    conn,
                    self.worker_id,
                    host=socket.gethostname(),
                    pid=os.getpid(),
                    schedule=str(self.settings.schedule),
                    started_at=now,
                    seen_at=now,
                    next_run_at=self.next_run_at(),
                )
        except Exception as exc:
            log.warning("could not record worker presence: %s", exc)

    def status(self) -> dict[str, Any]:
        return schedule_status(self.store, self)

    def shutdown(self, wait: bool = True) -> None:
        """Stop ticking; a run in progress stops at its next safe point (see `once`), then we return."""
        self.stop.set()
        if self.scheduler.running:
            self.scheduler.shutdown(wait=wait)
        try:
            with self.store.begin() as conn:
                q.delete_worker(conn, self.worker_id)
        except Exception as exc:
            log.warning("could not remove worker row: %s", exc)
        self.store.close()


def start_in_process(settings: Settings, source_spec: str | None = None) -> Schedule:
    """For `errorsift serve`: start the schedule in this process; call `.shutdown()` on exit."""
    return Schedule(settings, source_spec).start()


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def schedule_status(store: Store, schedule: Schedule | None = None) -> dict[str, Any]:
    """Next and last run for the runs page, from this process's schedule or the workers table.

    Keys: ``next_run_at``, ``last_run`` ({id, status, started_at, finished_at}), ``last_success_at``,
    ``running``, ``lease`` ({holder, expires_at} or None) and ``workers`` (live ones).
    """
    now = datetime.now(UTC)
    with store.read() as conn:
        summary = q.run_status_summary(conn)
        lease = q.get_lease(conn, DEFAULT_LEASE)
        rows = q.workers(conn)
    live = [w for w in rows if now - w["seen_at"] <= timedelta(seconds=3 * _PRESENCE_MAX)]
    next_run = schedule.next_run_at() if schedule is not None else None
    if next_run is None:
        upcoming = [w["next_run_at"] for w in live if w["next_run_at"] is not None]
        next_run = min(upcoming) if upcoming else None
    last, ok = summary["last"], summary["last_ok"]
    return {
        "schedule": schedule.settings.schedule if schedule is not None else (live[0]["schedule"] if live else None),
        "next_run_at": _iso(next_run),
        "last_run": None if last is None else {k: (_iso(v) if isinstance(v, datetime) else v) for k, v in last.items()},
        "last_success_at": _iso((ok["finished_at"] or ok["started_at"]) if ok else None),
        "running": bool(summary["running"]),
        "lease": None
        if lease is None or lease.expires_at < now
        else {"holder": lease.holder, "expires_at": _iso(lease.expires_at)},
        "workers": [
            {
                "id": w["id"],
                "host": w["host"],
                "pid": w["pid"],
                "seen_at": _iso(w["seen_at"]),
                "next_run_at": _iso(w["next_run_at"]),
            }
            for w in live
        ],
    }
