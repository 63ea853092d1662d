"""A synchronous door to one mapped PLC for the API process: write-back and method calls.

API workers are threads; asyncua is asyncio. Each :class:`PlcLink` owns an event loop in a daemon thread (started
at first use, so after gunicorn forks) and one session to its source, opened on demand and dropped when the
connection is lost, so the next call reconnects (a restarted PLC is reached again without restarting the API).
Failures come back as the server's errors: unreachable -> :class:`DeviceError` (502), no answer in time ->
:class:`DeviceTimeoutError` (504); OPC UA Bad statuses are left to the caller, which knows what they mean.
"""
from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import logging
import threading
from collections.abc import Awaitable, Callable
from typing import TypeVar

from asyncua import Client, Node, ua

from aas_server.errors import DeviceError, DeviceTimeoutError, SourceUnavailableError

from .connect import client_for
from .mapping import SourceSpec

logger = logging.getLogger(__name__)

T = TypeVar("T")


class PlcLink:
    """Runs coroutines against one source's session (see the module docstring)."""

    def __init__(self, spec: SourceSpec) -> None:
        self.spec = spec
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._client: Client | None = None
        self._connecting: asyncio.Lock | None = None
        self._closing: set[asyncio.Task[None]] = set()

    def run(self, work: Callable[[Client], Awaitable[T]], timeout_s: float, what: str) -> T:
        """``await work(client)`` on a connected session, waiting at most ``timeout_s`` (connecting included).

        :raises DeviceError: the PLC cannot be reached, or the connection broke during the call
        :raises DeviceTimeoutError: no answer within ``timeout_s``
        :raises ua.UaStatusCodeError: the PLC answered with a Bad status
        """
        future = asyncio.run_coroutine_threadsafe(self._run(work, timeout_s), self._event_loop())
        try:
            return future.result(timeout_s + 1)
        except (TimeoutError, concurrent.futures.TimeoutError) as e:
            future.cancel()
            raise DeviceTimeoutError(f"PLC {self.spec.name} ({self.spec.endpoint}) did not answer {what} "
                                     f"within {timeout_s:g} s") from e
        except (ua.UaStatusCodeError, SourceUnavailableError):
            raise  # the PLC's answer, or a session it refused: the callers tell what they mean
        except (OSError, ConnectionError, ua.UaError) as e:
            raise DeviceError(f"PLC {self.spec.name} ({self.spec.endpoint}) cannot be reached for {what}: "
                              f"{type(e).__name__}: {e}") from e

    def _event_loop(self) -> asyncio.AbstractEventLoop:
        with self._lock:
            if self._loop is None:
                loop = asyncio.new_event_loop()
                threading.Thread(target=loop.run_forever, name=f"plc-link-{self.spec.name}", daemon=True).start()
                self._loop = loop
            return self._loop

    async def _run(self, work: Callable[[Client], Awaitable[T]], timeout_s: float) -> T:
        try:
            async with asyncio.timeout(timeout_s):
                client = await self._session()
                try:
                    return await work(client)
                except ua.UaStatusCodeError as e:
                    if _connection_gone(e):
                        await self._drop()
                    raise
        except TimeoutError:
            # the PLC may still be busy with the request on this session (servers serve a session's requests in
            # order) and would answer it late: the next call gets a fresh session
            self._abandon()
            raise
        except (OSError, ConnectionError, ua.UaError) as e:
            if not isinstance(e, ua.UaStatusCodeError):
                await self._drop()  # a half-open session must not serve the next call
            raise

    async def _session(self) -> Client:
        if self._connecting is None:
            self._connecting = asyncio.Lock()
        async with self._connecting:
            if self._client is None:
                client = await client_for(self.spec)

                async def lost(error: Exception) -> None:
                    logger.info("PLC %s: connection lost (%s); the next call reconnects", self.spec.name, error)
                    if self._client is client:
                        self._client = None

                client.connection_lost_callback = lost
                try:
                    await client.connect()
                except BaseException as e:
                    with contextlib.suppress(Exception):
                        client.disconnect_socket()
                    if isinstance(e, ua.UaStatusCodeError):  # the PLC refused the session, not a request
                        raise DeviceError(f"PLC {self.spec.name} ({self.spec.endpoint}) refused the session: "
                                          f"{type(e).__name__}") from e
                    raise
                self._client = client
            return self._client

    def _abandon(self) -> None:
        """Drop the session without waiting for it to close (the close request queues behind the late one)."""
        client, self._client = self._client, None
        if client is not None:
            task = asyncio.get_running_loop().create_task(_close(client))
            self._closing.add(task)
            task.add_done_callback(self._closing.discard)

    async def _drop(self) -> None:
        client, self._client = self._client, None
        if client is not None:
            await _close(client)


async def _close(client: Client) -> None:
    """Disconnect (its background tasks end first), giving the PLC 2 s to confirm."""
    with contextlib.suppress(Exception):
        await asyncio.wait_for(client.disconnect(), 2)


async def node_of(client: Client, node_id: str | None, browse_path: tuple[str, ...] | None) -> Node:
    """The node a binding names, by NodeId or by browse path from the Objects folder."""
    if node_id is not None:
        return client.get_node(node_id)
    return await client.nodes.objects.get_child(list(browse_path or ()))


def _connection_gone(error: ua.UaStatusCodeError) -> bool:
    return type(error).__name__ in ("BadSessionIdInvalid", "BadSessionClosed", "BadSecureChannelClosed",
                                    "BadConnectionClosed", "BadServerNotConnected", "BadCommunicationError")
