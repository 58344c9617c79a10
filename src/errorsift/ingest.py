"""Layer 1 at run time: events → redacted text → signatures → hourly counts, exactly once.

The hot path of a run. Each distinct redacted text is signed once (an exact-text cache in
front of the grouper); event ids are claimed in batches so re-reading the same events never
counts them twice; counts are aggregated in memory per (signature, customer, hour) and flushed
when the table grows, so memory follows the number of signatures, not events.
"""

from __future__ import annotations

import hashlib
import sys
from array import array
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from errorsift.models import ErrorEvent
from errorsift.signatures.base import Grouper
from errorsift.signatures.signer import Signer, grouped_text

if TYPE_CHECKING:  # the ingest worker imports this module: it never needs the store (or SQLAlchemy)
    from errorsift.store.store import SignatureInfo, StoreConn

BATCH = 20_000
FLUSH_AT = 200_000  # distinct (signature, customer, hour) cells held before a flush
SAMPLES = 5
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)


def event_hashes(namespace: str, event_ids: Iterable[str]) -> array[int]:
    """Signed 64-bit ids for the seen-events table (cheap to index, collision odds negligible): the
    first 8 bytes of blake2b over `namespace NUL id`, big-endian, hashed a batch at a time."""
    prefix, blake2b = f"{namespace}\x00", hashlib.blake2b
    digests = b"".join([blake2b(f"{prefix}{i}".encode("utf-8", "replace"), digest_size=8).digest() for i in event_ids])
    out = array("q", digests)
    if sys.byteorder == "little":
        out.byteswap()
    return out


@dataclass(slots=True)
class Chunk:
    """One batch after signing, waiting for its claim: compact, so a worker process can send it.

    Per event: the index of its signing (key, template, strategy) and of its customer (both
    tables grow chunk by chunk: ``results`` and ``customers`` hold this chunk's additions), its hour, id hash and time
    (a datetime in process, epoch microseconds from a worker), and its grouped text, error type and
    service, which are only read while its signature still lacks samples or an error type (a
    worker leaves them None once it has heard that they will not be read).
    """

    results: list[tuple[str, str, str]]
    customers: list[str]
    rix: Sequence[int]
    cix: Sequence[int]
    hours: Sequence[int]
    ids: Sequence[Any]  # hashes (ints), or the source ids from a worker until the main process hashes them
    stamps: Sequence[Any]
    raws: list[str | None]
    error_types: list[str | None]
    services: list[str | None]
    redactions: Counter[str]


@dataclass(slots=True)
class IngestStats:
    raw_events: int = 0
    new_events: int = 0
    already_seen: int = 0
    signatures: set[str] = field(default_factory=set)
    redactions: Counter[str] = field(default_factory=Counter)


class ChunkMaker:
    """Events → chunks, in input order: signing, id hashing and the result/customer tables.

    The one place events are signed, whether in this process or in the ingest worker, so both
    paths learn the same templates in the same order."""

    def __init__(
        self,
        grouper: Grouper,
        redact: Callable[[str], tuple[str, dict[str, int]]],
        namespace: str,
        aliases: dict[str, str],
        *,
        ship_all: bool = True,
        micro_stamps: bool = False,
        hash_ids: bool = True,
    ) -> None:
        self.grouper = grouper
        self.signer = Signer(grouper, redact)
        self.namespace = namespace
        self.aliases = aliases
        self.ship_all = ship_all  # in process, details cost nothing to pass along
        self.micro_stamps = micro_stamps
        self.hash_ids = hash_ids  # a worker leaves the hashing to the main process, which waits for it
        self._results: dict[tuple[str, str, str], int] = {}  # (key, template, strategy) -> index
        self._keys: list[str] = []  # result index -> resolved key
        self._customers: dict[str, int] = {}
        self._done_keys: set[str] = set()  # signatures whose details the counter no longer reads
        self._done: set[int] = set()

    def mark_done(self, keys: Iterable[str]) -> None:
        self._done_keys.update(keys)
        self._done = {i for i, key in enumerate(self._keys) if key in self._done_keys}

    def chunk(self, batch: list[ErrorEvent]) -> Chunk:
        namespace, sign, aliases = self.namespace, self.signer.sign, self.aliases
        result_ix, keys, customer_ix = self._results, self._keys, self._customers
        done, ship_all = self._done, self.ship_all
        redactions: Counter[str] = Counter()
        new_results: list[tuple[str, str, str]] = []
        new_customers: list[str] = []
        rix: list[int] = []
        cix: list[int] = []
        raws: list[str | None] = []
        error_types: list[str | None] = []
        services: list[str | None] = []
        for event in batch:
            raw = grouped_text(event.message, event.stack)
            result, found, _ = sign(raw)
            if found:
                redactions.update(found)
            # only what the counter reads: the table stays as small as the templates learned
            signing = (result.key, result.template, result.strategy)
            r = result_ix.get(signing)
            if r is None:
                r = result_ix[signing] = len(keys)
                new_results.append(signing)
                key = result.key
                if key in aliases:
                    key = resolve_key(aliases, key)
                keys.append(key)
                if key in self._done_keys:
                    done.add(r)
            rix.append(r)
            c = customer_ix.get(event.customer)
            if c is None:
                c = customer_ix[event.customer] = len(customer_ix)
                new_customers.append(event.customer)
            cix.append(c)
            if ship_all or r not in done:
                raws.append(raw)
                error_types.append(event.error_type)
                services.append(event.service)
            else:
                raws.append(None)
                error_types.append(None)
                services.append(None)
        stamps: Sequence[Any]
        if self.micro_stamps:
            micros = [(e.timestamp - _EPOCH) // _MICROSECOND for e in batch]
            stamps = array("q", micros)
            # what `int(timestamp.timestamp()) // 3600` gives: timestamp() is exactly micros / 10**6
            hours = array("q", [int(m / 1e6) // 3600 for m in micros])
        else:
            stamps = [e.timestamp for e in batch]
            hours = array("q", [int(e.timestamp.timestamp()) // 3600 for e in batch])
        return Chunk(
            new_results,
            new_customers,
            array("i", rix) if self.micro_stamps else rix,
            array("i", cix) if self.micro_stamps else cix,
            hours,
            event_hashes(namespace, [e.id for e in batch]) if self.hash_ids else [e.id for e in batch],
            stamps,
            raws,
            error_types,
            services,
            redactions,
        )


class Ingestor:
    """Signs and counts events inside one store transaction (the caller owns the transaction)."""

    def __init__(
        self,
        conn: StoreConn,
        grouper: Grouper,
        redact: Callable[[str], tuple[str, dict[str, int]]],
        namespace: str,
        aliases: dict[str, str],
    ) -> None:
        self.conn = conn
        self.grouper = grouper  # after `consume_source`, the grouper that signed (a worker's, sent back)
        self.redact = redact
        self.namespace = namespace
        self.aliases = aliases
        self.stats = IngestStats()
        self.infos: dict[str, SignatureInfo] = {}
        self._counts: defaultdict[tuple[str, str, int], int] = defaultdict(int)  # C-level default
        self._results: list[tuple[str, str, str]] = []  # (key, template, strategy) per index
        self._keys: list[str] = []
        self._customers: list[str] = []
        self._writer: ThreadPoolExecutor | None = None
        self._flushes: list[Future[None]] = []
        self._done: list[str] = []  # keys whose details are no longer read, not yet told to the maker

    def consume(self, events: Iterable[ErrorEvent]) -> None:
        """Sign and count events in this process."""
        maker = ChunkMaker(self.grouper, self.redact, self.namespace, self.aliases)
        self._consume(maker.chunk(batch) for batch in _batches(events))

    def consume_source(self, source: Any) -> None:
        """Like `consume(source.events())`, but a large JSON Lines file is read, parsed and signed by
        a worker process (see `errorsift.parallel`) while this one claims and counts."""
        from errorsift import parallel

        if not parallel.eligible(source, self.grouper):
            self.consume(source.events())
            return
        try:
            worker = parallel.IngestWorker(source, self.grouper, self.redact, self.namespace, self.aliases, BATCH)
        except parallel.CANNOT_SEND as exc:  # e.g. a redactor defined in a closure: sign here instead
            parallel.log.debug("ingest stays in one process: %s", exc)
            self.consume(source.events())
            return
        with worker:
            self._consume(worker.chunks(), worker.mark_done)
            source.stats = worker.source_stats
            self.grouper = worker.grouper

    def _consume(self, chunks: Iterable[Chunk], tell_done: Callable[[list[str]], None] | None = None) -> None:
        """Chunks flow through two stages: the database claims chunk N's event ids (and writes
        the hourly cells a full table flushes) on a helper thread (SQLite and psycopg release the
        GIL while they work) while this thread reads, hashes and signs chunk N+1 (or receives it
        from the worker). Only one thread uses the connection at a time: everything that touches
        it goes through the one-thread executor, and all of it is collected before returning."""
        pending: tuple[Chunk, Future[list[bool]]] | None = None
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="claims") as claims:
            self._writer = claims
            try:
                for chunk in chunks:
                    self._add_tables(chunk)
                    if pending is not None:
                        self._count_batch(pending[0], pending[1].result())
                        if tell_done is not None and self._done:
                            tell_done(self._done)
                        self._done = []
                    pending = (chunk, claims.submit(self.conn.claim_new_events, chunk.ids, chunk.hours))
                if pending is not None:
                    self._count_batch(pending[0], pending[1].result())
                for flush in self._flushes:
                    flush.result()
            finally:
                self._writer = None
                if pending is not None:
                    pending[1].cancel()
                    wait([pending[1]])  # never leave the connection busy on the way out
                wait(self._flushes)
                self._flushes = []

    def _add_tables(self, chunk: Chunk) -> None:
        stats = self.stats
        aliases = self.aliases
        for result in chunk.results:
            key = result[0]
            if key in aliases:
                key = resolve_key(aliases, key)
            self._results.append(result)
            self._keys.append(key)
            stats.signatures.add(key)
        self._customers += chunk.customers
        if not isinstance(chunk.ids, array):  # the source's ids, from a worker
            chunk.ids = event_hashes(self.namespace, chunk.ids)
        if chunk.redactions:
            stats.redactions.update(chunk.redactions)
        stats.raw_events += len(chunk.ids)

    def _count_batch(self, chunk: Chunk, fresh: list[bool]) -> None:
        stats = self.stats
        counts = self._counts
        infos = self.infos
        results, keys, customers = self._results, self._keys, self._customers
        redact = self.redact
        from errorsift.store.store import SignatureInfo as signature_info  # see the imports

        new_events = 0
        for i, (r, c, hour, stamp, is_new) in enumerate(
            zip(chunk.rix, chunk.cix, chunk.hours, chunk.stamps, fresh, strict=True)
        ):
            if not is_new:
                continue
            new_events += 1
            key = keys[r]
            counts[(key, customers[c], hour)] += 1
            info = infos.get(key)
            if info is None:
                raw, error_type, service = chunk.raws[i], chunk.error_types[i], chunk.services[i]
                assert raw is not None and error_type is not None and service is not None
                _, template, strategy = results[r]
                text = redact(raw)[0]
                infos[key] = info = signature_info(
                    normalized=self.grouper.normalize(text),
                    template=template,
                    # Sources put anything in these fields; they are stored and sent, so redact them too.
                    error_type=redact(error_type)[0] if error_type else "",
                    service=redact(service)[0] if service else "",
                    strategy=strategy,
                    first_seen=stamp,
                    last_seen=stamp,
                    count=1,
                    samples=[text],
                )
                if info.error_type and len(info.samples) >= SAMPLES:
                    self._done.append(key)
                continue
            info.count += 1
            if stamp < info.first_seen:
                info.first_seen = stamp
            elif stamp > info.last_seen:
                info.last_seen = stamp
            if info.error_type and len(info.samples) >= SAMPLES:
                continue
            if not info.error_type:
                error_type = chunk.error_types[i]
                assert error_type is not None
                if error_type:
                    info.error_type = redact(error_type)[0]
            if len(info.samples) < SAMPLES:
                raw = chunk.raws[i]
                assert raw is not None
                text = redact(raw)[0]
                if text not in info.samples:
                    info.samples.append(text)
            if info.error_type and len(info.samples) >= SAMPLES:
                self._done.append(key)
        stats.new_events += new_events
        stats.already_seen += len(chunk.ids) - new_events
        if len(counts) >= FLUSH_AT:
            self._flush_counts()

    def _flush_counts(self) -> None:
        counts, self._counts = self._counts, defaultdict(int)
        if self._writer is not None:  # during `_consume`: written on the helper thread, in order
            self._flushes.append(self._writer.submit(self.conn.add_counts, counts))
        else:
            self.conn.add_counts(counts)

    def signature_count(self, new_aliases: dict[str, str]) -> int:
        """Distinct signatures among this run's events, after the run's generalizations and merges."""
        table = {**new_aliases, **self.aliases}
        return len({resolve_key(table, key) for key in self.stats.signatures})

    def finish(self, new_aliases: dict[str, str]) -> None:
        """Write signatures and counts; fold keys the grouper generalized away into their survivors."""
        self._flush_counts()
        table = {**new_aliases, **self.aliases}
        current = getattr(self.grouper, "template", None)  # the template as it stands after this run
        merged: dict[str, SignatureInfo] = {}
        for key, info in self.infos.items():
            if isinstance(info.first_seen, int):  # epoch microseconds, from a worker
                info.first_seen = _EPOCH + timedelta(microseconds=info.first_seen)
                info.last_seen = _EPOCH + timedelta(microseconds=info.last_seen)
            target = resolve_key(table, key)
            into = merged.get(target)
            if into is None:
                merged[target] = info
                if callable(current):
                    info.template = current(target) or info.template
                continue
            into.count += info.count
            into.first_seen = min(into.first_seen, info.first_seen)
            into.last_seen = max(into.last_seen, info.last_seen)
            into.samples += [s for s in info.samples if s not in into.samples]
            del into.samples[SAMPLES:]
        self.conn.upsert_signatures(merged)
        for alias in new_aliases:
            self.conn.add_alias(alias, resolve_key(table, alias), "generalized")


def _batches(events: Iterable[ErrorEvent], size: int = 0) -> Iterator[list[ErrorEvent]]:
    size = size or BATCH
    batch: list[ErrorEvent] = []
    for event in events:
        batch.append(event)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


def resolve_key(aliases: dict[str, str], key: str) -> str:
    """Follow alias links to the surviving key (cycle-safe)."""
    seen = {key}
    while key in aliases:
        key = aliases[key]
        if key in seen:
            break
        seen.add(key)
    return key
