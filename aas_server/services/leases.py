"""Leases through the store: one holder per name at a time, taken over when the holder stops renewing.

Gateways share the sources of a mapping with them: each source runs in the gateway that holds its lease. A
holder renews well before expiry (every third of the lease time); a holder that dies stops renewing and another
process takes the lease once it expired, so a source is down for at most one lease time. Every change of holder
increments ``epoch``, which the holder records with what it writes (a fencing token: values written under an
older epoch are recognisable in lineage).

Expiry compares the clocks of the gateway machines: keep them synchronised (NTP); skew eats into the safety
margin between expiry and renewal. The lease time should be several times the renewal interval plus the skew.
"""
from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable

from ..store.base import JSON, Store, iterate

COLLECTION = "leases"


@dataclasses.dataclass(frozen=True)
class LeaseState:
    name: str
    owner: str
    expires: float
    epoch: int

    @classmethod
    def of(cls, doc: JSON) -> "LeaseState":
        return cls(doc["name"], doc["owner"], doc["expires"], doc["epoch"])


class Lease:
    """The lease ``name`` as seen by ``owner`` (a unique id of one process)."""

    def __init__(self, store: Store, name: str, owner: str, ttl_s: float,
                 clock: Callable[[], float] = time.time) -> None:
        self.store = store
        self.name = name
        self.owner = owner
        self.ttl_s = ttl_s
        self.clock = clock

    def acquire(self) -> LeaseState | None:
        """Take or renew the lease; the state when this process holds it now, else ``None``."""
        now = self.clock()

        def take(doc: JSON | None) -> JSON | None:
            if doc is not None and doc["owner"] != self.owner and doc["expires"] > now:
                return doc  # held by another, unexpired: unchanged
            epoch = doc["epoch"] if doc is not None and doc["owner"] == self.owner else (doc or {}).get("epoch", 0) + 1
            return {"name": self.name, "owner": self.owner, "expires": now + self.ttl_s, "epoch": epoch}

        won = self.store.update_record(COLLECTION, self.name, take)
        assert won is not None  # ``take`` always returns a lease
        state = LeaseState.of(won)
        return state if state.owner == self.owner else None

    def release(self) -> None:
        """Give the lease up at once (clean shutdown), so another process need not wait for expiry."""

        def drop(doc: JSON | None) -> JSON | None:
            if doc is None or doc["owner"] != self.owner:
                return doc
            return {**doc, "expires": 0.0}

        self.store.update_record(COLLECTION, self.name, drop)


def holders(store: Store) -> list[LeaseState]:
    """Every lease with its holder (health and tests)."""
    return [LeaseState.of(doc) for doc in iterate(lambda page: store.find_records(COLLECTION, page))]
