"""JSON Lines on two cores: worker processes parse chunks while the main process counts.

Why: a run is CPU-bound in Python, and parsing plus shaping a line costs about as much as
everything else the main process does with it. The main process reads raw lines (so truncation
and line numbers stay exact), ships chunks to a worker pool, and gets back compact rows, in input
order (the template miner must see the same order as a sequential run). Ids the input lacks are
derived here, in order, exactly as the sequential reader would, so both readers give the same ids.

Unknown keys (attributes) are not carried across: the pipeline does not use them.
"""

from __future__ import annotations

import io
import multiprocessing
import os
from collections import deque
from collections.abc import Iterator, Mapping, Sequence
from datetime import UTC, datetime
from multiprocessing.pool import AsyncResult
from typing import Any

import orjson

from errorsift.models import ErrorEvent
from errorsift.signatures.signer import grouped_text, message_shape
from errorsift.sources.base import MAX_RECORDED_LINES, EventIdDeriver, Inputs, SourceStats, read_lines
from errorsift.sources.files import FieldMap, JsonLinesSource

CHUNK_LINES = 5_000
IN_FLIGHT = 4  # chunks queued per worker: bounds memory whatever the file size
MIN_PARALLEL_BYTES = 16 << 20  # below this, starting workers costs more than it saves


def parse_chunk(args: tuple[dict[str, Any], bytes]) -> bytes:
    """Worker: one chunk of raw lines → orjson rows + the chunk's malformed/decoding counts."""
    fields, payload = args
    source = JsonLinesSource("-", FieldMap.from_mapping(fields), stream=io.BytesIO(payload), derive_ids=False)
    rows = [
        (
            e.timestamp.timestamp(),
            e.message,
            e.error_type,
            e.service,
            e.customer,
            e.host,
            e.id,
            e.stack,
            message_shape(grouped_text(e.message, e.stack)),
        )
        for e in source.events()
    ]
    st = source.stats
    return orjson.dumps([rows, st.malformed, st.malformed_lines, st.malformed_reasons, st.decode_errors])


class ParallelJsonLinesSource:
    """A JSON Lines source whose parsing runs in `workers` processes; same events, same order."""

    def __init__(
        self,
        spec: str | os.PathLike[str],
        fields: FieldMap | Mapping[str, str | Sequence[str]] | None = None,
        *,
        workers: int = 1,
    ) -> None:
        self._inputs = Inputs(spec, None)
        self.name = self._inputs.name
        fieldmap = fields if isinstance(fields, FieldMap) else FieldMap.from_mapping(fields or {})
        self._fields = {name: list(fieldmap.candidates(name)) for name in FIELD_NAMES}
        self.workers = max(1, workers)
        self.stats = SourceStats()

    def _chunks(self) -> Iterator[tuple[str, int, bytes]]:
        """(file prefix, first line number, payload) with every line newline-terminated."""
        stats = self.stats
        for prefix, handle in self._inputs.open_all():
            stats.files += 1
            lines: list[bytes] = []
            first = lineno = 1
            for raw in read_lines(handle, stats):
                lines.append(raw if raw.endswith(b"\n") else raw + b"\n")
                lineno += 1
                if len(lines) >= CHUNK_LINES:
                    yield prefix, first, b"".join(lines)
                    lines, first = [], lineno
            if lines:
                yield prefix, first, b"".join(lines)
            stats.lines += lineno - 1

    def events(self) -> Iterator[ErrorEvent]:
        self.stats = SourceStats()
        ids = EventIdDeriver()
        ctx = multiprocessing.get_context("spawn")  # no fork of a process holding a DB connection
        with ctx.Pool(self.workers) as pool:
            pending: deque[tuple[str, int, AsyncResult[bytes]]] = deque()
            for prefix, first, payload in self._chunks():
                pending.append((prefix, first, pool.apply_async(parse_chunk, ((self._fields, payload),))))
                if len(pending) >= IN_FLIGHT * self.workers:
                    yield from self._collect(pending.popleft(), ids)
            while pending:
                yield from self._collect(pending.popleft(), ids)

    def _collect(self, item: tuple[str, int, AsyncResult[bytes]], ids: EventIdDeriver) -> Iterator[ErrorEvent]:
        prefix, first, result = item
        rows, malformed, where, reasons, decode_errors = orjson.loads(result.get())
        stats = self.stats
        stats.decode_errors += decode_errors
        stats.malformed += malformed
        for line in where:
            if len(stats.malformed_lines) < MAX_RECORDED_LINES:
                stats.malformed_lines.append(f"{prefix}{int(line) + first - 1}")
        for reason, n in reasons.items():
            stats.malformed_reasons[reason] = stats.malformed_reasons.get(reason, 0) + n
        fromts, utc = datetime.fromtimestamp, UTC
        for ts, message, error_type, service, customer, host, event_id, stack, shape in rows:
            when = fromts(ts, utc)
            if not event_id:
                event_id = ids.derive(when, customer, service, host, message)
            stats.events += 1
            yield ErrorEvent(when, message, error_type, service, customer, host, event_id, stack, {}, shape)


FIELD_NAMES = ("timestamp", "message", "error_type", "service", "customer", "host", "id", "stack")


def parallel_workers(paths: Sequence[os.PathLike[str] | str]) -> int:
    """How many parse workers a file set deserves: none for small inputs or a single core."""
    cpus = os.cpu_count() or 1
    if cpus < 2:
        return 0
    try:
        size = sum(os.path.getsize(p) for p in paths)
    except OSError:
        return 0
    return min(cpus - 1, 3) if size >= MIN_PARALLEL_BYTES else 0
