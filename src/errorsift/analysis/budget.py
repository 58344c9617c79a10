"""Spend control for one run: a per-run and a per-day USD budget, checked before every call.

Why admission instead of a check after the fact: calls run concurrently, so "stop when the total
passes the budget" would let every in-flight call overshoot it. Each call is admitted only if
what is already spent, plus what the calls in flight are expected to cost, plus this call's
expected cost stays within both budgets. The expected cost is the mean of the calls this run has
paid for; before the first one, the mean of recent past calls to the same model, else the
analyzer's own cautious estimate from the prompt size.
When a call is refused, the run stops making calls; the signatures left over stay `pending` (in
urgency order, so the most urgent were analysed first) and are picked up by the next run.

A budget of 0 means no limit. The per-day budget counts every call since 00:00 UTC, across runs.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

__all__ = ["Budget"]


@dataclass(slots=True)
class Budget:
    """Running totals and the admission rule; safe to call from the step's dispatcher thread."""

    run_limit_usd: float = 0.0
    day_limit_usd: float = 0.0
    day_spent_before_usd: float = 0.0  # spent today by earlier runs (from the store)
    spent_usd: float = 0.0  # this run
    reserved_usd: float = 0.0  # expected cost of the calls in flight
    paid_calls: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @property
    def limited(self) -> bool:
        return self.run_limit_usd > 0 or self.day_limit_usd > 0

    def expected(self, estimate: float) -> float:
        """The expected cost of the next call: this run's mean once known, else `estimate`."""
        with self._lock:
            return self.spent_usd / self.paid_calls if self.paid_calls else estimate

    def refusal(self, cost: float) -> str | None:
        """None when a call of this expected cost fits both budgets; else which budget it breaks."""
        with self._lock:
            committed = self.spent_usd + self.reserved_usd + cost
            if self.run_limit_usd > 0 and committed > self.run_limit_usd:
                return "budget_run"
            if self.day_limit_usd > 0 and self.day_spent_before_usd + committed > self.day_limit_usd:
                return "budget_day"
            return None

    def reserve(self, cost: float) -> None:
        with self._lock:
            self.reserved_usd += cost

    def settle(self, reserved: float, actual: float, paid: bool) -> None:
        """A call finished: release its reservation and book what it really cost."""
        with self._lock:
            self.reserved_usd = max(0.0, self.reserved_usd - reserved)
            self.spent_usd += actual
            if paid:
                self.paid_calls += 1

    def describe(self, reason: str) -> str:
        """One line for the run log and the pending cards."""
        if reason == "budget_run":
            return f"run budget ${self.run_limit_usd:.2f} reached (spent ${self.spent_usd:.4f} this run)"
        if reason == "budget_day":
            today = self.day_spent_before_usd + self.spent_usd
            return f"daily budget ${self.day_limit_usd:.2f} reached (spent ${today:.4f} today)"
        return reason

    def as_dict(self) -> dict[str, float]:
        return {
            "run_limit_usd": self.run_limit_usd,
            "day_limit_usd": self.day_limit_usd,
            "spent_usd": round(self.spent_usd, 6),
            "day_spent_usd": round(self.day_spent_before_usd + self.spent_usd, 6),
        }
