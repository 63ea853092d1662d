"""Operation invocation: over real HTTP without handlers (both stores), and with registered handlers through
Flask's test client (handlers cannot be registered in a separate gunicorn process)."""
from __future__ import annotations

import time
from typing import Any, Iterator
from urllib.parse import urljoin

import pytest
import requests
from flask import Flask
from flask.testing import FlaskClient

from aas_server import create_app
from aas_server.services.operations import OperationCall, OperationOutcome
from aas_server.settings import Settings
from tests.factories import assert_result, b64, operation, prop, submodel, uid

pytestmark = pytest.mark.integration

START_PUMP = "urn:test:semantic:StartPump"


def pump_submodel() -> dict:
    """Like the demo's OperationalData: live values and a StartPump Operation (int in, bool out)."""
    return submodel(elements=[
        prop("RotationalSpeed", "0"),
        operation("StartPump", [prop("TargetSpeed", None)], [prop("Accepted", None, "xs:boolean")],
                  semantic_id=START_PUMP),
        operation("Slow", [prop("Seconds", None, "xs:double")], [prop("Done", None, "xs:boolean")]),
    ])


def request_body(speed: int = 1500, **extra: Any) -> dict:
    return {"inputArguments": [{"value": prop("TargetSpeed", str(speed))}], **extra}


# -- over HTTP, no handler registered ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def ops(http: requests.Session, live_server: str) -> str:
    sm = pump_submodel()
    assert http.post(f"{live_server}/api/v3.1/submodels", json=sm).status_code == 201
    return f"{live_server}/api/v3.1/submodels/{b64(sm['id'])}/submodel-elements"


def test_invoke_without_handler_fails_cleanly(http, ops):
    response = http.post(f"{ops}/StartPump/invoke", json=request_body())
    assert response.status_code == 200, response.text
    result = response.json()
    assert result["executionState"] == "Failed"
    assert result["success"] is False
    assert "no invocation handler" in result["messages"][0]["text"]
    assert "StartPump" in result["messages"][0]["text"]


def test_invoke_value_without_handler_fails_cleanly(http, ops):
    response = http.post(f"{ops}/StartPump/invoke/$value", json={"inputArguments": {"TargetSpeed": 1500}})
    assert response.status_code == 200, response.text
    assert response.json()["executionState"] == "Failed"


def test_invoke_non_operation_is_400(http, ops):
    assert_result(http.post(f"{ops}/RotationalSpeed/invoke", json=request_body()), 400, "Property")
    assert_result(http.post(f"{ops}/Missing/invoke", json=request_body()), 404, "Missing")


@pytest.mark.parametrize(("body", "words"), [
    ({"inputArguments": [{"value": prop("Unknown", "1")}]}, ("Unknown",)),
    ({"inputArguments": [{"value": prop("TargetSpeed", "fast")}]}, ("fast", "xs:int")),
    ({"inputArguments": {"TargetSpeed": 1}}, ("inputVariables",)),
    (request_body(clientTimeoutDuration="soon"), ("clientTimeoutDuration",)),
    ([], ("OperationRequest",)),
])
def test_invalid_request_is_400(http, ops, body, words):
    assert_result(http.post(f"{ops}/StartPump/invoke", json=body), 400, *words)


def test_invoke_async_follows_status_to_results(http, ops):
    response = http.post(f"{ops}/StartPump/invoke-async", json=request_body())
    assert response.status_code == 202
    status_url = urljoin(ops + "/", response.headers["Location"])
    assert "/StartPump/operation-status/" in status_url
    deadline = time.monotonic() + 10
    while True:
        status = http.get(status_url, allow_redirects=False)
        if status.status_code == 302 or time.monotonic() > deadline:
            break
        assert status.status_code == 200
        assert status.json()["executionState"] == "Running"
        time.sleep(0.05)
    assert status.status_code == 302
    results_url = urljoin(status_url, status.headers["Location"])
    assert "/StartPump/operation-results/" in results_url
    result = http.get(results_url).json()
    assert result["executionState"] == "Failed"
    assert "no invocation handler" in result["messages"][0]["text"]
    handle = results_url.rsplit("/", 1)[-1]
    assert_result(http.get(f"{ops}/Slow/operation-results/{handle}"), 404)
    assert_result(http.get(f"{ops}/StartPump/operation-results/{uid('handle')[-12:]}"), 404)


# -- with handlers, through Flask's test client --------------------------------------------------------------------


@pytest.fixture
def app(settings: Settings) -> Iterator[Flask]:
    app = create_app(settings)
    yield app
    store = app.extensions["aas"].store
    drop = getattr(store, "drop", None)
    if drop is not None:
        drop()
    store.close()


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def pump(app: Flask, client: FlaskClient) -> str:
    """Elements URL of a pump submodel whose StartPump (by semanticId) and Slow (by path) have handlers."""
    sm = pump_submodel()
    assert client.post("/api/v3.1/submodels", json=sm).status_code == 201

    def start_pump(call: OperationCall) -> OperationOutcome:
        speed = int(call.inputs["TargetSpeed"]["value"])
        if speed < 0:
            raise ValueError("negative speed")
        accepted = prop("Accepted", "true" if speed <= 3000 else "false", "xs:boolean")
        return OperationOutcome({"Accepted": accepted})

    def slow(call: OperationCall) -> OperationOutcome:
        time.sleep(float(call.inputs["Seconds"]["value"]))
        return OperationOutcome({"Done": prop("Done", "true", "xs:boolean")})

    operations = app.extensions["aas"].operations
    operations.register(start_pump, semantic_id=START_PUMP)
    operations.register(slow, submodel_id=sm["id"], path=("Slow",))
    return f"/api/v3.1/submodels/{b64(sm['id'])}/submodel-elements"


def wait_for_result(client: FlaskClient, location: str) -> Any:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        status = client.get(location)
        if status.status_code == 302:
            return client.get(status.headers["Location"])
        assert status.status_code == 200
        assert status.json["executionState"] == "Running"
        time.sleep(0.02)
    raise AssertionError("operation still running")


def test_handler_sync(client, pump):
    response = client.post(f"{pump}/StartPump/invoke", json=request_body(1500))
    assert response.status_code == 200
    assert response.json == {
        "executionState": "Completed", "success": True,
        "outputArguments": [{"value": prop("Accepted", "true", "xs:boolean")}],
    }
    assert client.post(f"{pump}/StartPump/invoke", json=request_body(5000)).json["outputArguments"] == [
        {"value": prop("Accepted", "false", "xs:boolean")}
    ]


def test_handler_sync_value_only(client, pump):
    response = client.post(f"{pump}/StartPump/invoke/$value", json={"inputArguments": {"TargetSpeed": 1200}})
    assert response.status_code == 200
    assert response.json == {"executionState": "Completed", "success": True, "outputArguments": {"Accepted": True}}


def test_handler_failure_is_a_failed_result(client, pump):
    response = client.post(f"{pump}/StartPump/invoke", json=request_body(-1))
    assert response.status_code == 200
    assert response.json["executionState"] == "Failed"
    assert "negative speed" in response.json["messages"][0]["text"]


def test_handler_async(client, pump):
    response = client.post(f"{pump}/StartPump/invoke-async", json=request_body(100))
    assert response.status_code == 202
    result = wait_for_result(client, response.headers["Location"])
    assert result.json == {
        "executionState": "Completed", "success": True,
        "outputArguments": [{"value": prop("Accepted", "true", "xs:boolean")}],
    }


def test_handler_async_value_only(client, pump):
    response = client.post(f"{pump}/StartPump/invoke-async/$value", json={"inputArguments": {"TargetSpeed": 100}})
    assert response.status_code == 202
    location = response.headers["Location"]
    assert location.endswith("/$value")
    # the status of a ValueOnly invocation leads to the ValueOnly result
    result = wait_for_result(client, location)
    assert result.json == {"executionState": "Completed", "success": True, "outputArguments": {"Accepted": True}}
    handle = location.split("/operation-status/")[1].removesuffix("/$value")
    assert client.get(f"{pump}/StartPump/operation-results/{handle}").json["outputArguments"] == [
        {"value": prop("Accepted", "true", "xs:boolean")}
    ]


def test_sync_timeout(client, pump):
    started = time.monotonic()
    body = {"inputArguments": [{"value": prop("Seconds", "1.0", "xs:double")}], "clientTimeoutDuration": "PT0.2S"}
    response = client.post(f"{pump}/Slow/invoke", json=body)
    assert time.monotonic() - started < 0.9
    assert response.status_code == 200
    assert response.json["executionState"] == "Timeout"
    assert response.json["success"] is False
    assert "0.2" in response.json["messages"][0]["text"]


def test_async_timeout(client, pump):
    body = {"inputArguments": [{"value": prop("Seconds", "0.6", "xs:double")}], "clientTimeoutDuration": "PT0.2S"}
    response = client.post(f"{pump}/Slow/invoke-async", json=body)
    assert response.status_code == 202
    time.sleep(0.3)
    result = wait_for_result(client, response.headers["Location"])
    assert result.json["executionState"] == "Timeout"
    # once the handler finishes late, the stored result stays a timeout
    time.sleep(0.5)
    assert client.get(response.headers["Location"].replace("operation-status", "operation-results")).json[
        "executionState"] == "Timeout"


def test_handler_by_path_within_time(client, pump):
    body = {"inputArguments": [{"value": prop("Seconds", "0", "xs:double")}], "clientTimeoutDuration": "PT5S"}
    response = client.post(f"{pump}/Slow/invoke", json=body)
    assert response.json["executionState"] == "Completed"
    assert response.json["outputArguments"] == [{"value": prop("Done", "true", "xs:boolean")}]
