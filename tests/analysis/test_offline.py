"""The offline analyzer: rule table, every field filled, determinism, and honest wording."""

from __future__ import annotations

import pytest

from errorsift.analysis.base import Analyzer
from errorsift.analysis.offline import RULES, OfflineAnalyzer
from errorsift.models import Analysis, AnalysisRequest, Usage

# (name, error type, message, expected category, expected real_application_bug)
CATEGORY_CASES = [
    ("deadlock", "SqlException", "Transaction was deadlocked on lock resources", "Database", False),
    ("sql short type", "sql", "query failed", "Database", False),
    (
        "duplicate key",
        "",
        "duplicate key value violates unique constraint users_email_key",
        "Database",
        False,
    ),
    ("constraint", "IntegrityError", "FOREIGN KEY constraint failed", "Database", False),
    (
        "connection pool",
        "",
        "Timeout expired obtaining a connection from the connection pool",
        "Database",
        False,
    ),
    (
        "lock wait timeout is db",
        "",
        "Lock wait timeout exceeded; try restarting transaction",
        "Database",
        False,
    ),
    ("timeout", "", "upstream request timed out after 30s", "Network", False),
    ("timeout short type", "timeout", "GET /api/orders", "Network", False),
    ("connection short type", "connection", "GET /api/orders", "Network", False),
    ("refused", "", "connect ECONNREFUSED [ID]", "Network", False),
    ("connection refused", "", "Connection refused by billing-api", "Network", False),
    ("reset", "", "Connection reset by peer", "Network", False),
    ("unreachable", "", "Network is unreachable", "Network", False),
    ("dns", "", "DNS lookup failed: getaddrinfo ENOTFOUND api.example.com", "Network", False),
    ("ssl handshake", "", "SSL handshake failed with upstream", "Network", False),
    ("oom", "", "Container OOMKilled", "Infrastructure", False),
    ("out of memory", "OutOfMemoryError", "Java heap space: out of memory", "Infrastructure", False),
    ("disk full", "", "write failed: No space left on device", "Infrastructure", False),
    ("evicted", "", "Pod evicted: node under memory pressure", "Infrastructure", False),
    ("killed", "", "worker process killed by signal 9", "Infrastructure", False),
    ("cpu throttling", "", "CPU throttling above 80% for worker", "Infrastructure", False),
    ("missing setting", "", "Missing setting STRIPE_API_URL", "Configuration", False),
    ("env var", "", "required env var DATABASE_URL is empty", "Configuration", False),
    ("not configured", "", "SMTP relay not configured for tenant", "Configuration", False),
    ("invalid configuration", "", "Invalid configuration for exporter", "Configuration", False),
    ("feature flag", "", "unknown feature flag new_checkout", "Configuration", False),
    ("KeyError", "KeyError", "KeyError: 'order_id'", "Application", True),
    (
        "NullReferenceException",
        "System.NullReferenceException",
        "Object reference not set",
        "Application",
        True,
    ),
    ("NullPointerException", "", "java.lang.NullPointerException at Foo.bar", "Application", True),
    ("TypeError", "", "TypeError: unsupported operand type(s)", "Application", True),
    ("IndexError", "IndexError", "list index out of range", "Application", True),
    ("ValueError", "", "ValueError: invalid literal for int()", "Application", True),
    ("AttributeError", "", "AttributeError: 'NoneType' object has no attribute 'id'", "Application", True),
    (
        "ArgumentException",
        "System.ArgumentException",
        "Value does not fall within range",
        "Application",
        True,
    ),
    ("ClassCastException", "", "java.lang.ClassCastException: A cannot be cast to B", "Application", True),
    ("ZeroDivisionError", "", "ZeroDivisionError: division by zero", "Application", True),
    ("unmatched", "", "something odd happened in the widget", None, False),
    ("unmatched with type", "WidgetError", "the widget said no", None, False),
]


def _request(error_type: str, message: str, occurrences: int = 3, customers: int = 1) -> AnalysisRequest:
    return AnalysisRequest("0123456789abcdef", error_type, occurrences, customers, message)


@pytest.mark.parametrize(
    ("name", "error_type", "message", "category", "bug"), CATEGORY_CASES, ids=[c[0] for c in CATEGORY_CASES]
)
def test_category_rules(name: str, error_type: str, message: str, category: str | None, bug: bool) -> None:
    analysis = OfflineAnalyzer().analyze(_request(error_type, message)).analysis
    assert analysis.technical_details.error_category == category
    assert analysis.technical_details.real_application_bug is bug
    if category is None:
        assert analysis.root_cause.confidence <= 0.2
        assert "Unclassified" in analysis.summary
    else:
        assert 0.3 <= analysis.root_cause.confidence <= 0.7


def test_every_rule_has_a_case() -> None:
    """Adding a rule row without a table case fails here."""
    covered = {_rule_name(c[1], c[2]) for c in CATEGORY_CASES}
    assert {r.name for r in RULES} <= covered


def _rule_name(error_type: str, message: str) -> str | None:
    explanation = OfflineAnalyzer().analyze(_request(error_type, message)).analysis.explanation
    for rule in RULES:
        if f"(rule '{rule.name}')" in explanation:
            return rule.name
    return None


# (name, message, occurrences, customers, severity, priority, critical operation)
SEVERITY_CASES = [
    ("critical op, many customers", "payment capture timed out", 40, 5, "Critical", "Urgent", True),
    ("critical op, high volume", "login failed: KeyError 'sub'", 150, 1, "Critical", "Urgent", True),
    ("widespread outage", "upstream timed out", 900, 12, "Critical", "Urgent", False),
    ("critical op, one customer", "checkout ValueError", 3, 1, "High", "High", True),
    ("many customers", "upstream timed out", 5, 6, "High", "High", False),
    ("shared dependency, two customers", "deadlock detected", 4, 2, "High", "High", False),
    ("application bug, rare", "KeyError: 'x'", 1, 1, "Medium", "Medium", False),
    ("recurring config", "Missing setting FOO", 25, 1, "Medium", "Medium", False),
    ("rare network blip", "connection reset by peer", 2, 1, "Low", "Low", False),
    ("rare unknown", "odd thing", 1, 1, "Low", "Low", False),
]


@pytest.mark.parametrize(
    ("name", "message", "occ", "cust", "severity", "priority", "critical"),
    SEVERITY_CASES,
    ids=[c[0] for c in SEVERITY_CASES],
)
def test_severity_and_priority(
    name: str, message: str, occ: int, cust: int, severity: str, priority: str, critical: bool
) -> None:
    analysis = OfflineAnalyzer().analyze(_request("", message, occ, cust)).analysis
    assert analysis.severity == severity
    assert analysis.recommendations.resolution_priority == priority
    assert analysis.technical_details.affects_critical_operation is critical
    assert f"Severity {severity} because" in analysis.explanation


def _assert_filled(analysis: Analysis) -> None:
    for text in (
        analysis.summary,
        analysis.explanation,
        analysis.user_impact,
        analysis.root_cause.likely_cause,
        analysis.customer_communication,
    ):
        assert text.strip()
    assert analysis.recommendations.immediate_actions
    assert all(a.strip() for a in analysis.recommendations.immediate_actions)
    assert 0.0 < analysis.root_cause.confidence <= 1.0


@pytest.mark.parametrize(("name", "error_type", "message"), [c[:3] for c in CATEGORY_CASES])
def test_every_field_filled_and_honest(name: str, error_type: str, message: str) -> None:
    outcome = OfflineAnalyzer().analyze(_request(error_type, message, 12, 2))
    analysis = outcome.analysis
    _assert_filled(analysis)
    assert analysis.summary.endswith("(offline rules)")
    assert "offline rules, not a language model" in analysis.explanation
    assert analysis.analyzer == "offline"
    assert analysis.fallback is False
    assert outcome.model_called is False
    assert outcome.usage == Usage()
    assert outcome.prompt == ""


def test_deterministic_and_a_proper_analyzer() -> None:
    analyzer = OfflineAnalyzer()
    assert isinstance(analyzer, Analyzer)
    assert analyzer.name == "offline"
    request = _request("SqlException", "deadlock victim in checkout", 300, 7)
    first = analyzer.analyze(request)
    assert all(analyzer.analyze(request) == first for _ in range(5))
    assert OfflineAnalyzer().analyze(request) == first


def test_summary_mentions_volume_and_type() -> None:
    analysis = OfflineAnalyzer().analyze(_request("SqlException", "deadlock", 42, 3)).analysis
    assert analysis.summary == "Database deadlock (SqlException): 42 occurrences across 3 customers (offline rules)"
    one = OfflineAnalyzer().analyze(_request("KeyError", "KeyError: 'a'", 1, 1)).analysis
    assert one.summary == "Application exception KeyError: 1 occurrence across 1 customer (offline rules)"
