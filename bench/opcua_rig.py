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
import json
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
from asyncua.common.subscription import DataChangeEvent

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
    """A plain asyncua client, in its own process like the gateway, subscribed to the first ``nodes`` benchmark
    nodes as the gateway is (same intervals, queue size 1, asyncua's event queue read in a loop): ``received``
    counts its notifications and ``latencies`` keeps (receive time - source timestamp) of the ``watched`` nodes. It
    does nothing else with them, so it receives what the server delivers."""

    def __init__(self, url: str, nodes: int, watched: set[str]) -> None:
        self.received = 0
        self.latencies: list[float] = []
        self._args = [sys.executable, "-m", "bench.opcua_rig", url, str(nodes), ",".join(sorted(watched))]
        self._child: subprocess.Popen[str] | None = None
        self._reader: threading.Thread | None = None

    def __enter__(self) -> Self:
        self._child = subprocess.Popen(self._args, cwd=ROOT, stdout=subprocess.PIPE, text=True)
        assert self._child.stdout is not None
        if self._child.stdout.readline().strip() != "ready":
            raise RuntimeError("the bare client did not subscribe")
        self._reader = threading.Thread(target=self._read, daemon=True, name="bare-client")
        self._reader.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._child is not None:
            self._child.terminate()
            self._child.wait(30)

    def _read(self) -> None:
        assert self._child is not None and self._child.stdout is not None
        for line in self._child.stdout:
            report = json.loads(line)
            self.received = report["received"]
            self.latencies.extend(report["latencies"])


async def _subscribe(url: str, nodes: int, watched: set[str]) -> None:
    """The bare client's process: subscribe, say ``ready``, then report counts and latencies twice a second."""
    received, latencies = 0, []
    # a long watchdog: on a loaded machine a slow keep-alive read must not end the baseline's session
    async with Client(url, timeout=60, watchdog_intervall=60) as client:
        subscription = await client.create_subscription(PUBLISHING_MS, None, queue_maxsize=200_000)
        targets = [client.get_node(node_id(n)) for n in bench_node_names(nodes)]
        for start in range(0, len(targets), 1000):
            await subscription.subscribe_data_change(targets[start:start + 1000], sampling_interval=SAMPLING_MS,
                                                     queuesize=1)
        print("ready", flush=True)

        async def report() -> None:
            nonlocal latencies
            while True:
                await asyncio.sleep(0.5)
                print(json.dumps({"received": received, "latencies": latencies}), flush=True)
                latencies = []

        reporter = asyncio.create_task(report())
        async for event in subscription:
            if not isinstance(event, DataChangeEvent):
                continue
            received += 1
            if event.node.nodeid.Identifier in watched:
                stamp = event.data.monitored_item.Value.SourceTimestamp
                if stamp is not None:
                    latencies.append(time.time() - stamp.replace(tzinfo=datetime.UTC).timestamp())
        reporter.cancel()


if __name__ == "__main__":
    logging.getLogger("asyncua").setLevel(logging.CRITICAL)
    asyncio.run(_subscribe(sys.argv[1], int(sys.argv[2]), set(filter(None, sys.argv[3].split(",")))))
