"""Read models shared by the CLI and the dashboard: plain dicts built from the store."""

from __future__ import annotations

from typing import Any

from errorsift.store.store import Store


def latest_patterns(store: Store) -> dict[str, Any]:
    """The latest successful run's report and its patterns, most urgent first (the morning cards)."""
    with store.read() as conn:
        run = conn.latest_run()
        if run is None:
            return {"run": None, "patterns": []}
        rows = conn.triage_rows(run["id"])
        keys = [r["signature"] for r in rows]
        sigs = conn.signature_rows(keys)
        analyses = conn.analyses_for(keys, "recent")
        long_term = conn.analyses_for(keys, "pattern")
    patterns = []
    for r in rows:
        sig = sigs.get(r["signature"], {})
        anomaly = dict(r["anomaly"])
        cached = analyses.get(r["signature"])
        patterns.append(
            {
                "signature": r["signature"],
                "normalized": sig.get("normalized", ""),
                "template": sig.get("template", ""),
                "error_type": sig.get("error_type", ""),
                "service": sig.get("service", ""),
                "occurrences": r["occurrences"],
                "customers": r["customers"],
                "why_flagged": anomaly.pop("why_flagged", ""),
                "anomaly": anomaly,
                "triage": {k: r[k] for k in ("bucket", "owner", "reason", "suppressed")},
                "analysis": cached.analysis if cached else {},
                "pattern_analysis": long_term[r["signature"]].analysis if r["signature"] in long_term else None,
            }
        )
    return {"run": run["report"], "patterns": patterns}
