"""Retention on SQLite and PostgreSQL: rollups keep the long-term view, baselines keep working,
and re-reading pruned input never counts twice."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import func, select

from errorsift.service.once import run_once
from errorsift.service.retention import RetentionPolicy, prune
from errorsift.settings import Settings
from errorsift.store import schema as t
from errorsift.store import service_queries as q
from errorsift.store.store import Store


def write_history(path: Path, now: datetime, days: int = 40) -> int:
    """A daily recurring error for 40 days (4/day for acme) plus a brand-new one today."""
    lines = []
    for day in range(days):
        for k in range(4):
            ts = now - timedelta(days=day, hours=k + 1)
            lines.append(
                {
                    "timestamp": ts.isoformat(),
                    "message": f"Deadlock on orders row {1000 + day * 10 + k}",
                    "customer": "acme",
                    "id": f"d{day}k{k}",
                }
            )
    for k in range(12):
        ts = now - timedelta(hours=k % 5 + 1)
        lines.append(
            {
                "timestamp": ts.isoformat(),
                "message": f"KeyError: 'plan' for user_id: {k}",
                "customer": ["acme", "globex", "initech"][k % 3],
                "id": f"new{k}",
            }
        )
    path.write_text("\n".join(json.dumps(line) for line in lines) + "\n")
    return len(lines)


def _count(store: Store, table) -> int:
    with store.read() as sc:
        return int(sc.conn.execute(select(func.count()).select_from(table)).scalar_one())


def test_prune_keeps_long_term_view_and_baselines(db_url: str, tmp_path: Path):
    now = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
    source = tmp_path / "history.jsonl"
    n = write_history(source, now)
    settings = Settings(db=db_url, grouping="seed", retain_hourly="1d", retain_seen_events="1d", retain_runs="0s")
    first = run_once(settings, str(source), at=now, retention=False)
    assert first.status == "ok" and first.report["new_events"] == n
    store = Store(db_url)
    try:
        today = int(now.timestamp() // 86400)
        with store.read() as sc:
            before = q.long_term_daily(sc, today - 60, today + 1)
        hourly_before = _count(store, t.hourly_counts)

        report = prune(store, RetentionPolicy.from_settings(settings), now=now, force=True)
        assert report["rolled_up_rows"] > 0 and report["hourly_deleted"] > 0 and report["seen_deleted"] > 0
        assert "baseline" in report["note"]  # 1d asked, the 8-day anomaly horizon kept
        assert 0 < _count(store, t.hourly_counts) < hourly_before
        assert _count(store, t.daily_counts) > 0
        with store.read() as sc:
            assert q.long_term_daily(sc, today - 60, today + 1) == before  # same totals, now from rollups
            kept = sc.window_counts(0, 10**9)
        assert sum(sum(c.values()) for c in kept.values()) < n

        # Skipped when run again within a day (cheap to call after every run).
        assert prune(store, RetentionPolicy.from_settings(settings), now=now + timedelta(hours=1))["skipped"]

        # The same input again: pruned ids are older than the horizon and ignored, never recounted;
        # the baseline (inside the kept horizon) still says the same thing.
        second = run_once(settings, str(source), at=now, retention=False)
        assert second.status == "ok" and second.report["new_events"] == 0
        with store.read() as sc:
            assert q.long_term_daily(sc, today - 60, today + 1) == before
            latest = sc.latest_run()
            rows = {r["signature"]: r["anomaly"] for r in sc.triage_rows(latest["id"])}
            first_rows = {r["signature"]: r["anomaly"] for r in sc.triage_rows(first.run_id)}
        assert rows == first_rows  # NEW stays NEW, the recurring one keeps its 7-day baseline
        assert sorted(a["new_signature"] for a in rows.values()) == [False, True]

        # Runs: everything older than retain_runs goes, except the latest good run.
        report = prune(store, RetentionPolicy.from_settings(settings), now=now + timedelta(days=2), force=True)
        assert report["runs_deleted"] >= 1
        with store.read() as sc:
            assert [r["id"] for r in sc.runs()] == [latest["id"]]
    finally:
        store.close()
