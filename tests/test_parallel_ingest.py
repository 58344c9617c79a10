"""The two-process ingest (`errorsift.parallel`) must give exactly what the one-process one gives."""

from __future__ import annotations

import json
import sqlite3
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from errorsift import ingest, parallel
from errorsift.analysis.offline import OfflineAnalyzer
from errorsift.pipeline import Pipeline, RunConfig
from errorsift.signatures.mined import MinedGrouper
from errorsift.signatures.redact import Redactor
from errorsift.sources.base import MAX_LINE_BYTES
from errorsift.sources.files import JsonLinesSource
from errorsift.store.store import Store

AT = datetime(2026, 11, 20, 6, 0, tzinfo=UTC)
TABLES = {  # everything the ingest writes, but the wall-clock columns
    "hourly_counts": "*",
    "signatures": "*",
    "signature_aliases": "alias, key, reason",
    "seen_events": "*",
    "grouping_state": "strategy, state",
}


def _line(record: dict[str, Any]) -> bytes:
    return json.dumps(record).encode() + b"\n"


def _write_input(path: Path) -> None:
    users = ["cyrus", "root", "news", "test", "guest", "admin", "oracle", "ftp"]
    lines: list[bytes] = []
    for i in range(600):
        hour = 1 + i % 30
        stamp = f"2026-11-{19 - hour // 24:02d}T{23 - hour % 24:02d}:{i % 60:02d}:{i % 7:02d}.{i:06d}Z"
        record: dict[str, Any] = {"timestamp": stamp, "customer": f"c{i % 5}", "service": f"svc{i % 3}"}
        kind = i % 9
        if kind == 0:
            record["message"] = f"session opened for user {users[i % len(users)]} by (uid=0)"
        elif kind == 1:
            record["message"] = f"KeyError: 'plan' for user_id: {i} email bob{i}@example.com"
            record["error_type"] = "KeyError"
        elif kind == 2:
            record["message"] = f"Connection refused: db-{i % 4}:5432 (attempt {i % 5} of 5)"
            record["error_type"] = "connection" if i % 2 else ""
        elif kind == 3:
            record["message"] = "Timeout calling payments"  # no id, repeated: derived ids get .N
            record["timestamp"] = "2026-11-19T10:00:00Z"
        elif kind == 4:
            record["message"] = f"Upstream {i % 3} returned 503 for request {i:08x}"
        elif kind == 5:
            record["message"] = 'Traceback (most recent call last):\n  File "a.py", line 3, in f\nValueError: bad'
            record["error_type"] = "ValueError"
        else:
            record["message"] = f"Deadlock detected on orders row {100000 + i} for {users[i % 3]}"
            record["error_type"] = "sql"
        if kind not in (3, 6) and i % 11:
            record["id"] = f"ev-{i if i % 13 else i - 1}"  # a few ids repeat
        lines.append(_line(record))
        if i == 17:
            lines.append(b"not json at all\n")
        if i == 40:
            lines.append(b"[1, 2, 3]\n")
        if i == 77:
            lines.append(_line({"timestamp": "2026-11-19T01:00:00Z", "message": ""}))
        if i == 99:
            lines.append(_line({"timestamp": "yesterday", "message": "bad time"}))
        if i == 150:  # an over-long record: kept, message cut
            lines.append(_line({"timestamp": "2026-11-19T02:00:00Z", "message": "x" * (MAX_LINE_BYTES + 10)}))
        if i == 200:
            lines.append(b'{"timestamp": "2026-11-19T03:00:00Z", "message": "caf\xe9 \xff broken"}\n')
        if i == 300:
            lines.append(b"\n")
    path.write_bytes(b"".join(lines))


def _run(tmp_path: Path, name: str, source_path: Path, monkeypatch: pytest.MonkeyPatch, flag: str) -> dict[str, Any]:
    monkeypatch.setenv(parallel.ENV, flag)
    seen_keys: list[list[str]] = []
    count_batch = ingest.Ingestor._count_batch

    def recording(self: ingest.Ingestor, chunk: ingest.Chunk, fresh: list[bool]) -> None:
        seen_keys.append([self._keys[r] for r in chunk.rix])
        count_batch(self, chunk, fresh)

    monkeypatch.setattr(ingest.Ingestor, "_count_batch", recording)
    store = Store(str(tmp_path / f"{name}.db"))
    reports = []
    try:
        for _ in range(2):  # a first run, then a re-run where every event is already counted
            source = JsonLinesSource(source_path)
            pipe = Pipeline(store, MinedGrouper(), Redactor().redact_with_counts, OfflineAnalyzer(), RunConfig(at=AT))
            result = pipe.run(source)
            report = dict(result.report)
            for volatile in ("duration_s", "run_id"):
                report.pop(volatile)
            reports.append((report, [p.as_dict() for p in result.patterns], pipe.grouper.export_state()))
    finally:
        store.close()
    db = sqlite3.connect(tmp_path / f"{name}.db")
    tables = {t: sorted(map(repr, db.execute(f"SELECT {cols} FROM {t}"))) for t, cols in TABLES.items()}
    db.close()
    return {"keys": [k for batch in seen_keys for k in batch], "reports": reports, "tables": tables}


@pytest.mark.parametrize("batch", [7, 64])
def test_parallel_ingest_gives_what_the_sequential_one_gives(tmp_path, monkeypatch, batch):
    source = tmp_path / "events.jsonl"
    _write_input(source)
    monkeypatch.setattr(ingest, "BATCH", batch)
    monkeypatch.setattr(ingest, "FLUSH_AT", 5)  # many flushes of the hourly cells, mid-run
    sequential = _run(tmp_path, "seq", source, monkeypatch, "0")
    par = _run(tmp_path, "par", source, monkeypatch, "1")

    first = sequential["reports"][0][0]
    assert first["raw_events"] == 602 and first["new_events"] < 602  # repeated ids count once
    assert first["skipped"] == 4 and first["truncated"] == 1 and first["decode_errors"] == 1
    assert sequential["reports"][1][0]["already_seen"] == 602
    assert sequential["tables"]["signature_aliases"]  # the miner generalized: aliases were learned
    assert len(sequential["keys"]) == 2 * 602

    assert par["keys"] == sequential["keys"]
    for (s_report, s_patterns, s_state), (p_report, p_patterns, p_state) in zip(
        sequential["reports"], par["reports"], strict=True
    ):
        assert p_report == s_report
        assert p_patterns == s_patterns
        assert p_state == s_state
    assert par["tables"] == sequential["tables"]


def test_the_worker_is_used_only_where_it_pays(tmp_path, monkeypatch):
    small = tmp_path / "small.jsonl"
    small.write_bytes(_line({"timestamp": "2026-11-19T01:00:00Z", "message": "x"}))
    monkeypatch.delenv(parallel.ENV, raising=False)
    assert not parallel.eligible(JsonLinesSource(small), MinedGrouper())  # too small
    monkeypatch.setattr(parallel, "MIN_BYTES", 1)
    monkeypatch.setattr(parallel.os, "cpu_count", lambda: 2)
    assert parallel.eligible(JsonLinesSource(small), MinedGrouper())
    monkeypatch.setenv(parallel.ENV, "0")
    assert not parallel.eligible(JsonLinesSource(small), MinedGrouper())
    monkeypatch.setenv(parallel.ENV, "1")
    assert not parallel.eligible(JsonLinesSource("-"), MinedGrouper())  # stdin


def test_a_failing_worker_fails_the_run_and_commits_nothing(tmp_path, monkeypatch):
    source = tmp_path / "events.jsonl"
    _write_input(source)
    monkeypatch.setenv(parallel.ENV, "1")
    store = Store(str(tmp_path / "f.db"))
    pipe = Pipeline(store, MinedGrouper(), _exploding_redact, OfflineAnalyzer(), RunConfig(at=AT))
    with pytest.raises(ValueError, match="redactor broke"):
        pipe.run(JsonLinesSource(source))
    store.close()
    db = sqlite3.connect(tmp_path / "f.db")
    assert db.execute("SELECT count(*) FROM seen_events").fetchone() == (0,)
    assert db.execute("SELECT count(*) FROM hourly_counts").fetchone() == (0,)
    assert db.execute("SELECT status FROM runs").fetchall() == [("failed",)]
    db.close()


def test_a_redactor_that_cannot_go_to_a_worker_runs_in_process(tmp_path, monkeypatch):
    source = tmp_path / "events.jsonl"
    _write_input(source)
    monkeypatch.setenv(parallel.ENV, "1")
    store = Store(str(tmp_path / "l.db"))
    redactor = Redactor()
    pipe = Pipeline(
        store, MinedGrouper(), lambda text: redactor.redact_with_counts(text), OfflineAnalyzer(), RunConfig(at=AT)
    )
    assert pipe.run(JsonLinesSource(source)).report["raw_events"] == 602
    store.close()


def _exploding_redact(text: str) -> tuple[str, dict[str, int]]:
    if "Deadlock" in text:
        raise ValueError("redactor broke")
    return Redactor().redact_with_counts(text)
