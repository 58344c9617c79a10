"""Print what model analysis of the demo fleet costs: tokens and USD per analysis, the cache hit
ratio on a rerun, the prompt-cache share, and what ``--batch`` saves.

Run: ``.venv/bin/python benchmarks/analysis_cost.py``. Prints figures; never passes or fails.

Nothing leaves the machine: the real `anthropic` SDK talks to the test suite's fake Messages and
Batches API on 127.0.0.1, which bills each request the way the API does (≈3.5 characters per
token, the marked system prompt written to the prompt cache once and read afterwards) and answers
with a schema-valid analysis of realistic length. Costs come from errorsift's price table
(`PriceTable`, dated) applied to the stored raw usage, for Sonnet 4.5 and Haiku 4.5.
"""

from __future__ import annotations

import json
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import select

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from analysis.fake_anthropic import FakeAnthropic  # noqa: E402
from errorsift.analysis.anthropic_analyzer import AnthropicAnalyzer  # noqa: E402
from errorsift.analysis.pricing import PriceTable  # noqa: E402
from errorsift.analysis.step import AnalysisOptions  # noqa: E402
from errorsift.build import make_grouper, make_redactor  # noqa: E402
from errorsift.demo import generate_fleet  # noqa: E402
from errorsift.pipeline import Pipeline, RunConfig  # noqa: E402
from errorsift.settings import Settings  # noqa: E402
from errorsift.sources.files import open_source  # noqa: E402
from errorsift.store import schema as t  # noqa: E402
from errorsift.store.store import Store  # noqa: E402

MODELS = ("claude-sonnet-4-5", "claude-haiku-4-5")

# A realistic answer: the length real models give for this schema (~450 output tokens).
REALISTIC = {
    "summary": "Checkout fails intermittently because order writes deadlock under concurrent load",
    "explanation": (
        "When two customers check out at nearly the same moment, the system tries to update the same "
        "order records in a different order and the database stops one of them. The affected customer "
        "sees an error and has to try again; most retries succeed, but some customers give up."
    ),
    "severity": "High",
    "user_impact": "Some customers see an error at checkout and must retry; a few abandon their purchase.",
    "root_cause": {
        "likely_cause": (
            "Two code paths lock the orders and order_items rows in opposite order inside one transaction, "
            "so concurrent checkouts deadlock under peak load."
        ),
        "confidence": 0.7,
    },
    "recommendations": {
        "immediate_actions": [
            "Add a bounded retry with jitter around the checkout transaction for deadlock errors",
            "Check the database's deadlock graph for the two statements involved",
            "Watch the checkout error rate on the dashboard during the next traffic peak",
            "Tell support that a retry usually works while the fix is prepared",
        ],
        "resolution_priority": "High",
    },
    "customer_communication": (
        "We are aware that some checkouts fail on the first attempt and are working on a fix. "
        "Trying again usually completes the order; we are sorry for the inconvenience."
    ),
    "technical_details": {
        "error_category": "Database",
        "real_application_bug": True,
        "affects_critical_operation": True,
    },
}
PATTERN_EXTRA = {
    "trend": "chronic",
    "permanent_fix": "Lock rows in one global order (orders, then order_items) in every code path.",
}


def answer(params: dict[str, Any]) -> str:
    pattern = "long-running" in json.dumps(params.get("messages", []))
    return json.dumps({**REALISTIC, **PATTERN_EXTRA} if pattern else REALISTIC, indent=2)


def run_once(db: Path, fleet: Path, at: datetime, fake: FakeAnthropic, **options: Any) -> dict[str, Any]:
    settings = Settings(db=str(db))
    store = Store(str(db))
    try:
        with AnthropicAnalyzer(MODELS[0], api_key="bench-key", base_url=fake.url) as analyzer:
            config = RunConfig(at=at, analysis=AnalysisOptions(**options))
            pipeline = Pipeline(store, make_grouper(settings, store), make_redactor(settings), analyzer, config)
            started = time.perf_counter()
            report = pipeline.run(open_source(str(fleet))).report
            report["wall_s"] = time.perf_counter() - started
            return report
    finally:
        store.close()


def calls(db: Path, *, batch: bool | None = None) -> list[dict[str, Any]]:
    store = Store(str(db))
    try:
        with store.read() as conn:
            rows = [dict(r._mapping) for r in conn.conn.execute(select(t.model_calls).where(t.model_calls.c.ok))]
    finally:
        store.close()
    return [r for r in rows if batch is None or bool(r["batch"]) == batch]


def priced(rows: list[dict[str, Any]], model: str, *, batch: bool | None = None) -> float:
    """USD of the stored calls at `model`'s prices, recomputed from the raw usage."""
    table, total = PriceTable(), 0.0
    for row in rows:
        for raw in row["usage"].get("calls", []):
            total += table.cost(
                model,
                raw.get("input_tokens", 0),
                raw.get("output_tokens", 0),
                cache_write_tokens=raw.get("cache_creation_input_tokens", 0),
                cache_read_tokens=raw.get("cache_read_input_tokens", 0),
                batch=bool(row["batch"]) if batch is None else batch,
            )
    return total


def main() -> None:
    at = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
    with tempfile.TemporaryDirectory() as tmp, FakeAnthropic() as fake:
        folder = Path(tmp)
        fleet = folder / "fleet.jsonl"
        manifest = generate_fleet(fleet, seed=7, end=at)
        fake.answer_with(answer, realistic=True)

        db = folder / "sync.db"
        first = run_once(db, fleet, at, fake, concurrency=4)
        rerun = run_once(db, fleet, at, fake, concurrency=4)
        rows = calls(db)
        n = len(rows)
        tin = sum(r["input_tokens"] for r in rows)
        tout = sum(r["output_tokens"] for r in rows)
        cw = sum(r["cache_write_tokens"] for r in rows)
        cr = sum(r["cache_read_tokens"] for r in rows)
        by_type = {k: sum(1 for r in rows if r["analysis_type"] == k) for k in ("recent", "pattern")}

        print(f"demo fleet: {manifest.events:,} events, {len(manifest.customers)} customers, seed 7")
        print(
            f"run 1: {first['patterns']} active signatures → {n} analyses "
            f"({by_type['recent']} recent, {by_type['pattern']} pattern), {first['model_calls']} model calls, "
            f"{first['wall_s']:.2f}s"
        )
        print(
            f"tokens per analysis: {(tin + cw + cr) / n:,.0f} input "
            f"({tin / n:,.0f} uncached + {cw / n:,.0f} cache write + {cr / n:,.0f} cache read), "
            f"{tout / n:,.0f} output"
        )
        print(f"prompt-cache share of input tokens in run 1: {cr / (tin + cw + cr):.0%} read from cache")
        as_of = PriceTable().as_of
        for model in MODELS:
            usd = priced(rows, model)
            print(f"  {model:<18} ${usd / n:.5f} per analysis, ${usd:.4f} for the run (prices as of {as_of})")
        hits, misses = rerun["cache_hits"], rerun["cache_misses"]
        print(
            f"rerun (same window): {hits}/{hits + misses} analysis-cache hits ({hits / (hits + misses):.0%}), "
            f"{rerun['model_calls']} model calls, ${rerun['cost_usd']:.4f}"
        )

        bdb = folder / "batch.db"
        run_once(bdb, fleet, at, fake, batch=True)
        fake.end_batches()
        run_once(bdb, fleet, at, fake, batch=True)
        batched, sync = calls(bdb, batch=True), calls(bdb, batch=False)
        print(f"--batch: {len(sync)} escalated analyses now, {len(batched)} through the Message Batches API")
        for model in MODELS:
            paid = priced(batched, model)
            full = priced(batched, model, batch=False)
            total_batch = paid + priced(sync, model)
            total_sync = priced(rows, model)
            print(
                f"  {model:<18} batched part ${paid:.4f} instead of ${full:.4f} (saves {1 - paid / full:.0%}); "
                f"whole run ${total_batch:.4f} vs ${total_sync:.4f} all-synchronous "
                f"(saves {1 - total_batch / total_sync:.0%})"
            )


if __name__ == "__main__":
    main()
