"""``--batch``: Message Batches submitted in one run and collected in a later one, across restarts.

The real `anthropic` SDK talks to `FakeAnthropic`, which serves the batch routes and hands out
its own ``results_url``; each run opens a new `Store` and a new analyzer, as a restart would.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select

from errorsift.analysis.anthropic_analyzer import AnthropicAnalyzer
from errorsift.analysis.cache import CachePolicy
from errorsift.analysis.pricing import PriceTable
from errorsift.analysis.step import AnalysisItem, AnalysisOptions, AnalysisStep
from errorsift.models import AnalysisRequest
from errorsift.store import schema as t
from errorsift.store.store import Store

from .conftest import KEY, schema_answer
from .fake_anthropic import FakeAnthropic

MODEL = "claude-sonnet-4-5"


def item(key: str, flags: tuple[str, ...] = ()) -> AnalysisItem:
    request = AnalysisRequest(key, "TimeoutError", 12, 2, f"Timeout calling {key}", anomaly_flags=flags)
    return AnalysisItem(request, escalated=bool(flags))


ITEMS = [
    item("eeeeeeeeeeeeee01", ("NEW",)),
    item("eeeeeeeeeeeeee02"),
    item("eeeeeeeeeeeeee03"),
    item("eeeeeeeeeeeeee04"),
]


def run(db: Path, fake: FakeAnthropic, run_id: int, *, batch: bool) -> dict:
    """One run as a fresh process would do it: new store, new analyzer."""
    store = Store(str(db))
    try:
        with AnthropicAnalyzer(MODEL, api_key=KEY, base_url=fake.url) as analyzer:
            step = AnalysisStep(store, analyzer, CachePolicy(), AnalysisOptions(batch=batch))
            return step.run(run_id, ITEMS)
    finally:
        store.close()


def batch_rows(db: Path) -> list[dict]:
    store = Store(str(db))
    try:
        with store.read() as conn:
            return [dict(r._mapping) for r in conn.conn.execute(select(t.analysis_batches))]
    finally:
        store.close()


def test_batch_submitted_in_one_run_and_collected_in_the_next(tmp_path: Path, fake_anthropic: FakeAnthropic) -> None:
    db = tmp_path / "errorsift.db"
    fake_anthropic.answer_with(schema_answer, realistic=True)

    first = run(db, fake_anthropic, 1, batch=True)
    paths = [r.path for r in fake_anthropic.requests]
    assert paths == ["/v1/messages", "/v1/messages/batches"]  # the NEW one now, the backlog batched
    assert first["model_calls"] == 1 and not first["analyses"]["eeeeeeeeeeeeee01"].fallback
    assert first["pending"] == 3 and first["report"]["pending_by_reason"] == {"batch": 3}
    (submitted,) = fake_anthropic.batches.values()
    items = submitted.requests
    assert [i["custom_id"] for i in items] == [f"eeeeeeeeeeeeee0{n}-recent" for n in (2, 3, 4)]
    params = items[0]["params"]
    assert params["system"][0]["cache_control"] == {"type": "ephemeral"}
    assert params["output_config"]["format"]["type"] == "json_schema"
    (row,) = batch_rows(db)
    assert (row["batch_id"], row["status"], row["run_id"]) == (submitted.id, "submitted", 1)

    # A restart while the batch runs: nothing is resubmitted, the items stay pending.
    waiting = run(db, fake_anthropic, 2, batch=False)
    assert waiting["model_calls"] == 0 and waiting["report"]["pending_by_reason"] == {"batch": 3}
    assert len(fake_anthropic.batches) == 1

    fake_anthropic.end_batches(errored={"eeeeeeeeeeeeee04-recent"})
    fake_anthropic.requests.clear()
    collected = run(db, fake_anthropic, 3, batch=False)
    paths = [r.path for r in fake_anthropic.requests]
    # status, then the SDK's results(): it re-reads the batch and follows the results_url it got
    assert paths[:3] == [f"/v1/messages/batches/{submitted.id}"] * 2 + [f"/results-store/{submitted.id}.jsonl"]
    assert collected["report"]["batch"]["collected"] == 2 and collected["report"]["batch"]["collected_failed"] == 1
    assert collected["cache_hits"] == 3  # the NEW one from run 1 and the two collected
    assert paths[3:] == ["/v1/messages"]  # the errored item is analysed again, synchronously this time
    assert collected["pending"] == 0
    assert all(not a.fallback for a in collected["analyses"].values())
    (row,) = batch_rows(db)
    assert row["status"] == "collected" and row["collected_at"] is not None

    store = Store(str(db))
    try:
        with store.read() as conn:
            calls = [dict(r._mapping) for r in conn.conn.execute(select(t.model_calls).order_by(t.model_calls.c.id))]
    finally:
        store.close()
    batched = [c for c in calls if c["batch"] and c["ok"]]
    assert len(batched) == 2
    prices = PriceTable()
    for call in batched:  # half price, from the stored raw usage
        raw = call["usage"]["calls"][0]
        full = prices.cost(
            MODEL,
            raw["input_tokens"],
            raw["output_tokens"],
            cache_write_tokens=raw.get("cache_creation_input_tokens", 0),
            cache_read_tokens=raw.get("cache_read_input_tokens", 0),
        )
        assert call["cost_usd"] == pytest.approx(full / 2)
    assert any(not c["ok"] and c["batch"] and "errored" in c["error"] for c in calls)

    # Collected once only: a fourth run neither collects again nor calls anything.
    fake_anthropic.requests.clear()
    again = run(db, fake_anthropic, 4, batch=True)
    assert again["model_calls"] == 0 and again["cache_hits"] == 4 and fake_anthropic.requests == []


def test_batch_wait_collects_within_the_same_run(tmp_path: Path, fake_anthropic: FakeAnthropic) -> None:
    fake_anthropic.answer_with(schema_answer, realistic=False)
    store = Store(str(tmp_path / "w.db"))
    try:
        with AnthropicAnalyzer(MODEL, api_key=KEY, base_url=fake_anthropic.url) as analyzer:
            step = AnalysisStep(
                store, analyzer, CachePolicy(), AnalysisOptions(batch=True, batch_wait_s=5, batch_poll_s=0.05)
            )
            step.batches.__init__(store, analyzer, sleep=lambda s: fake_anthropic.end_batches())  # type: ignore[union-attr, misc]
            meter = step.run(1, ITEMS[1:])
    finally:
        store.close()
    assert meter["pending"] == 0 and meter["report"]["batch"]["collected"] == 3
    assert all(not a.fallback for a in meter["analyses"].values())
