"""The schedule: interval or cron from settings, in-process start/stop, next/last run for the runs page."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import pytest
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger
from helpers import write_fleet

from errorsift.errors import ConfigError
from errorsift.service.scheduler import Schedule, parse_schedule, schedule_status, start_in_process
from errorsift.settings import Settings
from errorsift.store.store import Store


def test_parse_schedule():
    every = parse_schedule("30m")
    assert isinstance(every, IntervalTrigger) and every.interval.total_seconds() == 1800
    cron = parse_schedule("*/30 6-20 * * 1-5")
    assert isinstance(cron, CronTrigger)
    nxt = cron.get_next_fire_time(None, datetime(2026, 11, 20, 6, 1, tzinfo=UTC))  # a Friday
    assert nxt == datetime(2026, 11, 20, 6, 30, tzinfo=UTC)
    for bad in ("soon", "61 * * * *", "0s"):
        with pytest.raises(ConfigError):
            parse_schedule(bad)


def test_in_process_schedule_reports_next_and_last_run(tmp_path):
    fleet = tmp_path / "fleet.jsonl"
    write_fleet(fleet, datetime.now(UTC).replace(minute=0, second=0, microsecond=0))
    settings = Settings(db=str(tmp_path / "s.db"), schedule="1s")
    schedule = start_in_process(settings, str(fleet))
    try:
        deadline = time.monotonic() + 20
        while schedule.ticks < 2:
            assert time.monotonic() < deadline, "the schedule did not tick twice"
            time.sleep(0.05)
        status = schedule.status()
        assert status["schedule"] == "1s" and status["last_run"]["status"] == "ok"
        assert datetime.fromisoformat(status["next_run_at"]) > datetime.fromisoformat(status["last_run"]["started_at"])
        assert [w["id"] for w in status["workers"]] == [schedule.worker_id]
        # Another process (the dashboard of a split deployment) sees the same from the database.
        other = Store(settings.db)
        seen = schedule_status(other)
        assert seen["last_run"]["id"] >= 2 and seen["next_run_at"] is not None and seen["schedule"] == "1s"
        other.close()
    finally:
        schedule.shutdown()
    check = Store(settings.db)
    assert schedule_status(check)["workers"] == []  # a clean stop says goodbye
    check.close()


def test_interval_schedule_runs_at_start_but_cron_waits_for_its_fire_time(tmp_path):
    fleet = tmp_path / "fleet.jsonl"
    write_fleet(fleet, datetime.now(UTC).replace(minute=0, second=0, microsecond=0))
    # An interval catches up at start: the first tick comes now, not an hour from now.
    hourly = Schedule(Settings(db=str(tmp_path / "i.db"), schedule="1h"), str(fleet)).start()
    try:
        deadline = time.monotonic() + 20
        while hourly.ticks < 1:
            assert time.monotonic() < deadline, "the interval schedule did not run at start"
            time.sleep(0.05)
        assert hourly.last is not None and hourly.last.status == "ok"
    finally:
        hourly.shutdown()
    # A cron line says when runs happen: once a year at midnight on 1 January, so none at start.
    before = datetime.now(UTC)
    yearly = Schedule(Settings(db=str(tmp_path / "c.db"), schedule="0 0 1 1 *"), str(fleet)).start()
    try:
        expected = yearly.trigger.get_next_fire_time(None, before)
        assert yearly.next_run_at() == expected and expected - before > timedelta(hours=1)
        time.sleep(1.5)
        assert yearly.ticks == 0 and yearly.last is None
    finally:
        yearly.shutdown()
    # Either default can be forced.
    forced = Schedule(Settings(db=str(tmp_path / "f.db"), schedule="0 0 1 1 *"), str(fleet), run_at_start=True)
    assert forced.run_at_start is True
    forced.store.close()
