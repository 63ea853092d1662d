"""Registering into an external registry: a second aas-server under gunicorn acts as the Digital Twin Registry.

Server A (both stores) queues its shell descriptors in the outbox; the pusher fails against a dead address
(reported on the record and at /internal/registry/outbox, kept), then delivers to B once reachable.
"""
from __future__ import annotations

import dataclasses
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from aas_server.registry.outbox import Pusher
from aas_server.settings import Settings
from aas_server.store import open_store
from tests.conftest import server_env
from tests.factories import b64, b64_json, shell, submodel
from tests.harness.server import GunicornServer, free_port

pytestmark = pytest.mark.integration

PUBLIC = "https://twins.example.com"


@pytest.fixture(scope="module")
def external_registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """API root of a second aas-server, the external registry (shared: the tests use unique ids)."""
    data_dir = tmp_path_factory.mktemp("dtr")
    with GunicornServer({"AAS_DATA_DIR": str(data_dir), "AAS_LOG_LEVEL": "WARNING"}, workers=1) as server:
        yield f"{server.url}/api/v3.1"


@pytest.fixture()
def pushing(settings: Settings, external_registry: str) -> Iterator[tuple[str, Settings]]:
    """Server A (base URL) configured to push to the external registry, and its settings."""
    pushed = dataclasses.replace(settings, registry_push_url=external_registry, public_base_url=PUBLIC)
    env = {**server_env(settings), "AAS_REGISTRY_PUSH_URL": external_registry, "AAS_PUBLIC_BASE_URL": PUBLIC}
    with GunicornServer(env, workers=1, log_dir=Path(settings.data_dir)) as server:
        yield server.url, pushed


def outbox(http: requests.Session, base: str) -> dict:
    response = http.get(f"{base}/internal/registry/outbox")
    assert response.status_code == 200, response.text
    return response.json()


def test_descriptors_reach_the_external_registry_after_failures(http, pushing, external_registry):
    base, settings = pushing
    sm = submodel(id_short="Nameplate")
    aas = shell(specific=(("manufacturerPartId", "MPN-7"),), submodels=(sm["id"],))
    assert http.post(f"{base}/api/v3.1/submodels", json=sm).status_code == 201
    assert http.post(f"{base}/api/v3.1/shells", json=aas).status_code == 201
    assert outbox(http, base)["pending"] >= 1

    store = open_store(settings)
    try:
        dead = dataclasses.replace(settings, registry_push_url=f"http://127.0.0.1:{free_port()}/api/v3.1")
        pushed, failed = Pusher(store, dead).push_due()
        assert pushed == 0 and failed == outbox(http, base)["pending"]
        failing = outbox(http, base)["failing"]
        assert failing and all(r["attempts"] == 1 and "refused" in r["lastError"].lower() for r in failing)
        assert Pusher(store, settings).push_due() == (0, 0)  # not due yet: back-off
        time.sleep(2.1)
        pushed, failed = Pusher(store, settings).push_due()
        assert pushed >= 1 and failed == 0
        assert outbox(http, base) == {"pending": 0, "failing": []}

        remote = http.get(f"{external_registry}/shell-descriptors/{b64(aas['id'])}").json()
        assert remote["endpoints"][0]["protocolInformation"]["href"] == f"{PUBLIC}/api/v3.1/shells/{b64(aas['id'])}"
        assert remote["submodelDescriptors"][0]["endpoints"][0]["protocolInformation"]["href"] == \
            f"{PUBLIC}/api/v3.1/submodels/{b64(sm['id'])}"
        found = http.get(f"{external_registry}/lookup/shells",
                         params={"assetIds": b64_json({"name": "manufacturerPartId", "value": "MPN-7"})}).json()
        assert found["result"] == [aas["id"]]

        renamed = {**sm, "idShort": "NameplateV2"}
        assert http.put(f"{base}/api/v3.1/submodels/{b64(sm['id'])}", json=renamed).status_code == 204
        assert Pusher(store, settings).push_due() == (1, 0)
        remote = http.get(f"{external_registry}/shell-descriptors/{b64(aas['id'])}").json()
        assert remote["submodelDescriptors"][0]["idShort"] == "NameplateV2"

        assert http.delete(f"{base}/api/v3.1/shells/{b64(aas['id'])}").status_code == 204
        assert Pusher(store, settings).push_due() == (1, 0)
        assert http.get(f"{external_registry}/shell-descriptors/{b64(aas['id'])}").status_code == 404
    finally:
        if settings.mongodb_uri:
            store.drop()  # type: ignore[attr-defined]
        store.close()
