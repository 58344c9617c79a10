"""End-to-end throughput and peak memory of `errorsift run` on a generated JSON Lines file.

    python benchmarks/pipeline_1m.py [--events 1000000] [--grouping mined|seed] [--keep DIR]

Generates the file with benchmarks/gen_events.py (deterministic), runs the real CLI in a child
process with the offline analyzer on a fresh SQLite file, and prints events/s and the child's peak
RSS. A second run over the same file shows the re-ingest cost (every event already counted).
Prints figures; never passes or fails on time.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


def run(path: Path, db: Path, grouping: str) -> tuple[float, dict]:
    cmd = [
        sys.executable,
        "-m",
        "errorsift",
        "run",
        "--source",
        str(path),
        "--db",
        str(db),
        "--at",
        "2026-11-20T06:00:00Z",
        "--analyzer",
        "offline",
        "--grouping",
        grouping,
        "--json",
    ]
    start = time.perf_counter()
    out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    return time.perf_counter() - start, json.loads(out)["run"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--grouping", default="mined", choices=["mined", "seed"])
    parser.add_argument("--keep", metavar="DIR", help="reuse/keep the generated file in DIR")
    args = parser.parse_args()
    folder = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="errorsift-bench-"))
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"events-{args.events}.jsonl"
    if not path.exists():
        subprocess.run([sys.executable, str(HERE / "gen_events.py"), str(args.events), str(path)], check=True)
    db = folder / f"bench-{args.grouping}.db"
    for suffix in ("", "-wal", "-shm"):
        Path(f"{db}{suffix}").unlink(missing_ok=True)
    wall, report = run(path, db, args.grouping)
    rss_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    print(f"events            {report['raw_events']:,}")
    print(f"signatures        {report['signatures']:,} (dedup ratio {report['dedup_ratio']}x)")
    print(f"patterns in window {report['patterns']:,}")
    print(f"first run         {wall:.2f} s wall, {report['raw_events'] / wall:,.0f} events/s end to end")
    print(f"peak RSS          {rss_mb:,.0f} MB")
    wall2, report2 = run(path, db, args.grouping)
    print(
        f"re-run (all seen) {wall2:.2f} s wall, {report2['already_seen']:,} already counted, "
        f"{report2['model_calls']} model calls, {report2['cache_hits']} cache hits"
    )


if __name__ == "__main__":
    main()
