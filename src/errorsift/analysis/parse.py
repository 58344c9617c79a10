"""Turn a model's free-text answer into an `Analysis`, tolerantly and without ever raising.

Models wrap JSON in ```json fences, prepend a sentence, write ``"severity": "high"`` or
``"confidence": "80%"``. None of that should cost a paid call, so parsing is lenient: find the
object (fenced block first, then the outermost ``{...}`` in prose, then the first decodable
object), coerce values into the SPEC schema, default what is missing. Only when no object of
the schema can be found does the answer become a *marked fallback* (``fallback=True``,
``summary`` = the first 200 characters), never an exception — the model output is untrusted
input and a bad answer must not stop a run.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

from pydantic import ValidationError

from errorsift.analysis.schema import TREND_VALUES, answer_model
from errorsift.models import Analysis, AnalysisType

__all__ = ["FALLBACK_EXPLANATION", "fallback_analysis", "parse_analysis"]

FALLBACK_EXPLANATION = (
    "The model's answer could not be read as the analysis JSON; the summary shows the start of the "
    "raw answer. Review this pattern by hand or re-run the analysis."
)

_FENCE = re.compile(r"```[ \t]*([A-Za-z0-9_-]*)[^\n]*\n?(.*?)```", re.DOTALL)
_SCHEMA_KEYS = frozenset(
    {
        "summary",
        "explanation",
        "severity",
        "user_impact",
        "root_cause",
        "recommendations",
        "customer_communication",
        "technical_details",
    }
)
_MAX_DECODE_ATTEMPTS = 50  # bounds the brace scan on huge, brace-heavy answers

# Lenient enum readings: lower-cased spelling → canonical value. Adding a synonym adds a row.
_SEVERITY = {
    "critical": "Critical",
    "high": "High",
    "medium": "Medium",
    "moderate": "Medium",
    "low": "Low",
    "minor": "Low",
}
_PRIORITY = {
    "urgent": "Urgent",
    "immediate": "Urgent",
    "critical": "Urgent",
    "high": "High",
    "medium": "Medium",
    "normal": "Medium",
    "moderate": "Medium",
    "low": "Low",
}
_CATEGORY = {
    "application": "Application",
    "app": "Application",
    "infrastructure": "Infrastructure",
    "infra": "Infrastructure",
    "database": "Database",
    "db": "Database",
    "network": "Network",
    "networking": "Network",
    "configuration": "Configuration",
    "config": "Configuration",
}
_CONFIDENCE_WORDS = {
    "very high": 0.9,
    "high": 0.8,
    "medium": 0.5,
    "moderate": 0.5,
    "low": 0.2,
    "very low": 0.1,
}
_TREND = {value: value for value in TREND_VALUES} | {"stable": "chronic", "steady": "chronic", "growing": "worsening"}
_TRUE = frozenset({"true", "yes", "y", "1"})
_NUMBER = re.compile(r"[-+]?\d+(?:\.\d+)?")


def parse_analysis(text: str, analyzer: str, kind: AnalysisType | str = AnalysisType.RECENT) -> Analysis:
    """Parse a model answer into an `Analysis` stamped with `analyzer`; never raises.

    Fields the model may not set (``fallback``, ``analyzer``) are always overwritten, so a
    model (or an injected log line) cannot mark its own answer as offline or as a fallback.
    A `pattern` answer becomes a `PatternAnalysis` (with its trend and permanent fix).
    """
    text = text if isinstance(text, str) else str(text)
    model = answer_model(kind)
    for candidate in _candidate_objects(text):
        if not _SCHEMA_KEYS.intersection(candidate):
            continue
        try:
            values = _normalize(candidate)
            if model is not Analysis:
                values["trend"] = _enum(candidate.get("trend"), _TREND)
                values["permanent_fix"] = _text(candidate.get("permanent_fix"))
            analysis = model.model_validate(values)
        except (ValidationError, TypeError, ValueError):
            continue
        return analysis.model_copy(update={"fallback": False, "analyzer": analyzer})
    return fallback_analysis(text, analyzer, kind)


def fallback_analysis(text: str, analyzer: str, kind: AnalysisType | str = AnalysisType.RECENT) -> Analysis:
    """The marked fallback for an unusable answer (SPEC: summary = first 200 characters)."""
    return answer_model(kind)(summary=text[:200], explanation=FALLBACK_EXPLANATION, fallback=True, analyzer=analyzer)


# ---------------------------------------------------------------- finding the object


def _candidate_objects(text: str) -> list[dict[str, Any]]:
    """JSON objects found in the answer, most trustworthy first."""
    found: list[dict[str, Any]] = []
    regions = [m.group(2) for m in _FENCE.finditer(text) if m.group(1).lower() in ("", "json")]
    regions.append(text)
    for region in regions:
        obj = _outermost_object(region)
        if obj is not None:
            found.append(obj)
        found.extend(_decodable_objects(region))
    return found


def _outermost_object(text: str) -> dict[str, Any] | None:
    """The seed's rule: from the first ``{`` to the last ``}``."""
    start, end = text.find("{"), text.rfind("}")
    if start == -1 or end <= start:
        return None
    try:
        value = json.loads(text[start : end + 1])
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


def _decodable_objects(text: str) -> list[dict[str, Any]]:
    """Objects that decode from some ``{`` onwards (prose with stray braces after the JSON)."""
    decoder = json.JSONDecoder()
    objects: list[dict[str, Any]] = []
    position, attempts = text.find("{"), 0
    while position != -1 and attempts < _MAX_DECODE_ATTEMPTS:
        attempts += 1
        try:
            value, end = decoder.raw_decode(text, position)
        except ValueError:
            position = text.find("{", position + 1)
            continue
        if isinstance(value, dict):
            objects.append(value)
        position = text.find("{", end)
    return objects


# ---------------------------------------------------------------- coercing the values


def _normalize(raw: Mapping[str, Any]) -> dict[str, Any]:
    """Map a loosely shaped object onto the schema; unknown keys are dropped by the model."""
    root = raw.get("root_cause")
    if not isinstance(root, Mapping):
        root = {"likely_cause": root}
    recs = raw.get("recommendations")
    if not isinstance(recs, Mapping):
        recs = {"immediate_actions": recs}
    tech = raw.get("technical_details")
    if not isinstance(tech, Mapping):
        tech = {}

    summary = _text(raw.get("summary")) or _text(raw.get("explanation"))[:200]
    out: dict[str, Any] = {
        "summary": summary or "(the model's answer had no summary)",
        "explanation": _text(raw.get("explanation")),
        "user_impact": _text(raw.get("user_impact")),
        "customer_communication": _text(raw.get("customer_communication")),
        "root_cause": {
            "likely_cause": _text(root.get("likely_cause")),
            "confidence": _confidence(root.get("confidence", raw.get("confidence"))),
        },
        "recommendations": {"immediate_actions": _actions(recs.get("immediate_actions"))},
        "technical_details": {
            "error_category": _enum(tech.get("error_category", raw.get("error_category")), _CATEGORY),
            "real_application_bug": _flag(tech.get("real_application_bug")),
            "affects_critical_operation": _flag(tech.get("affects_critical_operation")),
        },
    }
    severity = _enum(raw.get("severity"), _SEVERITY)
    if severity is not None:
        out["severity"] = severity
    priority = _enum(recs.get("resolution_priority"), _PRIORITY)
    if priority is not None:
        out["recommendations"]["resolution_priority"] = priority
    return out


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return value.strip()
    if isinstance(value, list):
        return " ".join(_text(v) for v in value if v is not None).strip()
    return json.dumps(value, ensure_ascii=False) if isinstance(value, dict) else str(value)


def _actions(value: Any) -> list[str]:
    if value is None:
        return []
    items = value if isinstance(value, list) else [value]
    return [t for t in (_text(item) for item in items) if t]


def _enum(value: Any, table: Mapping[str, str]) -> str | None:
    """Case-insensitive lookup; ``"High - users blocked"`` reads as High; unknown → None."""
    if not isinstance(value, str):
        return None
    key = value.strip().lower()
    if key in table:
        return table[key]
    first = re.split(r"[^a-z]+", key, maxsplit=1)[0]
    return table.get(first)


def _confidence(value: Any) -> float:
    """0..1 from 0.8, "0.8", "80%", 80 (a percent) or a word; anything else is 0."""
    number: float | None = None
    if isinstance(value, bool):
        number = None
    elif isinstance(value, int | float):
        number = float(value)
    elif isinstance(value, str):
        key = value.strip().lower()
        if key in _CONFIDENCE_WORDS:
            return _CONFIDENCE_WORDS[key]
        match = _NUMBER.search(key)
        if match:
            number = float(match.group())
            if "%" in key:
                number /= 100
    if number is None or number != number:  # None or NaN
        return 0.0
    if number > 1:  # 80 means 80 %
        number /= 100
    return min(1.0, max(0.0, number))


def _flag(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float):
        return value != 0
    if isinstance(value, str):
        return value.strip().lower() in _TRUE
    return False
