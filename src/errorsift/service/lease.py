"""One run at a time across processes and machines: a lease row in the shared database.

Why a lease and not a lock file or an advisory lock: workers may sit on different machines (a
file lock does not cross them), and a holder that is SIGKILLed or loses power must not block the
schedule forever (a row that simply *expires* needs nobody to clean it up). Why a heartbeat: a
run's length is unknown, so instead of guessing one long expiry, a background thread pushes the
expiry forward every ``ttl / 3``; a dead holder stops doing that and its lease lapses within one
``ttl``, after which the next worker takes it over.

Acquiring is one atomic statement (see `service_queries.acquire_lease`); expiry is judged by the
database's clock on PostgreSQL, so hosts with skewed clocks still agree. If a holder's heartbeat
finds the lease taken (it was paused past its expiry), `lost` is set and the run stops at its next
step boundary; the pipeline's writes are exactly-once, so even that overlap cannot double count.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
import uuid
from datetime import UTC, datetime, timedelta
from types import TracebackType

from errorsift.errors import ErrorsiftError
from errorsift.store import service_queries as q
from errorsift.store.store import Store

__all__ = ["DEFAULT_LEASE", "Lease", "LeaseBusy", "holder_id"]

DEFAULT_LEASE = "pipeline"
log = logging.getLogger("errorsift.lease")


def _dead_local_holder(holder: str) -> bool:
    """True when `holder` (host:pid:nonce) names a process of this host that no longer exists."""
    host, _, rest = holder.partition(":")
    pid_text = rest.partition(":")[0]
    if host != socket.gethostname() or not pid_text.isdigit():
        return False
    try:
        os.kill(int(pid_text), 0)
    except ProcessLookupError:
        return True
    except OSError:
        return False
    return False


def holder_id() -> str:
    """host:pid:random, so a person can see which process holds it and two processes never clash."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


def _ago(when: datetime, now: datetime) -> str:
    seconds = (now - when).total_seconds()
    return f"{seconds:.0f}s ago" if seconds >= 0 else f"in {-seconds:.0f}s"


class LeaseBusy(ErrorsiftError):
    """Another process holds the lease; the message names it and says when it expires."""


class Lease:
    """A named lease on a `Store`. Use `acquire()`/`release()` or ``with lease:`` (raises `LeaseBusy`)."""

    def __init__(
        self,
        store: Store,
        name: str = DEFAULT_LEASE,
        ttl: timedelta = timedelta(minutes=5),
        holder: str | None = None,
        heartbeat: timedelta | None = None,
    ) -> None:
        if ttl <= timedelta(0):
            raise ValueError("a lease needs a positive ttl")
        self.store = store
        self.name = name
        self.ttl = ttl
        self.holder = holder or holder_id()
        self.heartbeat_every = heartbeat or ttl / 3
        self.held = False
        self.acquired_at: datetime | None = None
        self.lost = threading.Event()  # set when a heartbeat finds the lease taken by someone else
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._last_ok = 0.0
        self.current: q.LeaseRow | None = None

    # --- acquire / release -----------------------------------------------------------------------

    def try_acquire(self) -> bool:
        """One attempt; on success the heartbeat thread starts."""
        with self.store.begin() as conn:
            acquired, row = q.acquire_lease(conn, self.name, self.holder, self.ttl)
        self.current = row
        if acquired:
            self.held = True
            self.acquired_at = datetime.now(UTC)
            self.lost.clear()
            self._start_heartbeat()
        return acquired

    def reclaim_if_holder_died(self) -> bool:
        """A holder on this very host whose process is gone cannot heartbeat again: expire its lease
        now instead of making a person wait out the TTL after a crash (other hosts still wait)."""
        row = self.current
        if row is None or not _dead_local_holder(row.holder):
            return False
        with self.store.begin() as conn:
            return q.reclaim_lease(conn, self.name, row.holder)

    def acquire(self, wait: float = 0.0, poll: float = 0.5, *, reclaim_dead: bool = False) -> bool:
        """Try for up to `wait` seconds (0 = once). False means someone else still holds it.

        `reclaim_dead` (interactive runs) takes over at once from a crashed holder on this host."""
        deadline = time.monotonic() + max(0.0, wait)
        while True:
            if self.try_acquire():
                return True
            if reclaim_dead and self.reclaim_if_holder_died() and self.try_acquire():
                return True
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return False
            time.sleep(min(poll, remaining))

    def busy_message(self) -> str:
        """Who holds the lease and until when, for the 'second run exits' line."""
        row = self.current
        if row is None:
            return f"lease {self.name!r} is free"
        now = datetime.now(UTC)
        return (
            f"another run holds lease {self.name!r}: {row.holder}, since {row.acquired_at:%H:%M:%S}Z, "
            f"last heartbeat {_ago(row.heartbeat_at, now)}, expires {row.expires_at:%H:%M:%S}Z"
            f" ({_ago(row.expires_at, now)})"
        )

    def release(self) -> None:
        """Stop the heartbeat and delete our row, so the next run need not wait for expiry."""
        self._stop_heartbeat()
        if not self.held:
            return
        self.held = False
        try:
            with self.store.begin() as conn:
                q.release_lease(conn, self.name, self.holder)
        except Exception as exc:  # the lease then simply expires
            log.warning("could not release lease %s (it will expire in %s): %s", self.name, self.ttl, exc)

    def __enter__(self) -> Lease:
        if not self.acquire():
            raise LeaseBusy(self.busy_message())
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.release()

    # --- heartbeat -------------------------------------------------------------------------------

    def _start_heartbeat(self) -> None:
        self._stop_heartbeat()
        self._stop.clear()
        self._last_ok = time.monotonic()
        self._thread = threading.Thread(target=self._beat, name=f"lease-{self.name}", daemon=True)
        self._thread.start()

    def _stop_heartbeat(self) -> None:
        self._stop.set()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout=10)
        self._thread = None

    def _beat(self) -> None:
        interval = self.heartbeat_every.total_seconds()
        while not self._stop.wait(interval):
            try:
                with self.store.begin() as conn:
                    ours = q.heartbeat_lease(conn, self.name, self.holder, self.ttl)
            except Exception as exc:  # a busy SQLite writer or a network blip: try again next beat
                log.warning("lease heartbeat failed: %s", exc)
                if time.monotonic() - self._last_ok > self.ttl.total_seconds():
                    log.error("lease %s presumed lost: no heartbeat for longer than %s", self.name, self.ttl)
                    self.lost.set()
                    return
                continue
            if not ours:
                log.error("lease %s was taken over by another holder; this run stops at its next step", self.name)
                self.lost.set()
                return
            self._last_ok = time.monotonic()
