"""Stack traces key on exception type + top in-app frames; continuation lines join their event."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from golden_files import check_golden, inputs

from errorsift.signatures.mined import MinedGrouper
from errorsift.signatures.signer import grouped_text
from errorsift.signatures.stacktrace import is_continuation, parse_trace
from errorsift.sources.files import JsonLinesSource, TextSource


def traces(path: Path) -> list[str]:
    return [block.strip("\n") for block in path.read_text(encoding="utf-8").split("=====\n")]


@pytest.mark.parametrize("path", inputs("trace_*.txt"), ids=lambda p: p.stem)
def test_golden_traces(path: Path) -> None:
    lines = []
    for block in traces(path):
        trace = parse_trace(block)
        assert trace is not None, block
        lines.append(f"{trace.key()}  {trace.language}  in_app={trace.in_app}  {trace.describe()}\n")
    check_golden(f"{path.stem}.txt", "".join(lines))


@pytest.mark.parametrize(
    ("language", "same", "different"),
    [
        ("python", (0, 1), (0, 2)),  # same bug, other message values / another code path
        ("java", (0, 1), (0, 2)),
        ("go", (0, 1), None),
        ("js", (0, 1), (0, 2)),
    ],
)
def test_same_place_same_key_other_place_other_key(language: str, same, different) -> None:  # type: ignore[no-untyped-def]
    blocks = traces(next(iter(inputs(f"trace_{language}.txt"))))
    keys = [parse_trace(b).key() for b in blocks]  # type: ignore[union-attr]
    assert keys[same[0]] == keys[same[1]]
    if different:
        assert keys[different[0]] != keys[different[1]]


def test_library_frames_are_skipped() -> None:
    java = traces(next(iter(inputs("trace_java.txt"))))
    trace = parse_trace(java[3])
    assert trace is not None
    assert trace.exception.endswith("java.net.SocketTimeoutException")  # the chain ends at the root cause
    assert all(not f.startswith(("java.", "org.springframework.")) for f in trace.frames)
    python = parse_trace(traces(next(iter(inputs("trace_python.txt"))))[3])
    assert python is not None and python.frames == ("api.views.get_user",)


def test_single_line_messages_are_not_traces() -> None:
    assert parse_trace("ValueError: bad input 42") is None
    assert parse_trace("two lines\nof plain text") is None


def test_grouper_signs_traces_by_frames() -> None:
    grouper = MinedGrouper()
    blocks = traces(next(iter(inputs("trace_python.txt"))))
    first, second, other = (grouper.sign(b) for b in blocks[:3])
    assert first.key == second.key != other.key
    assert first.template.startswith("ZeroDivisionError at billing.totals.compute")
    assert grouper.explain(first.key).startswith("frame-based: ZeroDivisionError")
    restored = MinedGrouper.from_state(grouper.export_state())
    assert restored.sign(blocks[0]).key == first.key


# (line, alone: continues by its shape, in_trace: continues while a trace is open)
CONTINUATIONS = [
    ("\tat com.acme.Foo.bar(Foo.java:12)", True, True),
    ("\tat java.base/java.lang.Thread.run(Thread.java:833) ~[na:na]", True, True),
    ("   at Acme.Orders.OrderService.Process(Order order) in /src/OrderService.cs:line 42", True, True),
    ("   at System.Linq.Enumerable.First[TSource](IEnumerable`1 source)", True, True),
    ("    at totalFor (/app/src/cart/total.js:14:22)", True, True),
    ("    at Layer.handle [as handle_request] (/app/node_modules/express/lib/router/layer.js:95:5)", True, True),
    ("    at Array.map (<anonymous>)", True, True),
    ("    at /app/src/cart/total.js:14:22", True, True),
    ('  File "/srv/app/x.py", line 3, in f', True, True),
    ("Caused by: java.io.IOException: boom", False, True),  # a cause only while a trace is open
    ("Traceback (most recent call last):", True, True),
    ("ZeroDivisionError: division by zero", False, False),  # needs context: the source decides
    ("goroutine 1 [running]:", True, True),
    ("created by main.startWorkers", False, True),
    ("   --- End of inner exception stack trace ---", True, True),
    ("\t... 12 more", True, True),
    ("    handle(job)", False, True),  # code under a Python frame: indented, so only inside a trace
    ("", False, False),
    ("2024-01-01 10:00:00 ERROR payment failed", False, False),
    ("INFO started worker 3", False, False),
    ("Jun 17 07:07:00 combo sshd[123]: session opened", False, False),
    # prose that only resembles a continuation (B3)
    ("at least 3 jobs failed in queue q1", False, False),
    ("at noon (12:30:00) the batch stopped", False, False),
    ('File "x" not found', False, False),
    ("  indented message here", False, True),
    ("Caused by: upstream failure", False, True),
]


@pytest.mark.parametrize(("line", "alone", "in_trace"), CONTINUATIONS)
def test_is_continuation(line: str, alone: bool, in_trace: bool) -> None:
    assert is_continuation(line) is alone
    assert is_continuation(line, in_trace=True) is in_trace


# --- the exception under a log line (B2) ---------------------------------------------------------

LOG_LINE = "[main] Request failed"
UNDER_A_LOG_LINE = {
    "java": (
        "java.lang.NullPointerException: order was null\n"
        "\tat com.acme.orders.OrderService.validate(OrderService.java:42)\n"
        "\tat com.acme.orders.OrderController.post(OrderController.java:17)",
        "java.lang.IllegalArgumentException: quantity must be positive\n"
        "\tat com.acme.orders.OrderService.validate(OrderService.java:42)\n"
        "\tat com.acme.orders.OrderController.post(OrderController.java:17)",
        "java.lang.NullPointerException",
    ),
    "dotnet": (
        "System.NullReferenceException: Object reference not set to an instance of an object.\n"
        "   at Acme.Orders.OrderService.Validate(Order order) in /src/OrderService.cs:line 42\n"
        "   at Acme.Orders.OrderController.Post(Order order) in /src/OrderController.cs:line 17",
        "System.ArgumentException: quantity must be positive\n"
        "   at Acme.Orders.OrderService.Validate(Order order) in /src/OrderService.cs:line 42\n"
        "   at Acme.Orders.OrderController.Post(Order order) in /src/OrderController.cs:line 17",
        "System.NullReferenceException",
    ),
    "js": (
        "TypeError: Cannot read properties of undefined (reading 'qty')\n"
        "    at validate (/app/src/orders/service.js:42:11)\n"
        "    at post (/app/src/orders/controller.js:17:5)",
        "RangeError: quantity must be positive\n"
        "    at validate (/app/src/orders/service.js:42:11)\n"
        "    at post (/app/src/orders/controller.js:17:5)",
        "TypeError",
    ),
    "python": (
        "Traceback (most recent call last):\n"
        '  File "/srv/app/orders/service.py", line 42, in validate\n'
        "    check(order)\n"
        "KeyError: 'order'",
        "Traceback (most recent call last):\n"
        '  File "/srv/app/orders/service.py", line 42, in validate\n'
        "    check(order)\n"
        "ValueError: quantity must be positive",
        "KeyError",
    ),
    "go": (
        "panic: runtime error: invalid memory address or nil pointer dereference\n\n"
        "goroutine 1 [running]:\nmain.validate(...)\n\t/app/orders.go:42\nmain.main()\n\t/app/main.go:17 +0x1d",
        "panic: quantity must be positive\n\n"
        "goroutine 1 [running]:\nmain.validate(...)\n\t/app/orders.go:42\nmain.main()\n\t/app/main.go:17 +0x1d",
        "panic: runtime error: invalid memory address or nil pointer dereference",
    ),
}


@pytest.mark.parametrize("language", sorted(UNDER_A_LOG_LINE))
def test_exception_is_found_under_a_log_line(language: str) -> None:
    first, other, exception = UNDER_A_LOG_LINE[language]
    bare, under, other_under = (parse_trace(t) for t in (first, f"{LOG_LINE}\n{first}", f"{LOG_LINE}\n{other}"))
    assert bare is not None and under is not None and other_under is not None
    assert under.language == language and under.exception == exception
    assert under.key() == bare.key()  # the log line above changes nothing: same exception, same frames
    assert other_under.frames == under.frames and other_under.key() != under.key()  # another exception


def test_log_line_above_a_python_traceback_is_not_its_exception() -> None:
    truncated = 'Failed\nTraceback (most recent call last):\n  File "/srv/app/x.py", line 3, in f\n    g()'
    trace = parse_trace(truncated)
    assert trace is not None and trace.exception == "Exception"  # not "Failed"


def test_exception_line_must_have_the_shape_of_one() -> None:
    # a log line that starts with an exception-like word is prose unless a colon (or nothing) follows
    java = parse_trace(
        "OrderError occurred in batch 7\njava.lang.IllegalStateException\n\tat com.acme.Batch.run(Batch.java:3)"
    )
    assert java is not None and java.exception == "java.lang.IllegalStateException"
    js = parse_trace("Error: request failed\nRangeError: bad qty\n    at f (/app/a.js:1:2)")
    assert js is not None and js.exception == "RangeError"
    dotnet = parse_trace(
        "ValidationError while saving\nSystem.AggregateException: x ---> System.TimeoutException: y\n"
        "   at Acme.Pay.Gateway.Charge() in /src/Gateway.cs:line 3"
    )
    assert dotnet is not None and dotnet.exception == "System.AggregateException <- System.TimeoutException"


def test_text_and_jsonl_traces_under_a_log_line_sign_by_exception(tmp_path: Path) -> None:
    """The reviewer's case: one log line, then a Java trace; two exception types are two signatures."""
    java_npe, java_iae, _ = UNDER_A_LOG_LINE["java"]
    log = tmp_path / "exc.log"
    log.write_text(
        f"2026-01-09 10:10:00,123 ERROR {LOG_LINE}\n{java_npe}\n"
        f"2026-01-09 10:11:00,123 ERROR {LOG_LINE}\n{java_iae}\n"
        f"2026-01-09 10:12:00,123 ERROR {LOG_LINE}\n{java_npe.replace('order was null', 'line was null')}\n",
        encoding="utf-8",
    )
    grouper = MinedGrouper()
    events = list(TextSource(log).events())
    keys = [grouper.sign(grouped_text(e.message, e.stack)).key for e in events]
    assert len(events) == 3
    assert keys[0] == keys[2] != keys[1]
    assert grouper.sign(grouped_text(events[1].message, events[1].stack)).template.startswith(
        "java.lang.IllegalArgumentException at com.acme.orders.OrderService.validate"
    )

    # JSON Lines: the message is not in the stack, so the pipeline groups "message\nstack"
    records = [
        {"timestamp": "2026-01-09T10:10:00Z", "message": "Request failed", "stack": s} for s in (java_npe, java_iae)
    ]
    path = tmp_path / "exc.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    npe, iae = (grouper.sign(grouped_text(e.message, e.stack)) for e in JsonLinesSource(path).events())
    assert npe.key == keys[0] and iae.key == keys[1]
