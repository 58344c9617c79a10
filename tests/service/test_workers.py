"""Two `errorsift worker` processes on one database (SQLite and PostgreSQL).

Exactly one runs at a time (the other logs that it skipped its tick); SIGKILL the holder in the
middle of a run and the other takes the lease over once it expires (never before), marks the dead
run abandoned and completes the next run; SIGTERM stops a worker cleanly.
"""

from __future__ import annotations

import itertools
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import IO

from fakes import SlowAnthropic
from helpers import child_env, write_fleet

from errorsift.store import service_queries as q
from errorsift.store.store import Store

TTL = 2.0
EVERY = 1.0


def _worker(url: str, fleet: Path, fake: SlowAnthropic, log: IO[str]) -> subprocess.Popen[str]:
    env = child_env(
        ANTHROPIC_BASE_URL=fake.url,
        ANTHROPIC_API_KEY="test-key",
        ERRORSIFT_RECENT_TTL="1s",  # every run pays for fresh analyses, so runs last ~1 s and collide
        ERRORSIFT_PATTERN_TTL="1s",
    )
    argv = ["worker", "--source", str(fleet), "--db", url, "--analyzer", "anthropic"]
    argv += ["--schedule", f"{EVERY:g}s", "--lease-ttl", f"{TTL:g}s"]
    return subprocess.Popen(
        [sys.executable, "-m", "errorsift.service", *argv], env=env, stdout=subprocess.DEVNULL, stderr=log, text=True
    )


def _runs(store: Store) -> list[dict]:
    with store.read() as sc:
        return sorted(sc.runs(500), key=lambda r: r["id"])


def _lease(store: Store) -> q.LeaseRow | None:
    with store.read() as sc:
        return q.get_lease(sc, "pipeline")


def _wait(predicate, timeout: float, what: str, step: float = 0.05):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(step)
    raise AssertionError(f"timed out waiting for {what}")


def _no_overlap(runs: list[dict]) -> None:
    done = sorted((r for r in runs if r["finished_at"] is not None), key=lambda r: r["started_at"])
    for before, after in itertools.pairwise(done):
        assert before["finished_at"] <= after["started_at"], f"runs {before['id']} and {after['id']} overlapped"


def test_two_workers_one_run_at_a_time_and_takeover_after_sigkill(db_url, tmp_path):
    fleet = tmp_path / "fleet.jsonl"
    write_fleet(fleet, datetime.now(UTC).replace(minute=0, second=0, microsecond=0))
    store = Store(db_url)  # migrate once up front, as a deployment's first start would
    logs = [open(tmp_path / f"worker{i}.log", "w") for i in range(2)]  # noqa: SIM115
    procs: list[subprocess.Popen[str]] = []
    try:
        with SlowAnthropic(delay=0.35) as fake:
            procs = [_worker(db_url, fleet, fake, logs[0])]
            time.sleep(0.3)
            procs.append(_worker(db_url, fleet, fake, logs[1]))

            # Both workers tick every second; each run lasts about a second: they collide.
            def collided() -> bool:
                texts = [(tmp_path / f"worker{i}.log").read_text() for i in range(2)]
                ok = [r for r in _runs(store) if r["status"] == "ok"]
                return len(ok) >= 4 and any("skipped: another run holds lease" in text for text in texts)

            _wait(collided, 30, "four runs and a tick skipped because the other worker was running")
            runs = _runs(store)
            assert {r["status"] for r in runs} <= {"ok", "running"}, runs  # nobody ran over anybody
            _no_overlap(runs)

            # Kill -9 whichever worker is in the middle of a run.
            running = _wait(
                lambda: next((r for r in _runs(store) if r["status"] == "running"), None), 20, "a run in progress"
            )
            lease = _wait(lambda: _lease(store), 5, "the lease row")
            victim = next(p for p in procs if p.pid == int(lease.holder.split(":")[1]))
            survivor = next(p for p in procs if p is not victim)
            victim.send_signal(signal.SIGKILL)
            killed_at = time.monotonic()
            victim.wait(timeout=10)

            def taken_over() -> q.LeaseRow | None:
                row = _lease(store)
                return row if row is not None and row.holder != lease.holder else None

            new = _wait(taken_over, TTL + EVERY + 8, "the survivor to take the lease over")
            takeover_s = time.monotonic() - killed_at
            assert new.holder.split(":")[1] == str(survivor.pid)
            assert new.acquired_at >= lease.expires_at  # never before the dead holder's lease expired
            assert takeover_s <= TTL + EVERY + 3, takeover_s

            def next_ok() -> bool:
                return any(r["id"] > running["id"] and r["status"] == "ok" for r in _runs(store))

            _wait(next_ok, 20, "a successful run after the takeover")
            statuses = {r["id"]: r["status"] for r in _runs(store)}
            assert statuses[running["id"]] == "abandoned"
            _no_overlap(_runs(store))

            survivor.send_signal(signal.SIGTERM)
            assert survivor.wait(timeout=20) == 0
            print(f"takeover after SIGKILL: {takeover_s:.2f}s (lease ttl {TTL}s, tick {EVERY}s)")
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
                p.wait()
        for fh in logs:
            fh.close()
        store.close()
