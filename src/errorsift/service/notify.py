"""Tell the owning team when something changed: escalations → Slack, a JSON webhook, PagerDuty.

What escalates (one pattern can carry several flags):

* ``new``   — a NEW signature that is not known noise;
* ``spike`` — a SPIKE of a pattern that is not suppressed;
* ``spread``— a SPREAD that reached customers who never had it;
* ``noise_escalated`` — a known-noise pattern that escalated anyway (NEW, or spreading).

Routing follows the owner bucket the triage chose: `notify_routes` maps a bucket to its team's
channels (``"*"`` = every other bucket); the plain `slack_webhook_url` / `notify_webhook_url` /
`pagerduty_routing_key` settings are the fallback route. PagerDuty only ever receives Critical.

Dedup: one notification per (signature, flag, channel) per `notify_dedup` period, judged from the
`notifications` table, so it holds across runs, processes and restarts. Only *sent* rows mute a
repeat, so a failed delivery is retried (tenacity, with backoff) and, if it still fails, recorded
and tried again next run. Nothing here raises into the run: notification trouble is a metric and
a log line, never a failed triage.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from tenacity import RetryError, Retrying, retry_if_exception, stop_after_attempt, wait_exponential

from errorsift.errors import ConfigError
from errorsift.service import notify_payloads as payloads
from errorsift.settings import Settings, parse_duration
from errorsift.store import service_queries as q
from errorsift.store.store import Store

__all__ = ["Channel", "Notifier", "NotifyConfig", "NotifyReport", "escalation_flags"]

log = logging.getLogger("errorsift.notify")
KINDS = ("slack", "webhook", "pagerduty")
MAX_PER_CHANNEL = 25  # per run: a first run on a new fleet must not flood a channel


@dataclass(frozen=True, slots=True)
class Channel:
    """One destination: its kind, the route it came from, and the URL or routing key."""

    kind: str  # slack | webhook | pagerduty
    route: str  # the bucket name in notify_routes, or "*"
    target: str  # URL (slack, webhook) or routing key (pagerduty)

    @property
    def key(self) -> str:
        """What the notifications table calls this channel (dedup is per channel)."""
        return f"{self.kind}:{self.route}"


@dataclass(frozen=True, slots=True)
class NotifyConfig:
    routes: dict[str, dict[str, str]] = field(default_factory=dict)  # bucket -> {kind: target}
    dedup: timedelta = timedelta(hours=24)
    dashboard_url: str = ""
    pagerduty_url: str = "https://events.pagerduty.com/v2/enqueue"
    attempts: int = 3
    backoff: float = 0.5  # seconds; doubles per attempt (tenacity wait_exponential)
    timeout: float = 10.0

    @classmethod
    def from_settings(cls, settings: Settings, env: dict[str, str] | None = None) -> NotifyConfig:
        """Routes from `notify_routes`, plus the flat settings as the ``*`` fallback.

        A value ``env:NAME`` is read from the environment so webhook URLs and routing keys (which
        are secrets) can stay out of the config file.
        """
        env = dict(os.environ) if env is None else env
        routes: dict[str, dict[str, str]] = {}
        for bucket, channels in (settings.notify_routes or {}).items():
            if not isinstance(channels, dict):
                raise ConfigError(f"notify_routes.{bucket} must be a table like {{slack = 'https://…'}}")
            route: dict[str, str] = {}
            for kind, value in channels.items():
                if kind not in KINDS:
                    raise ConfigError(f"notify_routes.{bucket}.{kind}: unknown channel (use {', '.join(KINDS)})")
                route[kind] = _resolve(str(value), env, f"notify_routes.{bucket}.{kind}")
            routes[str(bucket)] = route
        fallback = routes.setdefault("*", {})
        for kind, value in (
            ("slack", settings.slack_webhook_url),
            ("webhook", settings.notify_webhook_url),
            ("pagerduty", settings.pagerduty_routing_key),
        ):
            if value and kind not in fallback:
                fallback[kind] = _resolve(value, env, kind)
        if not fallback:
            del routes["*"]
        return cls(
            routes=routes,
            dedup=parse_duration(settings.notify_dedup),
            dashboard_url=settings.dashboard_url,
            pagerduty_url=settings.pagerduty_url,
        )

    def channels_for(self, bucket: str) -> list[Channel]:
        """The team's own route if it has one, else the ``*`` route."""
        route_name = bucket if bucket in self.routes else "*"
        route = self.routes.get(route_name, {})
        return [Channel(kind, route_name, target) for kind, target in route.items() if target]

    @property
    def enabled(self) -> bool:
        return any(self.routes.values())


def _resolve(value: str, env: dict[str, str], where: str) -> str:
    if not value.startswith("env:"):
        return value
    name = value[4:]
    if not env.get(name):
        raise ConfigError(f"{where} reads ${name}, which is not set")
    return env[name]


def escalation_flags(pattern: dict[str, Any]) -> list[str]:
    """The escalation flags of one pattern (see the module docstring); [] when nobody needs telling."""
    triage = pattern.get("triage", {})
    if triage.get("suppressed") or triage.get("bucket") == "non_issue":
        return []
    anomaly = pattern.get("anomaly", {})
    reason = str(triage.get("reason", ""))
    if reason.startswith("Known noise (") and "escalated" in reason:
        return ["noise_escalated"]
    flags = []
    if anomaly.get("new_signature"):
        flags.append("new")
    if anomaly.get("spike"):
        flags.append("spike")
    if anomaly.get("spread") and anomaly.get("new_customers"):
        flags.append("spread")
    return flags


@dataclass(slots=True)
class NotifyReport:
    escalations: int = 0
    sent: int = 0
    failed: int = 0
    deduped: int = 0
    skipped: int = 0  # over the per-run cap, or PagerDuty for a non-Critical pattern
    errors: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "escalations": self.escalations,
            "sent": self.sent,
            "failed": self.failed,
            "deduped": self.deduped,
            "skipped": self.skipped,
            "errors": self.errors[:10],
        }


class _Retryable(Exception):
    """An HTTP answer worth retrying (429 or 5xx)."""


def _retryable(exc: BaseException) -> bool:
    return isinstance(exc, _Retryable | httpx.TransportError)


class Notifier:
    """Sends the escalations of one run; owns an httpx client unless one is handed in."""

    def __init__(self, store: Store, config: NotifyConfig, client: httpx.Client | None = None) -> None:
        self.store = store
        self.config = config
        self._own_client = client is None
        self.client = client or httpx.Client(timeout=config.timeout, headers={"user-agent": "errorsift"})

    def close(self) -> None:
        if self._own_client:
            self.client.close()

    def notify(self, run_id: int | None, patterns: Iterable[Any]) -> NotifyReport:
        """Notify every escalation of a run; never raises (failures are counted and recorded)."""
        report = NotifyReport()
        if not self.config.enabled:
            return report
        try:
            self._notify(run_id, [p.as_dict() if hasattr(p, "as_dict") else dict(p) for p in patterns], report)
        except Exception as exc:  # the database went away mid-way: still never fail the run
            log.error("notifications aborted: %s", exc)
            report.errors.append(f"aborted: {exc}")
        return report

    def _notify(self, run_id: int | None, patterns: list[dict[str, Any]], report: NotifyReport) -> None:
        escalated = [(p, flags) for p in patterns if (flags := escalation_flags(p))]
        report.escalations = len(escalated)
        if not escalated:
            return
        now = datetime.now(UTC)
        with self.store.read() as conn:
            already = q.recent_notifications(conn, [p["signature"] for p, _ in escalated], now - self.config.dedup)
        per_channel: dict[str, int] = {}
        for pattern, flags in escalated:
            for channel in self.config.channels_for(pattern.get("triage", {}).get("bucket", "")):
                if channel.kind == "pagerduty" and pattern.get("analysis", {}).get("severity") != "Critical":
                    continue
                fresh = [f for f in flags if (pattern["signature"], f, channel.key) not in already]
                if not fresh:
                    report.deduped += 1
                    continue
                if per_channel.get(channel.key, 0) >= MAX_PER_CHANNEL:
                    report.skipped += 1
                    continue
                per_channel[channel.key] = per_channel.get(channel.key, 0) + 1
                self._deliver(run_id, pattern, fresh, channel, report)

    def _deliver(
        self, run_id: int | None, pattern: dict[str, Any], flags: list[str], channel: Channel, report: NotifyReport
    ) -> None:
        url = payloads.card_url(self.config.dashboard_url, pattern["signature"])
        sent_at = datetime.now(UTC)
        if channel.kind == "slack":
            endpoint, body = channel.target, payloads.slack_message(pattern, flags, url=url, run_id=run_id)
        elif channel.kind == "webhook":
            body = payloads.webhook_event(pattern, flags, url=url, run_id=run_id, sent_at=sent_at)
            endpoint = channel.target
        else:
            endpoint = self.config.pagerduty_url
            body = payloads.pagerduty_event(pattern, flags, routing_key=channel.target, url=url, run_id=run_id)
        attempts, error = self._post(endpoint, body)
        status = "sent" if error is None else "failed"
        if error is None:
            report.sent += 1
        else:
            report.failed += 1
            report.errors.append(f"{channel.key} {pattern['signature']}: {error}")
            log.warning("notification to %s failed after %d attempts: %s", channel.key, attempts, error)
        stored = dict(body)
        if channel.kind == "pagerduty":
            stored["routing_key"] = "***"  # a secret: never kept in the database
        with self.store.begin() as conn:
            for flag in flags:
                q.record_notification(
                    conn,
                    signature=pattern["signature"],
                    flag=flag,
                    channel=channel.key,
                    run_id=run_id,
                    status=status,
                    attempts=attempts,
                    error=error,
                    payload=stored,
                    sent_at=sent_at,
                )

    def _post(self, url: str, body: dict[str, Any]) -> tuple[int, str | None]:
        """POST with retries on connection errors, 429 and 5xx; (attempts, error or None)."""
        retrying = Retrying(
            stop=stop_after_attempt(max(1, self.config.attempts)),
            wait=wait_exponential(multiplier=self.config.backoff, max=30),
            retry=retry_if_exception(_retryable),
            reraise=False,
        )
        attempts = 0
        try:
            for attempt in retrying:
                with attempt:
                    attempts += 1
                    response = self.client.post(url, json=body)
                    if response.status_code == 429 or response.status_code >= 500:
                        raise _Retryable(f"HTTP {response.status_code}: {response.text[:200]}")
                    if response.status_code >= 400:
                        return attempts, f"HTTP {response.status_code}: {response.text[:200]}"
        except RetryError as exc:
            last = exc.last_attempt.exception()
            return attempts, _describe(last)
        except Exception as exc:  # not retryable (bad URL, …)
            return attempts, _describe(exc)
        return attempts, None


def _describe(exc: BaseException | None) -> str:
    if exc is None:
        return "unknown error"
    text = str(exc) or type(exc).__name__
    return f"{type(exc).__name__}: {text}"[:300] if isinstance(exc, httpx.HTTPError) else text[:300]
