"""Shared helpers for the service tests: a small fleet, running errorsift in a child, DB snapshots."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import func, select

from errorsift.store import schema as t
from errorsift.store.store import Store

HERE = Path(__file__).parent
SRC = HERE.parents[1] / "src"

# Distinct shapes (so template mining keeps them apart): (template, customers, days present, per day)
SHAPES: list[tuple[str, list[str], range, int]] = [
    ("Timeout calling billing after 30000ms for order {n}", ["acme", "globex"], range(0, 8), 6),
    ("Deadlock detected on orders row {n} while saving invoice", ["acme"], range(0, 8), 3),
    ("KeyError: 'plan' in checkout handler for user_id: {n}", ["acme", "globex", "initech", "wonka"], range(0, 1), 9),
    ("Connection refused by redis cache node during session lookup {n}", ["hooli"], range(1, 8), 4),
    ("Disk quota exceeded on attachment volume while writing blob {n}", ["stark", "wayne", "tyrell"], range(0, 1), 5),
    ("SSL handshake with payments gateway failed for session {n}", ["wonka"], range(0, 8), 2),
]


def write_fleet(path: Path, at: datetime) -> int:
    """Events for the SHAPES over the 8 days before `at`; returns how many were written."""
    lines = []
    n = 0
    for shape, (template, customers, days, per_day) in enumerate(SHAPES):
        for day in days:
            for k in range(per_day):
                n += 1
                customer = customers[k % len(customers)]
                ts = at - timedelta(days=day, hours=(k % 20) + 1, minutes=shape)
                lines.append(
                    json.dumps(
                        {
                            "timestamp": ts.isoformat().replace("+00:00", "Z"),
                            "message": template.format(n=100000 + n),
                            "customer": customer,
                            "service": "api",
                            "id": f"s{shape}-d{day}-k{k}",
                        }
                    )
                )
    path.write_text("\n".join(lines) + "\n")
    return n


def child_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ERRORSIFT_", "ANTHROPIC_"))}
    env["PYTHONPATH"] = os.pathsep.join([str(SRC), str(HERE), env.get("PYTHONPATH", "")])
    env.update(extra)
    return env


def errorsift(*args: str, env: dict[str, str] | None = None, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "errorsift", *args],
        capture_output=True,
        text=True,
        env=env or child_env(),
        timeout=timeout,
        check=False,
    )


def snapshot(url: str) -> dict[str, Any]:
    """Everything a run must leave identical: counts, seen ids, signatures, analyses, latest triage."""
    store = Store(url)
    try:
        with store.read() as sc:
            c = sc.conn
            counts = sorted(tuple(r) for r in c.execute(select(t.hourly_counts)))
            seen = c.execute(select(func.count()).select_from(t.seen_events)).scalar_one()
            sigs = {r.key: r.total for r in c.execute(select(t.signatures.c.key, t.signatures.c.total))}
            a = t.analyses.c
            analyses = {
                (r.signature, r.analysis_type): r.analysis
                for r in c.execute(select(a.signature, a.analysis_type, a.analysis))
            }
            latest = sc.latest_run()
            triage = (
                sorted(
                    (r["signature"], r["occurrences"], tuple(r["customers"]), r["bucket"])
                    for r in sc.triage_rows(latest["id"])
                )
                if latest
                else []
            )
            runs = [(r["id"], r["status"]) for r in sc.runs(100)]
    finally:
        store.close()
    return {"counts": counts, "seen": seen, "signatures": sigs, "analyses": analyses, "triage": triage, "runs": runs}


def stored_prompts(url: str) -> list[str]:
    store = Store(url)
    try:
        with store.read() as sc:
            return [p for (p,) in sc.conn.execute(select(t.analyses.c.prompt))]
    finally:
        store.close()


AT = datetime(2026, 11, 20, 6, 0, tzinfo=UTC)
