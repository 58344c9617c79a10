"""Zero leaks: 27 kinds of secret and PII in realistic error lines, through the real pipeline.

The pipeline runs on a real SQLite file with the real Anthropic SDK pointed (``base_url``) at the
fake server. Afterwards no secret value — nor any 10-character run of one — may appear in any
stored row, in the database files on disk, in a signature, or in any request body the fake
received; and the words that give each error its shape must survive.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from errorsift.analysis.anthropic_analyzer import AnthropicAnalyzer
from errorsift.build import make_grouper, make_redactor
from errorsift.models import ErrorEvent
from errorsift.pipeline import Pipeline, RunConfig
from errorsift.settings import Settings
from errorsift.sources.memory import MemorySource
from errorsift.store import schema as t
from errorsift.store.store import Store

from .conftest import KEY, schema_answer
from .fake_anthropic import FakeAnthropic

PEM_BODY = "MIIEowIBAAKCAQEAu1SU1LfVLPHCozMxH2Mo4lgOEePzNm0tRgeLezV6ffAt0gun"

# (kind, line template with {s}, the secret value, shape words that must survive)
CORPUS: list[tuple[str, str, str, str]] = [
    ("email", "Invoice mail bounced for {s}", "jane.doe+billing@example-corp.com", "Invoice mail bounced for"),
    ("ipv4", "Login throttled for client {s}", "203.0.113.77", "Login throttled for client"),
    ("ipv6", "Login throttled for v6 client {s}", "2001:db8:85a3::8a2e:370:7334", "Login throttled for v6 client"),
    ("card", "Payment declined for card {s} at checkout", "4539 1488 0343 6467", "Payment declined for card"),
    ("iban", "Refund failed: IBAN {s} rejected by bank", "DE89370400440532013000", "rejected by bank"),
    ("ssn", "KYC check failed for SSN {s}", "078-05-1120", "KYC check failed for SSN"),
    ("phone", "SMS delivery failed to {s}: carrier timeout", "+1 415-555-0134", "SMS delivery failed to"),
    (
        "jwt",
        "Token validation failed: {s} expired",
        "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4ifQ."
        "dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U",
        "Token validation failed",
    ),
    (
        "bearer",
        "Upstream 401 with header Authorization: Bearer {s}",
        "8f14e45fceea167a5a36dedd4bea2543aZq9",
        "Upstream 401 with header",
    ),
    ("basic", "Proxy auth rejected: Basic {s}", "dXNlcjpzM2NyZXRQYXNzd29yZA==", "Proxy auth rejected"),
    (
        "url_userinfo",
        "Cannot connect to postgres://{s}@db.internal:5432/orders",
        "orders_admin:Tr0ub4dor3xyzQ",
        "Cannot connect to postgres",
    ),
    ("aws_key", "S3 PutObject denied for key {s}", "AKIAIOSFODNN7EXAMPLE", "S3 PutObject denied"),
    (
        "aws_secret",
        "Boto config invalid: aws_secret_access_key={s}",
        "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
        "Boto config invalid",
    ),
    (
        "github",
        "GitHub clone failed with token {s}",
        "ghp_Zx81kLm29QwErTyUiOpAsDfGhJkLzXcVbN12",
        "GitHub clone failed",
    ),
    (
        "slack_token",
        "Slack post failed: {s}",
        "xoxb-123456789012-1234567890123-AbCdEfGhIjKlMnOpQrStUvWx",
        "Slack post failed",
    ),
    (
        "slack_webhook",
        "Webhook error posting to https://hooks.slack.com/services/{s}",
        "T0A1B2C3D/B0E4F5G6H/Xy7Zk9LmN3pQ8rS2tU6vW4xY",
        "Webhook error posting to",
    ),
    ("stripe", "Stripe charge failed with key {s}", "sk_live_51HfR2aKx9Qw7ErTy3UiOp4As", "Stripe charge failed"),
    ("google", "Maps geocode failed: key={s} rejected", "AIzaSyA1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q", "Maps geocode"),
    ("openai", "Summarizer call failed with {s}", "sk-proj-Ab12Cd34Ef56Gh78Ij90Kl12Mn34Op56", "Summarizer call"),
    (
        "anthropic",
        "Triage call failed with {s}",
        "sk-ant-api03-Zy98Xw76Vu54Ts32Rq10Po98Nm76Lk54",
        "Triage call failed",
    ),
    (
        "pem",
        "Deploy key unreadable:\n-----BEGIN RSA PRIVATE KEY-----\n{s}\n-----END RSA PRIVATE KEY-----",
        PEM_BODY,
        "Deploy key unreadable",
    ),
    (
        "cookie",
        "Session lookup failed: Cookie: sessionid={s}; theme=dark",
        "9f8e7d6c5b4a39281706abcdef123456",
        "Session lookup failed",
    ),
    ("session_id", "Tomcat session expired JSESSIONID={s}", "A1B2C3D4E5F6A7B8C9D0E1F2A3B4C5D6", "Tomcat session"),
    ("password", "DB login failed password={s} for user svc", "Hunter2!Secret99", "DB login failed"),
    ("secret", "Vault unseal failed secret={s}", "zX9vQ2mL7pR4tY8wK3", "Vault unseal failed"),
    ("token", "Reset link invalid token={s}", "tok_4f9a8b7c6d5e4f3a2b1c", "Reset link invalid"),
    ("api_key", "Partner API rejected api_key={s}", "ak_live_93hf83hf93hf83hfq", "Partner API rejected"),
]


def runs_of(secret: str, size: int = 10) -> set[str]:
    """The secret and every `size`-character run of it (the secret itself when shorter)."""
    if len(secret) <= size:
        return {secret}
    return {secret[i : i + size] for i in range(len(secret) - size + 1)}


def leaks(haystack: str) -> list[tuple[str, str]]:
    return [(kind, run) for kind, _, secret, _ in CORPUS for run in runs_of(secret) if run in haystack]


def test_the_corpus_has_at_least_twenty_kinds() -> None:
    assert len({kind for kind, *_ in CORPUS}) >= 20


@pytest.fixture
def pipeline_run(tmp_path: Path, fake_anthropic: FakeAnthropic) -> tuple[Path, dict, list]:
    at = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
    events = []
    for _n, (kind, template, secret, _) in enumerate(CORPUS):
        for k in range(3):  # three occurrences across two customers, as a fleet would log them
            events.append(
                ErrorEvent(
                    timestamp=at - timedelta(hours=1 + k),
                    message=template.format(s=secret),
                    error_type=f"{kind.title()}Error",
                    service="api",
                    customer=f"tenant-{k % 2}",
                    host="web-1",
                    id=f"{kind}-{k}",
                )
            )
    fake_anthropic.answer_with(schema_answer, realistic=True)
    db = tmp_path / "leaks.db"
    settings = Settings(db=str(db))
    store = Store(str(db))
    try:
        with AnthropicAnalyzer("claude-sonnet-4-5", api_key=KEY, base_url=fake_anthropic.url) as analyzer:
            pipeline = Pipeline(
                store, make_grouper(settings, store), make_redactor(settings), analyzer, RunConfig(at=at)
            )
            result = pipeline.run(MemorySource(events))
        with store.read() as conn:
            dump = {
                table.name: [dict(r._mapping) for r in conn.conn.execute(select(table))]
                for table in t.metadata.sorted_tables
            }
    finally:
        store.close()
    return db, dump, [result]


def test_no_secret_reaches_storage_signatures_or_the_provider(
    pipeline_run: tuple[Path, dict, list], fake_anthropic: FakeAnthropic
) -> None:
    db, dump, (result,) = pipeline_run
    assert result.report["model_calls"] >= 20  # the analyzer really was called, over the wire
    stored = json.dumps(dump, default=str, ensure_ascii=False)
    assert leaks(stored) == []
    on_disk = b"".join(p.read_bytes() for p in db.parent.glob(db.name + "*"))  # the file, its WAL and SHM
    assert leaks(on_disk.decode("utf-8", "replace")) == []
    signatures = json.dumps([p.as_dict() for p in result.patterns], ensure_ascii=False)
    assert leaks(signatures) == []
    sent = b"\n".join(fake_anthropic.bodies())
    assert sent and leaks(sent.decode("utf-8")) == []
    # escaped forms too: a JSON body could carry "\/" or \uXXXX escapes
    assert leaks(json.dumps([r.body for r in fake_anthropic.requests], ensure_ascii=True)) == []


def test_shape_words_survive_and_counts_are_reported(pipeline_run: tuple[Path, dict, list]) -> None:
    _db, dump, (result,) = pipeline_run
    texts = " ".join(f"{s['normalized']} {s['template']}" for s in dump["signatures"])
    missing = [shape for _, _, _, shape in CORPUS if shape not in texts]
    assert missing == []
    redactions = result.report["redactions"]
    assert sum(redactions.values()) >= len(CORPUS) * 3 - 3  # every line redacted (cached lines count once)
    for rule in ("email", "card", "iban", "jwt", "pem", "aws_key", "secret_value", "url_userinfo"):
        assert redactions.get(rule, 0) > 0, rule
    prompts = " ".join(a["prompt"] for a in dump["analyses"])
    assert "<card>" in prompts and "<email>" in prompts  # typed placeholders are what the model sees
