"""File and stdin sources: JSON Lines (structured) and plain text (one message per line, with
multi-line stack traces joined into one event).

Inputs are read as bytes and streamed line by line, so memory stays flat however large the input
is; a line over ``MAX_LINE_BYTES`` is cut (and counted) instead of being buffered whole. Bad input
is counted in ``source.stats`` and skipped, never fatal: one corrupt line must not stop a run.

The JSON Lines loop is the hot path of a whole run (target: 1M events well under ten seconds on
one core), so it is written flat: no per-line regex, no per-field function calls in the common
case, and ``orjson`` when it is installed.
"""

from __future__ import annotations

import json
import os
import re
import sys
import zlib
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, fields, replace
from datetime import UTC, datetime
from typing import Any, BinaryIO, cast

from errorsift.errors import ConfigError
from errorsift.models import ErrorEvent
from errorsift.signatures.stacktrace import is_continuation
from errorsift.sources.base import (
    GZIP_MAGIC,
    MAX_JSON_LINE_BYTES,
    MAX_LINE_BYTES,
    STDIN,
    EventIdDeriver,
    Inputs,
    SourceStats,
    decode_line,
    open_binary,
    parse_timestamp,
    peekable,
    read_lines,
)

try:  # 3-4x faster than the stdlib on typical log records; optional
    import orjson

    _loads: Any = orjson.loads
    _JSONError: tuple[type[Exception], ...] = (orjson.JSONDecodeError,)
except ImportError:  # pragma: no cover - depends on the environment
    _loads = json.loads
    _JSONError = (ValueError,)

__all__ = ["FieldMap", "JsonLinesSource", "TextSource", "open_source"]

_JSON_SUFFIXES = frozenset({".jsonl", ".json", ".ndjson"})


# --- JSON Lines -------------------------------------------------------------------------------

_FieldSpec = str | tuple[str, ...]


@dataclass(frozen=True, slots=True)
class FieldMap:
    """Where each event field lives in a JSON record. Each entry is a key or a tuple of candidate
    keys (first present wins); a dotted key such as ``error.message`` is looked up literally and
    then as a path into nested objects. Keys that are not consumed end up in ``attributes``.

    The defaults accept the common spellings so most logs need no configuration.
    """

    timestamp: _FieldSpec = ("timestamp", "@timestamp", "time", "ts")
    message: _FieldSpec = ("message", "msg", "error.message")
    error_type: _FieldSpec = ("error_type", "error.kind", "error.type")
    service: _FieldSpec = ("service",)
    customer: _FieldSpec = ("customer", "tenant")
    host: _FieldSpec = ("host", "hostname")
    id: _FieldSpec = ("id",)
    stack: _FieldSpec = ("stack", "error.stack")

    @classmethod
    def from_mapping(cls, mapping: Mapping[str, str | Sequence[str]]) -> FieldMap:
        """Override some fields, e.g. ``{"message": "msg", "customer": ["tenant", "env"]}``
        (the config file's ``fields`` table); a bad field name is a ConfigError."""
        names = [f.name for f in fields(cls)]
        unknown = sorted(set(mapping) - set(names))
        if unknown:
            raise ConfigError(f"unknown field(s) {', '.join(unknown)} in the field map; known: {', '.join(names)}")
        overrides = {k: (v,) if isinstance(v, str) else tuple(v) for k, v in mapping.items()}
        if any(not keys or not all(keys) for keys in overrides.values()):
            raise ConfigError("empty key in the field map; give each field a JSON key such as 'msg' or 'error.message'")
        return replace(cls(), **overrides)

    @classmethod
    def from_spec(cls, spec: str) -> FieldMap:
        """Parse the CLI form ``"message=msg,customer=tenant|env"`` (``|`` separates candidates)."""
        mapping: dict[str, list[str]] = {}
        for item in filter(None, (part.strip() for part in spec.split(","))):
            name, sep, keys = item.partition("=")
            if not sep:
                raise ConfigError(f"bad field mapping {item!r}: expected FIELD=KEY, e.g. message=msg")
            mapping[name.strip()] = [k.strip() for k in keys.split("|")]
        return cls.from_mapping(mapping)

    def candidates(self, name: str) -> tuple[str, ...]:
        value = getattr(self, name)
        return (value,) if isinstance(value, str) else tuple(value)


_FIELD_ORDER = ("timestamp", "message", "error_type", "service", "customer", "host", "id", "stack")


# (literal key, dotted head, path) per candidate, plus every top-level key a candidate could use
_Candidates = tuple[tuple[tuple[str, str | None, list[str]], ...], frozenset[str]]


def _plan(candidates: tuple[str, ...]) -> tuple[str, _Candidates | None]:
    """Split a field's candidates into the key popped inline and the rest, precompiled."""
    first = candidates[0]
    rest = candidates if "." in first else candidates[1:]
    if not rest:
        return first, None
    items = tuple((k, k.partition(".")[0] if "." in k else None, k.split(".")) for k in rest)
    return first, (items, frozenset(k for literal, head, _ in items for k in (literal, head) if k))


def _take(record: dict[str, Any], candidates: _Candidates) -> Any:
    """Pop the first present candidate (literal key, then dotted path); None when none is."""
    items, keys = candidates
    if keys.isdisjoint(record):  # the common case (a field the records do not have): one C call
        return None
    for literal, head, path in items:
        value = record.pop(literal, None)
        if value is not None:
            return value
        if head is not None and type(record.get(head)) is dict:
            value = _pop_path(record, path)
            if value is not None:
                return value
    return None


def _pop_path(record: dict[str, Any], parts: list[str]) -> Any:
    """Pop ``a.b.c`` from nested objects, dropping containers the pop leaves empty."""
    parent: Any = record
    chain: list[tuple[dict[str, Any], str]] = []
    for part in parts[:-1]:
        child = parent.get(part) if isinstance(parent, dict) else None
        if not isinstance(child, dict):
            return None
        chain.append((parent, part))
        parent = child
    value = parent.pop(parts[-1], None)
    if value is not None:
        for container, part in reversed(chain):
            if container[part]:
                break
            del container[part]
    return value


def _text(value: Any) -> str:
    """A field value as text: strings as is, scalars via str(), structures as compact JSON."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    return str(value)


def _cut(event: ErrorEvent, stats: SourceStats) -> ErrorEvent:
    """An over-long JSON record keeps its fields, with message and stack cut to MAX_LINE_BYTES."""
    if len(event.message) > MAX_LINE_BYTES or len(event.stack) > MAX_LINE_BYTES:
        event.message = event.message[:MAX_LINE_BYTES]
        event.stack = event.stack[:MAX_LINE_BYTES]
    stats.truncated += 1
    return event


class JsonLinesSource:
    """One JSON object per line. A line that is not an object, has no message, or has a missing
    or unparseable timestamp is malformed (counted, location recorded, skipped)."""

    def __init__(
        self,
        spec: str | os.PathLike[str],
        fields: FieldMap | Mapping[str, str | Sequence[str]] | None = None,
        *,
        stream: BinaryIO | None = None,
    ) -> None:
        self._inputs = Inputs(spec, stream)
        self.name = self._inputs.name
        self.fields = fields if isinstance(fields, FieldMap) else FieldMap.from_mapping(fields or {})
        self.stats = SourceStats()

    def events(self) -> Iterator[ErrorEvent]:
        self.stats = stats = SourceStats()
        ids = EventIdDeriver()
        plan = [_plan(self.fields.candidates(name)) for name in _FIELD_ORDER]
        (k_ts, r_ts), (k_msg, r_msg), (k_type, r_type), (k_svc, r_svc) = plan[:4]
        (k_cust, r_cust), (k_host, r_host), (k_id, r_id), (k_stack, r_stack) = plan[4:]
        loads, json_errors, fromiso, utc, event = _loads, _JSONError, datetime.fromisoformat, UTC, ErrorEvent

        for prefix, handle in self._inputs.open_all():
            stats.files += 1
            lineno = 0
            for raw in read_lines(handle, stats, MAX_JSON_LINE_BYTES):
                lineno += 1
                oversized = len(raw) > MAX_LINE_BYTES
                try:
                    text = raw.decode("utf-8")
                except UnicodeDecodeError:
                    stats.decode_errors += 1
                    text = raw.decode("utf-8", "replace")
                try:
                    record = loads(text)
                except json_errors:
                    if not text.isspace():
                        stats.add_malformed(f"{prefix}{lineno}", "not JSON")
                    continue
                if type(record) is not dict:
                    stats.add_malformed(f"{prefix}{lineno}", "not a JSON object")
                    continue
                pop = record.pop

                message = pop(k_msg, None)
                if message is None and r_msg:
                    message = _take(record, r_msg)
                if type(message) is not str:
                    message = _text(message)
                if not message or message.isspace():
                    stats.add_malformed(f"{prefix}{lineno}", "no message")
                    continue

                stamp = pop(k_ts, None)
                if stamp is None and r_ts:
                    stamp = _take(record, r_ts)
                when: datetime | None
                if type(stamp) is str and len(stamp) >= 10 and stamp[4] == "-":
                    try:
                        when = fromiso(stamp)
                    except ValueError:
                        when = None
                    else:
                        if when.tzinfo is not utc:
                            when = when.replace(tzinfo=utc) if when.tzinfo is None else when.astimezone(utc)
                else:
                    when = parse_timestamp(stamp)
                if when is None:
                    reason = "no timestamp" if stamp is None else "bad timestamp"
                    stats.add_malformed(f"{prefix}{lineno}", reason)
                    continue

                # unrolled on purpose: this loop runs once per event
                error_type = pop(k_type, None)
                if error_type is None and r_type:
                    error_type = _take(record, r_type)
                if type(error_type) is not str:
                    error_type = _text(error_type)
                service = pop(k_svc, None)
                if service is None and r_svc:
                    service = _take(record, r_svc)
                if type(service) is not str:
                    service = _text(service)
                customer = pop(k_cust, None)
                if customer is None and r_cust:
                    customer = _take(record, r_cust)
                if type(customer) is not str:
                    customer = _text(customer)
                host = pop(k_host, None)
                if host is None and r_host:
                    host = _take(record, r_host)
                if type(host) is not str:
                    host = _text(host)
                stack = pop(k_stack, None)
                if stack is None and r_stack:
                    stack = _take(record, r_stack)
                event_id = pop(k_id, None)
                if event_id is None and r_id:
                    event_id = _take(record, r_id)
                if event_id is None or event_id == "":
                    event_id = ids.derive(when, customer, service, host, message)
                elif type(event_id) is not str:
                    event_id = _text(event_id)

                stats.events += 1
                # positional for speed: timestamp, message, error_type, service, customer, host, id, stack
                made = event(
                    when,
                    message,
                    error_type,
                    service,
                    customer,
                    host,
                    event_id,
                    stack if type(stack) is str else _text(stack),
                    record,
                )
                yield _cut(made, stats) if oversized else made
            stats.lines += lineno


# --- plain text: stack trace joining ---------------------------------------------------------

_PY_HEADER = "Traceback (most recent call last):"
_PY_CHAINED = re.compile(r"During handling of the above exception|The above exception was the direct cause")
_EXC_SUFFIX = r"(?:Error|Exception|Exit|Interrupt|Iteration|Warning|Throwable|Fault|Failure|Timeout)"
_EXCEPTION_LINE = re.compile(
    r'(?:Exception in thread "[^"]*"\s+|Caused by:\s+)?'
    rf"(?P<type>(?:[A-Za-z_$][\w$]*\.)*[A-Za-z_$]\w*{_EXC_SUFFIX})(?::\s|:?\s*$)"
)
_QUALIFIED_EXCEPTION = re.compile(rf"(?:[A-Za-z_$][\w$]*\.)+[A-Z]\w*{_EXC_SUFFIX}(?::\s|\s*$)")
_GO_LINE = re.compile(r"goroutine \d+ \[|\[signal |created by |exit status |[\w./*()\[\]{}-]+\(.*\)$")


def exception_type(line: str) -> str:
    """``KeyError: 'x'`` → ``KeyError``; ``java.lang.NullPointerException: ...`` → the class;
    ``panic: ...`` → ``panic``; anything else → ``""`` (no guessing from prose)."""
    if line.startswith("panic: "):
        return "panic"
    match = _EXCEPTION_LINE.match(line)
    return match["type"] if match else ""


@dataclass(slots=True)
class _Block:
    """One event being assembled: its first line and the continuation lines joined to it."""

    where: str
    when: datetime
    head: str
    level: str
    timestamped: bool
    lines: list[str]

    def render(self) -> tuple[str, str, str]:
        """(message, stack, exception line)."""
        head = self.head
        if not self.lines:
            return head, "", head if exception_type(head) else ""
        rows = [head, *self.lines] if head else self.lines
        exception = ""
        if any(row.startswith(_PY_HEADER) for row in rows):  # Python: the last unindented line
            for row in reversed(rows):
                if row and not row[0].isspace() and not row.startswith(_PY_HEADER):
                    exception = row.strip()
                    break
        else:  # Java / .NET / Go: the first line that names an exception
            exception = next((row.strip() for row in rows if exception_type(row.strip())), "")
        message = head
        if not head or head.startswith(_PY_HEADER):
            message = exception or next((r.strip() for r in self.lines if r.strip()), "")
        return message, "\n".join(rows), exception


class _StackJoiner:
    """Decides, line by line, whether a line continues the open event.

    Context a single-line test cannot see lives here: whether a trace is open (only then do
    ``Caused by:`` and merely indented lines join), the unindented exception line that ends a
    Python traceback, chained tracebacks separated by blank lines, an unindented Java/.NET
    exception line right under a timestamped log line, and Go's unindented function lines.
    """

    def __init__(self) -> None:
        self.block: _Block | None = None
        self._blanks = 0
        self._state = ""  # "py" (in a traceback), "py_end" (after its exception line), "py_chain", "go"
        self._trace = False  # a trace is open: a frame or trace header joined, or the event is an exception line

    def start(self, *, where: str, when: datetime, head: str, level: str, timestamped: bool) -> None:
        self.block = _Block(where, when, head, level, timestamped, [])
        self._blanks = 0
        self._state = "py" if head.startswith(_PY_HEADER) else "go" if head.startswith("panic: ") else ""
        self._trace = bool(self._state) or head.startswith("fatal error: ") or bool(exception_type(head))

    def accepts(self, line: str) -> bool:
        """Join ``line`` (which has no timestamp of its own) to the open event if it continues it."""
        block = self.block
        if block is None:
            return False
        if not line.strip():
            self._blanks += 1  # kept only if the trace goes on after it
            return True
        if not self._continues(line, block):
            return False
        self._trace = True  # whatever joined, the event is now a multi-line block
        block.lines.extend([""] * self._blanks)
        self._blanks = 0
        block.lines.append(line.rstrip())
        return True

    def _continues(self, line: str, block: _Block) -> bool:
        state = self._state
        if line.startswith(_PY_HEADER):
            if state == "py_end":
                return False  # a finished traceback not chained to this one: a new event
            self._state = "py"
            return True
        if state == "py":
            if not line[0].isspace():
                self._state = "py_end"  # the exception line ends this traceback
            return True
        if self._trace and _PY_CHAINED.match(line):
            self._state = "py_chain"
            return True
        if state == "go" and _GO_LINE.match(line):
            return True
        if line.startswith("goroutine ") and _GO_LINE.match(line):
            self._state = "go"
            return True
        if block.timestamped and _QUALIFIED_EXCEPTION.match(line):
            return True  # `java.lang.NullPointerException: ...` under `... ERROR Request failed`
        return is_continuation(line, in_trace=self._trace)

    def flush(self) -> _Block | None:
        block, self.block = self.block, None
        return block


# --- plain text -------------------------------------------------------------------------------

_LEVELS = "TRACE|DEBUG|INFO|NOTICE|WARN|WARNING|ERROR|ERR|SEVERE|CRITICAL|CRIT|FATAL|ALERT|EMERG|PANIC"
_TEXT_HEAD = re.compile(
    r"\[?(?P<ts>\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}:\d{2}(?:[.,]\d+)?(?:Z|[+-]\d{2}:?\d{2})?)(?: ?UTC)?\]?"
    r"(?:\s+|$)"
)
_LEVEL = re.compile(rf"\[?(?P<level>{_LEVELS})\]?:?(?:\s+|$)")


class TextSource:
    """One message per line, with an optional leading timestamp and level word (both stripped).

    A line without a timestamp takes the previous event's timestamp (the best estimate of when it
    was written), or ``default_time`` before any timestamp has been seen. Continuation lines of a
    stack trace are joined into the event they belong to: ``stack`` holds the whole block and
    ``message`` the line a person would want on a card (for a bare Python traceback that is the
    exception line at the end, otherwise the first line).
    """

    def __init__(
        self,
        spec: str | os.PathLike[str],
        *,
        default_time: datetime | None = None,
        stream: BinaryIO | None = None,
    ) -> None:
        self._inputs = Inputs(spec, stream)
        self.name = self._inputs.name
        self.default_time = default_time
        self.stats = SourceStats()

    def events(self) -> Iterator[ErrorEvent]:
        self.stats = stats = SourceStats()
        ids = EventIdDeriver()
        default = self.default_time or datetime.now(UTC)
        if default.tzinfo is None:
            default = default.replace(tzinfo=UTC)
        last_time = default.astimezone(UTC)
        for prefix, handle in self._inputs.open_all():
            stats.files += 1
            joiner = _StackJoiner()
            lineno = 0
            for raw in read_lines(handle, stats):
                lineno += 1
                line = decode_line(raw, stats).rstrip("\r\n")
                match = _TEXT_HEAD.match(line)
                stamp = parse_timestamp(match["ts"]) if match else None
                if stamp is None and joiner.accepts(line):
                    continue
                if (block := joiner.flush()) is not None:
                    yield from self._emit(block, ids, stats, default)
                if not line.strip():
                    continue
                body = line[match.end() :] if match and stamp else line
                if stamp is not None:
                    last_time = stamp
                level = _LEVEL.match(body)
                if level:
                    body = body[level.end() :]
                joiner.start(
                    where=f"{prefix}{lineno}",
                    when=last_time,
                    head=body.strip(),
                    level=level["level"] if level else "",
                    timestamped=stamp is not None,
                )
            if (block := joiner.flush()) is not None:
                yield from self._emit(block, ids, stats, default)
            stats.lines += lineno

    @staticmethod
    def _emit(block: _Block, ids: EventIdDeriver, stats: SourceStats, default: datetime) -> Iterator[ErrorEvent]:
        message, stack, exception = block.render()
        if not message:
            stats.add_malformed(block.where, "no message")
            return
        attributes: dict[str, Any] = {}
        if block.level:
            attributes["level"] = block.level
        if exception and exception != message:
            attributes["exception"] = exception
        stats.events += 1
        yield ErrorEvent(
            timestamp=block.when,
            message=message,
            error_type=exception_type(exception or message),
            # A line read before any timestamp is stamped with the run's time, which changes from run
            # to run; its id must not, or re-reading the same file would count it again.
            id=ids.derive(
                block.when if block.timestamped or block.when != default else _UNDATED, "", "", "", stack or message
            ),
            stack=stack,
            attributes=attributes,
        )


_UNDATED = datetime(1970, 1, 1, tzinfo=UTC)


# --- factory ----------------------------------------------------------------------------------


def _sniff_json(head: bytes) -> bool:
    """True when the first non-blank line starts with ``{``."""
    stripped = head.removeprefix(b"\xef\xbb\xbf").lstrip()
    return stripped[:1] == b"{"


def _first_bytes(inputs: Inputs, stream: BinaryIO | None) -> tuple[bytes, BinaryIO | None]:
    if inputs.spec == STDIN:
        buffered = peekable(stream if stream is not None else sys.stdin.buffer)
        peeked = buffered.peek(MAX_LINE_BYTES)
        if peeked[:2] == GZIP_MAGIC:  # inflate what is buffered; a partial stream is fine here
            try:
                peeked = zlib.decompressobj(wbits=31).decompress(peeked, MAX_LINE_BYTES)
            except zlib.error:
                peeked = b""
        return peeked, cast(BinaryIO, buffered)
    with open_binary(inputs.paths[0]) as handle:
        return handle.read(MAX_LINE_BYTES), None


def open_source(
    spec: str | os.PathLike[str],
    *,
    fields: FieldMap | Mapping[str, str | Sequence[str]] | None = None,
    default_time: datetime | None = None,
    stream: BinaryIO | None = None,
) -> JsonLinesSource | TextSource:
    """``jsonl:PATH`` / ``text:PATH`` force a format; a bare path, glob or ``-`` (stdin) is
    detected: ``.jsonl``/``.json``/``.ndjson`` (optionally ``.gz``) mean JSON Lines, anything
    else is sniffed (first non-blank line starts with ``{`` → JSON Lines, else text).

    ``fields`` is a FieldMap or the config file's mapping (``{"message": "msg"}``). ``stream``
    stands in for stdin when ``spec`` is ``-`` (tests, embedding). Raises SourceError when there
    is nothing to read, ConfigError for a bad field map.
    """
    text = os.fspath(spec)
    kind, _, rest = text.partition(":")
    if kind in ("jsonl", "json", "ndjson", "text") and rest:
        if kind == "text":
            return TextSource(rest, default_time=default_time, stream=stream)
        return JsonLinesSource(rest, fields, stream=stream)

    inputs = Inputs(text, stream)
    first = inputs.paths[0] if inputs.paths else None
    suffixes = [s.lower() for s in first.suffixes[-2:]] if first else []
    if suffixes and suffixes[-1] == ".gz":
        suffixes.pop()
    if suffixes and suffixes[-1] in _JSON_SUFFIXES:
        is_json = True
    else:
        head, buffered = _first_bytes(inputs, stream)
        stream = buffered if buffered is not None else stream
        is_json = _sniff_json(head)
    if is_json:
        return JsonLinesSource(text, fields, stream=stream)
    return TextSource(text, default_time=default_time, stream=stream)
