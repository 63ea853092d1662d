"""Port dispatch and the disclosure audit over real HTTP: one gunicorn serving an internal port, an external port by
path prefix and a partner port on its own listener, with the same handlers."""
from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
import yaml

from aas_server import cli
from aas_server.settings import Settings
from aas_server.store import open_store
from aas_server.store.base import PageRequest
from tests.factories import b64, operation, prop, shell, submodel
from tests.harness.server import GunicornServer, free_port

pytestmark = pytest.mark.integration

SECRET = "dp-" + uuid.uuid4().hex
BPN = "BPNL00000000000A"
PARTNER = {"X-Data-Plane-Token": SECRET, "Edc-Bpn": BPN, "Edc-Contract-Agreement-Id": "agreement-42"}
PUBLIC_URL = "https://partner.example.com/external"
#: callers with a BPN may read everything (the external port under test masks nothing: audit and dispatch only)
READ_FOR_BPN = {"AllAccessPermissionRules": {"rules": [
    {"ACL": {"ATTRIBUTES": [{"CLAIM": "BPN"}], "RIGHTS": ["READ"], "ACCESS": "ALLOW"},
     "OBJECTS": [{"ROUTE": "*"}], "FORMULA": {"$boolean": True}}]}}


class Ports:
    def __init__(self, url: str, partner_url: str, folder: Path, submodel_id: str) -> None:
        self.url = url
        self.partner_url = partner_url
        self.folder = folder
        self.submodel_id = submodel_id

    def api(self, prefix: str = "") -> str:
        return f"{self.url}{prefix}/api/v3.1"


def write_ports(folder: Path, partner_listen: str, rules: dict[str, Any] | None = None) -> dict[str, str]:
    """A ports file in ``folder`` and the environment of a server using it."""
    (folder / "rules.json").write_text(json.dumps(rules or READ_FOR_BPN))
    ports = {"ports": [
        {"name": "internal", "internal": True, "prefix": "", "auth": {"anonymous": True}},
        {"name": "external", "internal": False, "prefix": "/external", "rules": str(folder / "rules.json"),
         "auth": {"data_plane": {"secret_env": "AAS_TEST_DP_SECRET"}}, "public_base_url": PUBLIC_URL},
        {"name": "partner", "internal": False, "listen": partner_listen, "auth": {"anonymous": True}},
    ]}
    (folder / "ports.yaml").write_text(yaml.safe_dump(ports))
    return {"AAS_DATA_DIR": str(folder), "AAS_LOG_LEVEL": "WARNING", "AAS_PORTS_FILE": str(folder / "ports.yaml"),
            "AAS_TEST_DP_SECRET": SECRET}


@pytest.fixture(scope="module")
def ports(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Ports]:
    folder = tmp_path_factory.mktemp("ports")
    partner_listen = f"127.0.0.1:{free_port()}"
    with GunicornServer(write_ports(folder, partner_listen), extra_binds=(partner_listen,)) as server:
        sm = submodel(elements=[prop("Speed", "1450"), operation("Start", [prop("Rpm", None)])])
        created = requests.post(f"{server.url}/api/v3.1/submodels", json=sm, timeout=10)
        assert created.status_code == 201, created.text
        yield Ports(server.url, f"http://{partner_listen}", folder, sm["id"])


def audit_record(ports: Ports, release_id: str) -> dict[str, Any]:
    """The record of ``release_id`` through the internal endpoint, once the background writer has stored it."""
    deadline = time.monotonic() + 10
    while True:
        response = requests.get(f"{ports.url}/internal/audit/{release_id}", timeout=10)
        if response.status_code == 200 or time.monotonic() > deadline:
            assert response.status_code == 200, response.text
            return dict(response.json())
        time.sleep(0.1)


# -- dispatch -----------------------------------------------------------------------------------------------------


def test_the_same_handlers_serve_every_port(ports: Ports) -> None:
    path = f"/submodels/{b64(ports.submodel_id)}/submodel-elements/Speed/$value"
    assert requests.get(ports.api() + path, timeout=10).json() == {"Speed": 1450}
    assert requests.get(ports.api("/external") + path, headers=PARTNER, timeout=10).json() == {"Speed": 1450}


def test_a_listener_claimed_by_a_port_serves_that_port_only(ports: Ports) -> None:
    """The partner listener serves the partner port (deny-all rules) even at the internal port's prefix ""."""
    internal = requests.get(ports.api() + "/submodels", timeout=10).json()["result"]
    assert ports.submodel_id in [s["id"] for s in internal]
    response = requests.get(f"{ports.partner_url}/api/v3.1/submodels", timeout=10)
    assert response.status_code == 200 and response.json()["result"] == []
    assert "X-Release-Id" in response.headers
    assert requests.get(f"{ports.partner_url}/internal/audit", timeout=10).status_code == 404
    assert requests.get(f"{ports.partner_url}/external/api/v3.1/submodels", headers=PARTNER,
                        timeout=10).status_code == 404


def test_a_client_sent_script_name_cannot_move_a_request_to_another_port(ports: Ports) -> None:
    response = requests.get(ports.api("/external") + "/submodels", headers={"SCRIPT_NAME": "/external"}, timeout=10)
    assert response.status_code == 401


def test_prefixes_match_whole_path_segments(ports: Ports) -> None:
    assert requests.get(f"{ports.url}/externalx/api/v3.1/submodels", timeout=10).status_code == 404


@pytest.mark.parametrize("path", ["/internal/audit", "/internal/lineage/eA", "/internal/registry/outbox",
                                  "/metrics", "/health/gateway"])
def test_internal_routes_are_missing_on_external_ports(ports: Ports, path: str) -> None:
    missing = requests.get(f"{ports.url}/external/no/such/route", headers=PARTNER, timeout=10)
    response = requests.get(f"{ports.url}/external{path}", headers=PARTNER, timeout=10)
    assert response.status_code == 404
    assert response.json()["messages"][0]["text"] == missing.json()["messages"][0]["text"]


@pytest.mark.parametrize("suffix", ["invoke", "invoke/$value", "invoke-async", "invoke-async/$value"])
def test_operations_cannot_be_invoked_through_an_external_port(ports: Ports, suffix: str) -> None:
    url = ports.api("/external") + f"/submodels/{b64(ports.submodel_id)}/submodel-elements/Start/{suffix}"
    assert requests.post(url, json={}, headers=PARTNER, timeout=10).status_code == 404


def test_probes_answer_on_external_ports_without_credentials(ports: Ports) -> None:
    assert requests.get(f"{ports.url}/external/health/live", timeout=10).status_code == 200


def test_cors_preflight_needs_no_credentials_and_discloses_nothing(ports: Ports) -> None:
    response = requests.options(ports.api("/external") + "/submodels", timeout=10, headers={
        "Origin": "https://partner.example", "Access-Control-Request-Method": "GET"})
    assert response.status_code == 200 and response.content == b""
    assert "GET" in response.headers["Allow"]


def test_external_port_is_read_only(ports: Ports) -> None:
    path = f"/submodels/{b64(ports.submodel_id)}/submodel-elements/Speed/$value"
    response = requests.patch(ports.api("/external") + path, json=9999, headers=PARTNER, timeout=10)
    assert response.status_code == 403
    assert requests.get(ports.api() + path, timeout=10).json() == {"Speed": 1450}
    deleted = requests.delete(ports.api("/external") + f"/submodels/{b64(ports.submodel_id)}", headers=PARTNER,
                              timeout=10)
    assert deleted.status_code == 403
    assert requests.get(ports.api() + f"/submodels/{b64(ports.submodel_id)}", timeout=10).status_code == 200


def test_descriptors_of_an_external_port_point_at_its_public_url(ports: Ports) -> None:
    aas = shell(submodels=(ports.submodel_id,))
    assert requests.post(ports.api() + "/shells", json=aas, timeout=10).status_code == 201
    descriptor = requests.get(ports.api("/external") + f"/shell-descriptors/{b64(aas['id'])}", headers=PARTNER,
                              timeout=10).json()
    href = descriptor["endpoints"][0]["protocolInformation"]["href"]
    assert href.startswith(PUBLIC_URL + "/api/v3.1/shells/"), href
    internal = requests.get(ports.api() + f"/shell-descriptors/{b64(aas['id'])}", timeout=10).json()
    assert internal["endpoints"][0]["protocolInformation"]["href"].startswith(ports.url + "/api/v3.1/shells/")


# -- audit --------------------------------------------------------------------------------------------------------


def test_external_response_is_audited_with_partner_and_disclosures(ports: Ports) -> None:
    response = requests.get(ports.api("/external") + f"/submodels/{b64(ports.submodel_id)}", headers=PARTNER,
                            timeout=10)
    assert response.status_code == 200
    record = audit_record(ports, response.headers["X-Release-Id"])
    assert record["port"] == "external" and record["status"] == 200
    assert record["bpn"] == BPN and record["contractAgreement"] == "agreement-42"
    assert record["path"] == f"/external/api/v3.1/submodels/{b64(ports.submodel_id)}"
    assert record["requestId"] == response.headers["X-Request-Id"]
    assert {"submodelId": ports.submodel_id, "form": "raw"}.items() <= record["disclosures"][0].items()


def test_refused_requests_are_audited_too(ports: Ports) -> None:
    response = requests.get(ports.api("/external") + "/submodels", headers={"Edc-Bpn": BPN}, timeout=10)
    assert response.status_code == 401
    record = audit_record(ports, response.headers["X-Release-Id"])
    assert record["status"] == 401 and record["bpn"] is None and record["disclosures"] == []


def test_internal_responses_carry_no_release_id(ports: Ports) -> None:
    assert "X-Release-Id" not in requests.get(ports.api() + "/submodels", timeout=10).headers


def test_audit_list_since(ports: Ports) -> None:
    release_id = requests.get(ports.api("/external") + "/submodels", headers=PARTNER, timeout=10).headers[
        "X-Release-Id"]
    audit_record(ports, release_id)
    listed = requests.get(f"{ports.url}/internal/audit", params={"since": "2000-01-01T00:00:00", "limit": 1000},
                          timeout=10).json()["result"]
    assert release_id in [r["releaseId"] for r in listed]
    assert requests.get(f"{ports.url}/internal/audit", params={"since": "2999-01-01"}, timeout=10).json()[
        "result"] == []
    assert requests.get(f"{ports.url}/internal/audit", params={"since": "soon"}, timeout=10).status_code == 400


def test_audit_cli(ports: Ports, capsys: pytest.CaptureFixture[str]) -> None:
    release_id = requests.get(ports.api("/external") + "/submodels", headers=PARTNER, timeout=10).headers[
        "X-Release-Id"]
    audit_record(ports, release_id)
    requests.get(ports.api("/external") + "/submodels", timeout=10)  # another partner: anonymous, refused
    data_dir = ["--data-dir", str(ports.folder)]
    assert cli.main([*data_dir, "audit", "show", release_id]) == 0
    assert json.loads(capsys.readouterr().out)["bpn"] == BPN
    assert cli.main([*data_dir, "audit", "list", "--partner", BPN, "--limit", "1000"]) == 0
    records = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert release_id in [r["releaseId"] for r in records] and {r["bpn"] for r in records} == {BPN}
    assert cli.main([*data_dir, "audit", "show", "no-such-release"]) == 2


def test_queued_records_are_written_on_shutdown(tmp_path: Path) -> None:
    """With a flush interval far beyond the test, only the shutdown flush can have written the records."""
    env = {**write_ports(tmp_path, f"127.0.0.1:{free_port()}"), "AAS_AUDIT_FLUSH_INTERVAL_S": "600",
           "AAS_AUDIT_BATCH_SIZE": "100000"}
    with GunicornServer(env, workers=1) as server:
        release_ids = {requests.get(f"{server.url}/external/api/v3.1/submodels", headers=PARTNER,
                                    timeout=10).headers["X-Release-Id"] for _ in range(25)}
    store = open_store(Settings(data_dir=str(tmp_path)))
    try:
        stored = {r["releaseId"] for r in store.find_records("audit", PageRequest(1000)).items}
    finally:
        store.close()
    assert release_ids <= stored

