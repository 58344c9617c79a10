"""The answer schema, as a JSON schema for providers and as the pydantic model that validates it.

Why both: providers that support structured output (Anthropic ``output_config.format``, OpenAI
``response_format`` json_schema) are handed `answer_schema(kind)` so they can only produce a
valid object; every answer, structured or not, is then validated with the same pydantic model
(`Analysis`, or `PatternAnalysis` for the long-term type), because a server may ignore the schema
and the model output is untrusted either way.

The JSON schema is written by hand in the subset both providers accept in strict mode: every
property required, ``additionalProperties: false`` on every object, enums for the routing fields,
no numeric bounds (Anthropic rejects ``minimum``/``maximum``; the range of ``confidence`` is
enforced by the pydantic model instead). Routing reads only these validated enums and booleans.
"""

from __future__ import annotations

import json
from typing import Any, Literal

from pydantic import ConfigDict, ValidationError

from errorsift.models import Analysis, AnalysisType

__all__ = [
    "SCHEMA_NAME",
    "TREND_VALUES",
    "PatternAnalysis",
    "answer_model",
    "answer_schema",
    "strict_validate",
]

SCHEMA_NAME = "error_analysis"
TREND_VALUES = ("chronic", "worsening", "improving")
Trend = Literal["chronic", "worsening", "improving"]


class PatternAnalysis(Analysis):
    """A long-term (`pattern`) analysis: the SPEC object plus the trend and the lasting fix.

    Stored as JSON like any analysis; reading it back as a plain `Analysis` ignores the two extra
    fields, so routing and the cards work the same for both types.
    """

    model_config = ConfigDict(extra="ignore")
    trend: Trend | None = None
    permanent_fix: str = ""


def _string(description: str) -> dict[str, Any]:
    return {"type": "string", "description": description}


def _enum(values: tuple[str, ...] | list[str], description: str) -> dict[str, Any]:
    return {"type": "string", "enum": list(values), "description": description}


def _object(properties: dict[str, Any]) -> dict[str, Any]:
    return {
        "type": "object",
        "properties": properties,
        "required": list(properties),
        "additionalProperties": False,
    }


_BASE_PROPERTIES: dict[str, Any] = {
    "summary": _string("One sentence for the dashboard"),
    "explanation": _string("Plain English for non-technical staff"),
    "severity": _enum(("Critical", "High", "Medium", "Low"), "How bad it is for users and the business"),
    "user_impact": _string("What the end user experiences"),
    "root_cause": _object(
        {
            "likely_cause": _string("Most probable cause"),
            "confidence": {"type": "number", "description": "0 to 1; low when the facts are thin"},
        }
    ),
    "recommendations": _object(
        {
            "immediate_actions": {"type": "array", "items": {"type": "string"}, "description": "What to do now"},
            "resolution_priority": _enum(("Urgent", "High", "Medium", "Low"), "Consistent with severity"),
        }
    ),
    "customer_communication": _string("Suggested response if a customer asks"),
    "technical_details": _object(
        {
            "error_category": _enum(
                ("Application", "Infrastructure", "Database", "Network", "Configuration"), "Where the fault lies"
            ),
            "real_application_bug": {"type": "boolean", "description": "True only when the code itself is wrong"},
            "affects_critical_operation": {
                "type": "boolean",
                "description": "Payments, checkout, login or data integrity at risk",
            },
        }
    ),
}

_PATTERN_PROPERTIES: dict[str, Any] = {
    **_BASE_PROPERTIES,
    "trend": _enum(TREND_VALUES, "chronic (steady), worsening or improving over the daily history"),
    "permanent_fix": _string("What would fix it for good, not just today"),
}


def answer_schema(kind: AnalysisType | str = AnalysisType.RECENT) -> dict[str, Any]:
    """A fresh copy of the JSON schema for one analysis type (callers may not share mutations)."""
    properties = _PATTERN_PROPERTIES if AnalysisType(kind) is AnalysisType.PATTERN else _BASE_PROPERTIES
    return json.loads(json.dumps(_object(properties)))


def answer_model(kind: AnalysisType | str = AnalysisType.RECENT) -> type[Analysis]:
    """The pydantic model that validates answers of this type."""
    return PatternAnalysis if AnalysisType(kind) is AnalysisType.PATTERN else Analysis


def strict_validate(text: str, kind: AnalysisType | str, analyzer: str) -> tuple[Analysis | None, str]:
    """The answer if it *is* the schema's object (exactly, no coercion), else (None, why not).

    Strict means: the whole answer is one JSON object, every required key is present and every
    enum is spelled exactly. A near miss is not rejected here for good: the tolerant parser gets
    its chance next, and only an answer neither can read costs a repair call.
    """
    try:
        data = json.loads(text.strip())
    except ValueError as exc:
        return None, f"not a JSON object: {exc}"
    if not isinstance(data, dict):
        return None, "the answer is JSON but not an object"
    required = answer_schema(kind)["required"]
    missing = [key for key in required if key not in data]
    if missing:
        return None, f"missing keys: {', '.join(missing)}"
    data = {k: v for k, v in data.items() if k not in ("fallback", "analyzer")}
    try:
        model = answer_model(kind).model_validate(data, strict=False)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first.get("loc", ()))
        return None, f"{where}: {first.get('msg', 'invalid')}"
    return model.model_copy(update={"fallback": False, "analyzer": analyzer}), ""
