"""Layer 5, pure: who owns this pattern, and is it known noise?

Three steps, always applied in this order (:func:`decide` composes them):

1. :func:`route` maps the analysis (and the error type) to an owner bucket, exactly as SPEC
   layer 5 states the seed's precedence.
2. :func:`apply_override` replaces that result with a person's per-signature owner override. A
   human who says "this is ours" knows more than the model, so the override beats routing.
3. :func:`apply_noise` then applies known-noise suppression **on top**, to overridden results too:
   an override says who owns a pattern, a noise rule says it needs nobody today. Both are human
   decisions about different questions, and suppression already yields to the one thing that must
   never be hidden: a NEW pattern, or one spreading to customers that never saw it.

Routing tables and noise rules are data handed in by the caller; nothing here does I/O.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Literal

from errorsift.models import Analysis, Anomaly, Triage

__all__ = [
    "DEFAULT_CATEGORY_ROUTES",
    "NoiseKind",
    "NoiseRule",
    "NoiseRules",
    "apply_noise",
    "apply_override",
    "decide",
    "matching_noise_rule",
    "route",
    "validate_noise_rule",
]

# error_category (lower-cased) -> (bucket, owner). Treat as read-only: copy it to customize, e.g.
# ``{**DEFAULT_CATEGORY_ROUTES, "configuration": ("application", "dev")}``.
DEFAULT_CATEGORY_ROUTES: dict[str, tuple[str, str]] = {
    "application": ("application", "dev"),
    "infrastructure": ("platform", "platform"),
    "network": ("platform", "platform"),
    "database": ("platform", "platform"),
    "configuration": ("platform", "platform"),
}

_CONNECTIVITY_TYPES = frozenset({"timeout", "connection"})
_DATABASE_TYPES = frozenset({"sql"})


def route(
    analysis: Analysis | None,
    error_type: str,
    routes: Mapping[str, tuple[str, str]] = DEFAULT_CATEGORY_ROUTES,
) -> Triage:
    """Route one analyzed pattern to an owner bucket (SPEC layer 5, the seed's precedence).

    1. A known ``error_category`` wins, even over ``real_application_bug``: the category is the
       model's primary routing signal, the bug flag only breaks ties when the category is missing.
       Categories and route keys compare case-insensitively; a category the table does not know
       falls through as if absent.
    2. Else the error type, lower-cased and matched exactly (``TimeoutError`` is *not* ``timeout``):
       ``timeout``/``connection`` go to platform first (connectivity is usually theirs to rule out),
       as does ``sql``.
    3. Else ``real_application_bug`` sends it to application/dev.
    4. Else it needs a human: ``needs_review``/``review``.

    ``analysis`` is ``None`` when the pattern has not been analyzed (e.g. offline, or a failed call);
    only the error type can route it then. ``error_type`` is passed separately because it is a fact
    of the events, not something the model says.
    """
    technical = analysis.technical_details if analysis is not None else None
    category = ((technical.error_category if technical else None) or "").strip().lower()
    table = {name.strip().lower(): target for name, target in routes.items()}
    if category and category in table:
        bucket, owner = table[category]
        return Triage(bucket=bucket, owner=owner, reason=f"Categorized as {category}")

    kind = (error_type or "").strip().lower()
    if kind in _CONNECTIVITY_TYPES:
        return Triage(
            bucket="platform", owner="platform", reason="Connectivity errors route to platform first"
        )
    if kind in _DATABASE_TYPES:
        return Triage(bucket="platform", owner="platform", reason="Database errors route to platform first")
    if technical is not None and technical.real_application_bug is True:
        return Triage(bucket="application", owner="dev", reason="Flagged as application bug")
    return Triage(bucket="needs_review", owner="review", reason="Insufficient signal to auto-route")


def apply_override(triage: Triage, override: tuple[str, str] | None, reason: str = "") -> Triage:
    """Replace the routed result with a manual per-signature ``(bucket, owner)`` override.

    ``None`` leaves the triage unchanged. The new reason names the override (and why, when given)
    and keeps what routing had said, so the dashboard can show that a human disagreed with it.
    Known-noise suppression is applied *after* this (see the module docstring).
    """
    if override is None:
        return triage
    bucket, owner = override
    if not bucket.strip() or not owner.strip():
        raise ValueError(f"an owner override needs a bucket and an owner, got {override!r}")
    why = f"Owner overridden: {reason}" if reason.strip() else "Owner overridden"
    return Triage(
        bucket=bucket,
        owner=owner,
        reason=f"{why} (routed: {triage.bucket}/{triage.owner}, {triage.reason})",
        suppressed=triage.suppressed,
    )


NoiseKind = Literal["signature", "regex"]


def validate_noise_rule(kind: str, value: str) -> None:
    """Raise ``ValueError`` with a message a person can act on if a noise rule cannot work.

    Called when a rule is created (``NoiseRule.__post_init__``), so a bad rule is refused at the
    door instead of silently never matching, or failing every later run. An empty value is refused
    too: an empty regex matches every pattern and would suppress everything.
    """
    if kind not in ("signature", "regex"):
        raise ValueError(f"noise rule kind must be 'signature' or 'regex', got {kind!r}")
    if not value or not value.strip():
        raise ValueError(f"a {kind} noise rule needs a non-empty value")
    if kind == "signature" and value != value.strip():
        raise ValueError(f"signature key {value!r} has surrounding whitespace; it would never match")
    if kind == "regex":
        try:
            re.compile(value)
        except re.error as exc:
            raise ValueError(f"invalid noise regex {value!r}: {exc}") from exc


@dataclass(frozen=True, slots=True)
class NoiseRule:
    """A benign pattern (deploy churn, maintenance): ``signature`` matches one key exactly,
    ``regex`` is searched (``re.search``) in the normalized text, so it can cover many signatures.

    ``id`` is the store's row id (``None`` before it is stored). Creating an invalid rule raises
    ``ValueError`` (see :func:`validate_noise_rule`).
    """

    id: int | None
    kind: NoiseKind
    value: str
    reason: str

    def __post_init__(self) -> None:
        validate_noise_rule(self.kind, self.value)


class NoiseRules:
    """A set of noise rules with every regex compiled once, for matching many patterns per run.

    Precedence is deterministic: an exact signature rule (the most specific) beats any regex rule;
    among regex rules, the first in the order given wins.
    """

    def __init__(self, rules: Iterable[NoiseRule] = ()) -> None:
        self.rules: tuple[NoiseRule, ...] = tuple(rules)
        self._by_key: dict[str, NoiseRule] = {}
        self._regexes: list[tuple[re.Pattern[str], NoiseRule]] = []
        for rule in self.rules:
            if rule.kind == "signature":
                self._by_key.setdefault(rule.value, rule)
            else:
                self._regexes.append((re.compile(rule.value), rule))

    def __len__(self) -> int:
        return len(self.rules)

    def match(self, signature_key: str, normalized_text: str) -> NoiseRule | None:
        """The rule that marks this pattern as noise, or ``None``."""
        found = self._by_key.get(signature_key)
        if found is not None:
            return found
        for pattern, rule in self._regexes:
            if pattern.search(normalized_text):
                return rule
        return None


def matching_noise_rule(
    rules: NoiseRules | Iterable[NoiseRule], signature_key: str, normalized_text: str
) -> NoiseRule | None:
    """The noise rule matching this pattern, or ``None`` (precedence as in :class:`NoiseRules`).

    Pass a :class:`NoiseRules` when matching many patterns so regexes compile once per run; a plain
    iterable of rules also works.
    """
    ruleset = rules if isinstance(rules, NoiseRules) else NoiseRules(rules)
    return ruleset.match(signature_key, normalized_text)


def apply_noise(triage: Triage, rule: NoiseRule | None, anomaly: Anomaly) -> Triage:
    """Suppress a known-noise pattern, unless it is NEW or spreading to new customers.

    Noise is suppressed (bucket ``non_issue``, owner ``noise``) while it behaves as it did when a
    person marked it benign. Two changes override that judgement and keep the routed owner: the
    pattern is NEW (no baseline, so whatever was benign about it is not established), or it SPREADs
    to customers that never saw it (``spread`` with at least one new customer), the one thing that
    turns "expected churn" into a fleet problem. A SPIKE alone does not escalate noise: deploy
    churn is bursty by nature, and a count-only spread among customers that already had it is the
    same churn, louder.
    """
    if rule is None:
        return triage
    escalations: list[str] = []
    if anomaly.new_signature:
        escalations.append("new signature")
    if anomaly.spread and anomaly.new_customers:
        n = len(anomaly.new_customers)
        escalations.append(f"spread to {n} new customer{'s' if n != 1 else ''}")
    if not escalations:
        return Triage(
            bucket="non_issue", owner="noise", reason=f"Known noise: {rule.reason}", suppressed=True
        )
    return Triage(
        bucket=triage.bucket,
        owner=triage.owner,
        reason=f"Known noise ({rule.reason}) escalated: {', '.join(escalations)}; {triage.reason}",
        suppressed=False,
    )


def decide(
    analysis: Analysis | None,
    error_type: str,
    anomaly: Anomaly,
    *,
    routes: Mapping[str, tuple[str, str]] = DEFAULT_CATEGORY_ROUTES,
    override: tuple[str, str] | None = None,
    override_reason: str = "",
    noise_rule: NoiseRule | None = None,
) -> Triage:
    """The whole layer for one pattern: route, then the owner override, then known noise."""
    triage = route(analysis, error_type, routes)
    triage = apply_override(triage, override, override_reason)
    return apply_noise(triage, noise_rule, anomaly)
