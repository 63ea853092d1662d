"""The OPC UA gateway against the simulated PLC (a real asyncua server on a free port): values into the store and
through the API, stale marking and reconnection when the PLC goes away, security, Bad status codes, SIGTERM."""
from __future__ import annotations

import asyncio
import contextlib
import datetime
import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
import requests
from asyncua import ua
from asyncua.crypto.cert_gen import setup_self_signed_certificate
from cryptography.x509.oid import ExtendedKeyUsageOID

from aas_server.errors import NotFoundError
from aas_server.model.ids import encode_id
from aas_server.settings import Settings
from aas_server.store import open_store
from aas_server.store.base import Store
from adapters.opcua import gateway, mapping, quality
from adapters.opcua.batch import HEALTH, BatchWriter, Sample
from adapters.opcua.plc_sim import PlcSimConfig, PlcSimulator
from tests.conftest import server_env
from tests.harness.server import ROOT, GunicornServer

SM = "urn:test:sm:pump1:live"
MAPPING = """\
version: 1
adapter: opcua
name: test-line
sources:
  - name: line
    endpoint: {endpoint}
{security}    timeout_s: 2
    reconnect: {{initial_s: 0.2, max_s: 1}}
    submodels:
      - id: {sm}
        shell: {{id: urn:test:aas:pump1, global_asset_id: urn:test:asset:pump1, id_short: Pump1}}
        template:
          name: pump_live
          semantic_id: urn:test:cd:PumpLive
          id_short: Live
          elements:
            Speed: {{model_type: Property, value_type: xs:integer}}
            Temperatures: {{model_type: SubmodelElementCollection}}
            Temperatures.Motor: {{model_type: Property, value_type: xs:double}}
            State: {{model_type: Property, value_type: xs:string}}
            Hours: {{model_type: Property, value_type: xs:double}}
        nodes:
          Speed: "ns=2;s=Pump1.Speed"
          Temperatures.Motor: {{browse_path: 0:Objects/2:PumpLine/2:Pump1/2:MotorTemperature, unit: {{from: degC, to: K}}}}
          State: "ns=2;s=Pump1.State"
          Hours: {{node: "ns=2;s=Pump1.OperatingHours", mode: poll, poll_ms: 200}}
"""


def write_mapping(tmp_path: Path, endpoint: str, security: str = "") -> Path:
    path = tmp_path / "line.yaml"
    path.write_text(MAPPING.format(endpoint=endpoint, security=security, sm=SM))
    return path


@pytest.fixture()
def plc() -> Iterator[PlcSimulator]:
    with PlcSimulator(PlcSimConfig(port=0, interval_s=0.1, pumps=1, running=1)) as simulator:
        yield simulator


@contextmanager
def running_gateway(loaded: mapping.OpcUaMapping, settings: Settings) -> Iterator[threading.Thread]:
    """The gateway's loop in a thread, stopped (as SIGTERM does) at the end."""
    loop = asyncio.new_event_loop()
    stop = asyncio.Event()
    failure: list[BaseException] = []

    def run() -> None:
        try:
            loop.run_until_complete(gateway.run_gateway(loaded, settings, stop))
        except BaseException as e:  # noqa: BLE001 (reported to the test)
            failure.append(e)

    thread = threading.Thread(target=run, name="gateway", daemon=True)
    thread.start()
    try:
        yield thread
    finally:
        loop.call_soon_threadsafe(stop.set)
        thread.join(30)
        loop.close()
    assert not thread.is_alive() and not failure, failure


def wait_for(check: Callable[[], Any], timeout: float = 40.0, what: str = "condition") -> Any:
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        try:
            last = check()
            if last:
                return last
        except Exception as e:  # noqa: BLE001 (not there yet: no submodel, no record)
            last = e
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}; last: {last!r}")


def matching(value: Any, predicate: Callable[[Any], bool]) -> Any:
    return value if predicate(value) else None


def element(store: Store, top: str, child: str | None = None) -> dict[str, Any]:
    found = store.get_element(SM, top)
    return next(c for c in found["value"] if c["idShort"] == child) if child else found


def health(store: Store) -> dict[str, Any]:
    return store.get_record(HEALTH, "test-line/line")


def test_values_arrive_then_go_stale_and_resume_when_the_plc_restarts(plc: PlcSimulator, settings: Settings,
                                                                       tmp_path: Path) -> None:
    loaded = mapping.load(write_mapping(tmp_path, plc.url))
    store = open_store(settings)
    try:
        with running_gateway(loaded, settings) as thread:
            # created from the template with the shell, every value with Good status and OPC UA timestamps
            motor = wait_for(lambda: element(store, "Temperatures", "Motor"), what="the motor temperature")
            assert quality.quality_of(motor) == "Good" and float(motor["value"]) > 273.15
            wait_for(lambda: element(store, "Hours").get("value"), what="the polled hours")
            speed = element(store, "Speed")
            assert speed["valueType"] == "xs:integer" and int(speed["value"]) > 0
            assert quality.qualifier(speed, quality.STATUS) == "Good"
            assert quality.qualifier(speed, quality.SOURCE_TIME).endswith("Z")
            assert store.get("shell", "urn:test:aas:pump1")["submodels"][0]["keys"][0]["value"] == SM
            assert wait_for(lambda: health(store)["connected"], what="a connected health record")
            entry = store.get_record("lineage", SM)["entries"]["Temperatures.Motor"]
            assert entry["wasDerivedFrom"]["endpoint"] == plc.url and entry["live"] is True
            assert entry["wasDerivedFrom"]["nodeId"] == "2:PumpLine/2:Pump1/2:MotorTemperature"
            before = quality.qualifier(element(store, "Temperatures", "Motor"), quality.SOURCE_TIME)

            plc.stop()
            wait_for(lambda: quality.quality_of(element(store, "Temperatures", "Motor")) == "Stale",
                     what="stale marking")
            record = wait_for(lambda: matching(health(store), lambda h: h["state"] == "disconnected"),
                              what="a disconnected health record")
            assert f"{SM}#Temperatures.Motor" in record["staleElements"] and record["lastError"]
            assert all(quality.quality_of(element(store, top)) == "Stale" for top in ("Speed", "State", "Hours"))
            assert thread.is_alive()

            plc.start()
            fresh = wait_for(lambda: matching(element(store, "Temperatures", "Motor"), lambda m: quality.quality_of(
                m) == "Good" and quality.qualifier(m, quality.SOURCE_TIME) > before), what="fresh values after restart")
            assert float(fresh["value"]) > 273.15
            record = wait_for(lambda: matching(health(store), lambda h: h["connected"] and not h["staleElements"]),
                              what="a reconnected health record")
            assert record["reconnects"] >= 1 and record["lastError"] is None
        assert health(store)["state"] == "stopped"  # clean stop: nothing refreshes the values any more
        assert quality.quality_of(element(store, "Speed")) == "Stale"
    finally:
        store.close()


def test_values_and_their_opcua_timestamps_are_served_by_the_api(plc: PlcSimulator, tmp_path: Path) -> None:
    """Embedded store only: what the API serves is the stored JSON, which the store test above checks on both."""
    loaded = mapping.load(write_mapping(tmp_path, plc.url))
    settings = Settings(data_dir=str(tmp_path / "data"))
    with running_gateway(loaded, settings), GunicornServer(server_env(settings), workers=1, threads=2) as server:
        url = f"{server.url}/api/v3.1/submodels/{encode_id(SM)}/submodel-elements"

        def served() -> dict[str, Any] | None:
            answer = requests.get(f"{url}/Temperatures.Motor", timeout=5)
            return answer.json() if answer.status_code == 200 else None

        motor = wait_for(served, what="the element through the API")
        kinds = {q["type"]: q["value"] for q in motor["qualifiers"]}
        assert kinds["OpcUa.Quality"] == "Good" and kinds["OpcUa.StatusCode"] == "Good"
        source_time = datetime.datetime.fromisoformat(kinds["OpcUa.SourceTimestamp"])
        assert source_time <= datetime.datetime.now(datetime.UTC)
        first = motor["value"]
        changed = wait_for(lambda: matching(served(), lambda m: m is not None and m["value"] != first),
                           what="a changed value through the API")
        assert float(changed["value"]) > 273.15
        value_only = requests.get(f"{url}/Temperatures.Motor/$value", timeout=5).json()
        assert value_only["Motor"] > 273.15  # ValueOnly: the value without the qualifiers


def test_nodes_the_plc_does_not_have_are_bad_and_the_others_go_on(plc: PlcSimulator, tmp_path: Path) -> None:
    text = (MAPPING.format(endpoint=plc.url, security="", sm=SM)
            .replace('          State: "ns=2;s=Pump1.State"',
                     '          State: {node: "ns=2;s=Pump1.State", map: {Running: Up, Stopped: Down, Starting: Up, '
                     'Fault: Down}}')
            .replace('          Speed: "ns=2;s=Pump1.Speed"', '          Speed: "ns=2;s=Pump9.Speed"')
            .replace("2:Pump1/2:MotorTemperature", "2:Pump1/2:NoSuchTemperature"))
    path = tmp_path / "partly.yaml"
    path.write_text(text)
    settings = Settings(data_dir=str(tmp_path / "data"))
    store = open_store(settings)
    try:
        with running_gateway(mapping.load(path), settings):
            assert wait_for(lambda: element(store, "State").get("value"), what="the mapped state") == "Up"
            record = wait_for(lambda: matching(health(store), lambda h: len(h["badElements"]) == 2),
                              what="two bad elements")
            assert record["badElements"] == [f"{SM}#Speed", f"{SM}#Temperatures.Motor"] and record["connected"]
            with pytest.raises(NotFoundError):  # never had a value: not invented
                element(store, "Speed")
    finally:
        store.close()


def test_bad_and_uncertain_status_codes_are_recorded_not_stored_as_good(store: Store, tmp_path: Path) -> None:
    loaded = mapping.load(write_mapping(tmp_path, "opc.tcp://127.0.0.1:4840/none"))
    speed, motor, _, _ = loaded.nodes
    writer = BatchWriter(store, loaded, "run-1")
    now = datetime.datetime.now(datetime.UTC)
    writer.write([Sample(speed, 1450.4, 0, now, now), Sample(motor, 60.0, 0, now, now)])
    assert element(store, "Speed")["value"] == "1450"

    bad = ua.StatusCodes.BadSensorFailure
    writer.write([Sample(speed, None, bad, now, now), Sample(motor, 61.0, ua.StatusCodes.UncertainLastUsableValue,
                                                               now, now)])
    kept = element(store, "Speed")
    assert kept["value"] == "1450" and quality.quality_of(kept) == "Bad"
    assert quality.qualifier(kept, quality.STATUS) == "BadSensorFailure"
    uncertain = element(store, "Temperatures", "Motor")
    assert uncertain["value"] == "334.15" and quality.quality_of(uncertain) == "Uncertain"
    assert quality.qualifier(uncertain, quality.STATUS) == "UncertainLastUsableValue"
    writer.write([Sample(speed, "fast", 0, now, now)])  # a value that does not fit xs:integer
    assert element(store, "Speed")["value"] == "1450"
    assert quality.qualifier(element(store, "Speed"), quality.STATUS) == "BadTypeMismatch"
    writer.write_health(force=True)
    record = health(store)
    assert record["badValues"] == 2 and record["badElements"] == [f"{SM}#Speed"]


def test_a_failing_store_keeps_the_batch_for_the_next_flush(mongo_uri: str, tmp_path: Path) -> None:
    """The MongoDB store, whose server can go away (the embedded store reopens its file on the next call)."""
    settings = Settings(mongodb_uri=mongo_uri, mongodb_database=f"aas_test_{uuid.uuid4().hex[:12]}",
                        data_dir=str(tmp_path))
    loaded = mapping.load(write_mapping(tmp_path, "opc.tcp://127.0.0.1:4840/none"))
    speed = loaded.nodes[0]
    now = datetime.datetime.now(datetime.UTC)
    writer = BatchWriter(open_store(settings), loaded, "run-2")
    writer.store.close()  # the store is gone
    writer.add(Sample(speed, 1500.0, 0, now, now))
    failed = writer.write(writer.take())
    assert [event.binding for event in failed] == [speed]
    writer.requeue(failed)
    writer.add(Sample(loaded.nodes[2], "Running", 0, now, now))
    writer.store = open_store(settings)  # the store is back
    try:
        assert writer.write(writer.take()) == []
        assert element(writer.store, "Speed")["value"] == "1500"
        assert element(writer.store, "State")["value"] == "Running"
    finally:
        writer.store.drop()  # type: ignore[attr-defined]
        writer.store.close()


@pytest.fixture()
def secured_plc(tmp_path: Path) -> Iterator[PlcSimulator]:
    (tmp_path / "plc-pki").mkdir()
    config = PlcSimConfig(port=0, interval_s=0.1, pumps=1, running=1, security="Basic256Sha256",
                          cert_dir=str(tmp_path / "plc-pki"), username="gateway", password="s3cret-plc")
    with PlcSimulator(config) as simulator:
        yield simulator


def test_basic256sha256_sign_and_encrypt_with_certificates_and_a_wrong_password(
        secured_plc: PlcSimulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    pki = tmp_path / "gateway-pki"
    pki.mkdir()
    for name in ("gateway", "impostor"):
        asyncio.run(setup_self_signed_certificate(
            pki / f"{name}.pem", pki / f"{name}.der", f"urn:aas-server:{name}", "localhost",
            [ExtendedKeyUsageOID.CLIENT_AUTH, ExtendedKeyUsageOID.SERVER_AUTH], {"commonName": name}))

    def secured(server_certificate: Path) -> mapping.OpcUaMapping:
        security = ("    security: {policy: Basic256Sha256, mode: SignAndEncrypt, certificate: gateway-pki/gateway.der,"
                    f"\n               private_key: gateway-pki/gateway.pem, server_certificate: {server_certificate}}}\n"
                    "    user: {name: gateway, password_env: TEST_PLC_PASSWORD}\n")
        return mapping.load(write_mapping(tmp_path, secured_plc.url, security))

    settings = Settings(data_dir=str(tmp_path / "data"))
    store = open_store(settings)

    def refused(loaded: mapping.OpcUaMapping, *reasons: str) -> None:
        """The gateway runs, records why it cannot connect, stays alive and writes no value."""
        with contextlib.suppress(NotFoundError):
            store.delete_record(HEALTH, "test-line/line")
        with running_gateway(loaded, settings) as thread:
            record = wait_for(lambda: matching(health(store), lambda h: h["lastError"] is not None),
                              what="the refusal in the health record")
            assert record["connected"] is False
            assert any(reason in record["lastError"] for reason in reasons), record["lastError"]
            time.sleep(1)  # a few backoff rounds
            assert thread.is_alive()
            with pytest.raises(NotFoundError):
                store.get("submodel", SM)

    try:
        monkeypatch.delenv("TEST_PLC_PASSWORD", raising=False)
        refused(secured(secured_plc.certificate_path), "environment variable TEST_PLC_PASSWORD")
        monkeypatch.setenv("TEST_PLC_PASSWORD", "wrong")
        refused(secured(secured_plc.certificate_path), "BadUserAccessDenied", "IdentityToken")
        monkeypatch.setenv("TEST_PLC_PASSWORD", "s3cret-plc")
        refused(secured(pki / "impostor.der"), "server_certificate")  # the server is not the pinned one
        with running_gateway(secured(secured_plc.certificate_path), settings):
            motor = wait_for(lambda: element(store, "Temperatures", "Motor"), what="values over the secured channel")
            assert quality.quality_of(motor) == "Good"
            assert wait_for(lambda: health(store)["connected"], what="connected")
    finally:
        store.close()


def test_gateway_process_stops_cleanly_on_sigterm(plc: PlcSimulator, tmp_path: Path) -> None:
    path = write_mapping(tmp_path, plc.url)
    env = {**os.environ, "AAS_DATA_DIR": str(tmp_path / "data"), "AAS_MONGODB_URI": ""}
    process = subprocess.Popen([sys.executable, "-m", "aas_server.cli", "gateway", "--mapping", str(path)],
                               cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    store = open_store(Settings(data_dir=str(tmp_path / "data")))
    try:
        wait_for(lambda: element(store, "Speed").get("value"), timeout=40, what="values from the subprocess")
        process.send_signal(signal.SIGTERM)
        output, _ = process.communicate(timeout=30)
        assert process.returncode == 0, output.decode(errors="replace")[-2000:]
        assert b"gateway: stopped" in output
        assert health(store)["state"] == "stopped"
        assert quality.quality_of(element(store, "Speed")) == "Stale"
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        store.close()


def test_a_bad_mapping_is_refused_with_its_line(tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(MAPPING.format(endpoint="http://plc", security="", sm=SM))
    result = subprocess.run([sys.executable, "-m", "aas_server.cli", "gateway", "--mapping", str(path)], cwd=ROOT,
                            env={**os.environ, "AAS_DATA_DIR": str(tmp_path / "data")}, capture_output=True,
                            text=True, timeout=60, check=False)
    assert result.returncode == 2
    assert f"{path}:6:15: sources[0].endpoint must be an opc.tcp://host:port/path URL" in result.stderr
