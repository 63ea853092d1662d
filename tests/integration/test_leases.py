"""Leases through the store (gateway scale-out): one holder at a time, takeover after expiry, fencing epochs."""
from __future__ import annotations

import threading

import pytest

from aas_server.services.leases import Lease, holders

pytestmark = pytest.mark.integration


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_one_holder_until_expiry_then_takeover_with_a_new_epoch(store) -> None:
    clock = Clock()
    a = Lease(store, "source-1", "gateway-a", ttl_s=10, clock=clock)
    b = Lease(store, "source-1", "gateway-b", ttl_s=10, clock=clock)
    first = a.acquire()
    assert first is not None and first.epoch == 1
    assert b.acquire() is None
    clock.now += 5
    renewed = a.acquire()
    assert renewed is not None and renewed.epoch == 1 and renewed.expires == clock.now + 10
    clock.now += 9.9
    assert b.acquire() is None  # renewed 9.9 s ago: still held
    clock.now += 0.2
    taken = b.acquire()
    assert taken is not None and taken.owner == "gateway-b" and taken.epoch == 2
    assert a.acquire() is None  # the old holder learns it lost the lease
    assert [(h.name, h.owner) for h in holders(store)] == [("source-1", "gateway-b")]


def test_release_hands_over_without_waiting(store) -> None:
    clock = Clock()
    a = Lease(store, "source-2", "gateway-a", ttl_s=60, clock=clock)
    b = Lease(store, "source-2", "gateway-b", ttl_s=60, clock=clock)
    assert a.acquire() is not None
    b.release()  # not the holder: changes nothing
    assert b.acquire() is None
    a.release()
    assert b.acquire() is not None


def test_concurrent_acquirers_get_exactly_one_holder(store) -> None:
    winners: list[str] = []
    barrier = threading.Barrier(6)

    def contend(owner: str) -> None:
        barrier.wait()
        if Lease(store, "source-3", owner, ttl_s=30).acquire() is not None:
            winners.append(owner)

    threads = [threading.Thread(target=contend, args=(f"gateway-{i}",)) for i in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(winners) == 1
    assert [h.owner for h in holders(store)] == winners
