"""Layer 5 pinned to SPEC: routing precedence, known-noise escalation, owner overrides."""

from __future__ import annotations

from typing import Any

import pytest

from errorsift.models import Analysis, Anomaly, TechnicalDetails, Triage
from errorsift.triage import (
    DEFAULT_CATEGORY_ROUTES,
    NoiseRule,
    NoiseRules,
    apply_noise,
    apply_override,
    decide,
    matching_noise_rule,
    route,
    validate_noise_rule,
)


def analysis(category: str | None = None, bug: bool = False) -> Analysis:
    # model_construct skips validation, so a category the schema does not list ("Security") can be
    # fed in, as a lenient parser or an older cached row might.
    details = TechnicalDetails.model_construct(
        error_category=category, real_application_bug=bug, affects_critical_operation=False
    )
    return Analysis(summary="s", technical_details=details)


APP = ("application", "dev")
PLATFORM = ("platform", "platform")
REVIEW = ("needs_review", "review")


# --- route ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("the_analysis", "error_type", "expected", "reason"),
    [
        pytest.param(analysis("Application"), "", APP, "Categorized as application", id="application"),
        pytest.param(
            analysis("Infrastructure"), "", PLATFORM, "Categorized as infrastructure", id="infrastructure"
        ),
        pytest.param(analysis("Network"), "", PLATFORM, "Categorized as network", id="network"),
        pytest.param(analysis("Database"), "", PLATFORM, "Categorized as database", id="database"),
        pytest.param(
            analysis("Configuration"), "", PLATFORM, "Categorized as configuration", id="configuration"
        ),
        pytest.param(analysis("DATABASE"), "", PLATFORM, "Categorized as database", id="category-upper"),
        pytest.param(analysis("application"), "", APP, "Categorized as application", id="category-lower"),
        pytest.param(
            analysis("Database", bug=True), "", PLATFORM, "Categorized as database", id="category-beats-bug"
        ),
        pytest.param(
            analysis("Application"), "timeout", APP, "Categorized as application", id="category-beats-type"
        ),
        pytest.param(
            analysis("Security", bug=True),
            "",
            APP,
            "Flagged as application bug",
            id="unknown-category-to-bug",
        ),
        pytest.param(
            analysis("Security"),
            "",
            REVIEW,
            "Insufficient signal to auto-route",
            id="unknown-category-review",
        ),
        pytest.param(
            analysis("Security"),
            "timeout",
            PLATFORM,
            "Connectivity errors route to platform first",
            id="unknown-category-to-type",
        ),
        pytest.param(
            analysis(), "timeout", PLATFORM, "Connectivity errors route to platform first", id="timeout"
        ),
        pytest.param(
            analysis(), "Connection", PLATFORM, "Connectivity errors route to platform first", id="connection"
        ),
        pytest.param(analysis(), "SQL", PLATFORM, "Database errors route to platform first", id="sql"),
        pytest.param(
            analysis(bug=True),
            "sql",
            PLATFORM,
            "Database errors route to platform first",
            id="type-beats-bug",
        ),
        pytest.param(
            analysis(bug=True), "TimeoutError", APP, "Flagged as application bug", id="type-match-is-exact"
        ),
        pytest.param(
            analysis(), "SqlException", REVIEW, "Insufficient signal to auto-route", id="sql-match-is-exact"
        ),
        pytest.param(analysis(bug=True), "ValueError", APP, "Flagged as application bug", id="bug-flag"),
        pytest.param(
            analysis(), "ValueError", REVIEW, "Insufficient signal to auto-route", id="needs-review"
        ),
        pytest.param(analysis(""), "", REVIEW, "Insufficient signal to auto-route", id="empty-category"),
        pytest.param(None, "", REVIEW, "Insufficient signal to auto-route", id="no-analysis"),
        pytest.param(
            None, "timeout", PLATFORM, "Connectivity errors route to platform first", id="no-analysis-timeout"
        ),
        pytest.param(None, "sql", PLATFORM, "Database errors route to platform first", id="no-analysis-sql"),
    ],
)
def test_route(
    the_analysis: Analysis | None, error_type: str, expected: tuple[str, str], reason: str
) -> None:
    assert route(the_analysis, error_type) == Triage(*expected, reason=reason)


def test_route_through_validated_analysis() -> None:
    parsed = Analysis.model_validate(
        {"summary": "s", "technical_details": {"error_category": "Network", "real_application_bug": True}}
    )
    assert route(parsed, "sql") == Triage("platform", "platform", "Categorized as network")


def test_custom_routes_are_used_and_case_insensitive() -> None:
    routes = {**DEFAULT_CATEGORY_ROUTES, "Configuration": ("application", "dev")}
    del routes["configuration"]
    assert route(analysis("Configuration"), "", routes) == Triage(
        "application", "dev", "Categorized as configuration"
    )


def test_category_missing_from_custom_routes_falls_through() -> None:
    routes = {"application": ("application", "dev")}
    assert route(analysis("Database"), "", routes).bucket == "needs_review"
    assert route(analysis("Database", bug=True), "", routes).bucket == "application"


def test_default_routes_table() -> None:
    assert DEFAULT_CATEGORY_ROUTES == {
        "application": ("application", "dev"),
        "infrastructure": ("platform", "platform"),
        "network": ("platform", "platform"),
        "database": ("platform", "platform"),
        "configuration": ("platform", "platform"),
    }


# --- noise rules ----------------------------------------------------------------------------------

KEY = "0123456789abcdef"
TEXT = "Deploy in progress: worker [ID] draining connections"


@pytest.mark.parametrize(
    ("rules", "key", "text", "expected_id"),
    [
        pytest.param([NoiseRule(1, "signature", KEY, "deploy")], KEY, TEXT, 1, id="signature-exact"),
        pytest.param([NoiseRule(1, "signature", KEY, "deploy")], KEY[:-1] + "0", TEXT, None, id="sig-other"),
        pytest.param([NoiseRule(1, "signature", KEY[:8], "deploy")], KEY, TEXT, None, id="sig-no-prefix"),
        pytest.param(
            [NoiseRule(2, "regex", r"Deploy in progress", "deploy")], "k", TEXT, 2, id="regex-search"
        ),
        pytest.param([NoiseRule(2, "regex", r"draining", "deploy")], "k", TEXT, 2, id="regex-mid-line"),
        pytest.param([NoiseRule(2, "regex", r"^draining", "deploy")], "k", TEXT, None, id="regex-anchored"),
        pytest.param([NoiseRule(2, "regex", r"deploy in", "deploy")], "k", TEXT, None, id="regex-case"),
        pytest.param([NoiseRule(2, "regex", r"(?i)deploy in", "deploy")], "k", TEXT, 2, id="regex-flag"),
        pytest.param([NoiseRule(2, "regex", KEY, "deploy")], KEY, TEXT, None, id="regex-not-on-key"),
        pytest.param(
            [NoiseRule(3, "regex", "worker", "r1"), NoiseRule(4, "signature", KEY, "s")],
            KEY,
            TEXT,
            4,
            id="signature-beats-regex",
        ),
        pytest.param(
            [NoiseRule(5, "regex", "worker", "r1"), NoiseRule(6, "regex", "Deploy", "r2")],
            "k",
            TEXT,
            5,
            id="first-regex-wins",
        ),
        pytest.param([], KEY, TEXT, None, id="no-rules"),
    ],
)
def test_matching_noise_rule(rules: list[NoiseRule], key: str, text: str, expected_id: int | None) -> None:
    for given in (rules, NoiseRules(rules), iter(rules)):
        found = matching_noise_rule(given, key, text)
        assert (found.id if found else None) == expected_id


def test_rule_set_is_reusable() -> None:
    rules = NoiseRules([NoiseRule(None, "regex", r"maintenance window", "planned")])
    assert len(rules) == 1
    assert rules.match("a", "db in maintenance window") is not None
    assert rules.match("b", "db down") is None
    assert rules.match("c", "maintenance window again") is not None


@pytest.mark.parametrize(
    ("kind", "value", "message"),
    [
        pytest.param("regex", "(unclosed", "invalid noise regex", id="bad-regex"),
        pytest.param("regex", "[a-", "invalid noise regex", id="bad-class"),
        pytest.param("regex", "", "non-empty", id="empty-regex-would-match-everything"),
        pytest.param("signature", "", "non-empty", id="empty-signature"),
        pytest.param("signature", "   ", "non-empty", id="blank-signature"),
        pytest.param("signature", " abc ", "whitespace", id="padded-signature"),
        pytest.param("glob", "*", "kind must be", id="unknown-kind"),
    ],
)
def test_invalid_noise_rules_are_rejected(kind: Any, value: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        validate_noise_rule(kind, value)
    with pytest.raises(ValueError, match=message):
        NoiseRule(None, kind, value, "why")


def test_valid_noise_rules_pass() -> None:
    validate_noise_rule("regex", r"timeout after \d+ms")
    validate_noise_rule("signature", KEY)


# --- apply_noise ----------------------------------------------------------------------------------

ROUTED = Triage("platform", "platform", "Categorized as database")
RULE = NoiseRule(7, "signature", KEY, "deploy churn")
SUPPRESSED = Triage("non_issue", "noise", "Known noise: deploy churn", suppressed=True)


@pytest.mark.parametrize(
    ("anomaly", "expected"),
    [
        pytest.param(Anomaly(False, False, False, (), 7, 2.0, 3), SUPPRESSED, id="stable-suppressed"),
        pytest.param(Anomaly(False, True, False, (), 7, 2.0, 3), SUPPRESSED, id="spike-alone-suppressed"),
        pytest.param(
            Anomaly(False, False, True, (), 7, 2.0, 1), SUPPRESSED, id="count-only-spread-no-new-suppressed"
        ),
        pytest.param(
            Anomaly(False, False, False, ("x",), 7, 2.0, 3), SUPPRESSED, id="one-new-customer-but-no-spread"
        ),
        pytest.param(
            Anomaly(True, False, False, ("a",)),
            Triage(
                "platform",
                "platform",
                "Known noise (deploy churn) escalated: new signature; Categorized as database",
            ),
            id="new-escalates",
        ),
        pytest.param(
            Anomaly(False, False, True, ("x", "y"), 7, 2.0, 3),
            Triage(
                "platform",
                "platform",
                "Known noise (deploy churn) escalated: spread to 2 new customers; Categorized as database",
            ),
            id="spread-to-new-customers-escalates",
        ),
        pytest.param(
            Anomaly(False, True, True, ("x",), 7, 2.0, 1),
            Triage(
                "platform",
                "platform",
                "Known noise (deploy churn) escalated: spread to 1 new customer; Categorized as database",
            ),
            id="count-spread-with-one-new-escalates",
        ),
        pytest.param(
            Anomaly(True, True, True, ("a", "b", "c")),
            Triage(
                "platform",
                "platform",
                "Known noise (deploy churn) escalated: new signature, spread to 3 new customers; "
                "Categorized as database",
            ),
            id="new-and-spread",
        ),
    ],
)
def test_apply_noise(anomaly: Anomaly, expected: Triage) -> None:
    assert apply_noise(ROUTED, RULE, anomaly) == expected


def test_no_rule_leaves_triage_unchanged() -> None:
    assert apply_noise(ROUTED, None, Anomaly(True, True, True, ("a",))) is ROUTED


# --- apply_override and the composed decision -----------------------------------------------------


def test_override_replaces_routing_and_keeps_its_reason() -> None:
    result = apply_override(ROUTED, ("application", "dev"), "payments team owns the pool")
    assert result == Triage(
        "application",
        "dev",
        "Owner overridden: payments team owns the pool (routed: platform/platform, Categorized as database)",
    )


def test_no_override_is_identity() -> None:
    assert apply_override(ROUTED, None, "ignored") is ROUTED


def test_override_without_reason() -> None:
    assert apply_override(ROUTED, ("application", "dev")).reason.startswith("Owner overridden (routed:")


@pytest.mark.parametrize("override", [("", "dev"), ("application", " ")], ids=["no-bucket", "no-owner"])
def test_override_needs_bucket_and_owner(override: tuple[str, str]) -> None:
    with pytest.raises(ValueError, match="bucket and an owner"):
        apply_override(ROUTED, override)


@pytest.mark.parametrize(
    ("anomaly", "override", "rule", "bucket", "owner", "suppressed"),
    [
        pytest.param(
            Anomaly(False, False, False, ()), None, None, "platform", "platform", False, id="routed"
        ),
        pytest.param(Anomaly(False, False, False, ()), APP, None, "application", "dev", False, id="override"),
        pytest.param(
            Anomaly(False, False, False, ()), APP, RULE, "non_issue", "noise", True, id="noise-over-override"
        ),
        pytest.param(
            Anomaly(True, False, False, ("a",)),
            APP,
            RULE,
            "application",
            "dev",
            False,
            id="new-keeps-override",
        ),
        pytest.param(
            Anomaly(False, True, False, ()), None, RULE, "non_issue", "noise", True, id="spike-noise"
        ),
    ],
)
def test_decide_precedence(
    anomaly: Anomaly,
    override: tuple[str, str] | None,
    rule: NoiseRule | None,
    bucket: str,
    owner: str,
    suppressed: bool,
) -> None:
    result = decide(
        analysis("Database"), "", anomaly, override=override, override_reason="r", noise_rule=rule
    )
    assert (result.bucket, result.owner, result.suppressed) == (bucket, owner, suppressed)
