"""The "run now" button: one pipeline run at a time, in a background thread.

A run can take tens of seconds (a Datadog pull, model calls), longer than a browser should wait on
a POST, so the request only starts it and the runs page shows it progress (the run row is written
as `running` at once). The callable is injected by `errorsift serve` so the dashboard never needs to
know which source or analyzer is configured.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

__all__ = ["RunTrigger", "Warmer"]


class RunTrigger:
    def __init__(self, run_now: Callable[[], Any] | None, after: Callable[[], Any] | None = None) -> None:
        self._run_now = run_now
        self._after = after  # e.g. warm the card cache, so the first page view after a run is fast
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self.started_at: datetime | None = None
        self.finished_at: datetime | None = None
        self.started_by = ""
        self.error = ""

    @property
    def available(self) -> bool:
        return self._run_now is not None

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def start(self, who: str) -> bool:
        """Start a run unless one is already going; False means it was not started."""
        if self._run_now is None:
            return False
        with self._lock:
            if self.running:
                return False
            self.started_at, self.finished_at, self.started_by, self.error = datetime.now(UTC), None, who, ""
            self._thread = threading.Thread(target=self._work, name="errorsift-run-now", daemon=True)
            self._thread.start()
        return True

    def _work(self) -> None:
        assert self._run_now is not None
        try:
            self._run_now()
        except Exception as exc:  # shown on the runs page; the run row already says `failed`
            self.error = f"{type(exc).__name__}: {exc}"
        finally:
            self.finished_at = datetime.now(UTC)
        if self._after is not None and not self.error:
            with contextlib.suppress(Exception):  # an optimisation only: the next page view rebuilds anyway
                self._after()

    def wait(self, timeout: float | None = None) -> bool:
        """Block until the current run ends (tests, shutdown); True if nothing is running now."""
        thread = self._thread
        if thread is not None:
            thread.join(timeout)
        return not self.running

    def status(self) -> dict[str, Any]:
        return {
            "available": self.available,
            "running": self.running,
            "started_at": self.started_at,
            "finished_at": self.finished_at,
            "started_by": self.started_by,
            "error": self.error,
        }


class Warmer:
    """Calls `warm` now and every `every` seconds in a daemon thread until stopped.

    Used to keep the card cache built for the latest run: a run started from cron or the CLI is
    picked up within seconds, so the first person to open the dashboard afterwards does not wait
    for the rebuild. `warm` is cheap when nothing changed (the cache compares a few stamps).
    """

    def __init__(self, warm: Callable[[], Any], every: float) -> None:
        self._warm = warm
        self._every = every
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._loop, name="errorsift-warm-cards", daemon=True)
        self._thread.start()

    def _loop(self) -> None:
        while True:
            with contextlib.suppress(Exception):  # an optimisation only; a page view rebuilds anyway
                self._warm()
            if self._stop.wait(self._every):
                return

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
