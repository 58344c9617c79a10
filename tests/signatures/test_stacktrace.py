"""Stack traces key on exception type + top in-app frames; continuation lines join their event."""

from __future__ import annotations

from pathlib import Path

import pytest
from golden_files import check_golden, inputs

from errorsift.signatures.mined import MinedGrouper
from errorsift.signatures.stacktrace import is_continuation, parse_trace


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


CONTINUATIONS = [
    ("\tat com.acme.Foo.bar(Foo.java:12)", True),
    ("    at totalFor (/app/src/cart/total.js:14:22)", True),
    ('  File "/srv/app/x.py", line 3, in f', True),
    ("Caused by: java.io.IOException: boom", True),
    ("Traceback (most recent call last):", True),
    ("ZeroDivisionError: division by zero", False),  # needs context: the source decides
    ("goroutine 1 [running]:", True),
    ("created by main.startWorkers", True),
    ("   --- End of inner exception stack trace ---", True),
    ("\t... 12 more", True),
    ("", False),
    ("2024-01-01 10:00:00 ERROR payment failed", False),
    ("INFO started worker 3", False),
    ("Jun 17 07:07:00 combo sshd[123]: session opened", False),
]


@pytest.mark.parametrize(("line", "expected"), CONTINUATIONS)
def test_is_continuation(line: str, expected: bool) -> None:
    assert is_continuation(line) is expected
