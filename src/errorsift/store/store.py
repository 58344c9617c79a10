"""The only place SQL lives. `Store` owns the engine; `StoreConn` runs queries on one connection.

Writes happen inside `Store.begin()` (one transaction); a run's ingest is one such transaction,
so a run killed midway leaves nothing half-counted.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import orjson
from sqlalchemy import Connection, and_, delete, func, insert, select, text, update
from sqlalchemy.dialects import postgresql, sqlite

from errorsift.store import schema as t
from errorsift.store.db import database_url, make_engine, migrate

MAX_SAMPLES = 5
_CHUNK = 900  # stays under every SQLite build's bound-parameter limit


def _now() -> datetime:
    return datetime.now(UTC)


def _chunks(items: Sequence[Any], size: int = _CHUNK) -> Iterator[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


@dataclass(slots=True)
class SignatureInfo:
    """What one run learned about a signature, merged into its stored row."""

    normalized: str
    template: str
    error_type: str
    service: str
    strategy: str
    first_seen: datetime
    last_seen: datetime
    count: int = 0
    samples: list[str] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class CachedAnalysis:
    analysis: dict[str, Any]
    analyzer: str
    created_at: datetime
    prompt: str


class StoreConn:
    """Queries on one connection (inside or outside a transaction)."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn
        self.dialect = conn.dialect.name

    def _insert(self, table: Any) -> Any:
        """A dialect insert that supports ON CONFLICT (SQLite and PostgreSQL alike)."""
        return (postgresql.insert if self.dialect == "postgresql" else sqlite.insert)(table)

    # --- events and counts -------------------------------------------------------------------

    def claim_new_events(self, ids: Sequence[int], hours: Sequence[int]) -> list[bool]:
        """Record event ids; return, per input, whether it is new (not seen before, not repeated here).

        This is what makes re-ingesting the same events count them once. One statement per batch
        inserts the ids that are not there yet and returns exactly those (`ON CONFLICT DO NOTHING
        RETURNING`), in key order so the B-tree is touched page by page, not at random.
        """
        rows = sorted({i: h for i, h in zip(ids, hours, strict=True)}.items())
        if self.dialect == "sqlite":
            result = self.conn.exec_driver_sql(
                "INSERT INTO seen_events (id, hour) SELECT json_extract(value, '$[0]'), json_extract(value, '$[1]')"
                " FROM json_each(?) WHERE true ON CONFLICT (id) DO NOTHING RETURNING id",
                (orjson.dumps(rows).decode(),),
            )
        else:
            result = self.conn.execute(
                text(
                    "INSERT INTO seen_events (id, hour) SELECT * FROM unnest(CAST(:ids AS bigint[]),"
                    " CAST(:hours AS integer[])) ON CONFLICT (id) DO NOTHING RETURNING id"
                ),
                {"ids": [i for i, _ in rows], "hours": [h for _, h in rows]},
            )
        new = {r[0] for r in result}
        fresh: list[bool] = []
        for event_id in ids:
            if event_id in new:
                new.discard(event_id)  # a repeat later in this batch is not new
                fresh.append(True)
            else:
                fresh.append(False)
        return fresh

    def add_counts(self, counts: Mapping[tuple[str, str, int], int]) -> None:
        """Increment hourly counts per (signature, customer, epoch hour)."""
        if not counts:
            return
        if self.dialect == "sqlite":  # the hot path: plain driver executemany, no per-row compile
            self.conn.exec_driver_sql(
                "INSERT INTO hourly_counts (signature, customer, hour, count) VALUES (?, ?, ?, ?) "
                "ON CONFLICT (signature, customer, hour) DO UPDATE SET count = count + excluded.count",
                [(s, c, h, n) for (s, c, h), n in counts.items()],
            )
            return
        stmt = self._insert(t.hourly_counts)
        stmt = stmt.on_conflict_do_update(
            index_elements=["signature", "customer", "hour"],
            set_={"count": t.hourly_counts.c.count + stmt.excluded.count},
        )
        rows = [{"signature": s, "customer": c, "hour": h, "count": n} for (s, c, h), n in counts.items()]
        for chunk in _chunks(rows, 5000):
            self.conn.execute(stmt, list(chunk))

    def upsert_signatures(self, infos: Mapping[str, SignatureInfo]) -> None:
        if not infos:
            return
        existing = self.signature_rows(list(infos))
        for key, info in infos.items():
            row = existing.get(key)
            if row is None:
                self.conn.execute(
                    insert(t.signatures).values(
                        key=key,
                        normalized=info.normalized,
                        template=info.template,
                        error_type=info.error_type,
                        service=info.service,
                        strategy=info.strategy,
                        first_seen=info.first_seen,
                        last_seen=info.last_seen,
                        total=info.count,
                        samples=info.samples[:MAX_SAMPLES],
                    )
                )
                continue
            samples = list(row["samples"])
            samples += [s for s in info.samples if s not in samples]
            self.conn.execute(
                update(t.signatures)
                .where(t.signatures.c.key == key)
                .values(
                    template=info.template or row["template"],
                    error_type=row["error_type"] or info.error_type,
                    service=row["service"] or info.service,
                    first_seen=min(row["first_seen"], info.first_seen),
                    last_seen=max(row["last_seen"], info.last_seen),
                    total=row["total"] + info.count,
                    samples=samples[:MAX_SAMPLES],
                )
            )

    def signature_rows(self, keys: Sequence[str] | None = None) -> dict[str, dict[str, Any]]:
        query = select(t.signatures)
        out: dict[str, dict[str, Any]] = {}
        if keys is None:
            return {r.key: dict(r._mapping) for r in self.conn.execute(query)}
        for chunk in _chunks(list(keys)):
            for r in self.conn.execute(query.where(t.signatures.c.key.in_(chunk))):
                out[r.key] = dict(r._mapping)
        return out

    def window_counts(self, start_hour: int, end_hour: int) -> dict[str, dict[str, int]]:
        """Occurrences per signature and customer for hours in [start_hour, end_hour)."""
        c = t.hourly_counts.c
        query = (
            select(c.signature, c.customer, func.sum(c.count))
            .where(and_(c.hour >= start_hour, c.hour < end_hour))
            .group_by(c.signature, c.customer)
        )
        out: dict[str, dict[str, int]] = defaultdict(dict)
        for sig, customer, n in self.conn.execute(query):
            out[sig][customer] = int(n)
        return dict(out)

    def daily_counts(self, start_hour: int, end_hour: int) -> dict[str, dict[int, dict[str, int]]]:
        """Per signature, per 24-hour slice index from start_hour, occurrences per customer."""
        c = t.hourly_counts.c
        day = ((c.hour - start_hour) // 24).label("day")
        query = (
            select(c.signature, day, c.customer, func.sum(c.count))
            .where(and_(c.hour >= start_hour, c.hour < end_hour))
            .group_by(c.signature, day, c.customer)
        )
        out: dict[str, dict[int, dict[str, int]]] = defaultdict(lambda: defaultdict(dict))
        for sig, d, customer, n in self.conn.execute(query):
            out[sig][int(d)][customer] = int(n)
        return out

    def hourly_series(self, key: str, start_hour: int, end_hour: int) -> dict[int, int]:
        c = t.hourly_counts.c
        query = (
            select(c.hour, func.sum(c.count))
            .where(and_(c.signature == key, c.hour >= start_hour, c.hour < end_hour))
            .group_by(c.hour)
        )
        return {int(h): int(n) for h, n in self.conn.execute(query)}

    # --- grouping state and aliases ------------------------------------------------------------

    def grouping_state(self, strategy: str) -> dict[str, Any] | None:
        row = self.conn.execute(select(t.grouping_state.c.state).where(t.grouping_state.c.strategy == strategy)).first()
        return None if row is None else dict(row[0])

    def save_grouping_state(self, strategy: str, state: dict[str, Any]) -> None:
        stmt = self._insert(t.grouping_state).values(strategy=strategy, state=state, updated_at=_now())
        stmt = stmt.on_conflict_do_update(
            index_elements=["strategy"], set_={"state": stmt.excluded.state, "updated_at": stmt.excluded.updated_at}
        )
        self.conn.execute(stmt)

    def aliases(self) -> dict[str, str]:
        return {a: k for a, k in self.conn.execute(select(t.signature_aliases.c.alias, t.signature_aliases.c.key))}

    def add_alias(self, alias: str, key: str, reason: str) -> None:
        """Point `alias` at `key` for good and move everything stored under `alias` onto `key`.

        Counts are summed (never orphaned), the signature rows merge, and older aliases that
        pointed at `alias` now point at `key`, so every key ever handed out still resolves.
        """
        if alias == key:
            return
        # Analyses and triage stay with the survivor; the alias's own entries are stale now.
        self.conn.execute(delete(t.analyses).where(t.analyses.c.signature == alias))
        c = t.hourly_counts.c
        moved = list(self.conn.execute(select(c.customer, c.hour, c.count).where(c.signature == alias)))
        self.conn.execute(delete(t.hourly_counts).where(c.signature == alias))
        self.add_counts({(key, customer, hour): n for customer, hour, n in moved})
        rows = self.signature_rows([alias, key])
        old = rows.get(alias)
        if old is not None:
            if key in rows:
                self.upsert_signatures(
                    {
                        key: SignatureInfo(
                            normalized=old["normalized"],
                            template="",
                            error_type=old["error_type"],
                            service=old["service"],
                            strategy=old["strategy"],
                            first_seen=old["first_seen"],
                            last_seen=old["last_seen"],
                            count=old["total"],
                            samples=list(old["samples"]),
                        )
                    }
                )
            else:
                self.conn.execute(update(t.signatures).where(t.signatures.c.key == alias).values(key=key))
            self.conn.execute(delete(t.signatures).where(t.signatures.c.key == alias))
        self.conn.execute(update(t.signature_aliases).where(t.signature_aliases.c.key == alias).values(key=key))
        self.conn.execute(delete(t.signature_aliases).where(t.signature_aliases.c.alias == key))
        stmt = self._insert(t.signature_aliases).values(alias=alias, key=key, reason=reason, created_at=_now())
        stmt = stmt.on_conflict_do_update(
            index_elements=["alias"], set_={"key": key, "reason": reason, "created_at": stmt.excluded.created_at}
        )
        self.conn.execute(stmt)

    # --- analyses and model calls ---------------------------------------------------------------

    def cached_analysis(self, key: str, analysis_type: str) -> CachedAnalysis | None:
        a = t.analyses.c
        row = self.conn.execute(
            select(a.analysis, a.analyzer, a.created_at, a.prompt).where(
                and_(a.signature == key, a.analysis_type == analysis_type)
            )
        ).first()
        return None if row is None else CachedAnalysis(dict(row[0]), row[1], row[2], row[3])

    def analyses_for(self, keys: Sequence[str], analysis_type: str) -> dict[str, CachedAnalysis]:
        a = t.analyses.c
        out: dict[str, CachedAnalysis] = {}
        for chunk in _chunks(list(keys)):
            query = select(a.signature, a.analysis, a.analyzer, a.created_at, a.prompt).where(
                and_(a.signature.in_(chunk), a.analysis_type == analysis_type)
            )
            for key, analysis, analyzer, created_at, prompt in self.conn.execute(query):
                out[key] = CachedAnalysis(dict(analysis), analyzer, created_at, prompt)
        return out

    def save_analysis(
        self, key: str, analysis_type: str, analysis: dict[str, Any], analyzer: str, created_at: datetime, prompt: str
    ) -> None:
        stmt = self._insert(t.analyses).values(
            signature=key,
            analysis_type=analysis_type,
            analysis=analysis,
            analyzer=analyzer,
            created_at=created_at,
            prompt=prompt,
        )
        stmt = stmt.on_conflict_do_update(
            index_elements=["signature", "analysis_type"],
            set_={k: stmt.excluded[k] for k in ("analysis", "analyzer", "created_at", "prompt")},
        )
        self.conn.execute(stmt)

    def expire_analysis(self, key: str) -> int:
        return self.conn.execute(delete(t.analyses).where(t.analyses.c.signature == key)).rowcount

    def record_model_call(self, **values: Any) -> None:
        values.setdefault("created_at", _now())
        self.conn.execute(insert(t.model_calls).values(**values))

    # --- runs and triage -------------------------------------------------------------------------

    def start_run(self, source: str, params: dict[str, Any], started_at: datetime) -> int:
        result = self.conn.execute(
            insert(t.runs).values(started_at=started_at, status="running", source=source, params=params, report={})
        )
        return int(result.inserted_primary_key[0])  # type: ignore[index]

    def finish_run(self, run_id: int, status: str, report: dict[str, Any], error: str | None = None) -> None:
        self.conn.execute(
            update(t.runs)
            .where(t.runs.c.id == run_id)
            .values(status=status, report=report, error=error, finished_at=_now())
        )

    def abandon_running(self) -> int:
        """Runs left `running` by a killed process are marked abandoned (one writer at a time)."""
        result = self.conn.execute(
            update(t.runs).where(t.runs.c.status == "running").values(status="abandoned", finished_at=_now())
        )
        return result.rowcount

    def runs(self, limit: int = 50) -> list[dict[str, Any]]:
        query = select(t.runs).order_by(t.runs.c.id.desc()).limit(limit)
        return [dict(r._mapping) for r in self.conn.execute(query)]

    def latest_run(self, status: str = "ok") -> dict[str, Any] | None:
        query = select(t.runs).where(t.runs.c.status == status).order_by(t.runs.c.id.desc()).limit(1)
        row = self.conn.execute(query).first()
        return None if row is None else dict(row._mapping)

    def save_triage(self, run_id: int, rows: Iterable[dict[str, Any]]) -> None:
        payload = [{"run_id": run_id, **r} for r in rows]
        self.conn.execute(delete(t.triage_results).where(t.triage_results.c.run_id == run_id))
        if payload:
            self.conn.execute(insert(t.triage_results), payload)

    def triage_rows(self, run_id: int) -> list[dict[str, Any]]:
        query = select(t.triage_results).where(t.triage_results.c.run_id == run_id).order_by(t.triage_results.c.rank)
        return [dict(r._mapping) for r in self.conn.execute(query)]

    # --- known noise -----------------------------------------------------------------------------

    def noise_rules(self) -> list[dict[str, Any]]:
        return [dict(r._mapping) for r in self.conn.execute(select(t.noise_rules).order_by(t.noise_rules.c.id))]

    def add_noise_rule(self, kind: str, value: str, reason: str, created_by: str = "") -> int:
        result = self.conn.execute(
            insert(t.noise_rules).values(
                kind=kind, value=value, reason=reason, created_at=_now(), created_by=created_by
            )
        )
        return int(result.inserted_primary_key[0])  # type: ignore[index]

    def remove_noise_rule(self, rule_id: int) -> bool:
        return bool(self.conn.execute(delete(t.noise_rules).where(t.noise_rules.c.id == rule_id)).rowcount)

    # --- owner overrides and the action log ---------------------------------------------------------

    def owner_overrides(self) -> dict[str, dict[str, Any]]:
        return {r.signature: dict(r._mapping) for r in self.conn.execute(select(t.owner_overrides))}

    def set_owner_override(self, key: str, bucket: str, owner: str, reason: str, created_by: str = "") -> None:
        values = {"bucket": bucket, "owner": owner, "reason": reason, "created_at": _now(), "created_by": created_by}
        stmt = self._insert(t.owner_overrides).values(signature=key, **values)
        self.conn.execute(stmt.on_conflict_do_update(index_elements=["signature"], set_=values))

    def clear_owner_override(self, key: str) -> bool:
        return bool(self.conn.execute(delete(t.owner_overrides).where(t.owner_overrides.c.signature == key)).rowcount)

    def record_action(
        self, who: str, action: str, target: str, reason: str = "", details: dict[str, Any] | None = None
    ) -> int:
        """Every change a person makes is logged with who/when/why and what undoing it needs."""
        result = self.conn.execute(
            insert(t.actions).values(
                at=_now(), who=who, action=action, target=target, reason=reason, details=details or {}
            )
        )
        return int(result.inserted_primary_key[0])  # type: ignore[index]

    def actions(self, limit: int = 100) -> list[dict[str, Any]]:
        query = select(t.actions).order_by(t.actions.c.id.desc()).limit(limit)
        return [dict(r._mapping) for r in self.conn.execute(query)]

    def action(self, action_id: int) -> dict[str, Any] | None:
        row = self.conn.execute(select(t.actions).where(t.actions.c.id == action_id)).first()
        return None if row is None else dict(row._mapping)

    def mark_action_undone(self, action_id: int) -> None:
        self.conn.execute(update(t.actions).where(t.actions.c.id == action_id).values(undone_at=_now()))

    # --- source checkpoints ----------------------------------------------------------------------

    def checkpoint(self, source: str) -> datetime | None:
        row = self.conn.execute(select(t.checkpoints.c.watermark).where(t.checkpoints.c.source == source)).first()
        return None if row is None else row[0]

    def save_checkpoint(self, source: str, watermark: datetime) -> None:
        stmt = self._insert(t.checkpoints).values(source=source, watermark=watermark, updated_at=_now())
        stmt = stmt.on_conflict_do_update(
            index_elements=["source"],
            set_={"watermark": stmt.excluded.watermark, "updated_at": stmt.excluded.updated_at},
        )
        self.conn.execute(stmt)


class Store:
    """A database, migrated on open. `--db URL` / ERRORSIFT_DB / ./errorsift.db."""

    def __init__(self, url: str | None = None) -> None:
        self.url = database_url(url)
        self.engine = make_engine(self.url)
        migrate(self.engine)

    @contextmanager
    def begin(self) -> Iterator[StoreConn]:
        """One atomic transaction: everything inside commits together or not at all."""
        with self.engine.begin() as conn:
            yield StoreConn(conn)

    @contextmanager
    def read(self) -> Iterator[StoreConn]:
        with self.engine.connect() as conn:
            yield StoreConn(conn)

    def close(self) -> None:
        self.engine.dispose()
