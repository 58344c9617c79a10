"""Customers: "which customers are affected, and how badly", per environment, from the latest run.

The list ranks customers by what needs a human: patterns that are new *for them* first (a pattern
spreading into their environment), then escalated patterns, then the worst severity, then volume.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Mapping
from typing import Any

from errorsift.anomaly import SEVERITY_RANK
from errorsift.store import dashboard as q
from errorsift.store.store import StoreConn
from errorsift.web.live import HumanState
from errorsift.web.pages.cards import SPARK_DAYS, Card, CardCache, build_cards, run_summary, run_window

__all__ = ["customer_context", "customers_context"]

PAGE_SIZE = 100


def _worst(severities: list[str]) -> str:
    known = [s for s in severities if s.lower() in SEVERITY_RANK]
    return min(known, key=lambda s: SEVERITY_RANK[s.lower()]) if known else ""


def customers_context(
    sc: StoreConn, state: HumanState, query: Mapping[str, str], cache: CardCache | None = None
) -> dict[str, Any]:
    text = (query.get("q") or "").strip()[:200]
    try:
        page = max(1, int(query.get("page") or 1))
    except ValueError:
        page = 1
    run = sc.latest_run()
    ctx: dict[str, Any] = {
        "run": run_summary(run),
        "q": text,
        "total": 0,
        "customers": [],
        "page": {"number": 1, "size": PAGE_SIZE, "pages": 1},
    }
    if run is None:
        return ctx
    window = run_window(run)
    cards = [c for c in build_cards(sc, window.run_id, state, cache) if c.merged_into is None]
    totals = q.customer_totals(sc, window.start_hour, window.end_hour)
    hits: dict[str, list[Card]] = defaultdict(list)
    for card in cards:
        for name in card.row.customers:
            hits[name].append(card)
    rows: list[dict[str, Any]] = []
    for name, its in hits.items():
        if text and text.lower() not in name.lower():
            continue
        active = [c for c in its if not c.suppressed]
        rows.append(
            {
                "customer": name,
                "occurrences": totals.get(name, (0, 0))[0],
                "patterns": len(active),
                "suppressed": len(its) - len(active),
                "new_for_it": sum(name in c.anomaly.new_customers for c in active),
                "escalated": sum(c.escalated for c in active),
                "worst_severity": _worst([c.row.severity for c in active]),
                "by_bucket": dict(sorted(Counter(c.live.triage.bucket for c in active).items())),
            }
        )
    rows.sort(
        key=lambda r: (
            -r["new_for_it"],
            -r["escalated"],
            SEVERITY_RANK.get(r["worst_severity"].lower(), len(SEVERITY_RANK)),
            -r["occurrences"],
            r["customer"],
        )
    )
    pages = max(1, -(-len(rows) // PAGE_SIZE))
    number = min(page, pages)
    ctx.update(
        total=len(rows),
        customers=rows[(number - 1) * PAGE_SIZE : number * PAGE_SIZE],
        page={"number": number, "size": PAGE_SIZE, "pages": pages},
    )
    return ctx


def customer_context(
    sc: StoreConn, state: HumanState, name: str, cache: CardCache | None = None
) -> dict[str, Any] | None:
    """One customer's patterns in the latest run, what is new for them; None when unknown."""
    run = sc.latest_run()
    if run is None:
        return None
    window = run_window(run)
    current = q.customer_pattern_counts(sc, name, window.start_hour, window.end_hour)
    cards = [
        c for c in build_cards(sc, window.run_id, state, cache) if c.merged_into is None and c.row.has_customer(name)
    ]
    if not cards and not current:
        return None
    keys = [c.key for c in cards]
    baseline = q.customer_pattern_counts(sc, name, window.baseline_start, window.start_hour, keys)
    series = q.daily_series(sc, [c.key for c in cards], window.spark_start, SPARK_DAYS)
    patterns = []
    for card in cards:
        entry = card.as_dict(series.get(card.key))
        entry["here"] = current.get(card.key, 0)
        entry["here_baseline"] = baseline.get(card.key, 0)
        entry["new_here"] = name in card.anomaly.new_customers
        patterns.append(entry)
    active = [p for p in patterns if not p["triage"]["suppressed"]]
    return {
        "run": run_summary(run),
        "customer": name,
        "occurrences": sum(current.values()),
        "daily": q.customer_daily(sc, name, window.spark_start, SPARK_DAYS, keys),
        "new_for_it": [p["signature"] for p in active if p["new_here"]],
        "worst_severity": _worst([p["severity"] for p in active]),
        "patterns": active,
        "suppressed": [p for p in patterns if p["triage"]["suppressed"]],
    }
