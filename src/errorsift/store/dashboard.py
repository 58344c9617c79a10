"""Queries the dashboard needs that the pipeline does not: light card rows, series, per-customer views.

They live here, not in `store.py`, so the pipeline's query surface stays small; SQL still never
leaves `store/`. Every function takes a `StoreConn`. The home page reads thousands of rows per
request, so `card_rows` selects only the columns a card shows and pulls four fields out of the
analysis JSON in SQL instead of decoding every analysis in Python.

Undoing a merge needs writes the pipeline never makes (splitting counts back out), so the merge
snapshot and its reversal live here too, each meant to run inside one `Store.begin()` transaction.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Text, and_, delete, func, insert, or_, select, type_coerce, update

from errorsift.store import schema as t
from errorsift.store.store import StoreConn

_CHUNK = 900  # under every SQLite build's bound-parameter limit

__all__ = [
    "CardRow",
    "actions_for",
    "aliases_of",
    "card_rows",
    "customer_daily",
    "customer_pattern_counts",
    "customer_totals",
    "daily_series",
    "data_version",
    "model_calls_for",
    "pattern_customer_counts",
    "restore_merge",
    "similar_signatures",
    "snapshot_merge",
    "window_customer_names",
]


def _chunks(items: Sequence[Any], size: int = _CHUNK) -> Iterator[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _decoded(raw: Any, empty: Any) -> Any:
    """JSON text from SQLite, or an already-decoded value from a driver that decodes JSON itself."""
    if raw is None:
        return empty
    return json.loads(raw) if isinstance(raw, str | bytes) else raw


@dataclass(slots=True)
class CardRow:
    """One triage row of a run with just what a card, a filter and the live overlay need.

    The run's JSON columns (customers, anomaly) stay undecoded until a card is shown, filtered by
    customer or matched by a noise rule; the counts and flags the ranking needs come out of SQL.
    """

    signature: str
    rank: int
    occurrences: int
    n_customers: int
    new_signature: bool
    spike: bool
    spread: bool
    why_flagged: str
    bucket: str
    owner: str
    reason: str
    suppressed: bool
    normalized: str
    template: str
    error_type: str
    service: str
    has_analysis: bool
    summary: str
    severity: str
    category: str
    real_bug: bool
    fallback: bool
    analyzer: str
    customers_raw: Any = None
    anomaly_raw: Any = None
    _customers: list[str] | None = None
    _anomaly: dict[str, Any] | None = None

    @property
    def customers(self) -> list[str]:
        if self._customers is None:
            self._customers = list(_decoded(self.customers_raw, []))
        return self._customers

    @property
    def anomaly(self) -> dict[str, Any]:
        if self._anomaly is None:
            self._anomaly = dict(_decoded(self.anomaly_raw, {}))
        return self._anomaly

    def has_customer(self, name: str) -> bool:
        """Membership without decoding every row: a cheap text pre-check, then the real list."""
        raw = self.customers_raw
        if isinstance(raw, str) and name not in raw and json.dumps(name)[1:-1] not in raw:
            return False
        return name in self.customers


def card_rows(sc: StoreConn, run_id: int, signature: str | None = None) -> list[CardRow]:
    """All triage rows of a run (or the one for `signature`) joined with their signature and
    `recent` analysis, in one query."""
    tr, s, a = t.triage_results.c, t.signatures.c, t.analyses.c
    doc, anomaly = a.analysis, tr.anomaly
    query = (
        select(
            tr.signature,
            tr.rank,
            tr.occurrences,
            func.json_array_length(tr.customers),
            anomaly["new_signature"].as_boolean(),
            anomaly["spike"].as_boolean(),
            anomaly["spread"].as_boolean(),
            anomaly["why_flagged"].as_string(),
            tr.bucket,
            tr.owner,
            tr.reason,
            tr.suppressed,
            s.normalized,
            s.template,
            s.error_type,
            s.service,
            a.signature.is_not(None),
            doc["summary"].as_string(),
            doc["severity"].as_string(),
            doc["technical_details"]["error_category"].as_string(),
            doc["technical_details"]["real_application_bug"].as_boolean(),
            doc["fallback"].as_boolean(),
            a.analyzer,
            type_coerce(tr.customers, Text),
            type_coerce(tr.anomaly, Text),
        )
        .select_from(
            t.triage_results.outerjoin(t.signatures, s.key == tr.signature).outerjoin(
                t.analyses, and_(a.signature == tr.signature, a.analysis_type == "recent")
            )
        )
        .where(tr.run_id == run_id)
        .order_by(tr.rank)
    )
    if signature is not None:
        query = query.where(tr.signature == signature)
    return [
        CardRow(
            r[0],
            r[1],
            int(r[2]),
            int(r[3] or 0),
            bool(r[4]),
            bool(r[5]),
            bool(r[6]),
            r[7] or "",
            r[8],
            r[9],
            r[10],
            bool(r[11]),
            r[12] or "",
            r[13] or "",
            r[14] or "",
            r[15] or "",
            bool(r[16]),
            r[17] or "",
            r[18] or "",
            r[19] or "",
            bool(r[20]),
            bool(r[21]),
            r[22] or "",
            r[23],
            r[24],
        )
        for r in sc.conn.execute(query)
    ]


def data_version(sc: StoreConn) -> tuple[int, int]:
    """Cheap stamp of what a finished run's card rows join with: how many analyses and signatures.

    Re-analyze (expiring analyses) and merges (removing a signature and its analyses) change them,
    and their undos change them back; both are index-only counts, so the dashboard can cache a run's
    rows and only re-read them when something they show may have changed.
    """
    analyses = sc.conn.execute(select(func.count()).select_from(t.analyses)).scalar() or 0
    signatures = sc.conn.execute(select(func.count()).select_from(t.signatures)).scalar() or 0
    return int(analyses), int(signatures)


def daily_series(sc: StoreConn, keys: Sequence[str], start_hour: int, days: int) -> dict[str, list[int]]:
    """Per signature, occurrences per 24-hour slice from `start_hour` (oldest first, zeros filled)."""
    c = t.hourly_counts.c
    end_hour = start_hour + 24 * days
    day = ((c.hour - start_hour) // 24).label("day")
    out: dict[str, list[int]] = {k: [0] * days for k in keys}
    for chunk in _chunks(list(keys)):
        query = (
            select(c.signature, day, func.sum(c.count))
            .where(and_(c.signature.in_(chunk), c.hour >= start_hour, c.hour < end_hour))
            .group_by(c.signature, day)
        )
        for key, d, n in sc.conn.execute(query):
            index = int(d)
            if 0 <= index < days:
                out[key][index] += int(n)
    return out


def pattern_customer_counts(sc: StoreConn, key: str, start_hour: int, end_hour: int) -> dict[str, int]:
    """Occurrences of one signature per customer in [start_hour, end_hour)."""
    c = t.hourly_counts.c
    query = (
        select(c.customer, func.sum(c.count))
        .where(and_(c.signature == key, c.hour >= start_hour, c.hour < end_hour))
        .group_by(c.customer)
    )
    return {customer: int(n) for customer, n in sc.conn.execute(query)}


def customer_totals(sc: StoreConn, start_hour: int, end_hour: int) -> dict[str, tuple[int, int]]:
    """Per customer in [start_hour, end_hour): (occurrences, distinct signatures)."""
    c = t.hourly_counts.c
    query = (
        select(c.customer, func.sum(c.count), func.count(func.distinct(c.signature)))
        .where(and_(c.hour >= start_hour, c.hour < end_hour))
        .group_by(c.customer)
    )
    return {customer: (int(n), int(k)) for customer, n, k in sc.conn.execute(query)}


def window_customer_names(sc: StoreConn, start_hour: int, end_hour: int) -> list[str]:
    """Every customer with an occurrence in [start_hour, end_hour), sorted (the filter's choices)."""
    c = t.hourly_counts.c
    query = select(c.customer).where(and_(c.hour >= start_hour, c.hour < end_hour)).distinct().order_by(c.customer)
    return [name for (name,) in sc.conn.execute(query)]


def _for_keys(query: Any, keys: Sequence[str] | None) -> Iterator[Any]:
    """The query as is, or once per chunk of `keys` (the primary key's prefix: index seeks, no scan)."""
    if keys is None:
        yield query
        return
    for chunk in _chunks(list(keys)):
        yield query.where(t.hourly_counts.c.signature.in_(chunk))


def customer_pattern_counts(
    sc: StoreConn, customer: str, start_hour: int, end_hour: int, keys: Sequence[str] | None = None
) -> dict[str, int]:
    """Occurrences per signature for one customer in [start_hour, end_hour), optionally only `keys`.

    hourly_counts has no customer index, so a long range is cheap only when the signatures are known.
    """
    c = t.hourly_counts.c
    base = (
        select(c.signature, func.sum(c.count))
        .where(and_(c.customer == customer, c.hour >= start_hour, c.hour < end_hour))
        .group_by(c.signature)
    )
    out: dict[str, int] = {}
    for query in _for_keys(base, keys):
        out.update({key: int(n) for key, n in sc.conn.execute(query)})
    return out


def customer_daily(
    sc: StoreConn, customer: str, start_hour: int, days: int, keys: Sequence[str] | None = None
) -> list[int]:
    """One customer's occurrences per 24-hour slice from `start_hour` (all signatures, or only `keys`)."""
    c = t.hourly_counts.c
    day = ((c.hour - start_hour) // 24).label("day")
    base = (
        select(day, func.sum(c.count))
        .where(and_(c.customer == customer, c.hour >= start_hour, c.hour < start_hour + 24 * days))
        .group_by(day)
    )
    out = [0] * days
    for query in _for_keys(base, keys):
        for d, n in sc.conn.execute(query):
            if 0 <= int(d) < days:
                out[int(d)] += int(n)
    return out


def aliases_of(sc: StoreConn, key: str) -> list[dict[str, Any]]:
    """Keys that now resolve to `key` (merged or generalized into it), newest first."""
    al = t.signature_aliases.c
    query = select(al.alias, al.reason, al.created_at).where(al.key == key).order_by(al.created_at.desc())
    return [{"alias": a, "reason": r, "created_at": c} for a, r, c in sc.conn.execute(query)]


def model_calls_for(sc: StoreConn, key: str, limit: int = 5) -> list[dict[str, Any]]:
    """The latest model calls made for a signature (what it cost, whether it worked)."""
    m = t.model_calls.c
    query = (
        select(
            m.run_id, m.analysis_type, m.model, m.input_tokens, m.output_tokens, m.cost_usd, m.ok, m.error, m.created_at
        )
        .where(m.signature == key)
        .order_by(m.id.desc())
        .limit(limit)
    )
    return [dict(r._mapping) for r in sc.conn.execute(query)]


def actions_for(sc: StoreConn, target: str, limit: int = 20) -> list[dict[str, Any]]:
    """The action log entries about one signature, newest first."""
    ac = t.actions.c
    query = select(t.actions).where(ac.target == target).order_by(ac.id.desc()).limit(limit)
    return [dict(r._mapping) for r in sc.conn.execute(query)]


def similar_signatures(sc: StoreConn, key: str, service: str, error_type: str, limit: int = 50) -> list[dict[str, Any]]:
    """Merge candidates for a signature: others from the same service or of the same error type."""
    s = t.signatures.c
    same = []
    if service:
        same.append(s.service == service)
    if error_type:
        same.append(s.error_type == error_type)
    if not same:
        return []
    query = (
        select(s.key, s.template, s.normalized, s.service, s.error_type, s.total)
        .where(and_(s.key != key, or_(*same)))
        .order_by(s.total.desc())
        .limit(limit)
    )
    return [
        {"key": k, "template": (tpl or norm)[:160], "service": svc, "error_type": et, "total": int(n)}
        for k, tpl, norm, svc, et, n in sc.conn.execute(query)
    ]


# --- merge snapshots: what undoing `StoreConn.add_alias` needs ------------------------------------


def _iso(value: Any) -> Any:
    return value.isoformat() if isinstance(value, datetime) else value


def _from_iso(value: Any) -> Any:
    return datetime.fromisoformat(value) if isinstance(value, str) else value


def snapshot_merge(sc: StoreConn, alias: str, key: str) -> dict[str, Any]:
    """Everything `add_alias(alias, key)` changes, as JSON, taken just before the merge.

    Kept in the action log's details so the merge can be undone: both signature rows, the alias's
    hourly counts, and the aliases that pointed at `alias` (the merge re-points them at `key`).
    """
    rows = sc.signature_rows([alias, key])
    c = t.hourly_counts.c
    counts = [
        [customer, int(hour), int(n)]
        for customer, hour, n in sc.conn.execute(select(c.customer, c.hour, c.count).where(c.signature == alias))
    ]
    al = t.signature_aliases.c
    pointing = [a for (a,) in sc.conn.execute(select(al.alias).where(al.key == alias))]
    return {
        "alias": alias,
        "key": key,
        "alias_row": {k: _iso(v) for k, v in rows[alias].items()} if alias in rows else None,
        "key_row": {k: _iso(v) for k, v in rows[key].items()} if key in rows else None,
        "alias_counts": counts,
        "aliases_pointing": pointing,
    }


def restore_merge(sc: StoreConn, snap: dict[str, Any]) -> None:
    """Reverse a merge from its snapshot: split the counts back, restore both rows and the aliases.

    Events counted after the merge stay with the survivor (they were signed as it); only what the
    merge moved goes back. The alias's analyses were discarded by the merge and are redone next run.
    """
    alias, key = snap["alias"], snap["key"]
    c = t.hourly_counts.c
    for customer, hour, n in snap["alias_counts"]:
        where = and_(c.signature == key, c.customer == customer, c.hour == hour)
        sc.conn.execute(update(t.hourly_counts).where(where).values(count=c.count - n))
    sc.conn.execute(delete(t.hourly_counts).where(and_(c.signature == key, c.count <= 0)))
    sc.add_counts({(alias, customer, hour): n for customer, hour, n in snap["alias_counts"]})

    s = t.signatures.c
    current = sc.signature_rows([key]).get(key)
    if snap["key_row"] is not None and current is not None:
        before = snap["key_row"]
        moved = int(snap["alias_row"]["total"]) if snap["alias_row"] else 0
        sc.conn.execute(
            update(t.signatures)
            .where(s.key == key)
            .values(
                total=max(int(current["total"]) - moved, 0),
                samples=before["samples"],
                first_seen=_from_iso(before["first_seen"]),
                template=before["template"],
            )
        )
    elif snap["key_row"] is None:  # the merge renamed the alias's row to `key`: give it back
        sc.conn.execute(delete(t.signatures).where(s.key == key))
    if snap["alias_row"] is not None:
        row = {k: _from_iso(v) if k in ("first_seen", "last_seen") else v for k, v in snap["alias_row"].items()}
        sc.conn.execute(delete(t.signatures).where(s.key == alias))
        sc.conn.execute(insert(t.signatures).values(**row))

    al = t.signature_aliases.c
    sc.conn.execute(delete(t.signature_aliases).where(al.alias == alias))
    if snap["aliases_pointing"]:
        sc.conn.execute(update(t.signature_aliases).where(al.alias.in_(snap["aliases_pointing"])).values(key=alias))
