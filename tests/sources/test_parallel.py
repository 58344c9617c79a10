"""The parallel JSON Lines reader gives exactly the sequential reader's events, ids and counts."""

from __future__ import annotations

import json
from pathlib import Path

from errorsift.sources import parallel
from errorsift.sources.files import JsonLinesSource
from errorsift.sources.parallel import ParallelJsonLinesSource


def write(path: Path, n: int) -> None:
    with path.open("wb") as fh:
        for i in range(n):
            if i % 997 == 5:
                fh.write(b"{not json\n")
            elif i % 1009 == 7:
                fh.write(b'{"message": "no time"}\n')
            elif i % 1013 == 9:
                fh.write(b'{"timestamp": "2026-11-20T01:00:00Z", "message": "bad \xff byte 12345"}\n')
            else:
                record = {
                    "timestamp": f"2026-11-20T0{i % 10}:00:{i % 60:02d}.{i % 1000:03d}Z",
                    "msg": f"Timeout after {i % 7}000ms for order {100000 + i}",
                    "tenant": f"c{i % 5}",
                }
                if i % 3:
                    record["id"] = f"e{i}"  # the rest get derived ids, duplicates included
                if i % 50 == 0:
                    record["msg"] = "same line repeated"
                    record["timestamp"] = "2026-11-20T00:00:00Z"
                fh.write(json.dumps(record).encode() + b"\n")
        fh.write(b'{"timestamp": "2026-11-20T01:00:00Z", "message": "' + b"x" * 70_000 + b'"}\n')


def test_parallel_equals_sequential(tmp_path, monkeypatch):
    monkeypatch.setattr(parallel, "CHUNK_LINES", 1_000)  # many chunk boundaries
    path = tmp_path / "e.jsonl"
    write(path, 12_000)
    fields = {"message": "msg", "customer": "tenant"}
    seq = JsonLinesSource(str(path), fields)
    par = ParallelJsonLinesSource(str(path), fields, workers=2)
    a = [(e.timestamp, e.message, e.customer, e.id) for e in seq.events()]
    b = [(e.timestamp, e.message, e.customer, e.id) for e in par.events()]
    assert a == b
    assert len({e[3] for e in b}) == len(b)  # duplicate lines still get distinct derived ids
    for name in ("lines", "events", "malformed", "malformed_lines", "malformed_reasons", "truncated", "decode_errors"):
        assert getattr(par.stats, name) == getattr(seq.stats, name), name
