"""The home page: the morning cards, most urgent first, filterable, with known noise folded away.

Counts (totals per bucket and flag, suppressed, matched) are over every pattern of the run; only
the card list is paginated, so a fleet with thousands of patterns still renders quickly and still
says exactly how many there are. Sparklines are fetched for the cards on the page only.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any

from errorsift.store.dashboard import daily_series
from errorsift.store.store import StoreConn
from errorsift.web.live import HumanState
from errorsift.web.pages.cards import SPARK_DAYS, Card, CardCache, build_cards, run_summary, run_window

__all__ = ["FLAGS", "PAGE_SIZE", "Filters", "home_context"]

PAGE_SIZE = 50
MAX_PAGE_SIZE = 500
SUPPRESSED_SHOWN = 50
FLAGS = ("escalated", "new", "spike", "spread", "quiet")
SEVERITIES = ("Critical", "High", "Medium", "Low")
BUCKETS = ("application", "platform", "needs_review", "non_issue")


def _int(value: str | None, default: int, low: int, high: int) -> int:
    try:
        return max(low, min(high, int(value or default)))
    except ValueError:
        return default


@dataclass(frozen=True, slots=True)
class Filters:
    """What the URL asks for; every filter is a query parameter so a filtered view can be shared."""

    bucket: str = ""
    severity: str = ""
    flag: str = ""
    customer: str = ""
    service: str = ""
    q: str = ""
    page: int = 1
    limit: int = PAGE_SIZE

    @classmethod
    def from_query(cls, query: Mapping[str, str]) -> Filters:
        def text(name: str) -> str:
            return (query.get(name) or "").strip()[:200]

        return cls(
            bucket=text("bucket"),
            severity=text("severity"),
            flag=text("flag").lower(),
            customer=text("customer"),
            service=text("service"),
            q=text("q"),
            page=_int(query.get("page"), 1, 1, 1_000_000),
            limit=_int(query.get("limit"), PAGE_SIZE, 1, MAX_PAGE_SIZE),
        )

    @property
    def active(self) -> bool:
        return any((self.bucket, self.severity, self.flag, self.customer, self.service, self.q))

    def matches(self, card: Card) -> bool:
        r, t = card.row, card.live.triage
        if self.bucket and t.bucket != self.bucket:
            return False
        if self.severity and r.severity.lower() != self.severity.lower():
            return False
        if self.flag:
            flagged = {
                "escalated": card.escalated,
                "new": r.new_signature,
                "spike": r.spike,
                "spread": r.spread,
                "quiet": not card.escalated,
            }
            if not flagged.get(self.flag, False):
                return False
        if self.customer and not r.has_customer(self.customer):
            return False
        if self.service and r.service != self.service:
            return False
        return not (self.q and self.q.lower() not in card.search_text())

    def as_dict(self) -> dict[str, Any]:
        return {k: v for k, v in asdict(self).items() if k not in ("page", "limit")}


def home_context(
    sc: StoreConn, state: HumanState, query: Mapping[str, str], cache: CardCache | None = None
) -> dict[str, Any]:
    filters = Filters.from_query(query)
    run = sc.latest_run()
    running = sc.runs(limit=1)
    ctx: dict[str, Any] = {
        "run": run_summary(run),
        "running": bool(running and running[0]["status"] == "running"),
        "filters": filters.as_dict(),
        "options": {
            "buckets": list(BUCKETS),
            "severities": list(SEVERITIES),
            "flags": list(FLAGS),
            "services": [],
            "customers": [],
        },
        "totals": {
            "patterns": 0,
            "active": 0,
            "suppressed": 0,
            "merged": 0,
            "pending": 0,
            "by_bucket": {},
            "by_flag": {},
        },
        "matched": {"active": 0, "suppressed": 0},
        "page": {"number": 1, "size": filters.limit, "pages": 1},
        "cards": [],
        "suppressed": [],
        "suppressed_shown": 0,
    }
    if run is None:
        return ctx
    window = run_window(run)
    all_cards = build_cards(sc, window.run_id, state, cache)
    cards = [c for c in all_cards if c.merged_into is None]
    by_bucket = Counter(c.live.triage.bucket for c in cards)
    by_flag = Counter(f.lower() for c in cards for f in c.flags)
    services = sorted({c.row.service for c in cards if c.row.service})
    customers = (cache or CardCache()).customer_names(sc, window)
    ctx["options"]["services"] = services
    ctx["options"]["customers"] = customers
    ctx["options"]["buckets"] = sorted(set(BUCKETS) | set(by_bucket))
    ctx["totals"] = {
        "patterns": len(cards),
        "active": sum(not c.suppressed for c in cards),
        "suppressed": sum(c.suppressed for c in cards),
        "merged": len(all_cards) - len(cards),
        "pending": sum(c.live.pending for c in cards),
        "by_bucket": dict(sorted(by_bucket.items())),
        "by_flag": {f: by_flag.get(f, 0) for f in ("new", "spike", "spread")},
    }
    matched = [c for c in cards if filters.matches(c)]
    active = [c for c in matched if not c.suppressed]
    folded = [c for c in matched if c.suppressed]
    pages = max(1, -(-len(active) // filters.limit))
    number = min(filters.page, pages)
    shown = active[(number - 1) * filters.limit : number * filters.limit]
    folded_shown = folded[:SUPPRESSED_SHOWN]
    series = daily_series(sc, [c.key for c in shown + folded_shown], window.spark_start, SPARK_DAYS)
    ctx["matched"] = {"active": len(active), "suppressed": len(folded)}
    ctx["page"] = {"number": number, "size": filters.limit, "pages": pages}
    ctx["cards"] = [c.as_dict(series.get(c.key)) for c in shown]
    ctx["suppressed"] = [c.as_dict(series.get(c.key)) for c in folded_shown]
    ctx["suppressed_shown"] = len(folded_shown)
    return ctx
