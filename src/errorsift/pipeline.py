"""One run: pull → signatures → cache → analyze → anomalies → triage → store, as named steps.

Write boundaries are chosen for crash safety: the ingest (seen ids, counts, signatures, grouping
state) commits as one transaction; each analysis commits as soon as it is paid for, so a killed
run never pays for it twice; the triage results and the run report commit together at the end.
"""

from __future__ import annotations

import dataclasses
import math
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from errorsift.analysis.base import Analyzer
from errorsift.analysis.cache import CachePolicy
from errorsift.analysis.facts import anomaly_flags, daily_history
from errorsift.analysis.step import AnalysisItem, AnalysisOptions, AnalysisStep
from errorsift.anomaly import DayCount, baseline_from_days, classify, urgency_key, why_flagged
from errorsift.ingest import Ingestor, resolve_key
from errorsift.models import Analysis, AnalysisRequest, Anomaly, Triage
from errorsift.signatures.base import Grouper
from errorsift.sources.base import Source
from errorsift.store.store import Store
from errorsift.triage import DEFAULT_CATEGORY_ROUTES, NoiseRule, NoiseRules, decide

StepLog = Callable[[str, str], None]


def _quiet(_step: str, _detail: str) -> None:
    return None


@dataclass(frozen=True, slots=True)
class RunConfig:
    at: datetime | None = None  # end of the current window; default now
    window: timedelta = timedelta(hours=24)
    baseline_days: int = 7
    cache: CachePolicy = field(default_factory=CachePolicy)
    category_routes: dict[str, tuple[str, str]] = field(default_factory=lambda: dict(DEFAULT_CATEGORY_ROUTES))
    samples: int = 3
    analysis: AnalysisOptions = field(default_factory=AnalysisOptions)  # budgets, concurrency, --batch


@dataclass(slots=True)
class Pattern:
    """One active signature in the window, as the run evaluated it (a dashboard card)."""

    signature: str
    normalized: str
    template: str
    error_type: str
    service: str
    occurrences: int
    customers: list[str]
    anomaly: Anomaly
    triage: Triage
    analysis: Analysis
    why_flagged: str = ""

    def as_dict(self) -> dict[str, Any]:
        return {
            "signature": self.signature,
            "normalized": self.normalized,
            "template": self.template,
            "error_type": self.error_type,
            "service": self.service,
            "occurrences": self.occurrences,
            "customers": self.customers,
            "anomaly": self.anomaly.as_dict(),
            "why_flagged": self.why_flagged,
            "triage": self.triage.as_dict(),
            "analysis": self.analysis.model_dump(mode="json"),
        }


@dataclass(slots=True)
class RunResult:
    run_id: int
    report: dict[str, Any]
    patterns: list[Pattern]

    def as_dict(self) -> dict[str, Any]:
        return {"run": self.report, "patterns": [p.as_dict() for p in self.patterns]}


def _named(per_customer: dict[str, int]) -> frozenset[str]:
    """Customers that have a name: events without a tenant count as occurrences, not as a customer."""
    return frozenset(c for c in per_customer if c)


def _plain_stats(stats: object) -> dict[str, Any]:
    """A source's counters as JSON-able data for the run report (pages, 429 waits, partial, …)."""
    raw = dataclasses.asdict(stats) if dataclasses.is_dataclass(stats) and not isinstance(stats, type) else {}
    return {k: (v.isoformat() if isinstance(v, datetime) else v) for k, v in raw.items()}


def _reasons(meter: dict[str, Any]) -> str:
    """``2 budget_run, 1 error`` — why analyses stayed pending, for the run log."""
    by_reason = meter.get("report", {}).get("pending_by_reason", {})
    return ", ".join(f"{n} {reason}" for reason, n in sorted(by_reason.items())) or "errors"


def window_hours(at: datetime, window: timedelta, baseline_days: int) -> tuple[int, int, int]:
    """(baseline start, window start, window end) as epoch hours.

    Counts are hourly, so the window end is `at` rounded up to a whole hour: with the default
    `at` = now, the current partial hour is included.
    """
    end = math.ceil(at.timestamp() / 3600)
    start = end - max(1, math.ceil(window.total_seconds() / 3600))
    return start - 24 * baseline_days, start, end


class Pipeline:
    def __init__(
        self,
        store: Store,
        grouper: Grouper,
        redact: Callable[[str], tuple[str, dict[str, int]]],
        analyzer: Analyzer,
        config: RunConfig | None = None,
        log: StepLog = _quiet,
    ) -> None:
        self.store = store
        self.grouper = grouper
        self.redact = redact
        self.analyzer = analyzer
        self.config = config or RunConfig()
        self.log = log

    def run(self, source: Source) -> RunResult:
        """One run. Event ids are namespaced per kind of source (a Datadog id is unique fleet-wide;
        a file's ids only among files), so the same events re-read never count twice."""
        namespace = getattr(source, "id_namespace", "file")
        started = time.perf_counter()
        at = self.config.at or datetime.now(UTC)
        with self.store.begin() as conn:
            conn.abandon_running()
            run_id = conn.start_run(source.name, self._params(at), datetime.now(UTC))
        try:
            return self._run(run_id, source, namespace, at, started)
        except BaseException as exc:
            with self.store.begin() as conn:
                conn.finish_run(run_id, "failed", {"duration_s": round(time.perf_counter() - started, 3)}, str(exc))
            raise

    def _params(self, at: datetime) -> dict[str, Any]:
        return {
            "at": at.isoformat(),
            "window_s": self.config.window.total_seconds(),
            "baseline_days": self.config.baseline_days,
            "analyzer": self.analyzer.name,
            "grouping": self.grouper.strategy_id,
        }

    def _run(self, run_id: int, source: Source, namespace: str, at: datetime, started: float) -> RunResult:
        log = self.log
        log("pull", f"reading {source.name}")
        with self.store.begin() as conn:
            ingest = Ingestor(conn, self.grouper, self.redact, namespace, conn.aliases())
            ingest.consume_source(source)
            self.grouper = ingest.grouper  # the grouper that signed (a worker's, when one did)
            learned = getattr(self.grouper, "aliases", None)
            new_aliases = dict(learned()) if callable(learned) else {}
            ingest.finish(new_aliases)
            state = self.grouper.export_state()
            if state is not None:
                conn.save_grouping_state(self.grouper.strategy_id, state)
            watermark = getattr(source, "watermark", None)
            new_watermark: datetime | None = None
            if callable(watermark):  # committed with the counts: exactly-once across runs
                new_watermark = watermark()
                previous = conn.checkpoint(source.name)
                if previous is not None and previous > new_watermark:
                    # A capped run that only re-read the overlap stops before the old mark:
                    # everything up to the old mark is still complete, so never move it back.
                    new_watermark = previous
                conn.save_checkpoint(source.name, new_watermark)
        stats = ingest.stats
        src = source.stats
        skipped = src.malformed
        log(
            "pull",
            f"{stats.raw_events:,} events read, {stats.new_events:,} new, {stats.already_seen:,} already counted,"
            f" {skipped} malformed lines skipped"
            + (f" (lines {', '.join(map(str, src.malformed_lines))})" if src.malformed_lines else "")
            # files count cut lines here; a capped pull's bool is told by its summary below
            + (f", {src.truncated} truncated" if src.truncated and not isinstance(src.truncated, bool) else ""),
        )
        if new_watermark is not None:  # an API pull: pages, 429 waits, PARTIAL, where a capped pull resumes
            log("pull", f"{src.summary()}; watermark now {new_watermark.isoformat()}")
        n_sigs = ingest.signature_count(new_aliases)
        ratio = stats.raw_events / n_sigs if n_sigs else 0.0
        log("signatures", f"{stats.raw_events:,} raw lines → {n_sigs:,} signatures (dedup ratio {ratio:.1f}×)")

        base_start, win_start, win_end = window_hours(at, self.config.window, self.config.baseline_days)
        with self.store.read() as conn:
            current = conn.window_counts(win_start, win_end)
            daily = conn.daily_counts(base_start, win_start)
            rows = conn.signature_rows(list(current))
            # Rules and overrides name a key; when that key was later generalized or merged away,
            # they follow it to the survivor instead of silently matching nothing.
            aliases = conn.aliases()
            noise = NoiseRules(
                NoiseRule(
                    r["id"],
                    r["kind"],
                    resolve_key(aliases, r["value"]) if r["kind"] == "signature" else r["value"],
                    r["reason"],
                )
                for r in conn.noise_rules()
            )
            overrides = {resolve_key(aliases, k): v for k, v in conn.owner_overrides().items()}

        anomalies: dict[str, Anomaly] = {}
        for key, per_customer in current.items():
            days = [DayCount(sum(c.values()), _named(c)) for c in daily.get(key, {}).values() if sum(c.values()) > 0]
            anomalies[key] = classify(sum(per_customer.values()), _named(per_customer), baseline_from_days(days))

        requests = [
            AnalysisItem(
                request=AnalysisRequest(
                    signature=key,
                    error_type=rows.get(key, {}).get("error_type", ""),
                    occurrences=sum(per_customer.values()),
                    customers_affected=len(_named(per_customer)),
                    normalized=(rows.get(key, {}).get("template") or rows.get(key, {}).get("normalized", ""))[:400],
                    samples=tuple(rows.get(key, {}).get("samples", [])[: self.config.samples]),
                    anomaly_flags=anomaly_flags(anomalies[key]),
                    service=rows.get(key, {}).get("service", ""),
                    days_present=anomalies[key].baseline_days_present,
                    daily_history=daily_history(
                        daily.get(key, {}), self.config.baseline_days, base_start, per_customer
                    ),
                ),
                escalated=anomalies[key].escalated,
            )
            for key, per_customer in current.items()
        ]
        step = AnalysisStep(self.store, self.analyzer, self.config.cache, self.config.analysis)
        meter = step.run(run_id, requests)
        log(
            "cache",
            f"{meter['cache_hits']} hits, {meter['cache_misses']} misses (TTL recent {self.config.cache.recent_ttl})",
        )
        log(
            "analysis",
            f"{meter['model_calls']} model calls, {meter['input_tokens']:,} in / {meter['output_tokens']:,} out"
            f" tokens, ${meter['cost_usd']:.4f} ({self.analyzer.name})"
            + (f"; {meter['pending']} pending ({_reasons(meter)})" if meter["pending"] else ""),
        )
        flags = Counter()
        for a in anomalies.values():
            flags.update(
                name for name, on in (("new", a.new_signature), ("spike", a.spike), ("spread", a.spread)) if on
            )
        log(
            "anomalies",
            f"{len(anomalies)} active: {flags['new']} NEW, {flags['spike']} SPIKE, {flags['spread']} SPREAD",
        )

        patterns = self._patterns(current, rows, anomalies, meter["analyses"], noise, overrides)
        buckets = Counter(p.triage.bucket for p in patterns)
        suppressed = sum(p.triage.suppressed for p in patterns)
        log("routing", ", ".join(f"{b} {n}" for b, n in sorted(buckets.items())) + f"; {suppressed} suppressed")

        report = {
            "run_id": run_id,
            "source": source.name,
            "at": at.isoformat(),
            "window_start": datetime.fromtimestamp(win_start * 3600, UTC).isoformat(),
            "window_end": datetime.fromtimestamp(win_end * 3600, UTC).isoformat(),
            "raw_events": stats.raw_events,
            "new_events": stats.new_events,
            "already_seen": stats.already_seen,
            "skipped": skipped,
            "malformed_lines": list(src.malformed_lines),
            "truncated": src.truncated,
            "decode_errors": src.decode_errors,
            "signatures": n_sigs,
            "dedup_ratio": round(ratio, 2),
            "patterns": len(patterns),
            "cache_hits": meter["cache_hits"],
            "cache_misses": meter["cache_misses"],
            "model_calls": meter["model_calls"],
            "input_tokens": meter["input_tokens"],
            "output_tokens": meter["output_tokens"],
            "cost_usd": round(meter["cost_usd"], 6),
            "pending": meter["pending"],
            "analysis": meter.get("report", {}),
            "anomalies": dict(flags),
            "routing": dict(buckets),
            "suppressed": suppressed,
            "redactions": dict(stats.redactions),
            "source_stats": _plain_stats(src),
            "watermark": new_watermark.isoformat() if new_watermark is not None else None,
            "analyzer": self.analyzer.name,
            "grouping": self.grouper.strategy_id,
        }
        with self.store.begin() as conn:
            conn.save_triage(run_id, [self._triage_row(rank, p) for rank, p in enumerate(patterns)])
            report["duration_s"] = round(time.perf_counter() - started, 3)
            conn.finish_run(run_id, "ok", report)
        log("store", f"{len(patterns)} patterns written; run {run_id} complete in {report['duration_s']:.2f}s")
        return RunResult(run_id, report, patterns)

    def _patterns(
        self,
        current: dict[str, dict[str, int]],
        rows: dict[str, dict[str, Any]],
        anomalies: dict[str, Anomaly],
        analyses: dict[str, Analysis],
        noise: NoiseRules,
        overrides: dict[str, dict[str, Any]],
    ) -> list[Pattern]:
        patterns = []
        for key, per_customer in current.items():
            row = rows.get(key, {})
            analysis = analyses[key]
            anomaly = anomalies[key]
            rule = noise.match(key, row.get("normalized", ""))
            if rule is None and row.get("template"):
                rule = noise.match(key, row["template"])
            override = overrides.get(key)
            triage = decide(
                analysis,
                row.get("error_type", ""),
                anomaly,
                routes=self.config.category_routes,
                override=(override["bucket"], override["owner"]) if override else None,
                override_reason=override["reason"] if override else "",
                noise_rule=rule,
            )
            occurrences = sum(per_customer.values())
            patterns.append(
                Pattern(
                    signature=key,
                    normalized=row.get("normalized", ""),
                    template=row.get("template", ""),
                    error_type=row.get("error_type", ""),
                    service=row.get("service", ""),
                    occurrences=occurrences,
                    customers=sorted(_named(per_customer)),
                    anomaly=anomaly,
                    triage=triage,
                    analysis=analysis,
                    why_flagged=why_flagged(anomaly, occurrences, len(_named(per_customer)), self.config.baseline_days),
                )
            )
        patterns.sort(
            key=lambda p: urgency_key(
                p.anomaly, p.analysis.severity, len(p.customers), p.occurrences, p.signature, p.triage.suppressed
            )
        )
        return patterns

    @staticmethod
    def _triage_row(rank: int, p: Pattern) -> dict[str, Any]:
        return {
            "signature": p.signature,
            "rank": rank,
            "occurrences": p.occurrences,
            "customers": p.customers,
            "anomaly": {**p.anomaly.as_dict(), "why_flagged": p.why_flagged},
            "bucket": p.triage.bucket,
            "owner": p.triage.owner,
            "reason": p.triage.reason,
            "suppressed": p.triage.suppressed,
        }
