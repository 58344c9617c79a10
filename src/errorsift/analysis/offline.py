"""The offline analyzer: deterministic keyword rules that fill every field of the schema.

Why it exists: a run must work without a model (no key, air-gapped, tests, demos, a provider
outage), and routing needs a category either way. The rules are deliberately simple and say so:
every text names "offline rules", `analyzer` is ``offline`` and confidence stays modest, so
nobody mistakes a keyword match for a model's judgement.

Rules are data. Each `OfflineRule` is a row (name, category, pattern, label, likely cause,
confidence); the first row whose pattern matches ``"<error type> <normalized message>"`` wins,
so the order of `RULES` is the priority: the *cause* categories (Database, Network,
Infrastructure, Configuration) come before Application, because an exception class says how the
code failed while words like "deadlock" or "out of memory" say why. No match → category None
(routing then says needs_review) with low confidence.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from errorsift.models import (
    Analysis,
    AnalysisOutcome,
    AnalysisRequest,
    Category,
    Priority,
    Recommendations,
    RootCause,
    Severity,
    TechnicalDetails,
)

__all__ = ["CRITICAL_OPERATION", "RULES", "OfflineAnalyzer", "OfflineRule"]


@dataclass(frozen=True, slots=True)
class OfflineRule:
    """One keyword rule; adding a rule adds a row, not a branch."""

    name: str
    category: Category
    pattern: str  # case-insensitive regex over "<error type> <normalized message>"
    label: str  # what the summary calls it
    likely_cause: str
    confidence: float

    def compiled(self) -> re.Pattern[str]:
        return re.compile(self.pattern, re.IGNORECASE)


_APP_EXCEPTIONS = (
    r"\b(?:KeyError|TypeError|IndexError|ValueError|AttributeError|NameError|ZeroDivisionError"
    r"|AssertionError|UnboundLocalError|RecursionError|NotImplementedError"
    r"|NullReferenceException|NullPointerException|ClassCastException|Argument(?:Null|OutOfRange)?Exception"
    r"|IllegalArgumentException|IllegalStateException|InvalidOperationException|IndexOutOfRangeException"
    r"|ArrayIndexOutOfBoundsException|InvalidCastException|FormatException|NoSuchElementException"
    r"|NoMethodError|ReferenceError)\b"
    r"|nil pointer dereference|cannot read propert(?:y|ies) of (?:undefined|null)|is not a function"
)

RULES: tuple[OfflineRule, ...] = (
    # Database: shared state; platform owns the engine, dev may own the query.
    OfflineRule(
        "deadlock",
        "Database",
        r"deadlock",
        "Database deadlock",
        "Concurrent transactions lock the same rows in different orders",
        0.6,
    ),
    OfflineRule(
        "constraint",
        "Database",
        r"duplicate key|unique constraint|constraint (?:violation|failed)"
        r"|violates .{0,40}constraint|foreign key",
        "Database constraint violation",
        "Writes conflict with a database constraint (duplicate or missing related rows)",
        0.55,
    ),
    OfflineRule(
        "connection-pool",
        "Database",
        r"connection pool|pool (?:is )?exhausted|too many connections",
        "Database connection pool exhausted",
        "More concurrent work than database connections (slow queries or leaked connections)",
        0.55,
    ),
    OfflineRule(
        "sql",
        "Database",
        r"sql|\bdatabase\b|lock wait",
        "Database error",
        "A database query or transaction failed",
        0.45,
    ),
    # Network: a dependency could not be reached in time.
    OfflineRule(
        "timeout",
        "Network",
        r"timeout|timed out",
        "Timeout",
        "A downstream call did not answer in time (slow or overloaded dependency)",
        0.5,
    ),
    OfflineRule(
        "connection",
        "Network",
        r"connection (?:refused|reset)|econnrefused|econnreset"
        r"|reset by peer|refused to connect|broken pipe|^connection\b",
        "Connection failure",
        "A downstream service refused or dropped the connection",
        0.5,
    ),
    OfflineRule(
        "unreachable",
        "Network",
        r"unreachable|no route to host",
        "Host unreachable",
        "The network path to a dependency is down",
        0.5,
    ),
    OfflineRule(
        "dns",
        "Network",
        r"\bdns\b|name resolution|getaddrinfo|nxdomain|could not resolve",
        "DNS resolution failure",
        "A hostname could not be resolved",
        0.55,
    ),
    OfflineRule(
        "tls",
        "Network",
        r"(?:ssl|tls)\W*handshake|certificate (?:verify|has expired|expired)",
        "TLS handshake failure",
        "The TLS handshake failed (certificate or protocol mismatch)",
        0.55,
    ),
    # Infrastructure: the machine or container ran out of something.
    OfflineRule(
        "memory",
        "Infrastructure",
        r"\boom|out of memory|outofmemory|memoryerror|cannot allocate memory",
        "Out of memory",
        "A process or container exhausted its memory limit",
        0.6,
    ),
    OfflineRule(
        "disk",
        "Infrastructure",
        r"disk full|no space|disk quota",
        "Disk full",
        "A volume ran out of space",
        0.6,
    ),
    OfflineRule(
        "evicted",
        "Infrastructure",
        r"evicted|\bkilled\b|sigkill|oomkilled",
        "Process killed or evicted",
        "The orchestrator killed or evicted the workload",
        0.5,
    ),
    OfflineRule(
        "cpu",
        "Infrastructure",
        r"cpu throttl",
        "CPU throttling",
        "The workload hit its CPU limit and was throttled",
        0.5,
    ),
    # Configuration: the code is fine, its settings are not.
    OfflineRule(
        "configuration",
        "Configuration",
        r"missing (?:required )?setting|config|env(?:ironment)? var|not configured|feature flag"
        r"|missing (?:required )?(?:environment|secret|credential)",
        "Configuration problem",
        "A setting, secret or feature flag is missing or invalid",
        0.5,
    ),
    # Application: an exception class that usually means the code is wrong.
    OfflineRule(
        "exception-class",
        "Application",
        _APP_EXCEPTIONS,
        "Application exception",
        "A code path does not handle this input or state (a programming error)",
        0.5,
    ),
)

CRITICAL_OPERATION = re.compile(
    r"payment|checkout|billing|invoice|\bcharge|log ?in\b|sign ?in|auth|password|data loss|corrupt",
    re.IGNORECASE,
)
"""Words that mean money, access or data integrity is at stake."""

_COMPILED = tuple((rule, rule.compiled()) for rule in RULES)
_PLATFORM = frozenset({"Database", "Infrastructure", "Network"})
_PRIORITY_FOR: dict[str, Priority] = {"Critical": "Urgent", "High": "High", "Medium": "Medium", "Low": "Low"}

# Per-category texts for the audiences the schema serves (impact, actions, support wording).
_IMPACT: dict[str | None, str] = {
    "Database": "Requests that read or write this data fail or are slow; users may see errors on save.",
    "Network": "Actions that depend on another service fail or hang, usually intermittently.",
    "Infrastructure": "Requests fail while a server or container restarts; users may see errors or slowness.",
    "Configuration": "The affected feature fails every time until the setting is fixed.",
    "Application": "The affected action fails with an error every time this code path runs.",
    None: "Unknown from the message alone; check the samples to see what users experience.",
}
_ACTIONS: dict[str | None, tuple[str, ...]] = {
    "Database": (
        "Check database health, locks and slow queries at the time of the errors",
        "Review the failing query or transaction for lock ordering, retries and constraints",
    ),
    "Network": (
        "Check the health and latency of the dependency named in the message",
        "Confirm timeouts and retries are set sensibly for this call",
    ),
    "Infrastructure": (
        "Check resource usage (memory, disk, CPU) and restarts of the affected hosts",
        "Raise limits or scale out if usage is at its ceiling",
    ),
    "Configuration": (
        "Compare the affected environment's settings with a working one",
        "Add the missing setting or correct the invalid value, then redeploy",
    ),
    "Application": (
        "Find the code path from a sample stack trace and reproduce it",
        "Add handling or validation for this input and a regression test",
    ),
    None: (
        "Read a few raw samples and assign an owner",
        "Add an offline rule or run a model analysis if this pattern keeps recurring",
    ),
}
_COMMS: dict[str | None, str] = {
    "Database": "We are aware of errors when saving or loading some data and our team is investigating.",
    "Network": "We are aware that some requests are failing or timing out intermittently and our team is "
    "investigating. Retrying in a few minutes usually succeeds.",
    "Infrastructure": "We are aware of intermittent errors caused by a capacity issue on our side and our "
    "team is working on it.",
    "Configuration": "We are aware of an issue affecting this feature and our team is correcting it.",
    "Application": "We are aware of an error affecting this feature and our engineers are investigating "
    "a fix. We will update you when it is resolved.",
    None: "We are aware of this error and our team is looking into it. We will update you with more details.",
}


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def _severity(category: str | None, critical: bool, occurrences: int, customers: int) -> tuple[Severity, str]:
    """Severity from what is at stake and how widely; returns (severity, reason)."""
    if critical and (customers >= 3 or occurrences >= 100):
        return "Critical", "a critical operation (payment, login or data) fails for many users"
    if customers >= 10 and occurrences >= 500:
        return "Critical", "it is widespread (10+ customers, 500+ occurrences)"
    if critical:
        return "High", "a critical operation (payment, login or data) is affected"
    if customers >= 5 or occurrences >= 200:
        return "High", "it affects many customers or occurs at high volume"
    if category in _PLATFORM and customers >= 2:
        return "High", "a shared dependency fails for more than one customer"
    if customers >= 2 or occurrences >= 20 or category == "Application":
        return "Medium", "it recurs or affects more than one customer"
    return "Low", "it is rare and limited to one customer"


class OfflineAnalyzer:
    """Deterministic, I/O-free analyzer; `analyze` is cheap enough to run on every signature."""

    name = "offline"

    def analyze(self, request: AnalysisRequest) -> AnalysisOutcome:
        """Analyse by rules; usage is zero and no model is called."""
        return AnalysisOutcome(analysis=self.analysis_for(request), model_called=False)

    def analysis_for(self, request: AnalysisRequest) -> Analysis:
        """The `Analysis` alone (useful for demos and as a fallback where an outcome is not needed)."""
        text = f"{request.error_type} {request.normalized}"
        rule, matched = next(((r, m.group(0)) for r, pattern in _COMPILED if (m := pattern.search(text))), (None, ""))
        category: Category | None = rule.category if rule else None
        critical = bool(CRITICAL_OPERATION.search(text))
        severity, why = _severity(category, critical, request.occurrences, request.customers_affected)
        spread = (
            f"{_plural(request.occurrences, 'occurrence')} across {_plural(request.customers_affected, 'customer')}"
        )
        kind = request.error_type or "error"
        if rule is None:
            summary = f"Unclassified {kind}: {spread} (offline rules)"
            explanation = (
                "Produced by errorsift's offline rules, not a language model. No rule matched the error "
                f"type or message, so the category is unknown and a person should review it. Severity "
                f"{severity} because {why}."
            )
            likely_cause, confidence = "Unknown: no offline rule matched this message", 0.1
        else:
            label = f"{rule.label} {matched}" if rule.category == "Application" else rule.label
            if request.error_type and request.error_type.lower() not in label.lower():
                label = f"{label} ({request.error_type})"
            summary = f"{label}: {spread} (offline rules)"
            explanation = (
                "Produced by errorsift's offline rules, not a language model: the text matched "
                f"{matched!r} (rule '{rule.name}'), which usually points to the {rule.category} category. "
                f"Severity {severity} because {why}."
            )
            likely_cause, confidence = f"Offline rules suggest: {rule.likely_cause}", rule.confidence
        return Analysis(
            summary=summary,
            explanation=explanation,
            severity=severity,
            user_impact=_IMPACT[category],
            root_cause=RootCause(likely_cause=likely_cause, confidence=confidence),
            recommendations=Recommendations(
                immediate_actions=list(_ACTIONS[category]), resolution_priority=_PRIORITY_FOR[severity]
            ),
            customer_communication=_COMMS[category],
            technical_details=TechnicalDetails(
                error_category=category,
                real_application_bug=category == "Application",
                affects_critical_operation=critical,
            ),
            fallback=False,
            analyzer=self.name,
        )
