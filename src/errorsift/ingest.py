"""Layer 1 at run time: events → redacted text → signatures → hourly counts, exactly once.

The hot path of a run. Each distinct redacted text is signed once (an exact-text cache in
front of the grouper); event ids are claimed in batches so re-reading the same events never
counts them twice; counts are aggregated in memory per (signature, customer, hour) and flushed
when the table grows, so memory follows the number of signatures, not events.
"""

from __future__ import annotations

import hashlib
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field

from errorsift.models import ErrorEvent, SignatureResult
from errorsift.signatures.base import Grouper
from errorsift.signatures.signer import Signer, grouped_text
from errorsift.store.store import SignatureInfo, StoreConn

BATCH = 20_000
FLUSH_AT = 200_000  # distinct (signature, customer, hour) cells held before a flush
SAMPLES = 5


def event_hash(namespace: str, event_id: str) -> int:
    """A signed 63-bit id for the seen-events table (cheap to index, collision odds negligible)."""
    digest = hashlib.blake2b(f"{namespace}\x00{event_id}".encode("utf-8", "replace"), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


@dataclass(slots=True)
class _Signed:
    """One batch after signing, waiting for its claim: the events and what was computed for each."""

    events: list[ErrorEvent]
    hours: list[int]
    ids: list[int]
    raws: list[str]
    results: list[SignatureResult]
    keys: list[str]


@dataclass(slots=True)
class IngestStats:
    raw_events: int = 0
    new_events: int = 0
    already_seen: int = 0
    signatures: set[str] = field(default_factory=set)
    redactions: Counter[str] = field(default_factory=Counter)


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
        self.grouper = grouper
        self.redact = redact
        self.namespace = namespace
        self.aliases = aliases
        self.stats = IngestStats()
        self.infos: dict[str, SignatureInfo] = {}
        self.signer = Signer(grouper, redact)
        self._counts: defaultdict[tuple[str, str, int], int] = defaultdict(int)  # C-level default

    def consume(self, events: Iterable[ErrorEvent]) -> None:
        """Batches flow through two stages: the database claims batch N's event ids on a helper
        thread (SQLite and psycopg release the GIL while they work) while this thread reads, hashes
        and signs batch N+1. Only one thread uses the connection at a time: a batch's claim is
        collected before the next is submitted, and before anything else touches the store."""
        pending: tuple[_Signed, Future[list[bool]]] | None = None
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="claims") as claims:
            try:
                for batch in _batches(events):
                    signed = self._sign_batch(batch)
                    if pending is not None:
                        self._count_batch(pending[0], pending[1].result())
                    pending = (signed, claims.submit(self.conn.claim_new_events, signed.ids, signed.hours))
                if pending is not None:
                    self._count_batch(pending[0], pending[1].result())
            finally:
                if pending is not None:
                    pending[1].cancel()
                    wait([pending[1]])  # never leave the connection busy on the way out

    def _sign_batch(self, batch: list[ErrorEvent]) -> _Signed:
        """Everything about a batch that does not depend on which of its events are new."""
        namespace, sign, aliases = self.namespace, self.signer.sign, self.aliases
        stats = self.stats
        redactions, signatures = stats.redactions, stats.signatures
        raws: list[str] = []
        results: list[SignatureResult] = []
        keys: list[str] = []
        for event in batch:
            raw = grouped_text(event.message, event.stack)
            result, found, _ = sign(raw)
            if found:
                redactions.update(found)
            key = result.key
            if key in aliases:
                key = resolve_key(aliases, key)
            signatures.add(key)
            raws.append(raw)
            results.append(result)
            keys.append(key)
        stats.raw_events += len(batch)
        return _Signed(
            batch,
            [int(e.timestamp.timestamp()) // 3600 for e in batch],
            [event_hash(namespace, e.id) for e in batch],
            raws,
            results,
            keys,
        )

    def _count_batch(self, signed: _Signed, fresh: list[bool]) -> None:
        stats = self.stats
        counts = self._counts
        infos = self.infos
        new_events = 0
        for event, hour, is_new, raw, result, key in zip(
            signed.events, signed.hours, fresh, signed.raws, signed.results, signed.keys, strict=True
        ):
            if not is_new:
                continue
            new_events += 1
            counts[(key, event.customer, hour)] += 1
            info = infos.get(key)
            if info is None:
                text = self.redact(raw)[0]
                infos[key] = SignatureInfo(
                    normalized=self.grouper.normalize(text),
                    template=result.template,
                    # Sources put anything in these fields; they are stored and sent, so redact them too.
                    error_type=self.redact(event.error_type)[0] if event.error_type else "",
                    service=self.redact(event.service)[0] if event.service else "",
                    strategy=result.strategy,
                    first_seen=event.timestamp,
                    last_seen=event.timestamp,
                    count=1,
                    samples=[text],
                )
                continue
            info.count += 1
            if event.timestamp < info.first_seen:
                info.first_seen = event.timestamp
            elif event.timestamp > info.last_seen:
                info.last_seen = event.timestamp
            if not info.error_type and event.error_type:
                info.error_type = self.redact(event.error_type)[0]
            if len(info.samples) < SAMPLES:
                text = self.redact(raw)[0]
                if text not in info.samples:
                    info.samples.append(text)
        stats.new_events += new_events
        stats.already_seen += len(signed.events) - new_events
        if len(counts) >= FLUSH_AT:
            self._flush_counts()

    def _flush_counts(self) -> None:
        self.conn.add_counts(self._counts)
        self._counts = defaultdict(int)

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


def _batches(events: Iterable[ErrorEvent]) -> Iterator[list[ErrorEvent]]:
    batch: list[ErrorEvent] = []
    for event in events:
        batch.append(event)
        if len(batch) >= BATCH:
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
