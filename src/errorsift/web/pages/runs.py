"""Runs: each run's figures and its step log, rebuilt from the stored report, plus "run now".

The step log reads like the seed's pipeline printout (Step 1 pull … Step 7 store), so the page
answers "what did this morning's run do, what did it cost, how long did it take" without a terminal.
"""

from __future__ import annotations

from typing import Any

from errorsift.store.store import StoreConn

__all__ = ["runs_context", "step_log"]

RUNS_SHOWN = 50


def step_log(report: dict[str, Any]) -> list[dict[str, str]]:
    """The run's steps with their counts, as the pipeline printed them."""
    if not report or "raw_events" not in report:
        return []
    flags = report.get("anomalies") or {}
    routing = report.get("routing") or {}
    lines = [
        (
            "pull",
            f"{report.get('raw_events', 0):,} events read, {report.get('new_events', 0):,} new, "
            f"{report.get('already_seen', 0):,} already counted, {report.get('skipped', 0)} malformed lines skipped",
        ),
        (
            "signatures",
            f"{report.get('raw_events', 0):,} raw lines → {report.get('signatures', 0):,} signatures "
            f"(dedup ratio {report.get('dedup_ratio', 0)}×)",
        ),
        ("cache", f"{report.get('cache_hits', 0)} hits, {report.get('cache_misses', 0)} misses"),
        (
            "analysis",
            f"{report.get('model_calls', 0)} model calls, {report.get('input_tokens', 0):,} in / "
            f"{report.get('output_tokens', 0):,} out tokens, ${report.get('cost_usd', 0.0):.4f} "
            f"({report.get('analyzer', '')})" + (f"; {report['pending']} pending" if report.get("pending") else ""),
        ),
        (
            "anomalies",
            f"{report.get('patterns', 0)} active: {flags.get('new', 0)} NEW, {flags.get('spike', 0)} SPIKE, "
            f"{flags.get('spread', 0)} SPREAD",
        ),
        (
            "routing",
            ", ".join(f"{b} {n}" for b, n in sorted(routing.items())) + f"; {report.get('suppressed', 0)} suppressed",
        ),
        (
            "store",
            f"{report.get('patterns', 0)} patterns written in {report.get('duration_s', 0):.2f}s"
            if "duration_s" in report
            else "not finished",
        ),
    ]
    return [{"step": f"Step {i}", "name": name, "detail": detail} for i, (name, detail) in enumerate(lines, 1)]


def runs_context(sc: StoreConn, trigger: dict[str, Any]) -> dict[str, Any]:
    runs = []
    for r in sc.runs(limit=RUNS_SHOWN):
        report = r.get("report") or {}
        runs.append(
            {
                "id": r["id"],
                "status": r["status"],
                "started_at": r["started_at"],
                "finished_at": r.get("finished_at"),
                "source": r.get("source", ""),
                "error": r.get("error"),
                "raw_events": report.get("raw_events"),
                "signatures": report.get("signatures"),
                "patterns": report.get("patterns"),
                "dedup_ratio": report.get("dedup_ratio"),
                "cache_hits": report.get("cache_hits"),
                "cache_misses": report.get("cache_misses"),
                "model_calls": report.get("model_calls"),
                "input_tokens": report.get("input_tokens"),
                "output_tokens": report.get("output_tokens"),
                "cost_usd": report.get("cost_usd"),
                "duration_s": report.get("duration_s"),
                "anomalies": report.get("anomalies") or {},
                "analyzer": report.get("analyzer") or (r.get("params") or {}).get("analyzer", ""),
                "steps": step_log(report),
            }
        )
    return {
        "runs": runs,
        "run_now": trigger,
        "running": any(r["status"] == "running" for r in runs) or bool(trigger.get("running")),
    }
