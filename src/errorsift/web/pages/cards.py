"""The latest run's patterns as cards: stored triage + live human decisions, most urgent first.

Shared by the home page (all cards), the customers pages (cards per customer) and the pattern page
(one card), so every page ranks, badges and routes a pattern the same way.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from errorsift.anomaly import urgency_key
from errorsift.ingest import resolve_key
from errorsift.models import Anomaly
from errorsift.store.dashboard import CardRow, card_rows
from errorsift.store.store import StoreConn
from errorsift.web.live import HumanState, LiveTriage, anomaly_from, live_triage

__all__ = ["SPARK_DAYS", "Card", "RunWindow", "build_cards", "run_summary", "run_window"]

SPARK_DAYS = 7


@dataclass(frozen=True, slots=True)
class RunWindow:
    """A run's current window as epoch hours, [start_hour, end_hour), and its baseline length."""

    run_id: int
    start_hour: int
    end_hour: int
    baseline_days: int

    @property
    def baseline_start(self) -> int:
        return self.start_hour - 24 * self.baseline_days

    @property
    def spark_start(self) -> int:
        return self.end_hour - 24 * SPARK_DAYS


def _hour(iso: str | None, fallback: int) -> int:
    if not iso:
        return fallback
    try:
        return math.ceil(datetime.fromisoformat(iso).timestamp() / 3600)
    except ValueError:
        return fallback


def run_window(run: dict[str, Any]) -> RunWindow:
    report = run.get("report") or {}
    params = run.get("params") or {}
    end_fallback = math.ceil(run["started_at"].timestamp() / 3600)
    end = _hour(report.get("window_end"), end_fallback)
    start = _hour(report.get("window_start"), end - 24)
    return RunWindow(int(run["id"]), start, end, int(params.get("baseline_days", 7) or 7))


def run_summary(run: dict[str, Any] | None) -> dict[str, Any] | None:
    """The header line every page shows: which run the cards come from."""
    if run is None:
        return None
    report = run.get("report") or {}
    return {
        "id": run["id"],
        "status": run["status"],
        "started_at": run["started_at"],
        "finished_at": run.get("finished_at"),
        "source": run.get("source", ""),
        "window_start": report.get("window_start"),
        "window_end": report.get("window_end"),
        "raw_events": report.get("raw_events", 0),
        "patterns": report.get("patterns", 0),
        "analyzer": report.get("analyzer", ""),
    }


@dataclass(slots=True)
class Card:
    row: CardRow
    anomaly: Anomaly
    live: LiveTriage
    why_flagged: str
    merged_into: str | None  # merged by a person since the run: the survivor's key

    @property
    def key(self) -> str:
        return self.row.signature

    @property
    def suppressed(self) -> bool:
        return self.live.triage.suppressed

    @property
    def flags(self) -> list[str]:
        a = self.anomaly
        return [name for name, on in (("NEW", a.new_signature), ("SPIKE", a.spike), ("SPREAD", a.spread)) if on]

    def sort_key(self) -> tuple[int, int, int, int, int, str]:
        r = self.row
        return urgency_key(self.anomaly, r.severity, len(r.customers), r.occurrences, r.signature, self.suppressed)

    def search_text(self) -> str:
        r = self.row
        return "\n".join((r.signature, r.summary, r.normalized, r.template, r.service, r.error_type)).lower()

    def as_dict(self, sparkline: list[int] | None = None) -> dict[str, Any]:
        r, t = self.row, self.live.triage
        out: dict[str, Any] = {
            "signature": r.signature,
            "summary": r.summary or (r.template or r.normalized)[:200],
            "severity": r.severity,
            "error_type": r.error_type,
            "service": r.service,
            "template": r.template or r.normalized,
            "occurrences": r.occurrences,
            "customers_affected": len(r.customers),
            "customers": r.customers,
            "flags": self.flags,
            "why_flagged": self.why_flagged,
            "new_customers": list(self.anomaly.new_customers),
            "triage": {"bucket": t.bucket, "owner": t.owner, "reason": t.reason, "suppressed": t.suppressed},
            "pending": self.live.pending,
            "run_triage": {"bucket": r.bucket, "owner": r.owner, "reason": r.reason, "suppressed": r.suppressed},
            "noise_rule": self.live.rule.id if self.live.rule is not None else None,
            "overridden": self.live.override is not None,
            "analyzer": r.analyzer,
            "fallback": r.fallback,
            "merged_into": self.merged_into,
        }
        if sparkline is not None:
            out["sparkline"] = sparkline
        return out


def build_cards(sc: StoreConn, run_id: int, state: HumanState) -> list[Card]:
    """Every pattern of the run, with live triage, sorted most urgent first."""
    cards = []
    for row in card_rows(sc, run_id):
        anomaly = anomaly_from(row.anomaly)
        survivor = resolve_key(state.aliases, row.signature)
        cards.append(
            Card(
                row=row,
                anomaly=anomaly,
                live=live_triage(row, anomaly, state),
                why_flagged=str(row.anomaly.get("why_flagged", "")),
                merged_into=survivor if survivor != row.signature else None,
            )
        )
    cards.sort(key=Card.sort_key)
    return cards
