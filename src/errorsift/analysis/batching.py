"""``--batch``: analyses through the Anthropic Message Batches API, submitted now, collected later.

Why batches: a backlog (the first run on a big fleet, or after a budget stop) does not need its
answers this minute, and the batch API costs half. The price is latency (up to 24 h), so the
step still analyses escalated signatures (NEW/SPIKE/SPREAD) synchronously and only the rest goes
into the batch.

Resumable by design: the batch id and, per custom id, the signature, type and the exact user
turn are stored in ``analysis_batches`` right after submission. Any later run (a restart, a run
without ``--batch``) asks the provider about every open batch, and collects those that have
ended. All of one batch's analyses, their metered calls and the "collected" mark commit in one
transaction, so a crash mid-collection leaves the batch open and nothing half-recorded. A batch
result older than an analysis made since (say the signature escalated and was analysed
synchronously) is metered but does not overwrite the newer analysis. Items that errored or
expired inside the batch are recorded as failed calls and analysed again by the next run.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from errorsift.analysis.prompt import PromptParts
from errorsift.analysis.provider import Conversation, Reply
from errorsift.errors import AnalyzerError
from errorsift.models import AnalysisOutcome, AnalysisType
from errorsift.store.analysis_queries import finish_batch, open_batches, save_batch
from errorsift.store.store import Store

if TYPE_CHECKING:
    from errorsift.analysis.budget import Budget
    from errorsift.analysis.step import AnalysisOptions, Meter, Unit

__all__ = ["BatchRunner", "custom_id"]


def custom_id(signature: str, kind: str) -> str:
    """A batch custom id (``^[A-Za-z0-9_-]{1,64}$``) that names the (signature, type) it answers."""
    return f"{signature}-{kind}"[:64]


class BatchRunner:
    """Submits and collects batches for one analyzer that has a batch API."""

    def __init__(self, store: Store, analyzer: Any, *, sleep: Callable[[float], None] = time.sleep) -> None:
        self.store = store
        self.analyzer = analyzer
        self.provider = str(getattr(analyzer, "provider", analyzer.name))
        self._sleep = sleep

    # ------------------------------------------------------------------ collect

    def collect(self, run_id: int, meter: Meter, now: datetime) -> set[tuple[str, str]]:
        """Collect every open batch that has ended; return the (signature, type)s still in flight."""
        with self.store.read() as conn:
            rows = open_batches(conn, self.provider)
        in_flight: set[tuple[str, str]] = set()
        for row in rows:
            if not self._collect_one(run_id, row, meter):
                requests = row["items"].get("requests", {})
                in_flight.update((info["signature"], info["analysis_type"]) for info in requests.values())
        meter.batch["in_flight"] = len(in_flight)
        return in_flight

    def _collect_one(self, run_id: int, row: dict[str, Any], meter: Meter) -> bool:
        """True when the batch is done with (collected or lost); False while it is still running."""
        from errorsift.analysis.step import Unit, write_outcome

        batch_id = row["batch_id"]
        try:
            status = self.analyzer.batch_status(batch_id)
            if status != "ended":
                return False
            results = {r.custom_id: r for r in self.analyzer.batch_results(batch_id)}
        except AnalyzerError as exc:
            if getattr(exc, "kind", "") == "bad_request":  # unknown to the provider (404): give it up
                with self.store.begin() as conn:
                    finish_batch(conn, batch_id, "lost", datetime.now(UTC))
                return True
            return False  # a transient failure: try again next run
        system = row["items"].get("system", "")
        requests: dict[str, dict[str, Any]] = row["items"].get("requests", {})
        keys = sorted({info["signature"] for info in requests.values()})
        with self.store.read() as conn:
            newer = {kind.value: conn.analyses_for(keys, kind.value) for kind in AnalysisType}
        done: list[tuple[Unit, AnalysisOutcome, bool]] = []
        failed: list[tuple[Unit, str]] = []
        for cid, info in requests.items():
            kind = AnalysisType(info["analysis_type"])
            unit = Unit(_stub_request(info["signature"], kind), escalated=False)
            result = results.get(cid)
            reply: Reply | None = result.reply if result is not None else None
            if reply is None:
                failed.append((unit, result.error if result is not None else "missing from the batch results"))
                continue
            conversation = Conversation(PromptParts(system, info["user"]), kind)
            outcome = self.analyzer.finish(conversation, reply)
            existing = newer[kind.value].get(info["signature"])
            save = existing is None or existing.created_at <= row["submitted_at"]
            done.append((unit, outcome, save))
        at = datetime.now(UTC)
        with self.store.begin() as conn:
            for unit, message in failed:
                conn.record_model_call(
                    run_id=run_id,
                    signature=unit.key,
                    analysis_type=unit.kind,
                    model=self.analyzer.name,
                    ok=False,
                    batch=True,
                    error=message,
                )
            for unit, outcome, save in done:
                write_outcome(conn, run_id, unit, outcome, at, save=save)
            finish_batch(conn, batch_id, "collected", at)
        for unit, outcome, _save in done:
            meter.paid(unit, outcome)
        meter.batch["collected"] = meter.batch.get("collected", 0) + len(done)
        meter.batch["collected_failed"] = meter.batch.get("collected_failed", 0) + len(failed)
        return True

    # ------------------------------------------------------------------ submit

    def submit(self, run_id: int, units: list[Unit], budget: Budget, meter: Meter, options: AnalysisOptions) -> None:
        """Submit the admitted units as one batch and store its id; the rest stay pending."""
        admitted: list[Unit] = []
        for unit in units:
            if meter.stopped:
                meter.left_pending(unit, meter.stop_kind or "stopped", meter.stopped)
                continue
            estimate = getattr(self.analyzer, "estimate_cost", None)
            cost = float(estimate(unit.request, batch=True)) if callable(estimate) else 0.0
            refusal = budget.refusal(cost)
            if refusal is not None:
                meter.stopped, meter.stop_kind = budget.describe(refusal), refusal
                meter.left_pending(unit, refusal, meter.stopped)
                continue
            budget.reserve(cost)
            admitted.append(unit)
        if not admitted:
            return
        entries = [self.analyzer.batch_entry(custom_id(u.key, u.kind), u.request) for u in admitted]
        submitted_at = datetime.now(UTC)
        try:
            batch_id = self.analyzer.submit_batch(entries)
        except AnalyzerError as exc:
            with self.store.begin() as conn:
                for unit in admitted:
                    meter.left_pending(unit, "error", str(exc))
                    conn.record_model_call(
                        run_id=run_id,
                        signature=unit.key,
                        analysis_type=unit.kind,
                        model=self.analyzer.name,
                        ok=False,
                        batch=True,
                        error=str(exc),
                    )
            return
        items = {
            "system": entries[0].conversation.prompt.system,
            "model": getattr(self.analyzer, "model", ""),
            "requests": {
                e.custom_id: {
                    "signature": e.request.signature,
                    "analysis_type": AnalysisType(e.request.analysis_type).value,
                    "user": e.conversation.prompt.user,
                }
                for e in entries
            },
        }
        with self.store.begin() as conn:
            save_batch(conn, self.provider, batch_id, items, run_id, submitted_at)
        meter.batch["submitted"] = meter.batch.get("submitted", 0) + len(entries)
        meter.batch["batch_id"] = batch_id
        if options.batch_wait_s > 0 and self._wait(batch_id, options):
            with self.store.read() as conn:
                row = next((r for r in open_batches(conn, self.provider) if r["batch_id"] == batch_id), None)
            if row is not None and self._collect_one(run_id, row, meter):
                for unit in admitted:
                    meter.store_analysis(unit, _collected(self.store, unit))
                return
        for unit in admitted:
            meter.left_pending(unit, "batch", f"submitted in batch {batch_id}; collected by a later run")

    def _wait(self, batch_id: str, options: AnalysisOptions) -> bool:
        """Poll until the batch ends or `batch_wait_s` passes; True when it ended."""
        deadline = time.monotonic() + options.batch_wait_s
        while True:
            try:
                if self.analyzer.batch_status(batch_id) == "ended":
                    return True
            except AnalyzerError:
                return False
            if time.monotonic() + options.batch_poll_s > deadline:
                return False
            self._sleep(options.batch_poll_s)


def _stub_request(signature: str, kind: AnalysisType) -> Any:
    from errorsift.models import AnalysisRequest

    return AnalysisRequest(signature, "", 0, 0, "", analysis_type=kind)


def _collected(store: Store, unit: Unit) -> Any:
    from errorsift.analysis.step import _as_analysis

    with store.read() as conn:
        hit = conn.analyses_for([unit.key], unit.kind).get(unit.key)
    if hit is None:
        from errorsift.models import Analysis

        return Analysis(summary="Analysis pending: batch item failed", fallback=True, analyzer="pending")
    return _as_analysis(unit.kind, hit.analysis)
