"""Queries the analysis step and the `analysis` command need: spend, batches, call history.

Kept apart from `store.py` (which owns the core tables' writes) but still inside `store/`, the
only place SQL lives. Each function takes a `StoreConn`, so the caller decides the transaction:
a batch id is stored in the same transaction that records what it contains.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import and_, func, insert, select, update

from errorsift.store import schema as t
from errorsift.store.store import StoreConn

__all__ = [
    "finish_batch",
    "latest_failure",
    "mean_call_cost",
    "model_calls_for",
    "open_batches",
    "save_batch",
    "spend_since",
]


def spend_since(conn: StoreConn, since: datetime) -> float:
    """USD metered on model calls since `since` (the per-day budget counts from UTC midnight)."""
    c = t.model_calls.c
    total = conn.conn.execute(select(func.coalesce(func.sum(c.cost_usd), 0.0)).where(c.created_at >= since)).scalar()
    return float(total or 0.0)


def mean_call_cost(conn: StoreConn, model: str, last: int = 50) -> float | None:
    """Mean USD of the last `last` paid synchronous calls to `model`, or None if there were none.

    The budget's first guess for a run's next call: past calls price real prompts better than an
    estimate from the prompt size.
    """
    c = t.model_calls.c
    recent = (
        select(c.cost_usd)
        .where(and_(c.model == model, c.ok.is_(True), c.batch.is_(False), c.cost_usd > 0))
        .order_by(c.id.desc())
        .limit(last)
        .subquery()
    )
    value = conn.conn.execute(select(func.avg(recent.c.cost_usd))).scalar()
    return None if value is None else float(value)


def save_batch(
    conn: StoreConn, provider: str, batch_id: str, items: dict[str, Any], run_id: int | None, submitted_at: datetime
) -> int:
    """Record a submitted batch; `items` says which signature each custom id is and what was sent."""
    result = conn.conn.execute(
        insert(t.analysis_batches).values(
            provider=provider,
            batch_id=batch_id,
            status="submitted",
            items=items,
            submitted_at=submitted_at,
            run_id=run_id,
        )
    )
    return int(result.inserted_primary_key[0])  # type: ignore[index]


def open_batches(conn: StoreConn, provider: str) -> list[dict[str, Any]]:
    """Batches submitted to `provider` and not collected yet, oldest first."""
    b = t.analysis_batches.c
    query = (
        select(t.analysis_batches)
        .where(and_(b.provider == provider, b.status == "submitted"))
        .order_by(b.submitted_at, b.id)
    )
    return [dict(r._mapping) for r in conn.conn.execute(query)]


def finish_batch(conn: StoreConn, batch_id: str, status: str, collected_at: datetime) -> None:
    """Mark a batch collected (or failed/expired) so no later run collects it again."""
    b = t.analysis_batches.c
    conn.conn.execute(
        update(t.analysis_batches).where(b.batch_id == batch_id).values(status=status, collected_at=collected_at)
    )


def model_calls_for(
    conn: StoreConn, signature: str, analysis_type: str | None = None, limit: int = 20
) -> list[dict[str, Any]]:
    """The latest calls made for one signature (paid or failed), newest first."""
    c = t.model_calls.c
    query = select(t.model_calls).where(c.signature == signature)
    if analysis_type:
        query = query.where(c.analysis_type == analysis_type)
    query = query.order_by(c.id.desc()).limit(limit)
    return [dict(r._mapping) for r in conn.conn.execute(query)]


def latest_failure(conn: StoreConn, signature: str, analysis_type: str) -> dict[str, Any] | None:
    """The newest failed call for (signature, type), or None: why an analysis is still pending."""
    c = t.model_calls.c
    query = (
        select(t.model_calls)
        .where(and_(c.signature == signature, c.analysis_type == analysis_type, c.ok.is_(False)))
        .order_by(c.id.desc())
        .limit(1)
    )
    row = conn.conn.execute(query).first()
    return None if row is None else dict(row._mapping)
