"""Queries the dashboard needs that the pipeline does not: light card rows, series, per-customer views.

They live here, not in `store.py`, so the pipeline's query surface stays small; SQL still never
leaves `store/`. Every function takes a `StoreConn`. The home page reads thousands of rows per
request, so `card_rows` selects only the columns a card shows and pulls four fields out of the
analysis JSON in SQL instead of decoding every analysis in Python.

Undoing a merge needs writes the pipeline never makes (splitting counts back out), so the merge
snapshot and its reversal live here too, each meant to run inside one `Store.begin()` transaction.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import and_, delete, func, insert, or_, select, update

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
    "model_calls_for",
    "pattern_customer_counts",
    "restore_merge",
    "similar_signatures",
    "snapshot_merge",
]


def _chunks(items: Sequence[Any], size: int = _CHUNK) -> Iterator[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


@dataclass(slots=True)
class CardRow:
    """One triage row of a run with just what a card, a filter and the live overlay need."""

    signature: str
    rank: int
    occurrences: int
    customers: list[str]
    anomaly: dict[str, Any]
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


def card_rows(sc: StoreConn, run_id: int, signature: str | None = None) -> list[CardRow]:
    """All triage rows of a run (or the one for `signature`) joined with their signature and
    `recent` analysis, in one query."""
    tr, s, a = t.triage_results.c, t.signatures.c, t.analyses.c
    doc = a.analysis
    query = (
        select(
            tr.signature,
            tr.rank,
            tr.occurrences,
            tr.customers,
            tr.anomaly,
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
    rows = []
    for r in sc.conn.execute(query):
        rows.append(
            CardRow(
                signature=r[0],
                rank=r[1],
                occurrences=int(r[2]),
                customers=list(r[3] or []),
                anomaly=dict(r[4] or {}),
                bucket=r[5],
                owner=r[6],
                reason=r[7],
                suppressed=bool(r[8]),
                normalized=r[9] or "",
                template=r[10] or "",
                error_type=r[11] or "",
                service=r[12] or "",
                has_analysis=bool(r[13]),
                summary=r[14] or "",
                severity=r[15] or "",
                category=r[16] or "",
                real_bug=bool(r[17]),
                fallback=bool(r[18]),
                analyzer=r[19] or "",
            )
        )
    return rows


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


def customer_pattern_counts(sc: StoreConn, customer: str, start_hour: int, end_hour: int) -> dict[str, int]:
    """Occurrences per signature for one customer in [start_hour, end_hour)."""
    c = t.hourly_counts.c
    query = (
        select(c.signature, func.sum(c.count))
        .where(and_(c.customer == customer, c.hour >= start_hour, c.hour < end_hour))
        .group_by(c.signature)
    )
    return {key: int(n) for key, n in sc.conn.execute(query)}


def customer_daily(sc: StoreConn, customer: str, start_hour: int, days: int) -> list[int]:
    """One customer's occurrences (all signatures) per 24-hour slice from `start_hour`."""
    c = t.hourly_counts.c
    day = ((c.hour - start_hour) // 24).label("day")
    query = (
        select(day, func.sum(c.count))
        .where(and_(c.customer == customer, c.hour >= start_hour, c.hour < start_hour + 24 * days))
        .group_by(day)
    )
    out = [0] * days
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
        sc.conn.execute(
            update(t.signature_aliases).where(al.alias.in_(snap["aliases_pointing"])).values(key=alias)
        )

