"""The latest run's patterns as cards: stored triage + live human decisions, most urgent first.

Shared by the home page (all cards), the customers pages (cards per customer) and the pattern page
(one card), so every page ranks, badges and routes a pattern the same way.
"""

from __future__ import annotations

import math
import threading
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from errorsift.anomaly import urgency_key
from errorsift.ingest import resolve_key
from errorsift.models import Anomaly
from errorsift.store.dashboard import CardRow, card_rows, data_version, window_customer_names
from errorsift.store.store import StoreConn
from errorsift.web.live import HumanState, LiveTriage, anomaly_from, live_triage

__all__ = ["SPARK_DAYS", "Card", "CardCache", "RunWindow", "build_cards", "card_for", "run_summary", "run_window"]

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


# `urgency_key` reads only the flags: eight shared values instead of one Anomaly per pattern.
_FLAGS_ONLY = {(n, s, p): Anomaly(n, s, p, ()) for n in (False, True) for s in (False, True) for p in (False, True)}


@dataclass(slots=True)
class Card:
    row: CardRow
    live: LiveTriage
    merged_into: str | None  # merged by a person since the run: the survivor's key
    _anomaly: Anomaly | None = None

    @property
    def key(self) -> str:
        return self.row.signature

    @property
    def suppressed(self) -> bool:
        return self.live.triage.suppressed

    @property
    def escalated(self) -> bool:
        r = self.row
        return r.new_signature or r.spike or r.spread

    @property
    def anomaly(self) -> Anomaly:
        """The full stored anomaly (decoded on first use: most cards are never shown)."""
        if self._anomaly is None:
            self._anomaly = anomaly_from(self.row.anomaly)
        return self._anomaly

    @property
    def flags(self) -> list[str]:
        r = self.row
        return [name for name, on in (("NEW", r.new_signature), ("SPIKE", r.spike), ("SPREAD", r.spread)) if on]

    def sort_key(self) -> tuple[int, int, int, int, int, str]:
        r = self.row
        flags_only = _FLAGS_ONLY[(r.new_signature, r.spike, r.spread)]
        return urgency_key(flags_only, r.severity, r.n_customers, r.occurrences, r.signature, self.suppressed)

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
            "customers_affected": r.n_customers,
            "customers": r.customers,
            "flags": self.flags,
            "why_flagged": r.why_flagged,
            "new_customers": list(self.anomaly.new_customers),
            "anomaly": self.anomaly.as_dict(),
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


def card_for(row: CardRow, state: HumanState) -> Card:
    survivor = resolve_key(state.aliases, row.signature)
    return Card(row, live_triage(row, state), survivor if survivor != row.signature else None)


def build_cards(sc: StoreConn, run_id: int, state: HumanState, cache: CardCache | None = None) -> list[Card]:
    """Every pattern of the run, with live triage, sorted most urgent first (cached when given one)."""
    if cache is not None:
        return cache.cards(sc, run_id, state)
    cards = [card_for(row, state) for row in card_rows(sc, run_id)]
    cards.sort(key=Card.sort_key)
    return cards


class CardCache:
    """A run's cards, built once and reused while nothing they depend on has changed.

    Two layers, because they change at different rates. The rows (a finished run's triage joined
    with its signatures and analyses) are re-read only when the run or `data_version` changes: a
    new run, a re-analyze, a merge. The live triage laid on top (noise rules, overrides, aliases,
    routes) is recomputed when the human state's fingerprint changes: after every mark-as-noise or
    override, without touching the database again. With thousands of patterns this turns the home
    page into a filter over a ready, sorted list. Cards are treated as read-only.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._rows_key: tuple[Any, ...] | None = None
        self._rows: list[CardRow] = []
        self._key: tuple[Any, ...] | None = None
        self._cards: list[Card] = []
        self._names: tuple[int, list[str]] | None = None

    def customer_names(self, sc: StoreConn, window: RunWindow) -> list[str]:
        """The customers seen in a run's window (the filter's suggestions), once per run."""
        with self._lock:
            if self._names is not None and self._names[0] == window.run_id:
                return self._names[1]
        names = [c for c in window_customer_names(sc, window.start_hour, window.end_hour) if c]
        with self._lock:
            self._names = (window.run_id, names)
        return names

    def cards(self, sc: StoreConn, run_id: int, state: HumanState) -> list[Card]:
        rows_key = (run_id, data_version(sc))
        key = (rows_key, state.fingerprint)
        with self._lock:
            if key == self._key:
                return self._cards
            rows = self._rows if rows_key == self._rows_key else None
        if rows is None:
            rows = card_rows(sc, run_id)
        cards = [card_for(row, state) for row in rows]
        cards.sort(key=Card.sort_key)
        with self._lock:
            self._rows_key, self._rows = rows_key, rows
            self._key, self._cards = key, cards
        return cards
