"""Layers 2–3 inside a run: cache check, then model calls for the misses, each stored on its own.

What a run does here, in order:

1. **Collect batches** submitted by earlier runs (``--batch``) that have ended: their analyses are
   stored first, so they count as cache hits below. Collection is keyed by the stored batch id,
   so it survives restarts and works whether or not this run uses ``--batch``.
2. **Expand** each active signature into a `recent` analysis and, when it is recurring (present on
   ``pattern_min_days`` baseline days or more), a long-term `pattern` analysis with its history.
3. **Cache check** per (signature, type) with each type's TTL; a hit costs nothing.
4. **Order the misses by urgency** — `recent` before `pattern`, then NEW, SPIKE, SPREAD, then
   customers and occurrences — because budgets may stop the run before the end of the list.
5. **Call** the analyzer for the misses, at most ``concurrency`` at a time, each admitted by the
   `Budget`; with ``--batch`` the non-urgent misses go into one Message Batch instead (half
   price, collected by a later run) while escalated ones are still analysed now.
6. Each analysis **commits the moment it is paid for**, so a run killed later never pays for it
   twice; a failed call is recorded with its error and leaves its signature pending; a spend
   limit or a rejected key stops further calls. Nothing already analysed is lost.

The pipeline reads the meter: counts, tokens, cost, and ``pending`` with the reasons per kind.
"""

from __future__ import annotations

import dataclasses
from collections import Counter, deque
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from errorsift.analysis.base import Analyzer
from errorsift.analysis.batching import BatchRunner
from errorsift.analysis.budget import Budget
from errorsift.analysis.cache import CachePolicy
from errorsift.errors import AnalyzerError, ConfigError
from errorsift.models import Analysis, AnalysisOutcome, AnalysisRequest, AnalysisType
from errorsift.store.analysis_queries import mean_call_cost, spend_since
from errorsift.store.store import CachedAnalysis, Store, StoreConn

__all__ = ["AnalysisItem", "AnalysisOptions", "AnalysisStep", "Unit", "record_outcome", "urgency", "write_outcome"]

_FLAG_RANK = {"NEW": 0, "SPIKE": 1, "SPREAD": 2}
MAX_LISTED_PENDING = 50


@dataclass(frozen=True, slots=True)
class AnalysisOptions:
    """How a run spends on analyses. Budgets of 0 mean no limit."""

    run_budget_usd: float = 0.0
    daily_budget_usd: float = 0.0
    concurrency: int = 4
    batch: bool = False
    batch_wait_s: float = 0.0  # how long this run waits for its own batch before leaving it to the next
    batch_poll_s: float = 10.0
    pattern_min_days: int = 3

    def __post_init__(self) -> None:
        if self.concurrency < 1:
            raise ConfigError(f"analysis concurrency must be at least 1, got {self.concurrency}")
        if self.run_budget_usd < 0 or self.daily_budget_usd < 0:
            raise ConfigError("budgets must be >= 0 USD (0 means no limit)")
        if self.pattern_min_days < 1:
            raise ConfigError("pattern_min_days must be at least 1")


@dataclass(frozen=True, slots=True)
class AnalysisItem:
    request: AnalysisRequest
    escalated: bool = False  # NEW/SPIKE/SPREAD go first when calls are limited


@dataclass(frozen=True, slots=True)
class Unit:
    """One (signature, analysis type) to answer this run."""

    request: AnalysisRequest
    escalated: bool

    @property
    def key(self) -> str:
        return self.request.signature

    @property
    def kind(self) -> str:
        return AnalysisType(self.request.analysis_type).value


def urgency(unit: Unit) -> tuple[int, int, int, int, int, str]:
    """Sort key, most urgent first: recent before pattern, flagged (NEW > SPIKE > SPREAD) before
    quiet, then more customers, then more occurrences, then the key for a stable order."""
    r = unit.request
    flag = min((_FLAG_RANK.get(f.upper(), 3) for f in r.anomaly_flags), default=3)
    if unit.escalated and flag == 3:
        flag = 2
    return (
        0 if unit.kind == AnalysisType.RECENT.value else 1,
        0 if unit.escalated else 1,
        flag,
        -r.customers_affected,
        -r.occurrences,
        r.signature,
    )


def record_outcome(
    store: Store, run_id: int | None, unit: Unit, outcome: AnalysisOutcome, at: datetime, *, save: bool = True
) -> None:
    """Commit one paid analysis and its metered call in one transaction."""
    with store.begin() as conn:
        write_outcome(conn, run_id, unit, outcome, at, save=save)


def write_outcome(
    conn: StoreConn, run_id: int | None, unit: Unit, outcome: AnalysisOutcome, at: datetime, *, save: bool = True
) -> None:
    """Store the analysis (unless a newer one must win) and meter its call, on the caller's transaction."""
    if save:
        conn.save_analysis(
            unit.key,
            unit.kind,
            outcome.analysis.model_dump(mode="json"),
            outcome.analysis.analyzer,
            at,
            outcome.prompt,
        )
    if outcome.model_called:
        u = outcome.usage
        conn.record_model_call(
            run_id=run_id,
            signature=unit.key,
            analysis_type=unit.kind,
            model=u.model,
            input_tokens=u.input_tokens,
            output_tokens=u.output_tokens,
            cost_usd=u.cost_usd,
            cache_write_tokens=u.cache_write_tokens,
            cache_read_tokens=u.cache_read_tokens,
            usage=u.raw,
            batch=u.batch,
        )


@dataclass(slots=True)
class Meter:
    """What the step did, for the run report."""

    counts: Counter[str] = field(default_factory=Counter)
    cost_usd: float = 0.0
    pending: Counter[str] = field(default_factory=Counter)
    pending_list: list[dict[str, str]] = field(default_factory=list)
    analyses: dict[str, Analysis] = field(default_factory=dict)
    patterns: dict[str, Analysis] = field(default_factory=dict)
    batch: dict[str, Any] = field(default_factory=lambda: {"submitted": 0, "collected": 0, "in_flight": 0})
    stopped: str = ""  # why the run stopped making calls (for people)
    stop_kind: str = ""  # the pending reason for what was left (budget_run, budget_day, spend_limit, auth)

    def paid(self, unit: Unit, outcome: AnalysisOutcome) -> None:
        self.store_analysis(unit, outcome.analysis)
        if not outcome.model_called:
            return
        u = outcome.usage
        calls = u.raw.get("calls") if isinstance(u.raw, dict) else None
        self.counts["model_calls"] += len(calls) if isinstance(calls, list) and calls else 1
        self.counts["analyses_made"] += 1
        self.counts["input_tokens"] += u.input_tokens
        self.counts["output_tokens"] += u.output_tokens
        self.counts["cache_write_tokens"] += u.cache_write_tokens
        self.counts["cache_read_tokens"] += u.cache_read_tokens
        how = u.raw.get("how") if isinstance(u.raw, dict) else None
        if how in ("repaired", "fallback"):
            self.counts[how] += 1
        self.cost_usd += u.cost_usd

    def store_analysis(self, unit: Unit, analysis: Analysis) -> None:
        (self.analyses if unit.kind == AnalysisType.RECENT.value else self.patterns)[unit.key] = analysis

    def left_pending(self, unit: Unit, reason: str, detail: str) -> None:
        self.pending[reason] += 1
        if len(self.pending_list) < MAX_LISTED_PENDING:
            self.pending_list.append({"signature": unit.key, "type": unit.kind, "reason": reason, "detail": detail})

    def as_dict(self, budget: Budget, concurrency: int) -> dict[str, Any]:
        c = self.counts
        return {
            "cache_hits": c["cache_hits"],
            "cache_misses": c["cache_misses"],
            "model_calls": c["model_calls"],
            "input_tokens": c["input_tokens"],
            "output_tokens": c["output_tokens"],
            "cache_write_tokens": c["cache_write_tokens"],
            "cache_read_tokens": c["cache_read_tokens"],
            "cost_usd": self.cost_usd,
            "pending": sum(self.pending.values()),
            "analyses": self.analyses,
            "pattern_analyses": self.patterns,
            "report": {
                "recent": {"hits": c["hits_recent"], "misses": c["misses_recent"]},
                "pattern": {"hits": c["hits_pattern"], "misses": c["misses_pattern"]},
                "analyses_made": c["analyses_made"],
                "repaired": c["repaired"],
                "fallbacks": c["fallback"],
                "pending_by_reason": dict(self.pending),
                "pending_signatures": self.pending_list,
                "stopped": self.stopped,
                "budget": budget.as_dict(),
                "batch": dict(self.batch),
                "concurrency": concurrency,
            },
        }


class AnalysisStep:
    """Runs layers 2–3 for one run; see the module docstring for the order of things."""

    def __init__(
        self,
        store: Store,
        analyzer: Analyzer,
        cache: CachePolicy,
        options: AnalysisOptions | None = None,
    ) -> None:
        self.store = store
        self.analyzer = analyzer
        self.cache = cache
        self.options = options or AnalysisOptions()
        self._past_mean: float | None = None
        self.batches = BatchRunner(store, analyzer) if getattr(analyzer, "supports_batch", False) else None
        if self.options.batch and self.batches is None:
            raise ConfigError(f"--batch needs an analyzer with a batch API (anthropic); {analyzer.name} has none")

    def run(self, run_id: int, items: list[AnalysisItem]) -> dict[str, Any]:
        """Returns the meter (hits, misses, calls, tokens, cost, pending) and `analyses` by key."""
        meter = Meter()
        now = datetime.now(UTC)
        budget = self._budget(now)
        units = sorted(self._expand(items), key=urgency)
        in_batch: set[tuple[str, str]] = set()
        if self.batches is not None:
            in_batch = self.batches.collect(run_id, meter, now)
        keys = sorted({u.key for u in units})
        with self.store.read() as conn:
            cached = {kind.value: conn.analyses_for(keys, kind.value) for kind in AnalysisType}
        misses: list[Unit] = []
        stale: dict[tuple[str, str], CachedAnalysis] = {}
        for unit in units:
            hit = cached[unit.kind].get(unit.key)
            if hit is not None and self._usable(hit.analyzer, hit.created_at, now, unit.kind):
                meter.counts["cache_hits"] += 1
                meter.counts[f"hits_{unit.kind}"] += 1
                meter.store_analysis(unit, _as_analysis(unit.kind, hit.analysis))
                continue
            meter.counts["cache_misses"] += 1
            meter.counts[f"misses_{unit.kind}"] += 1
            if hit is not None:
                stale[(unit.key, unit.kind)] = hit
            if (unit.key, unit.kind) in in_batch:
                meter.left_pending(unit, "batch", "waiting for a submitted batch")
                continue
            misses.append(unit)
        now_units, batch_units = misses, []
        if self.options.batch and self.batches is not None:
            now_units = [u for u in misses if u.escalated and u.kind == AnalysisType.RECENT.value]
            batch_units = [u for u in misses if not (u.escalated and u.kind == AnalysisType.RECENT.value)]
        self._call_all(run_id, now_units, budget, meter)
        if batch_units and self.batches is not None:
            self.batches.submit(run_id, batch_units, budget, meter, self.options)
        for unit in misses:  # a card is never empty: the last good analysis, else a pending note
            if unit.key in (meter.analyses if unit.kind == AnalysisType.RECENT.value else meter.patterns):
                continue
            old = stale.get((unit.key, unit.kind))
            if old is not None and not old.analysis.get("fallback"):
                meter.store_analysis(unit, _as_analysis(unit.kind, old.analysis))
            elif unit.kind == AnalysisType.RECENT.value:
                why = next((p["detail"] for p in meter.pending_list if p["signature"] == unit.key), "pending")
                meter.store_analysis(
                    unit, Analysis(summary=f"Analysis pending: {why}"[:200], fallback=True, analyzer="pending")
                )
        for item in items:  # signatures with no unit at all still need a card
            meter.analyses.setdefault(
                item.request.signature, Analysis(summary="Analysis pending", fallback=True, analyzer="pending")
            )
        return meter.as_dict(budget, self.options.concurrency)

    # ------------------------------------------------------------------ parts

    def _budget(self, now: datetime) -> Budget:
        day_spent, self._past_mean = 0.0, None
        if not (self.options.run_budget_usd or self.options.daily_budget_usd):
            return Budget()
        midnight = now.replace(hour=0, minute=0, second=0, microsecond=0)
        with self.store.read() as conn:
            if self.options.daily_budget_usd > 0:
                day_spent = spend_since(conn, midnight)
            model = getattr(self.analyzer, "model", None)
            if model:
                self._past_mean = mean_call_cost(conn, model)
        return Budget(self.options.run_budget_usd, self.options.daily_budget_usd, day_spent)

    def _expand(self, items: list[AnalysisItem]) -> list[Unit]:
        """A `recent` unit per item, plus a `pattern` unit for recurring ones when the analyzer
        reads history (`supports_pattern`; the offline rules do not, so they would only repeat
        the recent answer)."""
        patterns = bool(getattr(self.analyzer, "supports_pattern", False))
        units: list[Unit] = []
        for item in items:
            request = dataclasses.replace(item.request, analysis_type=AnalysisType.RECENT)
            units.append(Unit(request, item.escalated))
            if patterns and item.request.days_present >= self.options.pattern_min_days:
                pattern = dataclasses.replace(item.request, analysis_type=AnalysisType.PATTERN)
                units.append(Unit(pattern, item.escalated))
        return units

    def _estimate(self, unit: Unit, budget: Budget) -> float:
        """This run's mean cost per call once known; before that, the mean of past calls to the
        same model, else the analyzer's estimate from the prompt size."""
        if not budget.limited:
            return 0.0
        if self._past_mean is not None:
            return budget.expected(self._past_mean)
        estimate = getattr(self.analyzer, "estimate_cost", None)
        return budget.expected(float(estimate(unit.request)) if callable(estimate) else 0.0)

    def _call_all(self, run_id: int, units: list[Unit], budget: Budget, meter: Meter) -> None:
        """Dispatch calls in urgency order, at most `concurrency` in flight, each admitted by the budget.

        Workers only talk to the provider; every store write happens here, on the dispatching
        thread, so SQLite sees one writer.
        """
        queue = deque(units)
        workers = 1 if self.analyzer.name == "offline" else self.options.concurrency
        inflight: dict[Future[AnalysisOutcome], tuple[Unit, float]] = {}
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="analysis") as pool:
            while queue or inflight:
                while queue and len(inflight) < workers and not meter.stopped:
                    unit = queue[0]
                    cost = self._estimate(unit, budget)
                    refusal = budget.refusal(cost)
                    if refusal is not None:
                        if inflight:  # their reservations may exceed what they really cost: wait, re-check
                            break
                        meter.stopped, meter.stop_kind = budget.describe(refusal), refusal
                        break
                    queue.popleft()
                    budget.reserve(cost)
                    inflight[pool.submit(self.analyzer.analyze, unit.request)] = (unit, cost)
                if not inflight:
                    break
                done, _ = wait(list(inflight), return_when=FIRST_COMPLETED)
                for future in done:
                    unit, reserved = inflight.pop(future)
                    self._settle(run_id, unit, future, reserved, budget, meter)
        for unit in queue:
            meter.left_pending(unit, meter.stop_kind or "stopped", meter.stopped)

    def _settle(
        self,
        run_id: int,
        unit: Unit,
        future: Future[AnalysisOutcome],
        reserved: float,
        budget: Budget,
        meter: Meter,
    ) -> None:
        try:
            outcome = future.result()
        except AnalyzerError as exc:
            budget.settle(reserved, 0.0, paid=False)
            kind = str(getattr(exc, "kind", "error"))
            reason = kind if kind in ("spend_limit", "auth") else "error"
            meter.left_pending(unit, reason, str(exc))
            with self.store.begin() as conn:
                conn.record_model_call(
                    run_id=run_id,
                    signature=unit.key,
                    analysis_type=unit.kind,
                    model=str(getattr(self.analyzer, "model", self.analyzer.name)),
                    ok=False,
                    error=str(exc),
                )
            if getattr(exc, "stop_run", False) and not meter.stopped:
                meter.stopped, meter.stop_kind = str(exc), reason
            return
        budget.settle(reserved, outcome.usage.cost_usd, paid=outcome.model_called)
        record_outcome(self.store, run_id, unit, outcome, datetime.now(UTC))
        meter.paid(unit, outcome)

    def _usable(self, cached_by: str, created_at: datetime, now: datetime, kind: str) -> bool:
        """Fresh, and at least as good as what this run would produce: an offline answer never stands
        in for a model's, while a paid model answer serves any run (an offline run must not discard it)."""
        if not self.cache.is_fresh(created_at, now, kind):
            return False
        return cached_by != "offline" or self.analyzer.name == "offline"


def _as_analysis(kind: str, stored: dict[str, Any]) -> Analysis:
    from errorsift.analysis.schema import answer_model

    return answer_model(kind).model_validate(stored)
