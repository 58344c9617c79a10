"""Layers 2–3 inside a run: cache check, then one analyzer call per miss, each stored on its own.

An analysis commits the moment it is paid for, so a run killed later never pays for it twice; a
failed call leaves its signature pending (recorded, retried next run) instead of failing the run.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from errorsift.analysis.base import Analyzer
from errorsift.analysis.cache import CachePolicy
from errorsift.errors import AnalyzerError
from errorsift.models import Analysis, AnalysisRequest, AnalysisType
from errorsift.store.store import Store


@dataclass(frozen=True, slots=True)
class AnalysisItem:
    request: AnalysisRequest
    escalated: bool = False  # NEW/SPIKE/SPREAD go first when calls are limited


class AnalysisStep:
    def __init__(self, store: Store, analyzer: Analyzer, cache: CachePolicy) -> None:
        self.store = store
        self.analyzer = analyzer
        self.cache = cache

    def run(self, run_id: int, items: list[AnalysisItem]) -> dict[str, Any]:
        """Returns the meter (hits, misses, calls, tokens, cost, pending) and `analyses` by key."""
        meter: dict[str, Any] = dict.fromkeys(
            ("cache_hits", "cache_misses", "model_calls", "input_tokens", "output_tokens", "pending"), 0
        )
        meter["cost_usd"] = 0.0
        analyses: dict[str, Analysis] = {}
        now = datetime.now(UTC)
        rtype = AnalysisType.RECENT.value
        order = sorted(items, key=lambda i: (not i.escalated, -i.request.occurrences, i.request.signature))
        keys = [i.request.signature for i in order]
        with self.store.read() as conn:
            cached = conn.analyses_for(keys, rtype)
        for item in order:
            key = item.request.signature
            hit = cached.get(key)
            if hit is not None and self._usable(hit.analyzer, hit.created_at, now):
                meter["cache_hits"] += 1
                analyses[key] = Analysis.model_validate(hit.analysis)
                continue
            meter["cache_misses"] += 1
            try:
                outcome = self.analyzer.analyze(item.request)
            except AnalyzerError as exc:
                meter["pending"] += 1
                with self.store.begin() as conn:
                    conn.record_model_call(
                        run_id=run_id,
                        signature=key,
                        analysis_type=rtype,
                        model=self.analyzer.name,
                        ok=False,
                        error=str(exc),
                    )
                analyses[key] = Analysis(summary=f"Analysis pending: {exc}"[:200], fallback=True, analyzer="pending")
                continue
            analyses[key] = outcome.analysis
            with self.store.begin() as conn:
                conn.save_analysis(
                    key, rtype, outcome.analysis.model_dump(mode="json"), outcome.analysis.analyzer, now, outcome.prompt
                )
                if outcome.model_called:
                    u = outcome.usage
                    conn.record_model_call(
                        run_id=run_id,
                        signature=key,
                        analysis_type=rtype,
                        model=u.model,
                        input_tokens=u.input_tokens,
                        output_tokens=u.output_tokens,
                        cost_usd=u.cost_usd,
                    )
            if outcome.model_called:
                meter["model_calls"] += 1
                meter["input_tokens"] += outcome.usage.input_tokens
                meter["output_tokens"] += outcome.usage.output_tokens
                meter["cost_usd"] += outcome.usage.cost_usd
        meter["analyses"] = analyses
        return meter

    def _usable(self, cached_by: str, created_at: datetime, now: datetime) -> bool:
        """Fresh, and from the same kind of analyzer: an offline answer never stands in for a model's."""
        if not self.cache.is_fresh(created_at, now, AnalysisType.RECENT):
            return False
        return (cached_by == "offline") == (self.analyzer.name == "offline")
