"""The nouns of errorsift, shared by every layer.

Plain dataclasses for the hot path (events, signatures, anomaly and triage results) and one
pydantic model for the analysis, because that one crosses a trust boundary (model output).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field


@dataclass(slots=True)
class ErrorEvent:
    """One raw error as a source delivers it (before redaction)."""

    timestamp: datetime  # timezone-aware UTC
    message: str
    error_type: str = ""
    service: str = ""
    customer: str = ""  # the tenant: customer id or environment
    host: str = ""
    id: str = ""  # source-unique id; derived from content when the source has none
    stack: str = ""  # multi-line stack trace, when the source separates it from the message
    attributes: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class SignatureResult:
    """What a grouping strategy says about one (redacted) message."""

    key: str  # 16 hex chars, stable for the messages it covers
    normalized: str  # this message under redaction + the seed rules (SPEC layer 1, exact)
    strategy: str  # grouping strategy id, stored with the signature (e.g. "seed-v1")
    template: str = ""  # the group's shape (mined template); equals `normalized` for the seed strategy


class AnalysisType(StrEnum):
    RECENT = "recent"
    PATTERN = "pattern"


Severity = Literal["Critical", "High", "Medium", "Low"]
Priority = Literal["Urgent", "High", "Medium", "Low"]
Category = Literal["Application", "Infrastructure", "Database", "Network", "Configuration"]


class RootCause(BaseModel):
    model_config = ConfigDict(extra="ignore")
    likely_cause: str = ""
    confidence: float = Field(default=0.0, ge=0.0, le=1.0)


class Recommendations(BaseModel):
    model_config = ConfigDict(extra="ignore")
    immediate_actions: list[str] = Field(default_factory=list)
    resolution_priority: Priority = "Medium"


class TechnicalDetails(BaseModel):
    model_config = ConfigDict(extra="ignore")
    error_category: Category | None = None
    real_application_bug: bool = False
    affects_critical_operation: bool = False


class Analysis(BaseModel):
    """The SPEC's analysis object: one answer for support, operations, platform and leadership.

    `fallback` is true when the model's answer could not be parsed; `analyzer` names what
    produced it (``offline`` or ``anthropic:<model>``) so nobody mistakes rules for a model.
    """

    model_config = ConfigDict(extra="ignore")
    summary: str
    explanation: str = ""
    severity: Severity = "Medium"
    user_impact: str = ""
    root_cause: RootCause = Field(default_factory=RootCause)
    recommendations: Recommendations = Field(default_factory=Recommendations)
    customer_communication: str = ""
    technical_details: TechnicalDetails = Field(default_factory=TechnicalDetails)
    fallback: bool = False
    analyzer: str = ""


@dataclass(frozen=True, slots=True)
class AnalysisRequest:
    """The facts an analyzer may see: redacted and normalized only."""

    signature: str
    error_type: str
    occurrences: int
    customers_affected: int
    normalized: str
    samples: tuple[str, ...] = ()
    analysis_type: AnalysisType = AnalysisType.RECENT
    # Optional facts (all redacted/normalized): why the run flagged it, where it was raised, and,
    # for `pattern` analyses, its history. Defaults keep older callers and stored requests valid.
    anomaly_flags: tuple[str, ...] = ()  # "NEW", "SPIKE", "SPREAD"
    stack_frames: tuple[str, ...] = ()  # top in-app frames, innermost first
    service: str = ""
    days_present: int = 0  # baseline days on which the signature occurred
    daily_history: tuple[tuple[str, int, int], ...] = ()  # (day, occurrences, customers), oldest first


@dataclass(frozen=True, slots=True)
class Usage:
    """Metered cost of one analysis (one model call, or two when a repair was needed).

    `input_tokens` are the uncached input tokens billed at the input rate; prompt-cache writes
    and reads are counted apart because they are priced apart. `raw` keeps the provider's own
    usage objects so the cost can be recomputed when prices change.
    """

    input_tokens: int = 0
    output_tokens: int = 0
    cost_usd: float = 0.0
    model: str = ""
    cache_write_tokens: int = 0
    cache_read_tokens: int = 0
    raw: dict[str, Any] = field(default_factory=dict)
    batch: bool = False


@dataclass(frozen=True, slots=True)
class AnalysisOutcome:
    analysis: Analysis
    usage: Usage = field(default_factory=Usage)
    model_called: bool = False
    prompt: str = ""  # exactly what was sent (empty for offline)


@dataclass(frozen=True, slots=True)
class BaselineStats:
    """One signature's history over the baseline window (N day-slices before the current window)."""

    days_present: int
    mean_occurrences: float  # mean over the days it was present
    max_occurrences: int
    max_customers: int  # peak distinct customers on one baseline day
    customers_seen: frozenset[str]


@dataclass(frozen=True, slots=True)
class Anomaly:
    new_signature: bool
    spike: bool
    spread: bool
    new_customers: tuple[str, ...]
    baseline_days_present: int = 0
    baseline_mean: float = 0.0
    baseline_max: int = 0

    @property
    def escalated(self) -> bool:
        return self.new_signature or self.spike or self.spread

    def as_dict(self) -> dict[str, Any]:
        return {
            "new_signature": self.new_signature,
            "spike": self.spike,
            "spread": self.spread,
            "new_customers": list(self.new_customers),
            "baseline_days_present": self.baseline_days_present,
            "baseline_mean": self.baseline_mean,
            "baseline_max": self.baseline_max,
        }


@dataclass(frozen=True, slots=True)
class Triage:
    bucket: str  # application | platform | needs_review | non_issue
    owner: str  # dev | platform | review | noise
    reason: str
    suppressed: bool = False

    def as_dict(self) -> dict[str, Any]:
        return {"bucket": self.bucket, "owner": self.owner, "reason": self.reason, "suppressed": self.suppressed}
