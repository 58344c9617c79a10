"""Escalations to Slack, a JSON webhook and PagerDuty, checked on local fake receivers.

Routing per owner bucket, Block Kit / webhook / Events API v2 shapes, dedup across runs, retries,
a failing webhook that is recorded and never fails the run, and an end-to-end scheduled run.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from fakes import FakeHooks
from helpers import write_fleet
from sqlalchemy import select

from errorsift.service.notify import Notifier, NotifyConfig, escalation_flags
from errorsift.service.notify_payloads import slack_message
from errorsift.service.once import run_once
from errorsift.settings import Settings
from errorsift.store import schema as t
from errorsift.store.store import Store


def pattern(
    sig: str,
    *,
    bucket: str,
    severity: str = "High",
    new: bool = False,
    spike: bool = False,
    spread: bool = False,
    new_customers: tuple[str, ...] = (),
    suppressed: bool = False,
    reason: str = "Categorized as application",
) -> dict[str, Any]:
    return {
        "signature": sig,
        "normalized": f"Boom <{sig}> & friends",
        "template": f"Boom <{sig}> & friends",
        "error_type": "KeyError",
        "service": "api",
        "occurrences": 42,
        "customers": ["acme", "globex", *new_customers],
        "why_flagged": "NEW: first seen in this window" if new else "SPIKE: 42 in window vs max 3/day",
        "anomaly": {"new_signature": new, "spike": spike, "spread": spread, "new_customers": list(new_customers)},
        "triage": {
            "bucket": bucket,
            "owner": "dev" if bucket == "application" else bucket,
            "reason": reason,
            "suppressed": suppressed,
        },
        "analysis": {"summary": f"Summary of {sig}", "severity": severity},
    }


P_NEW = pattern("a" * 16, bucket="application", new=True)
P_SPIKE = pattern("b" * 16, bucket="platform", severity="Critical", spike=True)
P_NOISE = pattern("c" * 16, bucket="non_issue", spike=True, suppressed=True, reason="Known noise: deploys")
P_NOISE_UP = pattern(
    "d" * 16,
    bucket="needs_review",
    spread=True,
    new_customers=("initech", "hooli"),
    reason="Known noise (deploys) escalated: spread to 2 new customers; Insufficient signal",
)
P_QUIET = pattern("e" * 16, bucket="application")


def test_escalation_flags():
    assert escalation_flags(P_NEW) == ["new"]
    assert escalation_flags(P_SPIKE) == ["spike"]
    assert escalation_flags(P_NOISE) == []  # suppressed noise stays quiet
    assert escalation_flags(P_NOISE_UP) == ["noise_escalated"]
    assert escalation_flags(P_QUIET) == []
    spread_no_new = pattern("f" * 16, bucket="platform", spread=True)
    assert escalation_flags(spread_no_new) == []  # a SPREAD among customers that already had it


def _slack_texts(node: Any) -> list[str]:
    """Every `text` string anywhere in a Slack payload (fallback, header, sections, fields, context)."""
    if isinstance(node, dict):
        found = [node["text"]] if isinstance(node.get("text"), str) else []
        return found + [t for v in node.values() for t in _slack_texts(v)]
    if isinstance(node, list):
        return [t for v in node for t in _slack_texts(v)]
    return []


@pytest.mark.parametrize("limit_hit", [False, True], ids=["short", "cut"])
def test_slack_escapes_control_characters_in_every_text_field(limit_hit):
    hostile = "Ping <!channel> & open <http://evil.example|your invoice>"
    p = pattern("a" * 16, bucket="application", new=True, reason=f"Routed: {hostile}")
    p["analysis"]["summary"] = hostile + (" & <x>" * 700 if limit_hit else "")
    p["why_flagged"] = f"NEW: {hostile}"
    p["customers"] = ["acme", "<!here>"]
    p["triage"]["owner"] = "<@U123>"
    message = slack_message(p, ["new"], url="https://errorsift.example/patterns/a", run_id=3)
    texts = _slack_texts(message)
    assert message["text"] in texts and len(texts) >= 9  # fallback, header, 3 sections, 4 fields, context
    for text in texts:
        assert "<" not in text and ">" not in text, text
        assert "&" not in text.replace("&amp;", "").replace("&lt;", "").replace("&gt;", ""), text
    assert message["text"].startswith("[NEW] High — Ping &lt;!channel&gt; &amp; open &lt;http://evil.example|your")
    if limit_hit:
        assert len(message["text"]) <= 3000 and message["text"].endswith("…")
        assert len(message["blocks"][0]["text"]["text"]) <= 150


@pytest.fixture
def store(db_url):
    s = Store(db_url)
    yield s
    s.close()


def _config(hooks: FakeHooks, **extra: Any) -> NotifyConfig:
    base = NotifyConfig.from_settings(
        Settings(
            notify_routes={
                "application": {"slack": hooks.url("/slack/dev"), "webhook": hooks.url("/hook/dev")},
                "*": {"slack": hooks.url("/slack/ops"), "pagerduty": "env:PD_KEY"},
            },
            pagerduty_url=hooks.url("/v2/enqueue"),
            dashboard_url="https://errorsift.example/",
        ),
        env={"PD_KEY": "R0UTINGKEY"},
    )
    values = {f: getattr(base, f) for f in ("routes", "dedup", "dashboard_url", "pagerduty_url")}
    return NotifyConfig(**values, backoff=0.01, timeout=2.0, **extra)


def _rows(store: Store) -> list[dict[str, Any]]:
    with store.read() as sc:
        return [dict(r._mapping) for r in sc.conn.execute(select(t.notifications).order_by(t.notifications.c.id))]


def test_routing_payloads_and_dedup(store):
    with FakeHooks() as hooks:
        notifier = Notifier(store, _config(hooks))
        report = notifier.notify(7, [P_NEW, P_SPIKE, P_NOISE, P_NOISE_UP, P_QUIET])
        assert (report.escalations, report.sent, report.failed) == (3, 5, 0), report

        # The application team's own channels get its NEW pattern, nothing else.
        (dev,) = hooks.received["/slack/dev"]
        slack = dev.body
        assert slack["text"].startswith("[NEW] High — Summary of aaaa")
        kinds = [b["type"] for b in slack["blocks"]]
        assert kinds == ["header", "section", "section", "section", "context", "actions"]
        fields = " ".join(f["text"] for f in slack["blocks"][2]["fields"])
        assert "*Severity*\nHigh" in fields and "*Owner*\napplication / dev" in fields
        assert "*Customers*\n2: acme, globex" in fields and "*Occurrences*\n42" in fields
        assert "Why flagged" in slack["blocks"][3]["text"]["text"]
        button = slack["blocks"][5]["elements"][0]
        assert button["url"] == f"https://errorsift.example/patterns/{'a' * 16}"
        assert len(slack["blocks"][0]["text"]["text"]) <= 150
        (hook,) = hooks.received["/hook/dev"]
        assert hook.body["event"] == "errorsift.escalation" and hook.body["flags"] == ["new"]
        assert hook.body["signature"] == "a" * 16 and hook.body["run_id"] == 7 and hook.body["bucket"] == "application"

        # Every other bucket falls back to the `*` route; PagerDuty only for Critical.
        ops = {h.body["text"].split("]")[0] for h in hooks.received["/slack/ops"]}
        assert ops == {"[SPIKE", "[NOISE ESCALATED"}
        noise_up = next(h.body for h in hooks.received["/slack/ops"] if "NOISE" in h.body["text"])
        assert "initech (new)" in str(noise_up["blocks"][2])
        (page,) = hooks.received["/v2/enqueue"]
        assert page.body["routing_key"] == "R0UTINGKEY" and page.body["event_action"] == "trigger"
        assert page.body["dedup_key"] == f"errorsift-{'b' * 16}"
        assert page.body["payload"]["severity"] == "critical" and page.body["payload"]["source"] == "errorsift"
        assert page.body["payload"]["summary"].startswith("[SPIKE] Critical")
        assert page.body["links"][0]["href"].endswith("b" * 16)

        # Same escalations again: nothing is sent twice within the dedup period.
        again = notifier.notify(8, [P_NEW, P_SPIKE, P_NOISE_UP])
        assert (again.sent, again.deduped) == (0, 5)
        # A new flag on a known pattern is news: only that flag goes out.
        spreading = pattern("a" * 16, bucket="application", new=True, spread=True, new_customers=("hooli",))
        third = notifier.notify(9, [spreading])
        assert third.sent == 2 and third.deduped == 0
        assert hooks.received["/hook/dev"][-1].body["flags"] == ["spread"]
        rows = _rows(store)
        assert {(r["flag"], r["channel"], r["status"]) for r in rows} >= {
            ("new", "slack:application", "sent"),
            ("spike", "pagerduty:*", "sent"),
            ("spread", "webhook:application", "sent"),
        }
        assert all(r["payload"].get("routing_key") in (None, "***") for r in rows)  # the key is never stored
        notifier.close()


def test_failing_webhook_is_retried_recorded_and_retried_next_run(store):
    with FakeHooks() as hooks:
        hooks.fail("/hook/dev", 500)  # always down
        hooks.fail("/slack/dev", 503, times=2)  # flaky: third attempt works
        notifier = Notifier(store, _config(hooks, attempts=3))
        report = notifier.notify(1, [P_NEW])
        assert report.sent == 1 and report.failed == 1
        assert hooks.attempts["/hook/dev"] == 3 and hooks.attempts["/slack/dev"] == 3
        failed = [r for r in _rows(store) if r["status"] == "failed"]
        assert len(failed) == 1 and failed[0]["channel"] == "webhook:application"
        assert failed[0]["attempts"] == 3 and "500" in failed[0]["error"]
        # A failure does not mute the next run: the webhook is tried again, Slack is not re-sent.
        hooks.fail("/hook/dev", 0)
        second = notifier.notify(2, [P_NEW])
        assert (second.sent, second.deduped, second.failed) == (1, 1, 0)
        assert len(hooks.received["/hook/dev"]) == 1 and len(hooks.received["/slack/dev"]) == 1
        # A receiver that rejects the payload (4xx) is not retried.
        hooks.fail("/slack/ops", 400)
        third = notifier.notify(3, [P_SPIKE])
        assert third.failed == 1 and hooks.attempts["/slack/ops"] == 1
        notifier.close()


def test_unreachable_receiver_never_fails_the_run(tmp_path):
    store = Store(str(tmp_path / "n.db"))
    config = NotifyConfig(routes={"*": {"webhook": "http://127.0.0.1:9/nothing-listens"}}, attempts=2, backoff=0.01)
    report = Notifier(store, config).notify(1, [P_SPIKE])
    assert report.failed == 1 and "ConnectError" in report.errors[0]
    store.close()


def test_a_scheduled_run_notifies_once(tmp_path: Path):
    fleet = tmp_path / "fleet.jsonl"
    write_fleet(fleet, datetime.now(UTC).replace(minute=0, second=0, microsecond=0))
    with FakeHooks() as hooks:
        settings = Settings(db=str(tmp_path / "e2e.db"), slack_webhook_url=hooks.url("/slack"), grouping="seed")
        first = run_once(settings, str(fleet))
        assert first.status == "ok", first.message
        assert first.notify["sent"] == first.notify["escalations"] >= 2
        texts = [h.body["text"] for h in hooks.received["/slack"]]
        assert any(text.startswith("[NEW") for text in texts)
        second = run_once(settings, str(fleet))
        assert second.status == "ok" and second.notify["sent"] == 0 and second.notify["deduped"] >= 2
        assert len(hooks.received["/slack"]) == len(texts)
