"""One pattern, for every audience: the card, then support, operations/platform and leadership,
then the evidence (signature, samples, customers, charts) and the provenance (analyzer, prompt).

The analysis object was designed so one answer serves several readers (SPEC layer 3); this page
just gives each reader their own section of it, so nobody has to read JSON.
"""

from __future__ import annotations

import re
from collections import Counter
from typing import Any

from pydantic import ValidationError

from errorsift.analysis.schema import answer_model
from errorsift.ingest import resolve_key
from errorsift.models import Analysis, AnalysisType
from errorsift.store import dashboard as q
from errorsift.store.store import StoreConn
from errorsift.web.live import HumanState
from errorsift.web.pages.cards import card_for, run_summary, run_window

__all__ = ["pattern_context"]

HOURS_SHOWN = 48
_PLACEHOLDER = re.compile(r"\[[A-Z_]+\]|<\*>|<[A-Z_]+>")


def _grouping(sig: dict[str, Any]) -> dict[str, Any]:
    """Why these messages share a key: the strategy, and which variable parts were masked."""
    template = sig.get("template") or sig.get("normalized", "")
    masked = Counter(_PLACEHOLDER.findall(template))
    parts = ", ".join(f"{n}× {name}" for name, n in sorted(masked.items()))
    strategy = sig.get("strategy", "")
    if strategy.startswith("seed"):
        how = "the SPEC's seed rules (redact, then mask customer scope, user ids, timestamps, GUIDs, long numbers)"
    else:
        how = "redaction, masks, template mining (tokens that vary between messages become <*>) and stack frames"
    why = f"Messages group under this key when {how} reduce them to the same template."
    if parts:
        why += f" Masked here: {parts}."
    return {"strategy": strategy, "template": template, "masked": dict(masked), "why": why}


def _complete(data: dict[str, Any], kind: AnalysisType = AnalysisType.RECENT) -> dict[str, Any]:
    """Every field of the type's analysis object, defaults filled, so each section can rely on them.

    A `pattern` analysis keeps its two extra fields (``trend``, ``permanent_fix``).
    """
    model: type[Analysis] = answer_model(kind)
    for candidate in (data, {**data, "trend": None}):  # an unreadable trend must not hide the rest
        try:
            return model.model_validate(candidate).model_dump(mode="json")
        except ValidationError:
            continue
    # stored by an older or foreign analyzer: keep what is readable
    summary = str(data.get("summary") or "(unreadable analysis)")[:200]
    return model(summary=summary, fallback=True).model_dump(mode="json")


def _sent_note(analyzer: str, prompt: str) -> str:
    """Why there is no prompt to show: offline rules send nothing; otherwise it was not recorded."""
    if prompt:
        return ""
    if not analyzer or analyzer.split(":", 1)[0] == "offline":
        return "Nothing was sent to a model: the offline analyzer ran locally on the redacted, normalized text."
    return f"No prompt was recorded for this analysis by {analyzer}."


def _analysis(cached: Any, kind: AnalysisType = AnalysisType.RECENT) -> dict[str, Any] | None:
    if cached is None:
        return None
    sent = cached.prompt or ""
    return {
        "type": kind.value,
        "analysis": _complete(dict(cached.analysis), kind),
        "analyzer": cached.analyzer,
        "created_at": cached.created_at,
        "prompt": sent,
        "sent_note": _sent_note(cached.analyzer or "", sent),
    }


def pattern_context(sc: StoreConn, state: HumanState, key: str) -> dict[str, Any] | None:
    """The page's context, `{"redirect": survivor}` for a merged key, or None when unknown."""
    survivor = resolve_key(state.aliases, key)
    if survivor != key:
        return {"redirect": survivor}
    sig = sc.signature_rows([key]).get(key)
    if sig is None:
        return None
    run = sc.latest_run()
    card: dict[str, Any] | None = None
    customers: list[dict[str, Any]] = []
    hourly: list[int] = []
    daily: list[int] = []
    window_info: dict[str, Any] = {}
    if run is not None:
        window = run_window(run)
        rows = q.card_rows(sc, window.run_id, signature=key)
        if rows:
            card = card_for(rows[0], state).as_dict()
        current = q.pattern_customer_counts(sc, key, window.start_hour, window.end_hour)
        baseline = q.pattern_customer_counts(sc, key, window.baseline_start, window.start_hour)
        new = set(card["new_customers"]) if card else set()
        for name in sorted(set(current) | set(baseline), key=lambda c: (-current.get(c, 0), c)):
            customers.append(
                {
                    "customer": name,
                    "window": current.get(name, 0),
                    "baseline": baseline.get(name, 0),
                    "baseline_daily_mean": round(baseline.get(name, 0) / window.baseline_days, 2),
                    "new": name in new,
                }
            )
        series = sc.hourly_series(key, window.end_hour - HOURS_SHOWN, window.end_hour)
        hourly = [series.get(h, 0) for h in range(window.end_hour - HOURS_SHOWN, window.end_hour)]
        days = window.baseline_days + max(1, -(-(window.end_hour - window.start_hour) // 24))
        daily = q.daily_series(sc, [key], window.end_hour - 24 * days, days)[key]
        window_info = {
            "start_hour": window.start_hour,
            "end_hour": window.end_hour,
            "baseline_days": window.baseline_days,
            "daily_days": days,
        }
    rules = [
        {k: r[k] for k in ("id", "kind", "value", "reason", "created_by", "created_at")}
        for r in state.rule_rows.values()
        if (r["kind"] == "signature" and r["value"] == key) or (card is not None and card["noise_rule"] == r["id"])
    ]
    override = state.overrides.get(key)
    recent = _analysis(sc.cached_analysis(key, "recent"), AnalysisType.RECENT)
    pattern_analysis = _analysis(sc.cached_analysis(key, "pattern"), AnalysisType.PATTERN)
    return {
        "run": run_summary(run),
        "signature": {
            "key": key,
            "normalized": sig["normalized"],
            "template": sig["template"] or sig["normalized"],
            "error_type": sig["error_type"],
            "service": sig["service"],
            "strategy": sig["strategy"],
            "first_seen": sig["first_seen"],
            "last_seen": sig["last_seen"],
            "total": int(sig["total"]),
            "samples": list(sig["samples"]),
        },
        "grouping": _grouping(sig),
        "aliases": q.aliases_of(sc, key),
        "card": card,
        "recent": recent,
        "pattern_analysis": pattern_analysis,
        "model_calls": q.model_calls_for(sc, key, limit=10),
        "customers": customers,
        "window": window_info,
        "hourly": hourly,
        "daily": daily,
        "noise_rules": rules,
        "override": {k: override[k] for k in ("bucket", "owner", "reason", "created_by", "created_at")}
        if override
        else None,
        "actions": q.actions_for(sc, key),
        "merge_candidates": q.similar_signatures(sc, key, sig["service"], sig["error_type"]),
    }
