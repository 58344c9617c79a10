"""What an escalation looks like on the wire: Slack Block Kit, a generic JSON webhook, PagerDuty.

Pure functions from one pattern (the dict shape of `Pattern.as_dict()` / `views.latest_patterns`)
to a request body, so the shapes can be tested without a network and reviewed in one place.
Slack limits are respected (header 150 chars, section text 3000, field 2000) because Slack
rejects the whole message when one block is too long, and a lost page is worse than a cut line.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

__all__ = [
    "FLAG_LABELS",
    "card_url",
    "pagerduty_event",
    "slack_message",
    "summary_line",
    "webhook_event",
]

FLAG_LABELS = {"new": "NEW", "spike": "SPIKE", "spread": "SPREAD", "noise_escalated": "NOISE ESCALATED"}
_SEVERITY_EMOJI = {"Critical": ":rotating_light:", "High": ":warning:", "Medium": ":large_orange_diamond:"}
_MAX_CUSTOMERS = 10


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _mrkdwn(text: str) -> str:
    """Slack's three control characters; anything else in error text is shown as typed."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


_PARTIAL_ENTITY = re.compile(r"&[a-z]{0,3}$")


def _slack_text(text: str, limit: int) -> str:
    """Escaped for Slack, then cut to `limit` without leaving half an entity (``&am…``) behind.

    Every Slack text field goes through here, the fallback `text` included: Slack parses
    ``<!channel>`` and ``<http://x|y>`` in it like in any block, so log text could ping a whole
    channel or disguise a link.
    """
    escaped = _mrkdwn(text)
    if len(escaped) <= limit:
        return escaped
    return _PARTIAL_ENTITY.sub("", escaped[: limit - 1]) + "…"


def card_url(dashboard_url: str, signature: str) -> str:
    """The pattern's card on the dashboard; empty when no dashboard URL is configured."""
    return f"{dashboard_url.rstrip('/')}/patterns/{signature}" if dashboard_url else ""


def _severity(pattern: dict[str, Any]) -> str:
    return str(pattern.get("analysis", {}).get("severity") or "Unknown")


def _summary(pattern: dict[str, Any]) -> str:
    analysis = pattern.get("analysis", {})
    return str(analysis.get("summary") or pattern.get("template") or pattern.get("normalized") or pattern["signature"])


def _customers(pattern: dict[str, Any]) -> str:
    customers = list(pattern.get("customers", []))
    new = set(pattern.get("anomaly", {}).get("new_customers", []))
    shown = [f"{c} (new)" if c in new else c for c in customers[:_MAX_CUSTOMERS]]
    more = f", +{len(customers) - _MAX_CUSTOMERS} more" if len(customers) > _MAX_CUSTOMERS else ""
    return f"{len(customers)}: {', '.join(shown)}{more}" if customers else "none named"


def summary_line(pattern: dict[str, Any], flags: list[str]) -> str:
    """`[NEW, SPIKE] Critical — <summary>`: the one line every channel starts with."""
    labels = ", ".join(FLAG_LABELS.get(f, f.upper()) for f in flags)
    return f"[{labels}] {_severity(pattern)} — {_summary(pattern)}"


def slack_message(pattern: dict[str, Any], flags: list[str], *, url: str, run_id: int | None) -> dict[str, Any]:
    """A Block Kit message: summary, severity, owner, why flagged, customers, link to the card."""
    triage = pattern.get("triage", {})
    severity = _severity(pattern)
    header = f"{_SEVERITY_EMOJI.get(severity, ':grey_question:')} " + ", ".join(
        FLAG_LABELS.get(f, f.upper()) for f in flags
    )
    fields = [
        f"*Severity*\n{severity}",
        f"*Owner*\n{triage.get('bucket', '?')} / {triage.get('owner', '?')}",
        f"*Occurrences*\n{pattern.get('occurrences', 0):,}",
        f"*Customers*\n{_customers(pattern)}",
    ]
    summary = _summary(pattern)
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "text": _slack_text(f"{header} — {summary}", 150)}},
        {"type": "section", "text": {"type": "mrkdwn", "text": _slack_text(f"*{summary}*", 3000)}},
        {"type": "section", "fields": [{"type": "mrkdwn", "text": _slack_text(f, 2000)} for f in fields]},
        {
            "type": "section",
            "text": {
                "type": "mrkdwn",
                "text": _slack_text(f"*Why flagged*\n{pattern.get('why_flagged') or ', '.join(flags)}", 3000),
            },
        },
        {
            "type": "context",
            "elements": [
                {
                    "type": "mrkdwn",
                    "text": _slack_text(
                        f"`{pattern['signature']}` · {triage.get('reason', '')}"
                        + (f" · run {run_id}" if run_id is not None else ""),
                        3000,
                    ),
                }
            ],
        },
    ]
    if url:
        blocks.append(
            {
                "type": "actions",
                "elements": [{"type": "button", "text": {"type": "plain_text", "text": "Open the card"}, "url": url}],
            }
        )
    # `text` is the notification/fallback line (phones, screen readers); Slack requires it.
    return {"text": _slack_text(summary_line(pattern, flags), 3000), "blocks": blocks}


def webhook_event(
    pattern: dict[str, Any], flags: list[str], *, url: str, run_id: int | None, sent_at: datetime
) -> dict[str, Any]:
    """A stable, flat JSON document for anything that is not Slack or PagerDuty."""
    triage = pattern.get("triage", {})
    anomaly = pattern.get("anomaly", {})
    return {
        "event": "errorsift.escalation",
        "version": 1,
        "flags": flags,
        "signature": pattern["signature"],
        "summary": _summary(pattern),
        "severity": _severity(pattern),
        "bucket": triage.get("bucket", ""),
        "owner": triage.get("owner", ""),
        "reason": triage.get("reason", ""),
        "why_flagged": pattern.get("why_flagged", ""),
        "occurrences": pattern.get("occurrences", 0),
        "customers": list(pattern.get("customers", [])),
        "new_customers": list(anomaly.get("new_customers", [])),
        "error_type": pattern.get("error_type", ""),
        "service": pattern.get("service", ""),
        "template": pattern.get("template") or pattern.get("normalized", ""),
        "url": url,
        "run_id": run_id,
        "sent_at": sent_at.isoformat(),
    }


def pagerduty_event(
    pattern: dict[str, Any], flags: list[str], *, routing_key: str, url: str, run_id: int | None
) -> dict[str, Any]:
    """An Events API v2 `trigger`; the dedup key is the signature, so PagerDuty folds repeats into
    one incident until it is resolved."""
    triage = pattern.get("triage", {})
    event: dict[str, Any] = {
        "routing_key": routing_key,
        "event_action": "trigger",
        "dedup_key": f"errorsift-{pattern['signature']}",
        "payload": {
            "summary": _cut(summary_line(pattern, flags), 1024),
            "source": "errorsift",
            "severity": "critical",
            "component": pattern.get("service") or None,
            "group": triage.get("bucket") or None,
            "class": pattern.get("error_type") or None,
            "custom_details": {
                "flags": flags,
                "owner": f"{triage.get('bucket', '')}/{triage.get('owner', '')}",
                "why_flagged": pattern.get("why_flagged", ""),
                "occurrences": pattern.get("occurrences", 0),
                "customers": list(pattern.get("customers", [])),
                "signature": pattern["signature"],
                "run_id": run_id,
            },
        },
        "client": "errorsift",
    }
    event["payload"] = {k: v for k, v in event["payload"].items() if v is not None}
    if url:
        event["links"] = [{"href": url, "text": "errorsift card"}]
        event["client_url"] = url
    return event
