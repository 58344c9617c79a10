"""What running as a service costs: scheduler overhead, lease takeover time, PostgreSQL vs SQLite.

1. Scheduler/run overhead: `run_once` around the pipeline (open store, lease acquire + heartbeat
   thread + release, notification check, retention check) on the demo fleet, steady state (every
   event already counted), against the pipeline's own duration; and APScheduler's lateness (actual
   tick start minus scheduled time) over a few 1-second ticks.
2. Lease takeover: a holder process takes the lease (ttl 2 s) and is SIGKILLed; how long until
   another process holds it. Expected: the holder's remaining lease (up to ttl), plus the poll.
3. PostgreSQL vs SQLite: `errorsift demo --json` (generate + ingest + analyse the 40-customer fleet)
   on each backend, wall time and the run's own `duration_s`.

PostgreSQL comes from `tests/service/pg.py` (a throwaway local server; Debian `postgresql`), or
pass a URL whose server may create databases. Prints figures; never passes or fails on time.

    .venv/bin/python benchmarks/service_overhead.py [--pg postgresql+psycopg://user@host:port/db]
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "service"))

from errorsift.service.lease import Lease  # noqa: E402
from errorsift.service.once import run_once  # noqa: E402
from errorsift.service.scheduler import Schedule  # noqa: E402
from errorsift.settings import Settings  # noqa: E402
from errorsift.store.store import Store  # noqa: E402

HOLDER = """
import sys, time
from datetime import timedelta
from errorsift.store.store import Store
from errorsift.service.lease import Lease
lease = Lease(Store(sys.argv[1]), ttl=timedelta(seconds=float(sys.argv[2])), holder="victim:0:x")
assert lease.acquire()
print("held", flush=True)
time.sleep(600)
"""


def demo(url: str, out: Path) -> tuple[float, float, dict]:
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "errorsift", "demo", "--db", url, "--out", str(out), "--json"],
        capture_output=True,
        text=True,
        check=True,
    )
    wall = time.perf_counter() - started
    run = json.loads(done.stdout)["run"]
    return wall, float(run["duration_s"]), run


def overhead(url: str, fleet: Path, runs: int = 5) -> tuple[list[float], list[float]]:
    settings = Settings(db=url, analyzer="offline")
    store = Store(url)
    totals, extra = [], []
    try:
        for _ in range(runs):
            started = time.perf_counter()
            result = run_once(settings, str(fleet), store=store)
            totals.append(time.perf_counter() - started)
            extra.append(result.overhead_s)
            assert result.status == "ok", result.message
    finally:
        store.close()
    return totals, extra


def tick_lateness(url: str, fleet: Path, ticks: int = 4) -> list[float]:
    from apscheduler.events import EVENT_JOB_SUBMITTED

    schedule = Schedule(Settings(db=url, schedule="1s"), str(fleet), run_at_start=False)
    late: list[float] = []

    def submitted(event) -> None:
        if event.job_id == "pipeline":
            late.append((datetime.now(UTC) - event.scheduled_run_times[0]).total_seconds())

    schedule.scheduler.add_listener(submitted, EVENT_JOB_SUBMITTED)
    schedule.start()
    deadline = time.monotonic() + ticks + 5
    while schedule.ticks < ticks and time.monotonic() < deadline:
        time.sleep(0.05)
    schedule.shutdown()
    return late


def takeover(url: str, ttl: float = 2.0, trials: int = 3) -> list[float]:
    Store(url).close()  # migrate first
    times = []
    for _ in range(trials):
        proc = subprocess.Popen(
            [sys.executable, "-c", HOLDER, url, str(ttl)], stdout=subprocess.PIPE, text=True, env=dict(os.environ)
        )
        assert proc.stdout is not None and proc.stdout.readline().strip() == "held"
        time.sleep(0.3)
        proc.send_signal(signal.SIGKILL)
        killed = time.perf_counter()
        proc.wait()
        store = Store(url)
        lease = Lease(store, ttl=timedelta(seconds=ttl), holder="taker:1:y")
        assert lease.acquire(wait=ttl * 5, poll=0.05)
        times.append(time.perf_counter() - killed)
        lease.release()
        store.close()
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pg", help="PostgreSQL URL (default: start a throwaway local server)")
    args = parser.parse_args()
    server = None
    if args.pg:
        pg_url = args.pg
    else:
        from pg import PgServer, PgUnavailable

        try:
            server = PgServer().start()
            pg_url = server.url("bench")
        except PgUnavailable as exc:
            print(f"PostgreSQL unavailable ({exc}); SQLite figures only")
            pg_url = ""
    try:
        with tempfile.TemporaryDirectory(prefix="errorsift-bench-") as tmp:
            folder = Path(tmp)
            backends = [("sqlite", f"sqlite:///{folder / 'demo.db'}")] + ([("postgresql", pg_url)] if pg_url else [])
            print("== errorsift demo (generate + run the 40-customer fleet), per backend")
            for name, url in backends:
                wall, duration, run = demo(url, folder / f"demo-{name}")
                print(
                    f"  {name:<10} wall {wall:6.2f} s, run duration_s {duration:6.2f} s"
                    f" ({run['raw_events']:,} events, {run['signatures']} signatures, {run['patterns']} patterns)"
                )
            fleet = folder / "demo-sqlite" / "fleet.jsonl"
            print("== run_once around the pipeline (steady state, demo fleet, 5 runs)")
            for name, url in backends:
                totals, extra = overhead(url, fleet)
                print(
                    f"  {name:<10} run_once median {statistics.median(totals):.3f} s, of which service overhead"
                    f" median {statistics.median(extra) * 1000:.1f} ms (max {max(extra) * 1000:.1f} ms)"
                )
            late = tick_lateness(backends[0][1], fleet)
            median_ms, max_ms = statistics.median(late) * 1000, max(late) * 1000
            print(f"== APScheduler tick lateness (1 s ticks, SQLite): median {median_ms:.1f} ms, max {max_ms:.1f} ms")
            print("== lease takeover after SIGKILL of the holder (ttl 2 s, poll 50 ms)")
            for name, url in backends:
                url = f"sqlite:///{folder / 'lease.db'}" if name == "sqlite" else url
                times = takeover(url)
                print(f"  {name:<10} " + ", ".join(f"{t:.2f} s" for t in times))
    finally:
        if server is not None:
            server.stop()


if __name__ == "__main__":
    main()
