"""What a card says *now*: the latest run's triage with the people's changes made since laid on top.

A run stores its triage; a person then marks a pattern as noise or overrides its owner. Those
changes take effect in the store at once (the next run honours them), but the stored triage is
history and is never rewritten. So the dashboard recomputes each card's triage with the same pure
functions the pipeline uses (`errorsift.triage`), from the stored analysis fields and anomaly plus
today's noise rules and overrides, and marks a card `pending` when that differs from what the run
stored: "marked as noise just now, the next run will confirm".
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from errorsift.models import Analysis, Anomaly, TechnicalDetails, Triage
from errorsift.store.dashboard import CardRow
from errorsift.store.store import StoreConn
from errorsift.triage import DEFAULT_CATEGORY_ROUTES, NoiseRule, NoiseRules, apply_noise, apply_override, route

__all__ = ["HumanState", "LiveTriage", "RuleMatcher", "anomaly_from", "live_triage", "load_human_state"]

_CATEGORIES = {"application", "infrastructure", "database", "network", "configuration"}


class RuleMatcher:
    """`NoiseRules.match` with one combined regex in front: most patterns match no rule, and one
    search of the text answers that for all regex rules at once (precedence is still NoiseRules')."""

    def __init__(self, rules: NoiseRules) -> None:
        self.rules = rules
        self.keys = {r.value for r in rules.rules if r.kind == "signature"}
        regexes = [r.value for r in rules.rules if r.kind == "regex"]
        self.any_regex: re.Pattern[str] | None = None
        self.fallback = False
        if regexes:
            try:
                self.any_regex = re.compile("|".join(f"(?:{r})" for r in regexes))
            except re.error:  # e.g. inline flags mid-pattern: match rule by rule instead
                self.fallback = True

    def match(self, key: str, text: str) -> NoiseRule | None:
        if key in self.keys or self.fallback or (self.any_regex is not None and self.any_regex.search(text)):
            return self.rules.match(key, text)
        return None


@dataclass(slots=True)
class HumanState:
    """The decisions people made, read once per request: noise rules, owner overrides, aliases."""

    rules: NoiseRules
    rule_rows: dict[int, dict[str, Any]]
    overrides: dict[str, dict[str, Any]]
    aliases: dict[str, str]
    routes: Mapping[str, tuple[str, str]] = field(default_factory=lambda: dict(DEFAULT_CATEGORY_ROUTES))
    matcher: RuleMatcher | None = None
    _routed: dict[tuple[str, bool, str], Triage] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.matcher is None:
            self.matcher = RuleMatcher(self.rules)

    @property
    def fingerprint(self) -> str:
        """Changes whenever any human decision does: part of the card cache's key."""
        parts = (
            sorted((r.id or 0, r.kind, r.value, r.reason) for r in self.rules.rules),
            sorted((k, o["bucket"], o["owner"], o["reason"]) for k, o in self.overrides.items()),
            sorted(self.aliases.items()),
            sorted(self.routes.items()),
        )
        return hashlib.sha256(repr(parts).encode()).hexdigest()

    def routed(self, category: str, real_bug: bool, error_type: str) -> Triage:
        """`route()` memoized: a fleet has thousands of patterns but a handful of distinct inputs."""
        memo_key = (category, real_bug, error_type)
        found = self._routed.get(memo_key)
        if found is None:
            cat = category.strip().capitalize() if category.strip().lower() in _CATEGORIES else None
            analysis = Analysis.model_construct(
                summary="",
                technical_details=TechnicalDetails.model_construct(
                    error_category=cat, real_application_bug=real_bug, affects_critical_operation=False
                ),
            )
            found = route(analysis, error_type, self.routes)
            self._routed[memo_key] = found
        return found


def load_human_state(sc: StoreConn, routes: Mapping[str, tuple[str, str]] | None = None) -> HumanState:
    rows = sc.noise_rules()
    rules = []
    for r in rows:
        try:
            rules.append(NoiseRule(r["id"], r["kind"], r["value"], r["reason"]))
        except ValueError:  # a rule the pipeline would refuse too; show it, never match it
            continue
    return HumanState(
        rules=NoiseRules(rules),
        rule_rows={r["id"]: r for r in rows},
        overrides=sc.owner_overrides(),
        aliases=sc.aliases(),
        routes=dict(routes) if routes is not None else dict(DEFAULT_CATEGORY_ROUTES),
    )


def anomaly_from(stored: Mapping[str, Any]) -> Anomaly:
    """The stored anomaly JSON (with its extra `why_flagged`) back as the pure layer's value."""
    return Anomaly(
        new_signature=bool(stored.get("new_signature", False)),
        spike=bool(stored.get("spike", False)),
        spread=bool(stored.get("spread", False)),
        new_customers=tuple(stored.get("new_customers", ()) or ()),
        baseline_days_present=int(stored.get("baseline_days_present", 0) or 0),
        baseline_mean=float(stored.get("baseline_mean", 0.0) or 0.0),
        baseline_max=int(stored.get("baseline_max", 0) or 0),
    )


@dataclass(frozen=True, slots=True)
class LiveTriage:
    triage: Triage
    rule: NoiseRule | None
    override: dict[str, Any] | None
    pending: bool  # differs from what the run stored: people changed something since


def live_triage(row: CardRow, state: HumanState) -> LiveTriage:
    """Route → override → noise, as `triage.decide` does in a run, with today's human decisions.

    Without a stored analysis (expired by "re-analyze now"), routing cannot be recomputed; the run's
    own routing stands unless it was a suppression, which only a noise rule can justify.
    """
    matcher = state.matcher or RuleMatcher(state.rules)
    rule = matcher.match(row.signature, row.normalized)
    if rule is None and row.template:
        rule = matcher.match(row.signature, row.template)
    override = state.overrides.get(row.signature)
    if row.has_analysis:
        triage = state.routed(row.category, row.real_bug, row.error_type)
    elif not row.suppressed:
        triage = Triage(row.bucket, row.owner, row.reason, row.suppressed)
    else:
        triage = state.routed("", False, row.error_type)
    if override is not None:
        triage = apply_override(triage, (override["bucket"], override["owner"]), override["reason"])
    if rule is not None:  # the stored anomaly is only decoded when a rule needs its flags
        triage = apply_noise(triage, rule, anomaly_from(row.anomaly))
    if triage.bucket == row.bucket and triage.owner == row.owner and triage.suppressed == row.suppressed:
        # Same decision as the run: keep the run's own words.
        return LiveTriage(Triage(row.bucket, row.owner, row.reason, row.suppressed), rule, override, False)
    return LiveTriage(triage, rule, override, True)
