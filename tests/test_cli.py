"""The CLI as users and outside checks call it: a real process, real files, --json shapes."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from errorsift.cli import main

AT = datetime(2026, 11, 20, 6, 0, tzinfo=UTC)
RUN_KEYS = {
    "raw_events",
    "skipped",
    "signatures",
    "cache_hits",
    "cache_misses",
    "model_calls",
    "input_tokens",
    "output_tokens",
    "cost_usd",
    "duration_s",
}
ANOMALY_KEYS = {
    "new_signature",
    "spike",
    "spread",
    "new_customers",
    "baseline_days_present",
    "baseline_mean",
    "baseline_max",
}


def errorsift(*args: str, input: str | None = None, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "errorsift", *args],
        input=input,
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {})},
        timeout=120,
    )


def write_events(path: Path, n_days: int = 8, per_day: int = 5) -> int:
    lines = []
    for day in range(n_days):
        for k in range(per_day):
            ts = (AT - timedelta(days=day, hours=k + 1)).isoformat().replace("+00:00", "Z")
            lines.append(
                json.dumps(
                    {
                        "timestamp": ts,
                        "message": f"Timeout calling billing for tenant_id: t-{k} after"
                        f" 30000ms order {1000000 + day * 10 + k}",
                        "error_type": "timeout",
                        "customer": f"c{k}",
                        "service": "api",
                        "id": f"d{day}-{k}",
                    }
                )
            )
    lines.append("this is not json")
    path.write_text("\n".join(lines) + "\n")
    return len(lines) - 1


def all_commands(group: click.Group, prefix: str = "") -> list[tuple[str, click.Command]]:
    found = []
    for name, cmd in group.commands.items():
        found.append((f"{prefix}{name}", cmd))
        if isinstance(cmd, click.Group):
            found += all_commands(cmd, f"{prefix}{name} ")
    return found


@pytest.mark.parametrize("name,cmd", all_commands(main), ids=lambda x: x if isinstance(x, str) else "")
def test_every_command_has_help_and_an_example(name, cmd):
    assert cmd.help, f"{name} has no help"
    if not isinstance(cmd, click.Group):
        assert "Example:" in cmd.help, f"{name} has no example"
    result = CliRunner().invoke(main, [*name.split(), "--help"])
    assert result.exit_code == 0


def test_run_json_shape_and_no_double_counting(tmp_path):
    src, db = tmp_path / "e.jsonl", tmp_path / "e.db"
    n = write_events(src)
    args = ["run", "--source", str(src), "--db", str(db), "--at", "2026-11-20T06:00:00Z", "--json"]
    first = errorsift(*args)
    assert first.returncode == 0, first.stderr
    data = json.loads(first.stdout)
    assert set(data["run"]) >= RUN_KEYS
    assert data["run"]["raw_events"] == n and data["run"]["skipped"] == 1
    (pattern,) = data["patterns"]
    assert {
        "signature",
        "normalized",
        "error_type",
        "occurrences",
        "customers",
        "anomaly",
        "triage",
        "analysis",
    } <= set(pattern)
    assert set(pattern["anomaly"]) >= ANOMALY_KEYS
    assert {"bucket", "owner", "reason", "suppressed"} <= set(pattern["triage"])
    assert pattern["occurrences"] == 5 and pattern["customers"] == ["c0", "c1", "c2", "c3", "c4"]
    assert pattern["normalized"].startswith("Timeout calling billing for [CUSTOMER_SCOPE]")
    assert pattern["triage"]["bucket"] == "platform"
    second = json.loads(errorsift(*args).stdout)
    assert second["run"]["model_calls"] == 0 and second["run"]["cache_hits"] == 1
    assert second["patterns"][0]["occurrences"] == 5
    assert second["patterns"][0]["signature"] == pattern["signature"]


def test_signature_json_is_one_object_per_line_in_order():
    lines = ["Order 123456 failed for user_id: 42", "Order 654321 failed for user_id: 7", "x 2024-01-01T00:00:00Z"]
    result = errorsift("signature", "--json", "--db", "/nonexistent-dir/x.db", input="\n".join(lines) + "\n")
    assert result.returncode == 0, result.stderr
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    assert len(rows) == 3
    assert rows[0]["signature"] == rows[1]["signature"]
    assert rows[0]["normalized"] == "Order [ID] failed for [USER_ID]"
    assert rows[2]["normalized"] == "x [TIMESTAMP]"
    assert all(len(r["signature"]) == 16 for r in rows)


def test_missing_source_is_one_clear_line(tmp_path):
    result = errorsift("run", "--source", str(tmp_path / "missing.jsonl"), "--db", str(tmp_path / "x.db"))
    assert result.returncode == 2
    assert "error:" in result.stderr and "Traceback" not in result.stderr


def test_noise_commands_round_trip(tmp_path):
    db = str(tmp_path / "n.db")
    assert errorsift("noise", "add", "--regex", "graceful shutdown", "--reason", "deploy", "--db", db).returncode == 0
    bad = errorsift("noise", "add", "--regex", "(", "--reason", "x", "--db", db)
    assert bad.returncode == 2 and "error:" in bad.stderr
    rules = json.loads(errorsift("noise", "list", "--json", "--db", db).stdout)
    assert [(r["kind"], r["value"]) for r in rules] == [("regex", "graceful shutdown")]
    assert errorsift("noise", "remove", str(rules[0]["id"]), "--db", db).returncode == 0
    assert json.loads(errorsift("noise", "list", "--json", "--db", db).stdout) == []


def test_sigkill_midway_then_rerun_equals_one_clean_run(tmp_path):
    src = tmp_path / "big.jsonl"
    with src.open("w") as fh:
        for i in range(150_000):
            ts = (AT - timedelta(minutes=i % 5000)).isoformat()
            fh.write(
                json.dumps(
                    {
                        "timestamp": ts,
                        "message": f"Timeout {i % 7} for order {100000 + i}",
                        "customer": f"c{i % 13}",
                        "id": str(i),
                    }
                )
                + "\n"
            )
    args = ["run", "--source", str(src), "--at", "2026-11-20T06:00:00Z", "--json"]
    killed_db, clean_db = str(tmp_path / "k.db"), str(tmp_path / "c.db")
    proc = subprocess.Popen(
        [sys.executable, "-m", "errorsift", *args, "--db", killed_db],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    time.sleep(1.5)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    rerun = json.loads(errorsift(*args, "--db", killed_db).stdout)
    clean = json.loads(errorsift(*args, "--db", clean_db).stdout)
    summary = lambda d: sorted((p["signature"], p["occurrences"], tuple(p["customers"])) for p in d["patterns"])  # noqa: E731
    assert summary(rerun) == summary(clean)
    again = json.loads(errorsift(*args, "--db", killed_db).stdout)
    assert summary(again) == summary(clean) and again["run"]["new_events"] == 0


def test_merge_is_durable_and_explain_says_why(tmp_path):
    src, db = tmp_path / "m.jsonl", str(tmp_path / "m.db")
    lines = [
        {
            "timestamp": "2026-11-20T04:00:00Z",
            "message": "Disk quota exceeded on volume data-7",
            "customer": "a",
            "id": "1",
        },
        {
            "timestamp": "2026-11-20T04:10:00Z",
            "message": "Quota exhausted for bucket uploads",
            "customer": "b",
            "id": "2",
        },
    ]
    src.write_text("\n".join(json.dumps(x) for x in lines) + "\n")
    args = ["run", "--source", str(src), "--db", db, "--at", "2026-11-20T06:00:00Z", "--json"]
    first = json.loads(errorsift(*args).stdout)
    a, b = sorted(p["signature"] for p in first["patterns"])
    assert errorsift("signatures", "merge", a, b, "--db", db).returncode == 0
    later = {
        "timestamp": "2026-11-20T05:00:00Z",
        "message": "Disk quota exceeded on volume data-9",
        "customer": "c",
        "id": "3",
    }
    src.write_text(src.read_text() + json.dumps(later) + "\n")
    (merged,) = json.loads(errorsift(*args).stdout)["patterns"]
    assert merged["signature"] == b and merged["occurrences"] == 3 and merged["customers"] == ["a", "b", "c"]
    explained = json.loads(errorsift("signatures", "explain", a, "--db", db, "--json").stdout)
    assert explained["signature"] == b and f"{a} was merged into {b}" in explained["explanation"]
    line = json.loads(errorsift("signature", "--json", "--db", db, input=later["message"] + "\n").stdout)
    assert line["signature"] == b  # the CLI resolves merges exactly as a run does


def test_a_second_concurrent_run_exits_with_a_clear_line(tmp_path):
    from errorsift.service.lease import Lease
    from errorsift.store.store import Store

    src, db = tmp_path / "e.jsonl", str(tmp_path / "l.db")
    write_events(src)
    store = Store(db)
    holder = Lease(store)  # a live holder: this test process
    assert holder.acquire()
    try:
        busy = errorsift("run", "--source", str(src), "--db", db, "--at", "2026-11-20T06:00:00Z")
    finally:
        holder.release()
        store.close()
    assert busy.returncode == 2 and "another run holds lease" in busy.stderr and "Traceback" not in busy.stderr
    assert errorsift("run", "--source", str(src), "--db", db, "--at", "2026-11-20T06:00:00Z").returncode == 0


def test_undated_text_lines_count_once_and_fall_in_the_at_window(tmp_path):
    src, db = tmp_path / "plain.txt", str(tmp_path / "p.db")
    src.write_text("Connection refused to db-7\nKeyError: user_id 12345\nConnection refused to db-7\n")
    args = ["run", "--source", f"text:{src}", "--db", db, "--at", "2026-01-10T00:00:00Z", "--json"]
    first = json.loads(errorsift(*args).stdout)
    second = json.loads(errorsift(*args).stdout)
    assert sorted(p["occurrences"] for p in first["patterns"]) == [1, 2]
    assert second["run"]["new_events"] == 0
    assert sorted(p["occurrences"] for p in second["patterns"]) == [1, 2]


def test_read_only_commands_do_not_create_a_database(tmp_path):
    missing = tmp_path / "typo.db"
    for args in (["patterns"], ["noise", "list"], ["signatures", "merge", "a" * 16, "b" * 16]):
        result = errorsift(*args, "--db", str(missing))
        assert result.returncode == 2 and "no database" in result.stderr, args
    assert not missing.exists()


def test_merge_refuses_unknown_keys(tmp_path):
    src, db = tmp_path / "e.jsonl", str(tmp_path / "u.db")
    write_events(src)
    run = errorsift("run", "--source", str(src), "--db", db, "--at", "2026-11-20T06:00:00Z", "--json")
    (pattern,) = json.loads(run.stdout)["patterns"]
    result = errorsift("signatures", "merge", "deadbeefdeadbeef", pattern["signature"], "--db", db)
    assert result.returncode == 2 and "no signature deadbeefdeadbeef" in result.stderr
