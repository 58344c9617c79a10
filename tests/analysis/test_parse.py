"""Tolerant parsing of model answers (SPEC layer 3): fenced JSON, JSON in prose, lenient values,
and a marked fallback (summary = first 200 characters) instead of an exception."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from errorsift.analysis.parse import FALLBACK_EXPLANATION, parse_analysis

FULL: dict[str, Any] = {
    "summary": "Checkout fails with a database deadlock",
    "explanation": "Two orders try to update the same stock rows at once.",
    "severity": "High",
    "user_impact": "Checkout shows an error and the customer must retry.",
    "root_cause": {"likely_cause": "Lock ordering in OrderService", "confidence": 0.7},
    "recommendations": {"immediate_actions": ["Retry on deadlock"], "resolution_priority": "High"},
    "customer_communication": "We are aware of intermittent checkout errors.",
    "technical_details": {
        "error_category": "Database",
        "real_application_bug": False,
        "affects_critical_operation": True,
    },
}
DOC = json.dumps(FULL, indent=2)

WRAPPED = [
    ("fenced json", f"Here is the analysis:\n```json\n{DOC}\n```\nHope it helps."),
    ("fenced without language", f"```\n{DOC}\n```"),
    ("fenced uppercase language", f"```JSON\n{DOC}\n```"),
    ("bare object", DOC),
    ("object inside prose", f"Sure! Based on the data, {DOC} That is my assessment."),
    ("prose with stray braces after", f"Answer: {DOC}\nNote: use {{placeholders}} carefully }}"),
    ("prose with braces before", f"Template {{x}} first, then the answer {DOC}"),
    ("other fence first", f"```python\nprint('{{}}')\n```\n```json\n{DOC}\n```"),
]


@pytest.mark.parametrize(("name", "text"), WRAPPED, ids=[w[0] for w in WRAPPED])
def test_finds_the_object(name: str, text: str) -> None:
    analysis = parse_analysis(text, "anthropic:test")
    assert analysis.fallback is False
    assert analysis.analyzer == "anthropic:test"
    assert analysis.summary == FULL["summary"]
    assert analysis.severity == "High"
    assert analysis.root_cause.confidence == pytest.approx(0.7)
    assert analysis.technical_details.error_category == "Database"
    assert analysis.technical_details.affects_critical_operation is True
    assert analysis.recommendations.immediate_actions == ["Retry on deadlock"]


GARBAGE = [
    ("plain prose", "I could not analyse this error because the message is too short."),
    ("empty", ""),
    ("broken json", '{"summary": "cut off because max_tokens was reach'),
    ("json array of strings", '["not", "an", "object"]'),
    ("unrelated object", '{"foo": 1, "bar": [2, 3]}'),
    ("long prose", "word " * 200),
]


@pytest.mark.parametrize(("name", "text"), GARBAGE, ids=[g[0] for g in GARBAGE])
def test_garbage_becomes_marked_fallback(name: str, text: str) -> None:
    analysis = parse_analysis(text, "anthropic:test")
    assert analysis.fallback is True
    assert analysis.summary == text[:200]
    assert analysis.analyzer == "anthropic:test"
    assert analysis.explanation == FALLBACK_EXPLANATION
    assert analysis.technical_details.error_category is None


def _with(**changes: Any) -> str:
    doc = json.loads(DOC)
    for dotted, value in changes.items():
        target = doc
        *parents, leaf = dotted.split("__")
        for key in parents:
            target = target[key]
        if value is _DROP:
            target.pop(leaf, None)
        else:
            target[leaf] = value
    return json.dumps(doc)


_DROP = object()

LENIENT = [
    # (name, changes, attribute path, expected)
    ("severity lower case", {"severity": "high"}, "severity", "High"),
    ("severity upper case", {"severity": "CRITICAL"}, "severity", "Critical"),
    ("severity with a dash note", {"severity": "Medium - some users"}, "severity", "Medium"),
    ("severity unknown → default", {"severity": "catastrophic"}, "severity", "Medium"),
    ("severity missing → default", {"severity": _DROP}, "severity", "Medium"),
    ("priority lower", {"recommendations__resolution_priority": "urgent"}, "priority", "Urgent"),
    ("priority synonym", {"recommendations__resolution_priority": "Critical"}, "priority", "Urgent"),
    ("category lower", {"technical_details__error_category": "network"}, "category", "Network"),
    ("category short", {"technical_details__error_category": "DB"}, "category", "Database"),
    ("category unknown → None", {"technical_details__error_category": "Cosmic"}, "category", None),
    ("category null", {"technical_details__error_category": None}, "category", None),
    ("confidence string", {"root_cause__confidence": "0.85"}, "confidence", 0.85),
    ("confidence percent", {"root_cause__confidence": "85%"}, "confidence", 0.85),
    ("confidence over one → percent", {"root_cause__confidence": 70}, "confidence", 0.7),
    ("confidence clamped high", {"root_cause__confidence": 250}, "confidence", 1.0),
    ("confidence clamped low", {"root_cause__confidence": -0.3}, "confidence", 0.0),
    ("confidence word", {"root_cause__confidence": "high"}, "confidence", 0.8),
    ("confidence nonsense", {"root_cause__confidence": "unsure"}, "confidence", 0.0),
    ("bug flag as string", {"technical_details__real_application_bug": "true"}, "bug", True),
    ("bug flag as 'no'", {"technical_details__real_application_bug": "no"}, "bug", False),
    ("actions as one string", {"recommendations__immediate_actions": "Restart"}, "actions", ["Restart"]),
    (
        "actions with non-strings",
        {"recommendations__immediate_actions": ["a", 2, None]},
        "actions",
        ["a", "2"],
    ),
    ("root cause as a string", {"root_cause": "Lock ordering"}, "cause", "Lock ordering"),
    ("summary missing → explanation", {"summary": _DROP}, "summary", FULL["explanation"]),
    ("model claims fallback", {"fallback": True}, "fallback", False),
    ("model claims to be offline", {"analyzer": "offline"}, "analyzer", "anthropic:test"),
]

GETTERS = {
    "severity": lambda a: a.severity,
    "priority": lambda a: a.recommendations.resolution_priority,
    "category": lambda a: a.technical_details.error_category,
    "confidence": lambda a: a.root_cause.confidence,
    "bug": lambda a: a.technical_details.real_application_bug,
    "actions": lambda a: a.recommendations.immediate_actions,
    "cause": lambda a: a.root_cause.likely_cause,
    "summary": lambda a: a.summary,
    "fallback": lambda a: a.fallback,
    "analyzer": lambda a: a.analyzer,
}


@pytest.mark.parametrize(("name", "changes", "field", "expected"), LENIENT, ids=[c[0] for c in LENIENT])
def test_lenient_values(name: str, changes: dict[str, Any], field: str, expected: Any) -> None:
    analysis = parse_analysis(_with(**changes), "anthropic:test")
    got = GETTERS[field](analysis)
    assert got == (pytest.approx(expected) if isinstance(expected, float) else expected)
    if field != "fallback":
        assert analysis.fallback is False


def test_minimal_object_gets_defaults() -> None:
    analysis = parse_analysis('{"summary": "Only a summary"}', "anthropic:m")
    assert analysis.fallback is False
    assert analysis.summary == "Only a summary"
    assert analysis.severity == "Medium"
    assert analysis.recommendations.resolution_priority == "Medium"
    assert analysis.root_cause.confidence == 0.0
    assert analysis.technical_details.error_category is None


@settings(max_examples=200, deadline=None)
@given(st.text())
def test_never_raises(text: str) -> None:
    analysis = parse_analysis(text, "x")
    assert analysis.analyzer == "x"
    if analysis.fallback:
        assert analysis.summary == text[:200]
