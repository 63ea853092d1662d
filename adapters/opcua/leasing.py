"""Gateway scale-out: several gateway processes share the sources of one mapping, each source running in the
gateway that holds its lease (:mod:`aas_server.services.leases`).

A gateway tries to take every source's lease; it runs a source's session while it holds the lease and renews it
every third of the lease time. When a holder dies, its leases expire and another gateway takes the sources over
within one lease time. A gateway that learns it lost a lease (it was cut off from the store longer than the lease)
stops that source at once and drops what it collected for it, so two gateways never write one source's values.
A source a gateway does not hold is ``standby`` there: its events are dropped (:meth:`BatchWriter.mute`) and
that gateway writes no health record for it, so the holder's record stands. On shutdown the gateway writes its last batch (the stale marks of its sources) and only
then releases its leases (:func:`release_all`), so another gateway takes them over at its next renewal and its
values are never overwritten by the stopping one.
"""
from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

from aas_server.services.leases import Lease

from .batch import BatchWriter
from .mapping import OpcUaMapping, SourceSpec
from .session import SourceSession

logger = logging.getLogger(__name__)

StoreCall = Callable[..., Awaitable[Any]]


def source_lease(store: Any, mapping: OpcUaMapping, spec: SourceSpec, owner: str, ttl_s: float) -> Lease:
    """The lease of one source of one mapping; ``owner`` is the gateway process's run id."""
    return Lease(store, f"opcua/{mapping.name}/{spec.name}", owner, ttl_s)


async def run_leased(spec: SourceSpec, writer: BatchWriter, stop: asyncio.Event, lease: Lease,
                     on_store: StoreCall) -> None:
    """Run ``spec``'s session whenever this gateway holds ``lease``, until ``stop`` is set."""
    renew_s = lease.ttl_s / 3
    while not stop.is_set():
        try:
            state = await on_store(lease.acquire)
        except Exception as e:  # the store is down: nothing could be written anyway
            logger.warning("gateway: cannot take lease %s: %s", lease.name, e)
            state = None
        if state is None:
            writer.source_state(spec.name, "standby")
            await _sleep(stop, renew_s)
            continue
        logger.info("gateway: holding source %s (lease %s, epoch %d)", spec.name, lease.name, state.epoch)
        writer.unmute(spec.name)
        if await _hold(spec, writer, stop, lease, on_store, state.expires, renew_s):
            logger.warning("gateway: lost the lease of source %s; stopped it", spec.name)
            writer.source_state(spec.name, "standby")


async def _hold(spec: SourceSpec, writer: BatchWriter, stop: asyncio.Event, lease: Lease, on_store: StoreCall,
                expires: float, renew_s: float) -> bool:
    """Run the session and renew the lease until ``stop``; ``True`` when the lease was lost."""
    session_stop = asyncio.Event()
    session = asyncio.create_task(SourceSession(spec, writer, session_stop).run(), name=f"source-{spec.name}")
    lost = False
    try:
        while not stop.is_set():
            await _sleep(stop, renew_s)
            if stop.is_set():
                break
            try:
                state = await on_store(lease.acquire)
            except Exception as e:  # keep the source while the lease we hold has not expired
                logger.warning("gateway: cannot renew lease %s: %s", lease.name, e)
                if time.time() < expires:
                    continue
                state = None
            if state is None:
                lost = True
                writer.mute(spec.name)  # before the session stops: its last stale marks must not be written
                break
            expires = state.expires
    finally:
        session_stop.set()
        await session
    return lost


async def _sleep(stop: asyncio.Event, seconds: float) -> None:
    with contextlib.suppress(asyncio.TimeoutError, TimeoutError):
        await asyncio.wait_for(stop.wait(), seconds)


async def release_all(leases: list[Lease], on_store: StoreCall) -> None:
    for lease in leases:
        try:
            await on_store(lease.release)
        except Exception as e:  # the lease expires on its own
            logger.warning("gateway: cannot release lease %s: %s", lease.name, e)
