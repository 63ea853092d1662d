"""The OPC UA benchmarks' rig: the simulated PLC serving N busy nodes, a mapping of them, the gateway, and a bare
asyncua client subscribed to the same nodes with the same parameters (the ceiling and the baseline).

Processes, as in production: ``aas-server plc-sim --bench-nodes N`` and ``aas-server gateway`` run as their own
processes; the bare client runs in a thread of the benchmark. Nodes are laid out as a PLC's tags usually are:
``machines`` submodels of ``stations`` collections of Double properties (the gateway writes one store update per
collection per flush).
"""
from __future__ import annotations

import argparse
import asyncio
import contextlib
import dataclasses
import datetime
import logging
import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Self

import yaml
from asyncua import Client

from aas_server.settings import Settings
from adapters.opcua.plc_sim import bench_node_names, free_port, node_id
from tests.harness.server import ROOT

#: how the gateway and the bare client monitor each node (the mapping's defaults)
SAMPLING_MS = 100
PUBLISHING_MS = 100


def arguments() -> argparse.ArgumentParser:
    """The options both OPC UA benchmarks take; also quiets asyncua, whose retry logs would bury the figures."""
    logging.getLogger("asyncua").setLevel(logging.CRITICAL)
    parser = argparse.ArgumentParser()
    parser.add_argument("--nodes", type=int, default=5000)
    parser.add_argument("--interval", type=float, default=0.1, help="seconds between changes of every node")
    parser.add_argument("--seconds", type=float, default=30, help="measuring window")
    parser.add_argument("--stores", default="embedded,mongo")
    return parser


@dataclasses.dataclass(frozen=True)
class Layout:
    nodes: int
    machines: int = 5
    stations: int = 10

    def submodel_id(self, machine: int) -> str:
        return f"urn:bench:sm:machine{machine}:live"

    def path(self, index: int) -> tuple[int, str]:
        """(machine, idShortPath) of node ``index``."""
        per_machine = -(-self.nodes // self.machines)
        per_station = -(-per_machine // self.stations)
        machine, rest = divmod(index, per_machine)
        return machine, f"S{rest // per_station:02d}.N{index:05d}"


def mapping_file(folder: Path, endpoint: str, layout: Layout) -> Path:
    """A mapping of every benchmark node to a Double property (written to ``folder``). The request timeout is
    generous: creating thousands of monitored items takes the busy simulator many seconds."""
    names = bench_node_names(layout.nodes)
    submodels: dict[int, dict[str, Any]] = {}
    for index, name in enumerate(names):
        machine, path = layout.path(index)
        target = submodels.setdefault(machine, {
            "id": layout.submodel_id(machine),
            "template": {"name": f"bench_machine_{machine}", "semantic_id": "urn:bench:cd:Machine",
                         "id_short": f"Machine{machine}", "elements": {}},
            "nodes": {}})
        station = path.split(".")[0]
        target["template"]["elements"].setdefault(station, {"model_type": "SubmodelElementCollection"})
        target["template"]["elements"][path] = {"model_type": "Property", "value_type": "xs:double"}
        target["nodes"][path] = node_id(name)
    doc = {"version": 1, "adapter": "opcua", "name": "bench-line", "sources": [{
        "name": "bench", "endpoint": endpoint, "timeout_s": 120, "reconnect": {"initial_s": 0.5, "max_s": 5},
        "defaults": {"mode": "subscribe", "sampling_ms": SAMPLING_MS, "publishing_ms": PUBLISHING_MS},
        "submodels": list(submodels.values())}]}
    path = folder / "bench_mapping.yaml"
    path.write_text(yaml.safe_dump(doc, sort_keys=False), encoding="utf-8")
    return path


def _env(settings: Settings) -> dict[str, str]:
    env = {**os.environ, "AAS_DATA_DIR": settings.data_dir, "AAS_LOG_LEVEL": "WARNING"}
    if settings.mongodb_uri:
        env.update(AAS_MONGODB_URI=settings.mongodb_uri, AAS_MONGODB_DATABASE=settings.mongodb_database)
    return env


@contextlib.contextmanager
def process(args: list[str], log: Path, env: dict[str, str] | None = None) -> Iterator[subprocess.Popen[bytes]]:
    """``aas-server <args>`` as a child process, stopped with SIGTERM at the end."""
    with open(log, "wb") as out:
        child = subprocess.Popen([sys.executable, "-m", "aas_server.cli", *args], cwd=ROOT, env=env or dict(os.environ),
                                 stdout=out, stderr=subprocess.STDOUT)
    try:
        yield child
    finally:
        child.terminate()
        try:
            child.wait(30)
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()


@contextlib.contextmanager
def plc(folder: Path, nodes: int, interval_s: float) -> Iterator[str]:
    """The simulated PLC with ``nodes`` benchmark nodes changing every ``interval_s``; yields its endpoint."""
    port = free_port()
    url = f"opc.tcp://127.0.0.1:{port}/plc-sim"
    args = ["plc-sim", "--port", str(port), "--pumps", "1", "--bench-nodes", str(nodes),
            "--bench-interval", str(interval_s)]
    with process(args, folder / "plc-sim.log") as child:
        deadline = time.monotonic() + 300
        last = node_id(bench_node_names(nodes)[-1])
        while not asyncio.run(_readable(url, last)):
            if child.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"plc-sim did not come up: {(folder / 'plc-sim.log').read_text()[-2000:]}")
            time.sleep(1)
        yield url


async def _readable(url: str, nid: str) -> bool:
    try:
        async with Client(url, timeout=5) as client:
            await client.get_node(nid).read_value()
            return True
    except Exception:  # noqa: BLE001 - not up yet
        return False


@contextlib.contextmanager
def gateway(folder: Path, mapping: Path, settings: Settings) -> Iterator[subprocess.Popen[bytes]]:
    with process(["gateway", "--mapping", str(mapping)], folder / "gateway.log", _env(settings)) as child:
        yield child


class BareSubscriber:
    """A plain asyncua client subscribed to ``nodes`` like the gateway (same intervals, queue size 1); counts the
    notifications and keeps (receive time - source timestamp) of those of ``watched`` nodes."""

    def __init__(self, url: str, nodes: list[str], watched: set[str]) -> None:
        self.url, self.nodes, self.watched = url, nodes, watched
        self.received = 0
        self.latencies: list[float] = []
        self.ready = threading.Event()
        self._stop: asyncio.Event | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread = threading.Thread(target=lambda: asyncio.run(self._run()), daemon=True, name="bare-client")

    def __enter__(self) -> Self:
        self._thread.start()
        if not self.ready.wait(300):
            raise RuntimeError("the bare client did not subscribe")
        return self

    def __exit__(self, *exc: object) -> None:
        if self._loop is not None and self._stop is not None:
            self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(30)

    # asyncua calls this for every data change
    def datachange_notification(self, node: Any, value: Any, data: Any) -> None:
        self.received += 1
        if node.nodeid.Identifier in self.watched:
            stamp = data.monitored_item.Value.SourceTimestamp
            if stamp is not None:
                self.latencies.append(time.time() - stamp.replace(tzinfo=datetime.UTC).timestamp())

    def status_change_notification(self, status: Any) -> None:
        """asyncua reports the subscription's status here (a keep-alive timeout, say); the counts tell enough."""

    async def _run(self) -> None:
        self._loop, self._stop = asyncio.get_running_loop(), asyncio.Event()
        # a long watchdog: on a loaded machine a slow keep-alive read must not end the baseline's session
        async with Client(self.url, timeout=30, watchdog_intervall=60) as client:
            subscription = await client.create_subscription(PUBLISHING_MS, self)  # as the gateway creates its own
            nodes = [client.get_node(n) for n in self.nodes]
            for start in range(0, len(nodes), 1000):
                await subscription.subscribe_data_change(nodes[start:start + 1000], sampling_interval=SAMPLING_MS,
                                                         queuesize=1)
            self.ready.set()
            await self._stop.wait()
            await subscription.delete()
