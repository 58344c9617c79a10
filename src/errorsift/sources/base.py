"""The source seam: anything that yields `ErrorEvent`s, plus the plumbing every source shares.

A source is deliberately tiny (a name, an iterator, and the counters it fills while iterating) so
the pipeline can pull from files, stdin, Datadog or an in-memory fake without knowing which.
Shared here rather than per source, because every source must agree on them:

* inputs are bytes read line by line (files, globs, gzip, stdin), cut at 64 KiB and decoded
  leniently, with every cut and replacement counted in the stats;
* timestamps always become timezone-aware UTC (anomaly windows are computed in UTC days);
* events without a source id get a *derived* id that is stable across re-reads, so ingesting the
  same input twice never double counts, while identical repeated lines still count separately.
"""

from __future__ import annotations

import glob
import gzip
import hashlib
import io
import os
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, BinaryIO, Protocol, cast, runtime_checkable

from errorsift.errors import SourceError  # re-exported: sources raise it, the CLI catches it
from errorsift.models import ErrorEvent

__all__ = [
    "GZIP_MAGIC",
    "MAX_LINE_BYTES",
    "MAX_RECORDED_LINES",
    "STDIN",
    "EventIdDeriver",
    "Inputs",
    "Source",
    "SourceError",
    "SourceStats",
    "decode_line",
    "open_binary",
    "parse_timestamp",
    "peekable",
    "read_lines",
    "resolve_paths",
]

MAX_LINE_BYTES = 65536  # longer lines are cut here: one runaway log line must not blow up memory
# A JSON object cut in the middle cannot be parsed, so JSON Lines records are read whole up to this
# size and their message and stack are cut to MAX_LINE_BYTES instead (counted as truncated).
MAX_JSON_LINE_BYTES = 1 << 20
MAX_RECORDED_LINES = 5  # how many malformed line numbers to keep for the error message


@dataclass(slots=True)
class SourceStats:
    """What a source saw while iterating, so a run can say how much input it dropped and why.

    Bad input is counted, never fatal: one corrupt line in a million should not stop triage, but
    it must be visible. ``malformed_lines`` keeps the first few locations (``"12"``, or
    ``"app.jsonl:12"`` when several files are read) so a person can go and look.
    """

    files: int = 0
    lines: int = 0
    events: int = 0
    malformed: int = 0
    malformed_lines: list[str] = field(default_factory=list)
    malformed_reasons: dict[str, int] = field(default_factory=dict)
    truncated: int = 0  # lines longer than MAX_LINE_BYTES, cut to that length
    decode_errors: int = 0  # lines with bytes that are not UTF-8, replaced by U+FFFD

    def add_malformed(self, where: str, reason: str) -> None:
        self.malformed += 1
        if len(self.malformed_lines) < MAX_RECORDED_LINES:
            self.malformed_lines.append(where)
        self.malformed_reasons[reason] = self.malformed_reasons.get(reason, 0) + 1

    def summary(self) -> str:
        """One line for the run log, e.g. ``1000 lines, 998 events, 2 malformed (first: 4, 9)``."""
        parts = [f"{self.lines} lines", f"{self.events} events"]
        if self.malformed:
            parts.append(f"{self.malformed} malformed (first: {', '.join(self.malformed_lines)})")
        if self.truncated:
            parts.append(f"{self.truncated} truncated")
        if self.decode_errors:
            parts.append(f"{self.decode_errors} with invalid UTF-8")
        return ", ".join(parts)


@runtime_checkable
class Source(Protocol):
    """Yields events in input order. ``stats`` is reset at the start of each ``events()`` call and
    is complete once the iterator is exhausted."""

    name: str
    stats: SourceStats

    def events(self) -> Iterator[ErrorEvent]: ...


# --- inputs (files, globs, gzip, stdin) ------------------------------------------------------

STDIN = "-"
GZIP_MAGIC = b"\x1f\x8b"


def resolve_paths(spec: str | os.PathLike[str]) -> list[Path]:
    """A path or a glob → its files, sorted; nothing to read is a SourceError, said in one line."""
    text = os.fspath(spec)
    path = Path(text).expanduser()
    if path.is_file():
        return [path]
    if path.is_dir():
        raise SourceError(f"{text} is a directory; pass a file or a glob such as '{text}/*.jsonl'")
    if glob.has_magic(text):
        matches = sorted(Path(p) for p in glob.glob(os.path.expanduser(text), recursive=True))
        files = [p for p in matches if p.is_file()]
        if not files:
            raise SourceError(f"no files match {text!r}")
        return files
    raise SourceError(f"no such file: {text}")


def open_binary(path: Path) -> BinaryIO:
    """Open a file for reading bytes, gunzipping transparently (by content, so ``app.log.1`` that
    logrotate compressed is read as well as ``app.jsonl.gz``)."""
    handle = path.open("rb")
    if handle.peek(2)[:2] == GZIP_MAGIC:
        return cast(BinaryIO, gzip.GzipFile(fileobj=handle, mode="rb"))
    return handle


def peekable(stream: BinaryIO) -> io.BufferedReader:
    """Give any binary stream ``peek``, to sniff gzip / JSON without consuming input."""
    if isinstance(stream, io.BufferedReader):
        return stream
    return io.BufferedReader(cast(Any, stream), buffer_size=MAX_LINE_BYTES)


class Inputs:
    """The files (or the stream standing in for stdin) behind one source, opened in order.

    Paths are resolved at construction so a wrong path fails before any work starts.
    """

    def __init__(self, spec: str | os.PathLike[str], stream: BinaryIO | None = None) -> None:
        self.spec = os.fspath(spec)
        self._stream = stream
        self.paths: list[Path] = [] if self.spec == STDIN else resolve_paths(self.spec)

    @property
    def name(self) -> str:
        return "<stdin>" if self.spec == STDIN else self.spec

    def open_all(self) -> Iterator[tuple[str, BinaryIO]]:
        """Yield (location prefix, handle); the prefix is ``"path:"`` only when several files
        are read, so single-file line numbers stay plain."""
        if self.spec == STDIN:
            buffered = peekable(self._stream if self._stream is not None else sys.stdin.buffer)
            if buffered.peek(2)[:2] == GZIP_MAGIC:
                yield "", cast(BinaryIO, gzip.GzipFile(fileobj=buffered, mode="rb"))
            else:
                yield "", cast(BinaryIO, buffered)
            return
        several = len(self.paths) > 1
        for path in self.paths:
            with open_binary(path) as handle:
                yield (f"{path}:" if several else ""), handle


# --- lines ------------------------------------------------------------------------------------


def read_lines(handle: BinaryIO, stats: SourceStats, max_bytes: int = MAX_LINE_BYTES) -> Iterator[bytes]:
    """Lines of a byte stream, streamed. A line over `max_bytes` is cut on a UTF-8 character
    boundary and the rest of it skipped (counted in ``stats.truncated``), so one runaway line
    costs at most that much memory (64 KiB by default)."""
    readline = handle.readline
    limit = max_bytes + 1
    while raw := readline(limit):
        if len(raw) == limit and raw[-1] != 10:
            while (rest := readline(limit)) and rest[-1] != 10:
                pass
            stats.truncated += 1
            cut = max_bytes
            while cut > 0 and raw[cut] & 0xC0 == 0x80:  # never split a multi-byte character
                cut -= 1
            raw = raw[:cut]
        yield raw


def decode_line(raw: bytes, stats: SourceStats) -> str:
    """UTF-8 with invalid bytes replaced by U+FFFD and counted: logs are not always clean."""
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        stats.decode_errors += 1
        return raw.decode("utf-8", "replace")


# --- timestamps -------------------------------------------------------------------------------

_EPOCH_MS_ABOVE = 1e11  # 1e11 s is the year 5138, 1e11 ms is 1973: larger numbers are milliseconds
_EPOCH_US_ABOVE = 1e14
_EPOCH_NS_ABOVE = 1e17


def _from_epoch(value: float) -> datetime:
    magnitude = abs(value)
    if magnitude > _EPOCH_NS_ABOVE:
        value /= 1e9
    elif magnitude > _EPOCH_US_ABOVE:
        value /= 1e6
    elif magnitude > _EPOCH_MS_ABOVE:
        value /= 1e3
    return datetime.fromtimestamp(value, UTC)


def parse_timestamp(value: object) -> datetime | None:
    """ISO 8601 text (``Z``/offset; naive means UTC; ``,`` before fractions allowed) or epoch
    seconds / milliseconds / micro- / nanoseconds (numbers or digit strings) → aware UTC.

    Returns None instead of raising: the caller decides whether that makes the record malformed.
    """
    try:
        if isinstance(value, str):
            text = value.strip()
            if not text:
                return None
            if text[0].isdigit() and len(text) >= 10 and text[4] == "-":
                dt = datetime.fromisoformat(text)  # 3.11 takes Z, offsets, "," fractions, 9 digits
            else:
                return _from_epoch(float(text))
        elif isinstance(value, int | float) and not isinstance(value, bool):
            return _from_epoch(float(value))
        else:
            return None
    except (ValueError, OverflowError, OSError):
        return None
    if dt.tzinfo is None:
        return dt.replace(tzinfo=UTC)
    return dt if dt.tzinfo is UTC else dt.astimezone(UTC)


# --- derived ids ------------------------------------------------------------------------------


class EventIdDeriver:
    """Stable ids for events whose source has none: blake2b over (timestamp, customer, service,
    host, message), plus ``.N`` for the N-th exact duplicate within one input.

    Duplicates are tracked in two bounded generations of ``window`` keys each, so memory stays
    flat on any input size. Exact duplicates share a timestamp and therefore sit close together
    in any time-ordered log; a duplicate more than ``window`` distinct events away from its twin
    would reuse the twin's id (a documented limit, not a silent miscount in practice).
    """

    __slots__ = ("_current", "_previous", "_window")

    def __init__(self, window: int = 32_768) -> None:
        self._window = window
        self._current: dict[str, int] = {}
        self._previous: dict[str, int] = {}

    def derive(self, timestamp: datetime, customer: str, service: str, host: str, message: str) -> str:
        payload = f"{timestamp.isoformat()}\x1f{customer}\x1f{service}\x1f{host}\x1f{message}"
        base = hashlib.blake2b(payload.encode("utf-8", "surrogatepass"), digest_size=10).hexdigest()
        current = self._current
        seen = current.get(base)
        if seen is None:
            seen = self._previous.get(base, 0)
            if len(current) >= self._window:
                self._previous = current
                current = self._current = {}
        current[base] = seen + 1
        return base if seen == 0 else f"{base}.{seen}"
