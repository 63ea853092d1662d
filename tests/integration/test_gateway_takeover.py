"""Gateway scale-out with real processes: two gateways share one mapping's source through a lease in the store;
the standby never writes; when the holder is killed the other takes over within the lease time, and the values go
on with no value written under both gateways' lineage and none older than one stored before it."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path
from typing import Any, Iterator

import pytest

from aas_server.services.leases import holders
from aas_server.settings import Settings
from aas_server.store import open_store
from adapters import lineage
from adapters.opcua import quality
from adapters.opcua.plc_sim import PlcSimConfig, PlcSimulator
from tests.conftest import server_env
from tests.integration.test_opcua_gateway import ROOT, SM, element, health, wait_for, write_mapping

pytestmark = pytest.mark.integration

LEASE_S = 3.0
MOTOR = "Temperatures.Motor"  # changes with every sample of the simulated PLC


@pytest.fixture()
def plc() -> Iterator[PlcSimulator]:
    with PlcSimulator(PlcSimConfig(port=0, interval_s=0.1, pumps=1, running=1)) as simulator:
        yield simulator


def _gateway(settings: Settings, mapping: Path, log: Path) -> subprocess.Popen[bytes]:
    env = {**os.environ, **server_env(settings), "AAS_GATEWAY_LEASE_S": str(LEASE_S)}
    return subprocess.Popen([sys.executable, "-m", "aas_server.cli", "gateway", "--mapping", str(mapping)],
                            cwd=ROOT, env=env, stdout=open(log, "wb"), stderr=subprocess.STDOUT)


def _holder(store: Any) -> str | None:
    held = [h for h in holders(store) if h.name == "opcua/test-line/line" and h.expires > time.time()]
    return held[0].owner if held else None


def test_the_standby_takes_over_within_the_lease_time_when_the_holder_is_killed(
        plc: PlcSimulator, mongo_uri: str, tmp_path: Path) -> None:
    settings = Settings(mongodb_uri=mongo_uri, mongodb_database=f"aas_test_{uuid.uuid4().hex[:12]}",
                        data_dir=str(tmp_path))
    mapping = write_mapping(tmp_path, plc.url)
    store = open_store(settings)
    first = _gateway(settings, mapping, tmp_path / "a.log")
    second: subprocess.Popen[bytes] | None = None
    # sampled all along: the lineage of the motor temperature (source time of the value it describes, the gateway
    # run that wrote it) and the source timestamps of the stored values
    seen: list[tuple[str, str]] = []
    stamps: list[str] = []
    sampling = threading.Event()

    def sample() -> None:
        watcher = open_store(settings)
        try:
            while not sampling.is_set():
                try:
                    entry = lineage.load(watcher, SM)["entries"][MOTOR]
                    described = (entry["wasDerivedFrom"]["generatedAtTime"], entry["wasGeneratedBy"])
                    if not seen or seen[-1] != described:
                        seen.append(described)
                    stamp = quality.qualifier(element(watcher, "Temperatures", "Motor"), quality.SOURCE_TIME)
                    if not stamps or stamps[-1] != stamp:
                        stamps.append(stamp)
                except Exception:  # noqa: BLE001 (not written yet)
                    pass
                time.sleep(0.05)
        finally:
            watcher.close()

    sampler = threading.Thread(target=sample)
    try:
        holder_a = wait_for(lambda: _holder(store), what="the first gateway to take the lease")
        wait_for(lambda: element(store, "Speed").get("value"), what="values from the first gateway")
        sampler.start()
        second = _gateway(settings, mapping, tmp_path / "b.log")
        time.sleep(2 * LEASE_S)  # the second one tries several times, and stays standby
        assert _holder(store) == holder_a
        assert health(store)["run"] == holder_a, "the standby wrote a health record over the holder's"

        first.send_signal(signal.SIGKILL)
        first.wait(10)
        killed = time.time()
        holder_b = wait_for(lambda: (_holder(store) or "") not in ("", holder_a) and _holder(store),
                            timeout=4 * LEASE_S, what="the second gateway to take over")
        took_s = time.time() - killed
        assert took_s <= LEASE_S + LEASE_S / 3 + 1.5, f"takeover after {took_s:.1f} s"
        wait_for(lambda: health(store)["run"] == holder_b and health(store)["connected"],
                 what="the second gateway connected")
        wait_for(lambda: seen and seen[-1][1] == f"urn:uuid:{holder_b}", what="a new value from the second gateway")
    finally:
        sampling.set()
        if sampler.is_alive():
            sampler.join(10)
        for process in (first, second):
            if process is not None and process.poll() is None:
                process.send_signal(signal.SIGTERM)
                assert process.wait(30) == 0
        store.close()

    runs = [run for _, run in seen]
    switches = [i for i in range(1, len(runs)) if runs[i] != runs[i - 1]]
    assert len(switches) == 1, f"the writing gateway changed {len(switches)} times: {seen}"
    assert runs[0] == f"urn:uuid:{holder_a}" and runs[-1] == f"urn:uuid:{holder_b}"
    described = [time_ for time_, _ in seen]
    assert described == sorted(described) and len(set(described)) == len(described), \
        f"one source value under two gateways' lineage, or an older one after a newer: {seen}"
    assert stamps == sorted(stamps), f"a value older than one already stored was written after it: {stamps}"
