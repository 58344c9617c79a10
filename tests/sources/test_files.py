"""File and stdin sources: JSON Lines and text, with the messy input real logs contain."""

from __future__ import annotations

import gzip
import io
import json
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from errorsift.errors import ConfigError, SourceError
from errorsift.models import ErrorEvent
from errorsift.sources.base import MAX_LINE_BYTES, Source, parse_timestamp
from errorsift.sources.files import FieldMap, JsonLinesSource, TextSource, open_source

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)


def jsonl(path: Path, *records: dict[str, Any] | str) -> Path:
    lines = [r if isinstance(r, str) else json.dumps(r) for r in records]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def read(source: Source) -> list[ErrorEvent]:
    return list(source.events())


def rec(message: str = "boom", **extra: Any) -> dict[str, Any]:
    return {"timestamp": "2026-11-20T10:00:00Z", "message": message, **extra}


# --- JSON Lines -------------------------------------------------------------------------------


def test_jsonl_maps_known_fields_and_keeps_unknown_keys_as_attributes(tmp_path: Path) -> None:
    path = jsonl(
        tmp_path / "a.jsonl",
        rec(
            "Timeout calling payments",
            error_type="timeout",
            customer="acme-prod",
            service="checkout",
            host="web-3",
            id="ev-1",
            stack="Traceback ...",
            level="error",
            ctx={"region": "eu"},
        ),
    )
    source = open_source(str(path))
    assert isinstance(source, JsonLinesSource)
    [event] = read(source)
    assert event == ErrorEvent(
        timestamp=datetime(2026, 11, 20, 10, 0, tzinfo=UTC),
        message="Timeout calling payments",
        error_type="timeout",
        service="checkout",
        customer="acme-prod",
        host="web-3",
        id="ev-1",
        stack="Traceback ...",
        attributes={"level": "error", "ctx": {"region": "eu"}},
    )
    assert (source.stats.lines, source.stats.events, source.stats.malformed) == (1, 1, 0)


def test_field_map_renames_and_dotted_paths(tmp_path: Path) -> None:
    record = {
        "ts": 1_732_096_800,
        "error": {"message": "disk full", "stack": "at x", "kind": "OSError", "code": 28},
        "tenant": "globex-eu",
    }
    path = jsonl(tmp_path / "a.jsonl", record)
    [event] = read(JsonLinesSource(path))  # the defaults know these spellings
    assert (event.message, event.stack, event.error_type, event.customer) == (
        "disk full",
        "at x",
        "OSError",
        "globex-eu",
    )
    assert event.attributes == {"error": {"code": 28}}  # consumed leaves removed, the rest kept

    custom = {"when": "2026-11-20T10:00:00Z", "payload": {"text": "hello"}, "org": "initech-us"}
    path = jsonl(tmp_path / "b.jsonl", custom)
    fields = FieldMap.from_spec("timestamp=when,message=payload.text,customer=org")
    [event] = read(JsonLinesSource(path, fields))
    assert (event.message, event.customer, event.attributes) == ("hello", "initech-us", {})
    [event] = read(open_source(str(path), fields={"timestamp": "when", "message": "payload.text"}))
    assert event.message == "hello"


def test_field_map_rejects_unknown_fields() -> None:
    with pytest.raises(ConfigError, match="unknown field"):
        FieldMap.from_mapping({"mesage": "msg"})
    with pytest.raises(ConfigError, match="FIELD=KEY"):
        FieldMap.from_spec("message")


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2026-11-20T10:00:00Z", datetime(2026, 11, 20, 10, 0, tzinfo=UTC)),
        ("2026-11-20T11:00:00+01:00", datetime(2026, 11, 20, 10, 0, tzinfo=UTC)),
        ("2026-11-20T10:00:00.250", datetime(2026, 11, 20, 10, 0, 0, 250000, tzinfo=UTC)),  # naive = UTC
        ("2026-11-20 10:00:00,123", datetime(2026, 11, 20, 10, 0, 0, 123000, tzinfo=UTC)),
        (1_795_168_800, datetime(2026, 11, 20, 10, 0, tzinfo=UTC)),  # epoch seconds
        (1_795_168_800_500, datetime(2026, 11, 20, 10, 0, 0, 500000, tzinfo=UTC)),  # epoch ms
        (1_795_168_800.25, datetime(2026, 11, 20, 10, 0, 0, 250000, tzinfo=UTC)),
        ("1795168800", datetime(2026, 11, 20, 10, 0, tzinfo=UTC)),
    ],
)
def test_timestamps_become_aware_utc(tmp_path: Path, value: object, expected: datetime) -> None:
    assert parse_timestamp(value) == expected
    [event] = read(JsonLinesSource(jsonl(tmp_path / "a.jsonl", {"timestamp": value, "message": "m"})))
    assert event.timestamp == expected
    assert event.timestamp.tzinfo is UTC


def test_malformed_lines_are_counted_with_line_numbers_never_fatal(tmp_path: Path) -> None:
    path = jsonl(
        tmp_path / "a.jsonl",
        rec("ok 1"),
        "not json at all",
        "",
        "[1, 2]",
        {"timestamp": "2026-11-20T10:00:00Z"},
        {"timestamp": "yesterday-ish", "message": "bad time"},
        {"message": "no time"},
        rec("   "),
        rec("ok 2"),
    )
    source = JsonLinesSource(path)
    assert [e.message for e in read(source)] == ["ok 1", "ok 2"]
    stats = source.stats
    assert (stats.lines, stats.events, stats.malformed) == (9, 2, 6)  # the blank line is not malformed
    assert stats.malformed_lines == ["2", "4", "5", "6", "7"]  # first five only
    assert stats.malformed_reasons == {
        "not JSON": 1,
        "not a JSON object": 1,
        "no message": 2,
        "bad timestamp": 1,
        "no timestamp": 1,
    }
    assert "6 malformed (first: 2, 4, 5, 6, 7)" in stats.summary()


def test_invalid_utf8_is_replaced_and_counted(tmp_path: Path) -> None:
    path = tmp_path / "a.jsonl"
    path.write_bytes(b'{"timestamp": "2026-11-20T10:00:00Z", "message": "caf\xe9 \xff down"}\n')
    source = JsonLinesSource(path)
    [event] = read(source)
    assert event.message == "caf\ufffd \ufffd down"
    assert source.stats.decode_errors == 1


def test_overlong_line_is_truncated_and_counted(tmp_path: Path) -> None:
    path = tmp_path / "a.log"
    long_line = "2026-11-20T10:00:00Z ERROR " + "é" * 50_000 + "\n"  # ~100 KiB in UTF-8
    path.write_text(long_line + "2026-11-20T10:00:01Z ERROR next\n", encoding="utf-8")
    source = TextSource(path)
    first, second = read(source)
    assert len(first.message.encode()) <= MAX_LINE_BYTES
    assert first.message.endswith("é")  # cut on a character boundary, no U+FFFD
    assert second.message == "next"
    assert (source.stats.truncated, source.stats.decode_errors, source.stats.lines) == (1, 0, 2)

    # A JSON record is read whole (up to 1 MiB) so it still parses; its message is what gets cut.
    jpath = jsonl(tmp_path / "b.jsonl", rec("x" * 100_000), rec("fine"))
    jsource = JsonLinesSource(jpath)
    assert [e.message for e in read(jsource)] == ["x" * MAX_LINE_BYTES, "fine"]
    assert (jsource.stats.truncated, jsource.stats.malformed) == (1, 0)
    # Beyond 1 MiB the object itself is cut: counted as truncated and malformed, never fatal.
    huge = jsonl(tmp_path / "c.jsonl", rec("y" * 1_100_000), rec("after"))
    hsource = JsonLinesSource(huge)
    assert [e.message for e in read(hsource)] == ["after"]
    assert (hsource.stats.truncated, hsource.stats.malformed) == (1, 1)


def test_glob_reads_files_in_sorted_order_and_names_them(tmp_path: Path) -> None:
    jsonl(tmp_path / "b.jsonl", rec("from b"), "garbage")
    jsonl(tmp_path / "a.jsonl", rec("from a"))
    source = open_source(str(tmp_path / "*.jsonl"))
    assert [e.message for e in read(source)] == ["from a", "from b"]
    assert source.stats.files == 2
    assert source.stats.malformed_lines == [f"{tmp_path / 'b.jsonl'}:2"]


def test_gzip_is_read_transparently(tmp_path: Path) -> None:
    path = tmp_path / "a.jsonl.gz"
    with gzip.open(path, "wt", encoding="utf-8") as out:
        out.write(json.dumps(rec("zipped")) + "\n")
    [event] = read(open_source(str(path)))
    assert event.message == "zipped"
    rotated = tmp_path / "app.log.1"  # compressed by logrotate without a .gz name
    rotated.write_bytes(gzip.compress(b"2026-11-20T10:00:00Z ERROR rotated\n"))
    [event] = read(open_source(str(rotated)))
    assert event.message == "rotated"


def test_stdin_stream_can_be_injected_and_is_sniffed() -> None:
    data = json.dumps(rec("from stdin")).encode() + b"\n"
    source = open_source("-", stream=io.BytesIO(data))
    assert isinstance(source, JsonLinesSource)
    assert source.name == "<stdin>"
    assert [e.message for e in read(source)] == ["from stdin"]

    text = open_source("-", stream=io.BytesIO(b"\n2026-11-20T10:00:00Z ERROR plain\n"))
    assert isinstance(text, TextSource)
    assert [e.message for e in read(text)] == ["plain"]

    zipped = open_source("-", stream=io.BytesIO(gzip.compress(data)))
    assert [e.message for e in read(zipped)] == ["from stdin"]


def test_real_stdin_in_a_subprocess(tmp_path: Path) -> None:
    code = (
        "from errorsift.sources.files import open_source\n"
        "s = open_source('-')\n"
        "print(len(list(s.events())), s.stats.malformed)\n"
    )
    data = (json.dumps(rec("a")) + "\nnope\n" + json.dumps(rec("b")) + "\n").encode()
    done = subprocess.run([sys.executable, "-c", code], input=data, capture_output=True, check=True, timeout=60)
    assert done.stdout.decode().split() == ["2", "1"]


def test_format_prefixes_and_auto_detection(tmp_path: Path) -> None:
    path = jsonl(tmp_path / "events.log", rec("json in a .log"))
    assert isinstance(open_source(str(path)), JsonLinesSource)  # sniffed
    assert isinstance(open_source(f"text:{path}"), TextSource)  # forced
    plain = tmp_path / "plain.jsonl"
    plain.write_text("not json\n")
    assert isinstance(open_source(str(plain)), JsonLinesSource)  # by extension
    assert isinstance(open_source(f"text:{plain}"), TextSource)
    assert isinstance(open_source(f"jsonl:{tmp_path / 'events.log'}"), JsonLinesSource)


@pytest.mark.parametrize("spec", ["missing.jsonl", "nothing-*.jsonl", "text:missing.log", "."])
def test_nothing_to_read_is_a_one_line_source_error(tmp_path: Path, spec: str, monkeypatch: Any) -> None:
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SourceError) as info:
        open_source(spec)
    assert "\n" not in str(info.value)


# --- derived ids ------------------------------------------------------------------------------


def test_derived_ids_are_stable_across_reads_and_distinct_for_duplicates(tmp_path: Path) -> None:
    line = rec("same line", customer="acme-prod")
    path = jsonl(tmp_path / "a.jsonl", line, line, rec("other"), line, rec("with id", id=42))
    source = JsonLinesSource(path)
    first = [e.id for e in read(source)]
    second = [e.id for e in read(source)]
    assert first == second
    assert len(set(first)) == 5
    assert first[1] == f"{first[0]}.1" and first[3] == f"{first[0]}.2"
    assert first[4] == "42"
    text = tmp_path / "a.log"
    text.write_text("2026-11-20T10:00:00Z dup\n2026-11-20T10:00:00Z dup\n")
    ids = [e.id for e in read(TextSource(text))]
    assert ids == [e.id for e in read(TextSource(text))] and len(set(ids)) == 2


# --- plain text -------------------------------------------------------------------------------

TEXT_LOG = """\
2026-11-20T10:00:00Z ERROR Connection refused: db-7:5432
2026-11-20 10:00:01,123 ERROR Unhandled exception in worker
Traceback (most recent call last):
  File "/app/worker.py", line 12, in run
    handle(job)
KeyError: 'user_id'

During handling of the above exception, another exception occurred:

Traceback (most recent call last):
  File "/app/worker.py", line 14, in run
    raise RuntimeError("job failed")
RuntimeError: job failed
[2026-11-20 10:00:02] WARN Slow query took 3021ms
2026-11-20T10:00:03+01:00 ERROR Failed to process order 123456789
java.lang.NullPointerException: Cannot invoke "String.length()" because "s" is null
\tat com.acme.OrderService.process(OrderService.java:42)
Caused by: java.sql.SQLException: Connection is closed
\t... 5 more
a line without a timestamp
Traceback (most recent call last):
  File "x.py", line 1, in <module>
ValueError: bad value
"""


def test_text_source_strips_timestamps_and_levels_and_joins_traces(tmp_path: Path) -> None:
    path = tmp_path / "app.log"
    path.write_text(TEXT_LOG + 'Traceback (most recent call last):\n  File "y.py", line 2\nOSError: disk\n')
    source = open_source(str(path), default_time=NOW)
    assert isinstance(source, TextSource)
    events = read(source)
    got = [(e.timestamp.isoformat(), e.message, e.error_type, e.attributes.get("level", "")) for e in events]
    assert got == [
        ("2026-11-20T10:00:00+00:00", "Connection refused: db-7:5432", "", "ERROR"),
        ("2026-11-20T10:00:01.123000+00:00", "Unhandled exception in worker", "RuntimeError", "ERROR"),
        ("2026-11-20T10:00:02+00:00", "Slow query took 3021ms", "", "WARN"),
        ("2026-11-20T09:00:03+00:00", "Failed to process order 123456789", "java.lang.NullPointerException", "ERROR"),
        ("2026-11-20T09:00:03+00:00", "a line without a timestamp", "ValueError", ""),  # previous timestamp
        ("2026-11-20T09:00:03+00:00", "OSError: disk", "OSError", ""),  # bare traceback: the exception line
    ]
    python = events[1]
    assert python.stack.startswith("Unhandled exception in worker\nTraceback (most recent call last):")
    assert python.stack.endswith("RuntimeError: job failed")
    assert "\n\nDuring handling of the above exception" in python.stack
    assert python.attributes["exception"] == "RuntimeError: job failed"
    java = events[3]
    assert java.stack.splitlines()[-1] == "\t... 5 more"
    assert len(java.stack.splitlines()) == 5
    assert source.stats.events == 6 and source.stats.lines == len(path.read_text().splitlines())


def test_text_lines_before_any_timestamp_use_default_time(tmp_path: Path) -> None:
    path = tmp_path / "plain.txt"
    path.write_text("first problem\nERROR second problem\n\n")
    events = read(TextSource(path, default_time=NOW))
    assert [(e.timestamp, e.message) for e in events] == [(NOW, "first problem"), (NOW, "second problem")]


def test_dotnet_and_go_traces_are_joined(tmp_path: Path) -> None:
    path = tmp_path / "svc.log"
    path.write_text(
        "2026-11-20T10:00:09Z System.NullReferenceException: Object reference not set.\n"
        "   at Acme.Orders.OrderService.Process(Order order) in /src/OrderService.cs:line 42\n"
        "panic: runtime error: invalid memory address or nil pointer dereference\n"
        "[signal SIGSEGV: segmentation violation code=0x1 addr=0x0 pc=0x4a1b2c]\n"
        "\n"
        "goroutine 1 [running]:\n"
        "main.main()\n"
        "\t/app/main.go:12 +0x1d\n"
    )
    dotnet, go = read(TextSource(path, default_time=NOW))
    assert dotnet.error_type == "System.NullReferenceException"
    assert len(dotnet.stack.splitlines()) == 2
    assert go.message.startswith("panic: runtime error") and go.error_type == "panic"
    assert go.stack.splitlines()[-1] == "\t/app/main.go:12 +0x1d"


def test_sources_satisfy_the_protocol(tmp_path: Path) -> None:
    path = jsonl(tmp_path / "a.jsonl", rec())
    assert isinstance(JsonLinesSource(path), Source)
    assert isinstance(TextSource(path), Source)


def test_text_prose_that_resembles_a_continuation_is_its_own_event(tmp_path: Path) -> None:
    """B3: `at ...`, `File "..."`, `Caused by:` and indentation join only in their trace shapes."""
    path = tmp_path / "join.txt"
    path.write_text(
        "Connection refused to db-7\n"
        "at least 3 jobs failed in queue q1\n"
        'File "x" not found\n'
        "  indented message here\n"
        "Caused by: upstream failure\n"
    )
    source = TextSource(path, default_time=NOW)
    events = read(source)
    assert [(e.message, e.stack) for e in events] == [
        ("Connection refused to db-7", ""),
        ("at least 3 jobs failed in queue q1", ""),
        ('File "x" not found', ""),
        ("indented message here", ""),
        ("Caused by: upstream failure", ""),
    ]
    assert source.stats.events == 5


def test_text_traces_still_join_every_frame_shape(tmp_path: Path) -> None:
    path = tmp_path / "traces.log"
    path.write_text(
        "2026-11-20T10:00:00Z ERROR Request failed\n"
        "java.lang.IllegalStateException: boom\n"
        "\tat com.acme.A.b(A.java:1) ~[app.jar:1.0]\n"
        "\tSuppressed: java.io.IOException: close failed\n"
        "\t\tat com.acme.A.close(A.java:9)\n"
        "Caused by: java.sql.SQLException: x\n"
        "\tat com.acme.Db.q(Db.java:3)\n"
        "\t... 3 common frames omitted\n"
        "2026-11-20T10:00:01Z ERROR TypeError: Cannot read properties of undefined (reading 'x')\n"
        "    at Object.<anonymous> (/app/index.js:3:7)\n"
        "    at new Promise (<anonymous>)\n"
        "    at file:///app/x.mjs:3:7\n"
        "2026-11-20T10:00:02Z ERROR Payment failed\n"
        "   at Acme.Pay.Gateway.Charge(Decimal amount) in C:\\src\\Gateway.cs:line 101\n"
        "   at Acme.Pay.Job.<Run>d__5.MoveNext()\n"
        "--- End of stack trace from previous location ---\n"
        "2026-11-20T10:00:03Z ERROR Job failed\n"
        '  File "/app/x.py", line 3, in f\n'
        "    g()\n"
        "2026-11-20T10:00:04Z ERROR KeyError: 'a'\n"
        "    raised while loading the cart\n"  # an exception line opens a block: indented lines join it
        "next message\n"
    )
    events = read(TextSource(path, default_time=NOW))
    assert [(e.message, len(e.stack.splitlines())) for e in events] == [
        ("Request failed", 8),
        ("TypeError: Cannot read properties of undefined (reading 'x')", 4),
        ("Payment failed", 4),
        ("Job failed", 3),
        ("KeyError: 'a'", 2),
        ("next message", 0),
    ]
    assert events[0].error_type == "java.lang.IllegalStateException"
