"""The run lease on SQLite and PostgreSQL: atomic acquire, clear refusal, heartbeat, takeover."""

from __future__ import annotations

import threading
import time
from datetime import timedelta

import pytest

from errorsift.service.lease import Lease, LeaseBusy
from errorsift.store import service_queries as q
from errorsift.store.store import Store


@pytest.fixture
def store(db_url):
    s = Store(db_url)
    yield s
    s.close()


def test_one_holder_and_a_clear_message_for_the_second(store):
    first = Lease(store, ttl=timedelta(seconds=30), holder="host-a:101:aaaaaa")
    second = Lease(store, ttl=timedelta(seconds=30), holder="host-b:202:bbbbbb")
    assert first.acquire()
    assert not second.acquire()
    message = second.busy_message()
    assert "host-a:101:aaaaaa" in message and "expires" in message and "last heartbeat" in message
    with pytest.raises(LeaseBusy, match="another run holds lease 'pipeline': host-a:101"), second:
        pass
    first.release()
    with second:  # released: no need to wait for expiry
        assert second.held
    assert not second.held
    with store.read() as sc:
        assert q.get_lease(sc, "pipeline") is None


def test_concurrent_acquire_has_exactly_one_winner(store):
    leases = [Lease(store, ttl=timedelta(seconds=30), holder=f"h:{i}:x") for i in range(8)]
    barrier = threading.Barrier(len(leases))
    results: list[bool] = []

    def race(lease: Lease) -> None:
        barrier.wait()
        results.append(lease.try_acquire())

    threads = [threading.Thread(target=race, args=(lease,)) for lease in leases]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert sorted(results) == [False] * 7 + [True]
    for lease in leases:
        lease.release()


def test_heartbeat_keeps_the_lease_and_a_dead_holder_is_taken_over_after_expiry(store):
    ttl = timedelta(seconds=0.6)
    alive = Lease(store, ttl=ttl, holder="alive:1:a")
    assert alive.acquire()
    time.sleep(1.0)  # longer than the ttl: only the heartbeat keeps it
    other = Lease(store, ttl=ttl, holder="other:2:b")
    assert not other.acquire()
    alive._stop_heartbeat()  # the holder "dies": no more heartbeats, no release
    started = time.monotonic()
    assert other.acquire(wait=5, poll=0.05)
    waited = time.monotonic() - started
    assert 0.2 < waited < 1.5, waited  # taken over once the lease lapsed, not before
    with store.read() as sc:
        assert q.get_lease(sc, "pipeline").holder == "other:2:b"
    # The old holder comes back: its heartbeat finds the lease gone and flags it lost.
    alive._start_heartbeat()
    assert alive.lost.wait(3)
    other.release()


def test_same_holder_may_reacquire(store):
    lease = Lease(store, ttl=timedelta(seconds=30), holder="me:1:x")
    assert lease.acquire()
    again = Lease(store, ttl=timedelta(seconds=30), holder="me:1:x")
    assert again.acquire()  # a worker whose previous release failed is not locked out by itself
    lease.release()
    again.release()
