"""Operations carried out by OPC UA methods of the simulated PLC, invoked over HTTP (gunicorn): outputs, Bad
statuses, timeouts, an unreachable PLC, and partners kept away."""
from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any
from urllib.parse import urljoin

import pytest
import requests

from aas_server.settings import Settings
from tests.conftest import server_env
from tests.factories import prop
from tests.integration.opcua_api_support import SM, SM_DOWN, SM_HUNG, PlcApi, plc_api

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PlcApi]:
    folder = tmp_path_factory.mktemp("methods")
    with plc_api(folder, server_env(Settings(data_dir=str(folder)))) as api:
        yield api


def invoke(env: PlcApi, sm_id: str, operation: str, inputs: list[dict[str, Any]] | None = None,
           suffix: str = "invoke", **extra: Any) -> requests.Response:
    body = {"inputArguments": [{"value": v} for v in inputs or []], **extra}
    return requests.post(env.element(sm_id, f"{operation}/{suffix}"), json=body, timeout=30)


def outputs(result: dict[str, Any]) -> dict[str, Any]:
    return {a["value"]["idShort"]: a["value"]["value"] for a in result.get("outputArguments") or []}


def message(result: dict[str, Any]) -> str:
    return " ".join(m["text"] for m in result.get("messages") or [])


def await_result(env: PlcApi, response: requests.Response) -> dict[str, Any]:
    assert response.status_code == 202, response.text
    status_url = urljoin(env.url + "/", response.headers["Location"])
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        status = requests.get(status_url, allow_redirects=False, timeout=10)
        if status.status_code == 302:
            result: dict[str, Any] = requests.get(urljoin(status_url, status.headers["Location"]), timeout=10).json()
            return result
        assert status.json()["executionState"] == "Running"
        time.sleep(0.1)
    raise AssertionError("the operation is still running")


def test_invoke_calls_the_method_with_the_inputs_and_returns_its_outputs(env: PlcApi) -> None:
    env.plc.pump("Pump2").speed_setpoint = 2950.0
    response = invoke(env, SM, "SetSpeed", [prop("Rpm", "1800", "xs:double")])
    assert response.status_code == 200, response.text
    result = response.json()
    assert result["executionState"] == "Completed" and result["success"] is True
    assert outputs(result) == {"Accepted": "true", "PreviousRpm": "2950.0"}
    assert env.plc.pump("Pump2").speed_setpoint == 1800.0
    refused = invoke(env, SM, "SetSpeed", [prop("Rpm", "9000", "xs:double")]).json()
    assert outputs(refused) == {"Accepted": "false", "PreviousRpm": "1800.0"}  # the PLC's verdict, as its outputs


def test_invoke_value_only_form(env: PlcApi) -> None:
    env.plc.pump("Pump2").speed_setpoint = 1800.0
    response = requests.post(env.element(SM, "SetSpeed/invoke/$value"), json={"inputArguments": {"Rpm": 2000}},
                             timeout=30)
    assert response.status_code == 200, response.text
    assert response.json()["outputArguments"] == {"Accepted": True, "PreviousRpm": 1800.0}
    assert env.plc.pump("Pump2").speed_setpoint == 2000.0


def test_invoke_async_starts_the_pump_and_reports_its_outputs(env: PlcApi) -> None:
    pump = env.plc.pump("Pump2")
    pump.stop()
    starts = pump.start_count
    result = await_result(env, invoke(env, SM, "Start", [prop("TargetSpeed", "2500", "xs:integer")],
                                      "invoke-async"))
    assert result["executionState"] == "Completed", result
    assert outputs(result) == {"Accepted": "true"}
    assert pump.start_count == starts + 1 and pump.speed_setpoint == 2500.0
    assert pump.state in ("Starting", "Running")


def test_a_bad_status_fails_the_operation_with_its_name(env: PlcApi) -> None:
    pump = env.plc.pump("Pump2")
    pump.state, pump.fault_reason = "Fault", "test trip"
    try:
        result = invoke(env, SM, "Start", [prop("TargetSpeed", "2500", "xs:integer")]).json()
        assert result["executionState"] == "Failed" and result["success"] is False
        assert "BadInvalidState" in message(result) and "ns=2;s=Pump2.Start" in message(result)
    finally:
        pump.reset()


def test_a_missing_method_or_input_fails_clearly(env: PlcApi) -> None:
    ghost = invoke(env, SM, "Ghost").json()
    assert ghost["executionState"] == "Failed"
    assert "no method ns=2;s=Pump2.SelfDestruct" in message(ghost)
    missing = invoke(env, SM, "SetSpeed").json()
    assert missing["executionState"] == "Failed"
    assert "input variable Rpm is missing" in message(missing)


def test_a_method_slower_than_its_timeout_times_out(env: PlcApi) -> None:
    started = time.monotonic()
    result = invoke(env, SM, "Flush", [prop("Seconds", "3", "xs:double")]).json()
    assert result["executionState"] == "Timeout", result
    assert "did not answer" in message(result) and "1 s" in message(result)
    assert time.monotonic() - started < 2.9
    quick = await_result(env, invoke(env, SM, "Flush", [prop("Seconds", "0.2", "xs:double")], "invoke-async"))
    assert quick["executionState"] == "Completed" and outputs(quick) == {"Completed": "true"}
    slow = await_result(env, invoke(env, SM, "Flush", [prop("Seconds", "3", "xs:double")], "invoke-async"))
    assert slow["executionState"] == "Timeout"


def test_an_unreachable_or_hung_plc(env: PlcApi) -> None:
    down = invoke(env, SM_DOWN, "Stop").json()
    assert down["executionState"] == "Failed" and "cannot be reached" in message(down)
    hung = invoke(env, SM_HUNG, "Stop").json()
    assert hung["executionState"] == "Timeout" and "did not answer" in message(hung)


def test_partners_cannot_invoke(env: PlcApi) -> None:
    pump = env.plc.pump("Pump2")
    before = pump.speed_setpoint
    response = requests.post(env.element(SM, "SetSpeed/invoke", "/external"),
                             json={"inputArguments": [{"value": prop("Rpm", "1000", "xs:double")}]}, timeout=30)
    assert response.status_code == 404
    assert pump.speed_setpoint == before
