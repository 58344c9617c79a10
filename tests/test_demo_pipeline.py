"""The demo fleet through the real CLI: one card per pattern, and the planted anomalies are found."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import UTC, datetime

from errorsift.demo import generate_fleet

END = datetime(2026, 11, 20, 6, tzinfo=UTC)


def test_demo_fleet_is_grouped_flagged_and_routed(tmp_path):
    manifest = generate_fleet(tmp_path / "fleet.jsonl", seed=11, end=END)
    db = tmp_path / "demo.db"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "errorsift",
            "noise",
            "add",
            "--regex",
            "during graceful shutdown|during deploy",
            "--reason",
            "deploy churn",
            "--db",
            str(db),
        ],
        check=True,
        capture_output=True,
    )
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "errorsift",
            "run",
            "--source",
            str(tmp_path / "fleet.jsonl"),
            "--db",
            str(db),
            "--at",
            END.isoformat(),
            "--json",
        ],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    data = json.loads(out)
    by_name: dict[str, list[dict]] = {}
    for p in data["patterns"]:
        sample = p["normalized"]
        by_name.setdefault(manifest.classify(sample) or "?", []).append(p)
    active = {p.name for p in manifest.patterns if p.daily_counts[-1] > 0}
    # One card per demo pattern: template mining merges what the seed rules alone would split.
    assert {n: len(v) for n, v in by_name.items() if len(v) != 1} == {}
    assert set(by_name) == active
    assert by_name[manifest.new_pattern][0]["anomaly"]["new_signature"]
    assert by_name[manifest.spike_pattern][0]["anomaly"]["spike"]
    spread = by_name[manifest.spread_pattern][0]["anomaly"]
    assert spread["spread"] and set(manifest.spread_new_customers) <= set(spread["new_customers"])
    for name in manifest.noise_patterns:
        assert by_name[name][0]["triage"]["suppressed"], name
    for name in manifest.stable_patterns:
        flags = by_name[name][0]["anomaly"]
        assert not flags["new_signature"], name
    assert data["patterns"][-1]["triage"]["suppressed"]
    assert data["run"]["signatures"] == len(data["patterns"])
