"""`errorsift run --source datadog` end to end: the real CLI process against a fake Datadog.

Why this file exists next to ``tests/sources/test_datadog.py``: the unit tests prove the *source*
pages and retries correctly; these prove the *product promise* of issue 4 — after any sequence of
runs (one, several overlapping, one that dies midway, one stopped by the cap), the hourly counts in
SQLite equal the fake's ground truth exactly: every log counted once, none lost, none twice.

How: the fake (``tests/sources/fake_datadog.py``) serves from a thread of this test process on
127.0.0.1; each run is a separate ``python -m errorsift run --source datadog --json`` process that
finds it through ``ERRORSIFT_DATADOG_URL``, so the client, the pipeline's single ingest transaction,
the checkpoint and the exit codes are all the shipped ones. Logs are stamped relative to the real
clock because the CLI pulls up to the real ``now``. Ground truth is the fake's own store, counted
per (tenant, epoch hour) — the grain the product stores — so a log counted in the wrong hour or for
the wrong tenant fails as surely as one counted twice.

Runtime: 429 waits are real (the source enforces a 1 s floor), and so are the 1+2+4 s retry
backoffs before a dropped connection is declared fatal; both are kept to the minimum the
behaviour needs.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).parent / "sources"))  # the fake lives beside the unit tests
from fake_datadog import API_KEY, APP_KEY, FakeDatadog, Fault, error, iso, make_log, rate_limit

from errorsift.ingest import BATCH
from errorsift.store.store import Store

N_LOGS = 25_000
SPAN = timedelta(days=2)  # the fleet's history, ending just before the first run's "now"
OVERLAP = timedelta(minutes=5)  # the default ERRORSIFT_DATADOG_OVERLAP
PAGE = 1000  # DatadogConfig.page_size default = the API maximum
# Pages after which the ingest has already written its first batch of id claims (20,000) into the
# open transaction: dying later than this proves a rollback, not merely that nothing was written yet.
PAST_FIRST_BATCH = BATCH // PAGE + 1
TIMEOUT_S = 120


# --- the fleet: the fake plus its ground truth -------------------------------------------------


def log_time(log: dict[str, Any]) -> datetime:
    return datetime.fromisoformat(log["attributes"]["timestamp"].replace("Z", "+00:00"))


def tenant(log: dict[str, Any]) -> str:
    return next(t.split(":", 1)[1] for t in log["attributes"]["tags"] if t.startswith("tenant:"))


class Fleet:
    """A started fake plus a sequence number, so every log ever added has a unique Datadog id."""

    def __init__(self, fake: FakeDatadog) -> None:
        self.fake = fake
        self.seq = 0

    def reset(self, stamps: Iterable[datetime]) -> None:
        self.fake.set_logs([])
        self.add(stamps)

    def add(self, stamps: Iterable[datetime]) -> list[dict[str, Any]]:
        """Append logs (Datadog indexes them now, whatever their timestamps say)."""
        logs = [make_log(self.seq + k, ts) for k, ts in enumerate(stamps)]
        self.seq += len(logs)
        self.fake.set_logs(self.fake.logs + logs)
        return logs

    def truth(self, logs: Iterable[dict[str, Any]] | None = None) -> Counter[tuple[str, int]]:
        """Occurrences per (tenant, epoch hour): what the store must hold."""
        source = self.fake.logs if logs is None else logs
        return Counter((tenant(log), int(log_time(log).timestamp()) // 3600) for log in source)


def spread(n: int, start: datetime, end: datetime) -> list[datetime]:
    """n timestamps evenly spaced in [start, end)."""
    step = (end - start) / n
    return [start + k * step for k in range(n)]


@pytest.fixture
def fleet() -> Iterator[Fleet]:
    """25,000 error logs over the last two days, five tenants in ``tenant:`` tags."""
    now = datetime.now(UTC)
    fake = FakeDatadog().start()
    fleet = Fleet(fake)
    fleet.reset(spread(N_LOGS, now - SPAN, now - timedelta(seconds=1)))
    try:
        yield fleet
    finally:
        fake.stop()


# --- running the CLI and reading the store -----------------------------------------------------


def cli_env(fleet: Fleet, **extra: str) -> dict[str, str]:
    """The user's environment minus any errorsift/Datadog settings, plus the fake's keys and URL.
    """
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ERRORSIFT_", "DD_"))}
    env.update(DD_API_KEY=API_KEY, DD_APP_KEY=APP_KEY, ERRORSIFT_DATADOG_URL=fleet.fake.url, **extra)
    return env


def run_args(db: Path, as_json: bool = True) -> list[str]:
    return [sys.executable, "-m", "errorsift", "run", "--source", "datadog", "--db", str(db)] + (
        ["--json"] if as_json else []
    )


def errorsift_run(fleet: Fleet, db: Path, *, as_json: bool = True, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        run_args(db, as_json),
        env=cli_env(fleet, **env),
        cwd=db.parent,  # no stray ./errorsift.toml
        capture_output=True,
        text=True,
        timeout=TIMEOUT_S,
    )


def result_of(proc: subprocess.CompletedProcess[str]) -> dict[str, Any]:
    """The whole ``--json`` answer: ``{"run": report, "patterns": [...]}``."""
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


def report_of(proc: subprocess.CompletedProcess[str]) -> dict[str, Any]:
    return result_of(proc)["run"]


def one_line_error(proc: subprocess.CompletedProcess[str]) -> str:
    """Exit 2, no traceback, exactly one ``error: ...`` line: the CLI's contract for expected failures."""
    assert proc.returncode == 2, (proc.returncode, proc.stderr)
    assert "Traceback" not in proc.stderr and proc.stdout == ""
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), proc.stderr
    return lines[0]


def stored(db: Path) -> Counter[tuple[str, int]]:
    """Stored occurrences per (customer, epoch hour), summed over signatures, via the store's API."""
    out: Counter[tuple[str, int]] = Counter()
    now_hour = int(time.time()) // 3600
    store = Store(str(db))
    try:
        with store.read() as conn:
            everything = sum(n for per in conn.window_counts(0, 2**40).values() for n in per.values())
            for hour in range(now_hour - 24 * 3, now_hour + 2):
                for per_customer in conn.window_counts(hour, hour + 1).values():
                    for customer, n in per_customer.items():
                        out[(customer, hour)] += n
    finally:
        store.close()
    assert sum(out.values()) == everything, "counts outside the fleet's hours"
    return +out


def checkpoint(db: Path) -> datetime | None:
    store = Store(str(db))
    try:
        with store.read() as conn:
            return conn.checkpoint("datadog")
    finally:
        store.close()


def runs(db: Path) -> list[dict[str, Any]]:
    """The runs table, oldest first."""
    store = Store(str(db))
    try:
        with store.read() as conn:
            return conn.runs()[::-1]
    finally:
        store.close()


def at(value: str | None) -> datetime | None:
    """A report's or a request's timestamp (``+00:00`` or Datadog's ``Z``) as an aware datetime."""
    return None if value is None else datetime.fromisoformat(value.replace("Z", "+00:00"))


def assert_full_pull(report: dict[str, Any], raw: int) -> None:
    """Pages of 1000 to the empty last page, complete and not capped."""
    stats = report["source_stats"]
    assert stats["events"] == raw == report["raw_events"]
    assert stats["pages"] == -(-raw // PAGE) + 1  # pages of 1000 (the last one short), then Datadog's empty page
    assert stats["requests"] == stats["pages"] + stats["rate_limit_waits"] + stats["retries"]
    assert not stats["partial"] and not stats["truncated"] and stats["resume_from"] is None
    assert report["truncated"] is False


# --- (a) one run -------------------------------------------------------------------------------

TENANTS = {"acme-prod", "globex-prod", "initech-staging", "umbrella-prod", "hooli-prod"}


def test_one_run_over_25000_logs_with_429s_counts_exactly_the_truth(fleet: Fleet, tmp_path: Path) -> None:
    db = tmp_path / "a.db"
    fleet.fake.script(Fault("done"), rate_limit(reset=1), Fault("done"), rate_limit(reset=0))
    started = datetime.now(UTC)
    result = result_of(errorsift_run(fleet, db))
    finished = datetime.now(UTC)
    report = result["run"]

    assert stored(db) == fleet.truth() and sum(fleet.truth().values()) == N_LOGS
    assert (report["raw_events"], report["new_events"], report["already_seen"]) == (N_LOGS, N_LOGS, 0)
    assert_full_pull(report, N_LOGS)
    stats = report["source_stats"]
    assert (stats["pages"], stats["requests"]) == (26, 28)
    assert (stats["rate_limit_waits"], stats["rate_limit_wait_s"]) == (2, 2.0)  # Reset 1, and Reset 0 → 1 s floor
    assert {body["page"]["limit"] for body in fleet.fake.requests} == {PAGE}
    # The first run backfills window + baseline (24 h + 7 d), which holds the fleet's two days...
    window = fleet.fake.requests[0]["filter"]
    assert at(window["from"]) < started - timedelta(days=7)
    # ...and commits its `until` (its "now") as the watermark, which the report shows.
    watermark = at(report["watermark"])
    assert watermark is not None and started <= watermark <= finished
    assert watermark == checkpoint(db) and iso(watermark) == window["to"]
    # The cards cover the current 24 h window's share of the same logs, with tenants from tags.
    in_current = sum(1 for log in fleet.fake.logs if log_time(log) >= at(report["window_start"]))
    assert sum(p["occurrences"] for p in result["patterns"]) == in_current
    assert set().union(*(p["customers"] for p in result["patterns"])) == TENANTS


# --- (b) three overlapping runs ----------------------------------------------------------------


def test_three_overlapping_runs_count_late_logs_once_and_old_logs_never_twice(fleet: Fleet, tmp_path: Path) -> None:
    db = tmp_path / "b.db"
    fleet.fake.script(rate_limit(reset=0))
    first = report_of(errorsift_run(fleet, db))
    assert first["new_events"] == N_LOGS and first["source_stats"]["rate_limit_waits"] == 1
    assert stored(db) == fleet.truth()

    for _ in range(2):
        previous = checkpoint(db)
        assert previous is not None
        # Late arrivals: indexed only now, stamped inside the overlap, before the old watermark.
        late = fleet.add(spread(700, previous - OVERLAP + timedelta(seconds=30), previous - timedelta(seconds=1)))
        # New logs: stamped after the old watermark and before this run's "now".
        fresh = fleet.add(spread(1500, previous, datetime.now(UTC) - timedelta(milliseconds=200)))
        sent = fleet.fake.request_count
        report = report_of(errorsift_run(fleet, db))

        window = fleet.fake.requests[sent]["filter"]
        assert window["from"] == iso(previous - OVERLAP)  # the pull starts one overlap before the mark
        in_window = sum(1 for log in fleet.fake.logs if log_time(log) >= at(window["from"]))
        assert_full_pull(report, in_window)
        assert report["source_stats"]["pages"] >= 3  # several pages per window, not a one-page toy
        assert report["new_events"] == len(late) + len(fresh) == 2200
        assert report["already_seen"] == in_window - 2200 > 0  # the overlap re-read, skipped by log id
        assert stored(db) == fleet.truth()
        assert at(report["watermark"]) == checkpoint(db) and checkpoint(db) > previous

    assert sum(stored(db).values()) == N_LOGS + 2 * 2200


# --- (c) runs that die midway ------------------------------------------------------------------


def test_connection_dropped_after_k_pages_fails_in_one_line_and_counts_nothing(fleet: Fleet, tmp_path: Path) -> None:
    db = tmp_path / "c1.db"
    fleet.fake.kill_after_pages = k = PAST_FIRST_BATCH  # 21 pages: 21,000 logs read, 20,000 ids claimed
    line = one_line_error(errorsift_run(fleet, db))
    assert f"failed after 4 attempts on page {k + 1}: connection failed" in line and "pull is incomplete" in line
    assert fleet.fake.pages_served == k and fleet.fake.request_count == k + 4  # 3 retries, then give up
    assert stored(db) == Counter() and checkpoint(db) is None  # the claims and counts rolled back
    [failed] = runs(db)
    assert failed["status"] == "failed" and f"page {k + 1}" in failed["error"]

    fleet.fake.kill_after_pages = None
    report = report_of(errorsift_run(fleet, db))
    assert (report["new_events"], report["already_seen"]) == (N_LOGS, 0)  # no id stayed claimed
    assert stored(db) == fleet.truth()
    assert checkpoint(db) == at(report["watermark"])


@pytest.mark.parametrize(
    "kill_at", [3, PAST_FIRST_BATCH + 1], ids=["before-any-write", "inside-the-open-ingest-transaction"]
)
def test_sigkill_between_pages_then_a_clean_run_equals_the_truth(fleet: Fleet, tmp_path: Path, kill_at: int) -> None:
    """SIGKILL while request ``kill_at`` is in flight. At 22, 20,000 ids are already claimed inside
    the uncommitted ingest transaction, so this proves SQLite drops them, not just that nothing ran."""
    db = tmp_path / "c2.db"
    slow = Fault("hang", seconds=0.3)
    fleet.fake.script(*[Fault("done")] * (kill_at - 3), slow, slow, slow)
    proc = subprocess.Popen(
        run_args(db), env=cli_env(fleet), cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        deadline = time.monotonic() + 60
        while fleet.fake.request_count < kill_at:
            assert proc.poll() is None, "the run ended before it could be killed"
            assert time.monotonic() < deadline, "the run never reached the page to be killed at"
            time.sleep(0.005)
        served = fleet.fake.pages_served
        proc.send_signal(signal.SIGKILL)
        assert proc.wait(timeout=30) == -signal.SIGKILL
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert served == kill_at - 1  # killed between pages: page `kill_at` was still on its way
    assert stored(db) == Counter() and checkpoint(db) is None
    assert [r["status"] for r in runs(db)] == ["running"]

    report = report_of(errorsift_run(fleet, db))
    assert (report["new_events"], report["already_seen"]) == (N_LOGS, 0)
    assert stored(db) == fleet.truth()
    assert [r["status"] for r in runs(db)] == ["abandoned", "ok"]


# --- the per-run cap ---------------------------------------------------------------------------


def test_per_run_cap_truncates_says_where_it_resumes_and_the_next_run_completes(fleet: Fleet, tmp_path: Path) -> None:
    db = tmp_path / "cap.db"
    cap = {"ERRORSIFT_DATADOG_MAX_EVENTS": "13000"}
    logs = fleet.fake.logs  # sorted by timestamp, as the fake serves them

    first = errorsift_run(fleet, db, as_json=False, **cap)  # a person's run: the log must say it
    assert first.returncode == 0, first.stderr
    report = runs(db)[-1]["report"]  # the same report --json prints, as stored with the run
    stats = report["source_stats"]
    assert report["truncated"] is True and stats["truncated"] is True and stats["events"] == 13_000
    assert f"stopped at the cap; resume from {stats['resume_from']}" in first.stderr
    resume = at(stats["resume_from"])
    assert resume == log_time(logs[12_999])  # the last delivered log...
    assert at(report["watermark"]) == checkpoint(db) == resume  # ...is as far as the mark may move
    assert f"watermark now {resume.isoformat()}" in first.stderr
    assert stored(db) == fleet.truth(logs[:13_000])

    sent = fleet.fake.request_count
    second = report_of(errorsift_run(fleet, db, **cap))
    assert fleet.fake.requests[sent]["filter"]["from"] == iso(resume - OVERLAP)
    overlap = sum(1 for log in logs[:13_000] if log_time(log) >= at(iso(resume - OVERLAP)))
    assert second["truncated"] is False and not second["source_stats"]["partial"]
    assert (second["new_events"], second["already_seen"]) == (N_LOGS - 13_000, overlap)  # resumed, not redone
    assert stored(db) == fleet.truth()
    assert at(second["watermark"]) == checkpoint(db) and checkpoint(db) > log_time(logs[-1])


def test_a_cap_smaller_than_the_overlap_still_makes_progress(fleet: Fleet, tmp_path: Path) -> None:
    """An error spike: 2,500 logs in the last 4 minutes, a cap of 1,500. Each run re-reads the
    5-minute overlap; if those re-read logs count toward the cap, every run stops at the same log."""
    db = tmp_path / "spike.db"
    now = datetime.now(UTC)
    fleet.reset(spread(2_500, now - timedelta(minutes=4), now - timedelta(seconds=1)))
    for _ in range(2):  # 1,500 + the remaining 1,000: two runs are enough when progress is made
        report_of(errorsift_run(fleet, db, ERRORSIFT_DATADOG_MAX_EVENTS="1500"))
    assert stored(db) == fleet.truth()


# --- faults that do not stop the run ------------------------------------------------------------


def test_timeout_warning_500_and_short_page_are_reported_and_lose_nothing(fleet: Fleet, tmp_path: Path) -> None:
    db = tmp_path / "faults.db"
    now = datetime.now(UTC)
    fleet.reset(spread(3_000, now - timedelta(hours=3), now - timedelta(seconds=1)))
    fleet.fake.script(Fault("timeout"), error(500), Fault("short", count=7), Fault("warning"))
    report = report_of(errorsift_run(fleet, db))
    stats = report["source_stats"]
    # page 1 timed out, a 500 was retried once (1 s), page 2 had 7 logs, page 3 carried a warning
    assert (stats["pages"], stats["requests"], stats["retries"]) == (5, 6, 1)
    assert stats["partial"] is True and len(stats["warnings"]) == 2
    assert stats["warnings"][0].startswith("page 1: Datadog search timed out")
    assert stats["warnings"][1].startswith("page 3: unknown_index")
    assert stored(db) == fleet.truth() and report["new_events"] == 3_000
    # Partial is a flag, not a failure: the watermark still moves (a warning like an unknown index
    # would otherwise stall every run); the flag is how a person learns to look.
    assert at(report["watermark"]) == checkpoint(db)


# --- configuration -----------------------------------------------------------------------------


def test_a_missing_api_key_is_one_line_naming_it(fleet: Fleet, tmp_path: Path) -> None:
    """DD_APP_KEY gets the same treatment (unit-tested in tests/sources); one process is enough here."""
    missing = "DD_API_KEY"
    env = cli_env(fleet)
    del env[missing]
    db = tmp_path / "keys.db"
    proc = subprocess.run(run_args(db), env=env, cwd=tmp_path, capture_output=True, text=True, timeout=TIMEOUT_S)
    assert one_line_error(proc).startswith(f"error: {missing} is not set: export {missing}=")
    assert fleet.fake.request_count == 0
