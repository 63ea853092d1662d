"""Stateless API replicas: several gunicorn arbiters (as on several machines) against one MongoDB-wire store,
with no sticky sessions; and /metrics merged across the workers of one arbiter."""
from __future__ import annotations

import itertools
import re
import uuid
from typing import Iterator

import pytest
import requests

from aas_server.settings import Settings
from aas_server.store import open_store
from tests.conftest import server_env
from tests.factories import b64, operation, prop, submodel
from tests.harness.server import GunicornServer
from tests.integration.ingest_support import SERIAL_EXPORT, run

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def shared_settings(mongo_uri: str, tmp_path_factory: pytest.TempPathFactory) -> Settings:
    return Settings(mongodb_uri=mongo_uri, mongodb_database=f"aas_test_{uuid.uuid4().hex[:12]}",
                    data_dir=str(tmp_path_factory.mktemp("replicas")))


@pytest.fixture(scope="module")
def replicas(shared_settings: Settings) -> Iterator[list[str]]:
    env = server_env(shared_settings)
    with GunicornServer(env, workers=2) as a, GunicornServer(env, workers=2) as b:
        yield [f"{a.url}/api/v3.1", f"{b.url}/api/v3.1"]


def test_every_write_is_read_back_through_the_other_replica(replicas: list[str]) -> None:
    sm_id = f"urn:test:sm:{uuid.uuid4().hex}"
    path = f"/submodels/{b64(sm_id)}"
    created = requests.post(f"{replicas[0]}/submodels", json=submodel(sm_id, elements=[prop("Counter", "0")]),
                            timeout=10)
    assert created.status_code == 201, created.text
    for n, (writer, reader) in zip(range(1, 41), itertools.cycle([replicas, replicas[::-1]])):
        written = requests.patch(f"{writer}{path}/submodel-elements/Counter/$value", json=str(n), timeout=10)
        assert written.status_code == 204, written.text
        read = requests.get(f"{reader}{path}/submodel-elements/Counter/$value", timeout=10)
        assert read.json() == {"Counter": n}, f"write {n} through one replica, the other read {read.text}"
    assert requests.delete(f"{replicas[1]}{path}", timeout=10).status_code == 204
    assert requests.get(f"{replicas[0]}{path}", timeout=10).status_code == 404


def test_an_async_operation_started_on_one_replica_is_answered_by_the_other(replicas: list[str]) -> None:
    sm_id = f"urn:test:sm:{uuid.uuid4().hex}"
    requests.post(f"{replicas[0]}/submodels", json=submodel(sm_id, elements=[operation("Unbound")]), timeout=10)
    started = requests.post(f"{replicas[0]}/submodels/{b64(sm_id)}/submodel-elements/Unbound/invoke-async",
                            json={"inputArguments": []}, timeout=10)
    assert started.status_code == 202, started.text
    handle = started.headers["Location"].rsplit("/operation-status/", 1)[1]
    status_url = f"{replicas[1]}/submodels/{b64(sm_id)}/submodel-elements/Unbound/operation-results/{handle}"
    for _ in range(50):
        result = requests.get(status_url, timeout=10)
        if result.status_code == 200 and result.json().get("executionState") != "Running":
            break
    assert result.status_code == 200, result.text
    assert result.json()["executionState"] == "Failed"  # no handler registered: a clear failure, on either replica


def test_metrics_are_merged_across_workers_and_name_the_series(replicas: list[str]) -> None:
    root = replicas[0].rsplit("/api/", 1)[0]
    for _ in range(20):  # spread over both workers of the arbiter
        assert requests.get(f"{replicas[0]}/shells", timeout=10).status_code == 200
    text = requests.get(f"{root}/metrics", timeout=10).text
    served = sum(float(m) for m in re.findall(
        r'^aas_http_requests_total\{[^}]*route="/api/v3.1/shells"[^}]*status="200"[^}]*\} (\S+)$', text, re.M))
    assert served >= 20
    for series in ("aas_http_request_duration_seconds_bucket", "aas_store_operation_duration_seconds_count"):
        assert re.search(rf"^{series}\{{", text, re.M), series
    assert requests.get(f"{root}/health/ready", timeout=10).json()["status"] == "UP"


def test_metrics_kept_in_the_store_are_the_same_on_every_replica(replicas: list[str], shared_settings: Settings) -> None:
    store = open_store(shared_settings)
    try:
        run(store, "serial_units_export", SERIAL_EXPORT)  # the sample has two rows that must be rejected
        store.put_record("gateway-health", "pump-line/line-1", {
            "mapping": "pump-line", "source": "line-1", "connected": False, "staleElements": ["sm#A", "sm#B"],
            "badElements": [], "lastValueTime": "2026-11-25T10:00:00+00:00", "valuesWritten": 7, "reconnects": 3})
        store.put_record("dp-budgets", "BPNL000000000001", {"partner": "BPNL000000000001", "spent": 0.75})
    finally:
        store.close()
    for api in replicas:
        text = requests.get(f"{api.rsplit('/api/', 1)[0]}/metrics", timeout=10).text
        assert 'aas_ingest_records_total{adapter="erp-flat",outcome="rejected"} 2.0' in text
        assert 'aas_opcua_connected{mapping="pump-line",source="line-1"} 0.0' in text
        assert 'aas_opcua_stale_elements{mapping="pump-line",source="line-1"} 2.0' in text
        assert 'aas_privacy_epsilon_spent{partner="BPNL000000000001"} 0.75' in text
