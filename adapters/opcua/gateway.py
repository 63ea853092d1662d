"""``aas-server gateway``: the long-running process that keeps mapped submodel elements fresh from OPC UA.

Separate from the API workers (which only read the store): one asyncio loop runs a :class:`~.session.SourceSession`
per source whose lease it holds (:mod:`.leasing`: several gateways share the sources of a mapping) and flushes the
collected data changes every ``flush_s`` through a :class:`~.batch.BatchWriter` on one store thread (stores are
synchronous). On SIGTERM or SIGINT it stops the sessions (their elements are marked
stale: nothing refreshes them any more), writes the last batch and the health records, closes the sessions and
the store, and exits with 0.
"""
from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import signal
import uuid
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from aas_server.settings import Settings
from aas_server.store import open_store

from .batch import BatchWriter
from .leasing import release_all, run_leased, source_lease
from .mapping import OpcUaMapping

logger = logging.getLogger(__name__)

#: default seconds between store flushes (the API sees a value at most this much plus one write after it arrived)
FLUSH_S = 0.1
#: seconds the sessions get to close on shutdown
SHUTDOWN_S = 10.0


async def run_gateway(mapping: OpcUaMapping, settings: Settings, stop: asyncio.Event, *,
                      flush_s: float = FLUSH_S) -> None:
    """Run until ``stop`` is set; PLC faults never end it (see the module docstring)."""
    loop = asyncio.get_running_loop()
    executor = ThreadPoolExecutor(1, thread_name_prefix="gateway-store")  # the store's one thread

    async def on_store(call: Any, *args: Any) -> Any:
        return await loop.run_in_executor(executor, functools.partial(call, *args))

    store = await on_store(open_store, settings)
    writer = BatchWriter(store, mapping, str(uuid.uuid4()))
    for spec in mapping.sources:  # until its lease is taken, a source belongs to no one here
        writer.mute(spec.name)
        writer.source_state(spec.name, "standby")
    leases = [source_lease(store, mapping, spec, writer.run_id, settings.gateway_lease_s) for spec in mapping.sources]
    sessions = [asyncio.create_task(run_leased(spec, writer, stop, lease, on_store), name=f"lease-{spec.name}")
                for spec, lease in zip(mapping.sources, leases)]
    logger.info("gateway: mapping %s, %d sources, %d nodes, flush every %.0f ms", mapping.name,
                len(mapping.sources), len(mapping.nodes), flush_s * 1000)

    async def flush(force_health: bool = False) -> None:
        try:
            writer.requeue(await on_store(writer.write, writer.take()))
            if force_health:
                await on_store(functools.partial(writer.write_health, force=True))
        except Exception:  # the store is down: values come again with the next change, health with the next flush
            logger.exception("gateway: store write failed")

    try:
        while not stop.is_set():
            with contextlib.suppress(asyncio.TimeoutError, TimeoutError):
                await asyncio.wait_for(stop.wait(), flush_s)
            await flush()
        _done, pending = await asyncio.wait(sessions, timeout=SHUTDOWN_S)
        for task in pending:
            task.cancel()
        await flush(force_health=True)
    finally:
        for task in sessions:
            task.cancel()
        await asyncio.gather(*sessions, return_exceptions=True)
        await release_all(leases, on_store)  # after the last write: a successor's values are never overwritten
        await on_store(store.close)
        executor.shutdown(wait=True)
    logger.info("gateway: stopped")


def serve(mapping: OpcUaMapping, settings: Settings, flush_s: float = FLUSH_S) -> int:
    """Run the gateway in the foreground until SIGTERM/SIGINT; returns the exit code (0)."""
    logging.getLogger("asyncua").setLevel(logging.WARNING)  # its INFO logs every request; the gateway logs faults

    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signum, stop.set)
        await run_gateway(mapping, settings, stop, flush_s=flush_s)

    asyncio.run(main())
    return 0
