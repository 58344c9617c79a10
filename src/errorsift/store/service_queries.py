"""Queries the service layer needs (lease, notifications, metrics, retention, workers).

They live here, not in `store.py`, so the pipeline's query surface stays small; SQL still never
leaves `store/`. Every function takes a `StoreConn` and runs inside whatever transaction the caller
opened, so a caller decides what commits together. All of them work on SQLite and PostgreSQL.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import and_, delete, func, or_, select, text, update

from errorsift.store import schema as t
from errorsift.store.store import StoreConn

__all__ = [
    "LeaseRow",
    "acquire_lease",
    "db_now",
    "delete_worker",
    "get_lease",
    "heartbeat_lease",
    "latest_triage",
    "long_term_daily",
    "notifications_since",
    "prune_hourly_counts",
    "prune_notifications",
    "prune_runs",
    "prune_seen_events",
    "prune_workers",
    "recent_notifications",
    "record_notification",
    "release_lease",
    "rollup_hourly_counts",
    "run_status_summary",
    "runs_since",
    "signature_count",
    "upsert_worker",
    "workers",
]

_CHUNK = 900


# --- time --------------------------------------------------------------------------------------


def db_now(sc: StoreConn) -> datetime:
    """The database's clock on PostgreSQL (one clock for every host sharing it), else ours.

    A lease compares expiry times written by different machines; reading "now" from the one
    server they share makes takeover immune to clock skew between hosts. SQLite is a local file,
    so the local clock *is* the database's clock.
    """
    if sc.dialect == "postgresql":
        value = sc.conn.execute(text("SELECT clock_timestamp()")).scalar_one()
        return value.astimezone(UTC)
    return datetime.now(UTC)


# --- the run lease -----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class LeaseRow:
    name: str
    holder: str
    acquired_at: datetime
    heartbeat_at: datetime
    expires_at: datetime


def get_lease(sc: StoreConn, name: str) -> LeaseRow | None:
    row = sc.conn.execute(select(t.leases).where(t.leases.c.name == name)).first()
    return None if row is None else LeaseRow(*row)


def acquire_lease(sc: StoreConn, name: str, holder: str, ttl: timedelta) -> tuple[bool, LeaseRow | None]:
    """Take the lease if it is free, expired, or already ours; atomic on both databases.

    One statement decides: ``INSERT … ON CONFLICT (name) DO UPDATE … WHERE expires_at < now OR
    holder = me``. PostgreSQL row-locks the conflicting row and re-checks the condition after a
    concurrent taker commits; SQLite serializes writers. Returns (acquired, current row).
    """
    now = db_now(sc)
    lease = t.leases
    stmt = sc._insert(lease).values(name=name, holder=holder, acquired_at=now, heartbeat_at=now, expires_at=now + ttl)
    stmt = stmt.on_conflict_do_update(
        index_elements=["name"],
        set_={
            "holder": stmt.excluded.holder,
            "acquired_at": stmt.excluded.acquired_at,
            "heartbeat_at": stmt.excluded.heartbeat_at,
            "expires_at": stmt.excluded.expires_at,
        },
        where=or_(lease.c.expires_at < now, lease.c.holder == holder),
    )
    sc.conn.execute(stmt)
    current = get_lease(sc, name)
    return (current is not None and current.holder == holder), current


def reclaim_lease(sc: StoreConn, name: str, dead_holder: str) -> bool:
    """Expire a lease whose holder is known to be dead (only if that holder still has it)."""
    result = sc.conn.execute(
        update(t.leases)
        .where(and_(t.leases.c.name == name, t.leases.c.holder == dead_holder))
        .values(expires_at=db_now(sc) - timedelta(seconds=1))
    )
    return result.rowcount == 1


def heartbeat_lease(sc: StoreConn, name: str, holder: str, ttl: timedelta) -> bool:
    """Push our expiry forward; False means the lease is no longer ours (it expired and was taken)."""
    now = db_now(sc)
    result = sc.conn.execute(
        update(t.leases)
        .where(and_(t.leases.c.name == name, t.leases.c.holder == holder))
        .values(heartbeat_at=now, expires_at=now + ttl)
    )
    return result.rowcount == 1


def release_lease(sc: StoreConn, name: str, holder: str) -> bool:
    """Give the lease up (only if still ours), so the next run need not wait for expiry."""
    result = sc.conn.execute(delete(t.leases).where(and_(t.leases.c.name == name, t.leases.c.holder == holder)))
    return result.rowcount == 1


# --- notifications -----------------------------------------------------------------------------


def recent_notifications(sc: StoreConn, signatures: Sequence[str], since: datetime) -> set[tuple[str, str, str]]:
    """(signature, flag, channel) sent at or after `since`: what dedup must not send again.

    Only `sent` rows count: a failed delivery is retried by the next run instead of being muted.
    """
    n = t.notifications.c
    found: set[tuple[str, str, str]] = set()
    keys = list(dict.fromkeys(signatures))
    for start in range(0, len(keys), _CHUNK):
        chunk = keys[start : start + _CHUNK]
        query = select(n.signature, n.flag, n.channel).where(
            and_(n.signature.in_(chunk), n.status == "sent", n.sent_at >= since)
        )
        found.update((s, f, c) for s, f, c in sc.conn.execute(query))
    return found


def record_notification(sc: StoreConn, **values: Any) -> None:
    sc.conn.execute(t.notifications.insert().values(**values))


def notifications_since(sc: StoreConn, after_id: int) -> list[tuple[int, str, str, str, datetime]]:
    """(id, channel, status, signature, sent_at) of rows with id > after_id, for metrics.

    One delivery writes one row per flag it carried, all with the same `sent_at`; callers that
    count deliveries fold rows on (signature, channel, sent_at).
    """
    n = t.notifications.c
    query = select(n.id, n.channel, n.status, n.signature, n.sent_at).where(n.id > after_id).order_by(n.id)
    return [(int(i), c, st, sig, at) for i, c, st, sig, at in sc.conn.execute(query)]


def prune_notifications(sc: StoreConn, before: datetime) -> int:
    return sc.conn.execute(delete(t.notifications).where(t.notifications.c.sent_at < before)).rowcount


# --- runs, for metrics and health --------------------------------------------------------------


def runs_since(sc: StoreConn, after_id: int) -> list[dict[str, Any]]:
    """Runs with id > after_id, oldest first, with their report (metrics read each once)."""
    r = t.runs.c
    query = select(r.id, r.status, r.started_at, r.finished_at, r.report).where(r.id > after_id).order_by(r.id)
    return [dict(row._mapping) for row in sc.conn.execute(query)]


def run_status_summary(sc: StoreConn) -> dict[str, Any]:
    """The last run of any status, the last successful one, and whether one is running now."""
    r = t.runs.c
    cols = (r.id, r.status, r.started_at, r.finished_at)
    last = sc.conn.execute(select(*cols).order_by(r.id.desc()).limit(1)).first()
    ok = sc.conn.execute(select(*cols).where(r.status == "ok").order_by(r.id.desc()).limit(1)).first()
    running = sc.conn.execute(select(func.count()).select_from(t.runs).where(r.status == "running")).scalar_one()
    return {
        "last": None if last is None else dict(last._mapping),
        "last_ok": None if ok is None else dict(ok._mapping),
        "running": int(running),
    }


def latest_triage(sc: StoreConn, run_id: int) -> list[tuple[str, dict[str, Any], bool]]:
    """(bucket, anomaly, suppressed) per pattern of one run: the patterns-by-bucket-and-flag gauge."""
    c = t.triage_results.c
    query = select(c.bucket, c.anomaly, c.suppressed).where(c.run_id == run_id)
    return [(b, dict(a or {}), bool(s)) for b, a, s in sc.conn.execute(query)]


def signature_count(sc: StoreConn) -> int:
    return int(sc.conn.execute(select(func.count()).select_from(t.signatures)).scalar_one())


# --- retention ---------------------------------------------------------------------------------


def rollup_hourly_counts(sc: StoreConn, before_hour: int) -> int:
    """Add hourly counts older than `before_hour` into `daily_counts` (UTC days); returns rows merged.

    Aggregated in SQL, upserted in batches: re-running after a crash between rollup and delete
    cannot happen because the caller does both in one transaction.
    """
    c = t.hourly_counts.c
    day = (c.hour // 24).label("day")
    query = (
        select(c.signature, c.customer, day, func.sum(c.count))
        .where(c.hour < before_hour)
        .group_by(c.signature, c.customer, day)
    )
    rows = [{"signature": s, "customer": cu, "day": int(d), "count": int(n)} for s, cu, d, n in sc.conn.execute(query)]
    if not rows:
        return 0
    stmt = sc._insert(t.daily_counts)
    stmt = stmt.on_conflict_do_update(
        index_elements=["signature", "customer", "day"],
        set_={"count": t.daily_counts.c.count + stmt.excluded.count},
    )
    for start in range(0, len(rows), 5000):
        sc.conn.execute(stmt, rows[start : start + 5000])
    return len(rows)


def prune_hourly_counts(sc: StoreConn, before_hour: int) -> int:
    return sc.conn.execute(delete(t.hourly_counts).where(t.hourly_counts.c.hour < before_hour)).rowcount


def prune_seen_events(sc: StoreConn, before_hour: int) -> int:
    return sc.conn.execute(delete(t.seen_events).where(t.seen_events.c.hour < before_hour)).rowcount


def prune_runs(sc: StoreConn, before: datetime) -> int:
    """Delete runs started before `before` and their triage rows; the latest good run always stays,
    because the dashboard's morning cards are read from it."""
    r = t.runs.c
    keep = sc.conn.execute(select(func.max(r.id)).where(r.status == "ok")).scalar()
    cond = and_(r.started_at < before, r.status != "running")
    if keep is not None:
        cond = and_(cond, r.id != keep)
    ids = [int(i) for (i,) in sc.conn.execute(select(r.id).where(cond))]
    for start in range(0, len(ids), _CHUNK):
        chunk = ids[start : start + _CHUNK]
        sc.conn.execute(delete(t.triage_results).where(t.triage_results.c.run_id.in_(chunk)))
        sc.conn.execute(delete(t.runs).where(r.id.in_(chunk)))
    return len(ids)


def long_term_daily(sc: StoreConn, start_day: int, end_day: int) -> dict[str, dict[int, dict[str, int]]]:
    """Occurrences per signature, UTC day (epoch days) and customer for days in [start_day, end_day).

    Reads the rollups *and* the hourly counts not yet rolled up, so a long-term view is the same
    before and after retention runs (this is the query the dashboard's long-term charts should use).
    """
    out: dict[str, dict[int, dict[str, int]]] = defaultdict(lambda: defaultdict(dict))

    def add(rows: Iterable[Any]) -> None:
        for sig, d, customer, n in rows:
            per_day = out[sig][int(d)]
            per_day[customer] = per_day.get(customer, 0) + int(n)

    d = t.daily_counts.c
    add(
        sc.conn.execute(
            select(d.signature, d.day, d.customer, d.count).where(and_(d.day >= start_day, d.day < end_day))
        )
    )
    h = t.hourly_counts.c
    day = (h.hour // 24).label("day")
    add(
        sc.conn.execute(
            select(h.signature, day, h.customer, func.sum(h.count))
            .where(and_(h.hour >= start_day * 24, h.hour < end_day * 24))
            .group_by(h.signature, day, h.customer)
        )
    )
    return {sig: {day: dict(c) for day, c in days.items()} for sig, days in out.items()}


# --- scheduler workers -------------------------------------------------------------------------


def upsert_worker(sc: StoreConn, worker_id: str, **values: Any) -> None:
    stmt = sc._insert(t.workers).values(id=worker_id, **values)
    updates = {k: v for k, v in values.items() if k not in ("started_at", "host", "pid")}
    sc.conn.execute(stmt.on_conflict_do_update(index_elements=["id"], set_=updates))


def delete_worker(sc: StoreConn, worker_id: str) -> None:
    sc.conn.execute(delete(t.workers).where(t.workers.c.id == worker_id))


def workers(sc: StoreConn) -> list[dict[str, Any]]:
    return [dict(r._mapping) for r in sc.conn.execute(select(t.workers).order_by(t.workers.c.started_at))]


def prune_workers(sc: StoreConn, before: datetime) -> int:
    """Workers not seen since `before` died without saying goodbye (SIGKILL, power loss)."""
    return sc.conn.execute(delete(t.workers).where(t.workers.c.seen_at < before)).rowcount
