"""Keep the database bounded: roll old hourly counts up into days, prune seen ids, runs, workers.

Rules that keep the numbers right:

* Hourly counts are rolled up into `daily_counts` (UTC days) *before* they are deleted, in the same
  transaction, so the long-term view (`service_queries.long_term_daily`) reads the same totals
  before and after a prune.
* Hourly counts inside the anomaly horizon (window + baseline days + one day of slack) are never
  pruned, whatever `retain_hourly` says: baselines are computed from hourly counts in 24-hour slices
  aligned to the window, which calendar-day rollups cannot reproduce.
* Seen event ids are kept at least as long as hourly counts (a re-read event whose id was
  forgotten would be counted again into an hour still stored). Events older than the seen-ids
  horizon are dropped on ingest by `drop_events_before`, so a re-read of very old input cannot
  count twice into the rollups either.
* The latest successful run is never pruned (the morning cards are read from it), nor a running one.

Retention runs at most once per `RetentionPolicy.every`, tracked in the checkpoints table under
``errorsift:retention``, so scheduling it after every run costs nothing most of the time.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from errorsift.models import ErrorEvent
from errorsift.settings import Settings, parse_duration
from errorsift.store import service_queries as q
from errorsift.store.store import Store

__all__ = ["RETENTION_CHECKPOINT", "SEEN_HORIZON_CHECKPOINT", "RetentionPolicy", "drop_events_before", "prune"]

log = logging.getLogger("errorsift.retention")
RETENTION_CHECKPOINT = "errorsift:retention"
SEEN_HORIZON_CHECKPOINT = "errorsift:seen-horizon"


@dataclass(frozen=True, slots=True)
class RetentionPolicy:
    hourly: timedelta = timedelta(days=35)
    seen_events: timedelta = timedelta(days=35)
    runs: timedelta = timedelta(days=90)
    horizon: timedelta = timedelta(days=9)  # window + baseline + a day: never prune hourly inside it
    notifications: timedelta = timedelta(days=90)
    every: timedelta = timedelta(hours=24)

    @classmethod
    def from_settings(cls, settings: Settings) -> RetentionPolicy:
        horizon = parse_duration(settings.window) + timedelta(days=settings.baseline_days + 1)
        runs = parse_duration(settings.retain_runs)
        return cls(
            hourly=parse_duration(settings.retain_hourly),
            seen_events=parse_duration(settings.retain_seen_events),
            runs=runs,
            horizon=horizon,
            notifications=max(runs, parse_duration(settings.notify_dedup)),
        )


def _day_floor_hour(moment: datetime) -> int:
    """Epoch hour of the UTC midnight at or before `moment` (rollups cover whole days)."""
    return math.floor(moment.timestamp() / 86400) * 24


def prune(store: Store, policy: RetentionPolicy, now: datetime | None = None, *, force: bool = False) -> dict[str, Any]:
    """Apply the policy; returns what was done (rows rolled up and deleted, cut-offs used).

    Everything happens in one transaction: a crash leaves either the old state or the new one.
    Without `force`, nothing happens if the last prune was less than `policy.every` ago.
    """
    now = now or datetime.now(UTC)
    with store.begin() as conn:
        last = conn.checkpoint(RETENTION_CHECKPOINT)
        if not force and last is not None and now - last < policy.every:
            return {"skipped": True, "last": last.isoformat()}
        hourly_keep = max(policy.hourly, policy.horizon)
        hourly_cut = _day_floor_hour(now - hourly_keep)
        seen_cut = min(hourly_cut, _day_floor_hour(now - max(policy.seen_events, hourly_keep)))
        rolled = q.rollup_hourly_counts(conn, hourly_cut)
        report = {
            "skipped": False,
            "hourly_before": datetime.fromtimestamp(hourly_cut * 3600, UTC).isoformat(),
            "seen_before": datetime.fromtimestamp(seen_cut * 3600, UTC).isoformat(),
            "rolled_up_rows": rolled,
            "hourly_deleted": q.prune_hourly_counts(conn, hourly_cut),
            "seen_deleted": q.prune_seen_events(conn, seen_cut),
            "runs_deleted": q.prune_runs(conn, now - policy.runs),
            "notifications_deleted": q.prune_notifications(conn, now - policy.notifications),
            "workers_deleted": q.prune_workers(conn, now - timedelta(days=1)),
        }
        if policy.hourly < policy.horizon:
            report["note"] = f"hourly counts kept for {policy.horizon} (the anomaly baseline needs them)"
        previous = conn.checkpoint(SEEN_HORIZON_CHECKPOINT)
        horizon = datetime.fromtimestamp(seen_cut * 3600, UTC)
        if previous is None or horizon > previous:
            conn.save_checkpoint(SEEN_HORIZON_CHECKPOINT, horizon)
        conn.save_checkpoint(RETENTION_CHECKPOINT, now)
    log.info("retention: %s", report)
    return report


def seen_horizon(store: Store) -> datetime | None:
    """Events older than this have had their ids pruned; ingesting them again would double count."""
    with store.read() as conn:
        return conn.checkpoint(SEEN_HORIZON_CHECKPOINT)


class _HorizonSource:
    """A source wrapper that drops events older than the seen-ids horizon (see module docstring).

    Everything else (name, id namespace, watermark, stats) is the wrapped source's, so the
    pipeline cannot tell the difference except that too-old events never arrive.
    """

    def __init__(self, source: Any, horizon: datetime) -> None:
        self._source = source
        self._horizon = horizon
        self.dropped = 0

    def __getattr__(self, name: str) -> Any:
        return getattr(self._source, name)

    def events(self) -> Iterator[ErrorEvent]:
        for event in self._source.events():
            if event.timestamp < self._horizon:
                self.dropped += 1
                continue
            yield event


def drop_events_before(source: Any, horizon: datetime | None) -> Any:
    """`source` itself when there is no horizon yet, else a wrapper that drops older events."""
    return source if horizon is None else _HorizonSource(source, horizon)
