"""One mapped OPC UA source kept connected: connect, subscribe (or poll), and on any fault mark its elements
stale and reconnect with exponential backoff, re-creating its subscriptions. Never raises for a PLC fault."""
from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Sequence

from asyncua import Client, Node, ua
from asyncua.common.subscription import DataChangeEvent, OverflowPolicy

from aas_server.errors import SourceUnavailableError

from .batch import BatchWriter, Sample, status_code
from .connect import client_for
from .mapping import NodeBinding, SourceSpec

logger = logging.getLogger(__name__)

#: notifications a subscription buffers between the publish loop and the gateway (a burst of 5,000 nodes fits)
QUEUE_SIZE = 200_000
#: monitored items created per request
CREATE_CHUNK = 500


def describe(error: BaseException) -> str:
    """A one-line reason for the health record and the log (status code names for OPC UA errors)."""
    if isinstance(error, ua.UaStatusCodeError):
        return f"{type(error).__name__}: {error}"
    if isinstance(error, (TimeoutError, asyncio.TimeoutError)):
        return "timeout: the server did not answer in time"
    return f"{type(error).__name__}: {error}" if str(error) else type(error).__name__


class SourceSession:
    """Keeps one source connected until ``stop`` is set (see the module docstring)."""

    def __init__(self, spec: SourceSpec, writer: BatchWriter, stop: asyncio.Event) -> None:
        self.spec = spec
        self.writer = writer
        self.stop = stop
        self.lost_reason = "closed"

    async def run(self) -> None:
        delay = self.spec.reconnect_initial_s
        last_error: str | None = None
        while not self.stop.is_set():
            error: str | None
            self.writer.source_state(self.spec.name, "connecting")
            try:
                connected = await self._session()
            except (OSError, TimeoutError, ua.UaError, ConnectionError, SourceUnavailableError) as e:
                connected, error = False, describe(e)
                if isinstance(e, TimeoutError) and self.spec.security.server_certificate is not None:
                    error += ("; a secured server that cannot decrypt our requests does not answer either: check "
                              "that server_certificate is this server's certificate")
            except Exception as e:  # an asyncua defect must not end the gateway either
                logger.exception("gateway: source %s failed unexpectedly", self.spec.name)
                connected, error = False, describe(e)
            else:
                error = f"connection lost ({self.lost_reason})" if not self.stop.is_set() else None
            if self.stop.is_set():
                break
            if connected:
                delay = self.spec.reconnect_initial_s
            if error != last_error:
                logger.warning("gateway: source %s (%s): %s; retrying with backoff", self.spec.name,
                               self.spec.endpoint, error)
                last_error = error
            self.writer.source_state(self.spec.name, "disconnected", error)
            self.writer.mark_stale(self.spec.nodes)
            with contextlib.suppress(asyncio.TimeoutError, TimeoutError):
                await asyncio.wait_for(self.stop.wait(), delay)
            delay = min(delay * 2, self.spec.reconnect_max_s)
        self.writer.mark_stale(self.spec.nodes)
        self.writer.source_state(self.spec.name, "stopped")

    async def _session(self) -> bool:
        """One connection: returns when it is lost (``True``: it had been established) or ``stop`` is set."""
        client = await client_for(self.spec)
        lost = asyncio.Event()
        self.lost_reason = "closed"

        async def on_lost(error: Exception) -> None:
            self.lost_reason = describe(error)
            lost.set()

        client.connection_lost_callback = on_lost
        tasks: list[asyncio.Task[None]] = []
        try:
            await client.connect()
            nodes = await self._resolve(client)
            tasks = await self._subscribe(client, nodes)
            tasks += [asyncio.create_task(self._poll(client, group, nodes)) for group in _poll_groups(list(nodes))]
            self.writer.source_state(self.spec.name, "connected")
            logger.info("gateway: source %s connected to %s (%d nodes)", self.spec.name, self.spec.endpoint,
                        len(nodes))
            waits = [asyncio.create_task(lost.wait()), asyncio.create_task(self.stop.wait()), *tasks]
            done, _ = await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
            for task in waits:
                task.cancel()
            for task in done:  # a poll or subscription task that ended with an error: the connection is bad
                if not task.cancelled() and task.exception() is not None:
                    raise task.exception()  # type: ignore[misc]
            return True
        finally:
            for task in tasks:
                task.cancel()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(client.disconnect(), 2)

    async def _resolve(self, client: Client) -> dict[NodeBinding, Node]:
        """Nodes of the bindings; browse paths are translated once per connection. A path this server does not
        have is recorded as Bad (``BadNoMatch``) and left out; the other nodes go on."""
        out: dict[NodeBinding, Node] = {}
        objects = client.nodes.objects
        for binding in self.spec.nodes:
            if binding.node_id is not None:
                out[binding] = client.get_node(binding.node_id)
                continue
            try:
                out[binding] = await objects.get_child(list(binding.browse_path or ()))
            except ua.UaStatusCodeError as e:
                logger.warning("gateway: %s has no node at %s: %s", self.spec.name, binding.address, describe(e))
                self.writer.add(Sample(binding, None, e.code, None, None))
        return out

    async def _subscribe(self, client: Client, nodes: dict[NodeBinding, Node]) -> list[asyncio.Task[None]]:
        """One subscription per publishing interval, one monitored item per node; returns the reader tasks."""
        groups: dict[float, list[NodeBinding]] = {}
        for binding in nodes:
            if binding.mode == "subscribe":
                groups.setdefault(binding.publishing_ms, []).append(binding)
        tasks = []
        for publishing_ms, bindings in groups.items():
            subscription = await client.create_subscription(publishing_ms, None, queue_maxsize=QUEUE_SIZE,
                                                            overflow=OverflowPolicy.WARN)
            requests = [_monitor_request(nodes[b], b, handle) for handle, b in enumerate(bindings, 1)]
            results: list[int | ua.StatusCode] = []
            for start in range(0, len(requests), CREATE_CHUNK):  # each request answered within timeout_s
                results += await subscription.create_monitored_items(requests[start:start + CREATE_CHUNK])
            for binding, result in zip(bindings, results, strict=True):
                if isinstance(result, ua.StatusCode):  # the node is refused: recorded as Bad, the others go on
                    self.writer.add(Sample(binding, None, status_code(result), None, None))
                    logger.warning("gateway: %s refused monitoring %s: %s", self.spec.name, binding.address,
                                   result.name)
            tasks.append(asyncio.create_task(self._read_notifications(subscription, bindings)))
        return tasks

    async def _read_notifications(self, subscription: object, bindings: Sequence[NodeBinding]) -> None:
        by_handle = dict(enumerate(bindings, 1))
        async for event in subscription:  # type: ignore[attr-defined]
            if not isinstance(event, DataChangeEvent):
                continue
            item = event.data.monitored_item
            binding = by_handle.get(item.ClientHandle)
            value = item.Value
            if binding is None or value is None:
                continue
            self.writer.add(Sample(binding, value.Value.Value if value.Value is not None else None,
                                   status_code(value.StatusCode or 0), value.SourceTimestamp,
                                   value.ServerTimestamp))

    async def _poll(self, client: Client, bindings: Sequence[NodeBinding], nodes: dict[NodeBinding, Node]) -> None:
        """Read ``bindings`` (one poll interval) in one Read request per interval. Like a subscription, a poll
        reports only news: a value whose status and source timestamp did not change, or (same status) that stays
        within the absolute deadband, is not reported again."""
        interval = bindings[0].poll_ms / 1000
        last: dict[NodeBinding, Sample] = {}
        params = ua.ReadParameters()
        params.TimestampsToReturn = ua.TimestampsToReturn.Both
        params.NodesToRead = [ua.ReadValueId(NodeId=nodes[b].nodeid, AttributeId=ua.AttributeIds.Value)
                              for b in bindings]
        while True:
            results = await client.uaclient.read(params)
            for binding, value in zip(bindings, results, strict=True):
                sample = Sample(binding, value.Value.Value if value.Value is not None else None,
                                status_code(value.StatusCode or 0), value.SourceTimestamp, value.ServerTimestamp)
                if not _news(last.get(binding), sample):
                    continue
                last[binding] = sample
                self.writer.add(sample)
            await asyncio.sleep(interval)


def _monitor_request(node: Node, binding: NodeBinding, handle: int) -> ua.MonitoredItemCreateRequest:
    params = ua.MonitoringParameters()
    params.ClientHandle = handle
    params.SamplingInterval = binding.sampling_ms
    params.QueueSize = 1  # the latest sample per publishing interval: the gateway stores only the latest anyway
    params.DiscardOldest = True
    if binding.deadband is not None:
        deadband = ua.DataChangeFilter()
        deadband.Trigger = ua.DataChangeTrigger.StatusValue
        deadband.DeadbandType = 1 if binding.deadband[0] == "absolute" else 2
        deadband.DeadbandValue = binding.deadband[1]
        params.Filter = deadband
    request = ua.MonitoredItemCreateRequest()
    request.ItemToMonitor = ua.ReadValueId(NodeId=node.nodeid, AttributeId=ua.AttributeIds.Value)
    request.MonitoringMode = ua.MonitoringMode.Reporting
    request.RequestedParameters = params
    return request


def _poll_groups(bindings: Sequence[NodeBinding]) -> list[list[NodeBinding]]:
    groups: dict[float, list[NodeBinding]] = {}
    for binding in bindings:
        if binding.mode == "poll":
            groups.setdefault(binding.poll_ms, []).append(binding)
    return list(groups.values())


def _news(old: Sample | None, new: Sample) -> bool:
    if old is None or old.status != new.status:
        return True
    if old.value == new.value and old.source_time == new.source_time:
        return False
    deadband = new.binding.deadband
    if deadband is None or isinstance(old.value, bool) or isinstance(new.value, bool) \
            or not isinstance(old.value, (int, float)) or not isinstance(new.value, (int, float)):
        return True
    return abs(new.value - old.value) >= deadband[1]
