"""Ingest with two processes: a worker reads, parses and signs a large JSON Lines file while the
main process claims event ids and counts (see `Ingestor.consume_source`).

The worker runs the very code the single-process path runs (`JsonLinesSource.events`, then
`ChunkMaker`), in input order, so templates, keys, derived ids and source stats come out the same;
it sends compact chunks (indices and int arrays, not events) and, at the end, the source stats and
the grouper that signed. Everything the store sees is still written by the main process, inside
the caller's one ingest transaction.

Used only where it pays: a JSON Lines file (not stdin) of at least `MIN_BYTES`, the mined grouper,
and two or more CPUs. ``ERRORSIFT_PARALLEL_INGEST=0`` turns it off, ``=1`` forces it (tests).
"""

from __future__ import annotations

import contextlib
import gc
import logging
import multiprocessing
import os
import pickle
import traceback
from collections.abc import Callable, Iterator
from types import TracebackType
from typing import Any

from errorsift.ingest import Chunk, ChunkMaker, _batches
from errorsift.signatures.base import Grouper
from errorsift.signatures.mined import MinedGrouper
from errorsift.sources.base import SourceStats
from errorsift.sources.files import JsonLinesSource

MIN_BYTES = 16 * 1024 * 1024
CANNOT_SEND = (pickle.PicklingError, AttributeError, TypeError)  # what pickling the worker's inputs raises
log = logging.getLogger(__name__)
ENV = "ERRORSIFT_PARALLEL_INGEST"


def eligible(source: Any, grouper: Grouper) -> bool:
    flag = os.environ.get(ENV, "").strip()
    if flag == "0" or type(source) is not JsonLinesSource or not isinstance(grouper, MinedGrouper):
        return False
    paths = source._inputs.paths
    if not paths:  # stdin
        return False
    if flag == "1":
        return True
    if (os.cpu_count() or 1) < 2:
        return False
    try:
        size = sum(p.stat().st_size for p in paths)
    except OSError:
        return False
    return size >= MIN_BYTES


def _work(conn: Any, source: JsonLinesSource, maker: ChunkMaker, batch: int) -> None:
    """The worker's whole life: chunks out, `done` keys in, then stats and grouper out."""
    # Nothing here makes reference cycles worth collecting (parsed records, events, chunks), while
    # the collector's full passes over the grouper's caches cost ~30% of the worker's time.
    gc.disable()
    try:
        events = source.events()
        for events_batch in _batches(events, batch):
            while conn.poll():
                maker.mark_done(conn.recv())
            conn.send(("chunk", maker.chunk(events_batch)))
        conn.send(("end", source.stats, maker.grouper))
    except BaseException as exc:
        with contextlib.suppress(OSError):  # the main process has gone away: nobody to tell
            try:
                conn.send(("error", exc, traceback.format_exc()))
            except pickle.PicklingError:  # an error that cannot travel: say it in text
                conn.send(("error", RuntimeError(str(exc)), traceback.format_exc()))
    finally:
        conn.close()


class IngestWorker:
    def __init__(
        self,
        source: JsonLinesSource,
        grouper: Grouper,
        redact: Callable[[str], tuple[str, dict[str, int]]],
        namespace: str,
        aliases: dict[str, str],
        batch: int,
    ) -> None:
        ctx = multiprocessing.get_context("spawn")
        self._conn, child = ctx.Pipe(duplex=True)
        maker = ChunkMaker(grouper, redact, namespace, aliases, ship_all=False, micro_stamps=True, hash_ids=False)
        self._process = ctx.Process(target=_work, args=(child, source, maker, batch), name="errorsift-ingest")
        self._process.daemon = True
        try:
            self._process.start()  # pickles the source, grouper and redactor for the new process
        except BaseException:
            self._conn.close()
            raise
        finally:
            child.close()
        self.source_stats = SourceStats()
        self.grouper: Grouper = grouper

    def chunks(self) -> Iterator[Chunk]:
        conn = self._conn
        while True:
            try:
                kind, *payload = conn.recv()
            except EOFError:
                raise RuntimeError(f"the ingest worker died (exit code {self._process.exitcode})") from None
            if kind == "chunk":
                yield payload[0]
            elif kind == "end":
                self.source_stats, self.grouper = payload
                return
            else:
                exc, text = payload
                raise exc from RuntimeError(f"in the ingest worker:\n{text}")

    def mark_done(self, keys: list[str]) -> None:
        """Tell the worker which signatures need no more details (a hint: it only saves sending)."""
        # OSError: it has sent everything and closed its end; a dead worker shows in `chunks`
        with contextlib.suppress(OSError):
            self._conn.send(list(keys))

    def __enter__(self) -> IngestWorker:
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        self._conn.close()
        self._process.join(timeout=5 if kind is None else 0.5)
        if self._process.is_alive():
            self._process.terminate()
            self._process.join()
