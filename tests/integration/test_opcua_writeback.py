"""Write-back over HTTP (gunicorn) to the simulated PLC: the PLC's verdict decides what the caller hears and what
the store keeps; partners and read-only elements never reach the PLC."""
from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
import requests

from tests.conftest import module_store_settings, server_env
from tests.factories import assert_result
from tests.integration.opcua_api_support import SM, SM_DOWN, SM_HUNG, PlcApi, plc_api

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module", params=["embedded", "mongo"])
def env(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[PlcApi]:
    folder = tmp_path_factory.mktemp("writeback")
    with plc_api(folder, server_env(module_store_settings(request, folder))) as api:
        yield api


def _quality(element: dict[str, object]) -> dict[str, object]:
    return {q["type"]: q["value"] for q in element.get("qualifiers") or []}  # type: ignore[union-attr, index]


def test_an_accepted_write_reaches_the_plc_and_the_store_keeps_what_the_plc_reads_back(env: PlcApi) -> None:
    before = time.time()
    response = requests.patch(env.element(SM, "SpeedSetpoint/$value"), json=2400, timeout=15)
    assert response.status_code == 204, response.text
    assert env.plc.pump("Pump2").speed_setpoint == 2400.0
    stored = env.stored(SM, "SpeedSetpoint")
    assert stored["value"] == "2400.0"
    marks = _quality(stored)
    assert marks["OpcUa.Quality"] == "Good" and marks["OpcUa.StatusCode"] == "Good"
    assert str(marks["OpcUa.SourceTimestamp"]) >= time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(before - 1))


def test_unit_conversion_is_undone_on_the_way_to_the_plc(env: PlcApi) -> None:
    response = requests.patch(env.element(SM, "PressureLimit/$value"), json="1200", timeout=15)
    assert response.status_code == 204, response.text
    assert env.plc.pump("Pump2").pressure_limit == 12.0  # bar on the PLC, kPa in the submodel
    assert float(env.stored(SM, "PressureLimit")["value"]) == 1200.0


def test_a_refused_write_is_an_error_naming_the_status_and_the_store_keeps_the_plc_value(env: PlcApi) -> None:
    assert requests.patch(env.element(SM, "SpeedSetpoint/$value"), json=2000, timeout=15).status_code == 204
    response = requests.patch(env.element(SM, "SpeedSetpoint/$value"), json=9000, timeout=15)
    assert_result(response, 400, "BadOutOfRange", "ns=2;s=Pump2.SpeedSetpoint")
    assert env.plc.pump("Pump2").speed_setpoint == 2000.0
    assert env.stored(SM, "SpeedSetpoint")["value"] == "2000.0"


def test_a_value_of_the_wrong_type_never_reaches_the_plc(env: PlcApi) -> None:
    assert requests.patch(env.element(SM, "SpeedSetpoint/$value"), json=2100, timeout=15).status_code == 204
    assert_result(requests.patch(env.element(SM, "SpeedSetpoint/$value"), json="fast", timeout=15), 400)
    assert env.plc.pump("Pump2").speed_setpoint == 2100.0


def test_elements_are_read_only_unless_the_mapping_marks_them_writable(env: PlcApi) -> None:
    response = requests.patch(env.element(SM, "Speed/$value"), json=100, timeout=15)
    assert_result(response, 403, "read-only", "ns=2;s=Pump2.Speed")
    assert env.stored(SM, "Speed")["value"] == "2950"


def test_a_partner_port_never_reaches_the_plc(env: PlcApi) -> None:
    assert requests.patch(env.element(SM, "SpeedSetpoint/$value"), json=2200, timeout=15).status_code == 204
    response = requests.patch(env.element(SM, "SpeedSetpoint/$value", "/external"), json=1000, timeout=15)
    assert_result(response, 403, "internal port")
    assert env.plc.pump("Pump2").speed_setpoint == 2200.0
    assert env.stored(SM, "SpeedSetpoint")["value"] == "2200.0"
    # the same partner may write elements no device stands behind (the port is writable; the rules allow it)
    partner_write = requests.patch(env.element(SM, "Stop", "/external"), json={"idShort": "Stop",
                                   "modelType": "Operation", "category": "PARAMETER"}, timeout=15)
    assert partner_write.status_code == 204, partner_write.text


def test_a_submodel_value_patch_cannot_carry_device_values(env: PlcApi) -> None:
    url = env.element(SM, "").replace("/submodel-elements/", "/$value")
    response = requests.patch(url, json={"SpeedSetpoint": 1500}, timeout=15)
    assert_result(response, 400, "SpeedSetpoint", "mirrors a device")
    assert env.plc.pump("Pump2").speed_setpoint != 1500.0


def test_an_unreachable_plc_is_a_502_and_a_hung_one_a_504(env: PlcApi) -> None:
    assert_result(requests.patch(env.element(SM_DOWN, "SpeedSetpoint/$value"), json=2400, timeout=15), 502,
                  "cannot be reached")
    assert env.stored(SM_DOWN, "SpeedSetpoint")["value"] == "2950.0"
    started = time.monotonic()
    assert_result(requests.patch(env.element(SM_HUNG, "SpeedSetpoint/$value"), json=2400, timeout=15), 504,
                  "did not answer")
    assert time.monotonic() - started < 5
    assert env.stored(SM_HUNG, "SpeedSetpoint")["value"] == "2950.0"


def test_write_back_resumes_after_a_plc_restart(env: PlcApi) -> None:
    assert requests.patch(env.element(SM, "SpeedSetpoint/$value"), json=2300, timeout=15).status_code == 204
    env.plc.restart()
    deadline = time.monotonic() + 20
    while True:
        response = requests.patch(env.element(SM, "SpeedSetpoint/$value"), json=2350, timeout=15)
        if response.status_code == 204 or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    assert response.status_code == 204, response.text
    assert env.plc.pump("Pump2").speed_setpoint == 2350.0
