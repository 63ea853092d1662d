"""Registry and discovery through an external port, over real HTTP on both stores: a partner finds the twins it may
see by the asset ids it may see, and nothing confirms an asset id hidden from it.

The data and read policy are the leak hunt's (``leak_policy``): the pump's ``partInstanceId`` is visible to BPN A
only, its ``manufacturerPartId`` is PUBLIC_READABLE, its ``customerAssetNo`` internal (no externalSubjectId), and
the hidden shell is granted to nobody. A second, writable external port lets partners register descriptors of
twins held elsewhere in bulk (SSP-003); a bulk outcome is read by its handle, and only by the partner who made it.
"""
from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from typing import Any
from urllib.parse import urljoin

import pytest
import requests
import yaml

from aas_server.model.ids import encode_id
from aas_server.store import opened_store
from tests.conftest import module_store_settings, server_env
from tests.factories import b64_json, uid
from tests.harness.server import GunicornServer
from tests.integration import leak_policy as lp

pytestmark = pytest.mark.integration

DATA_PLANE_SECRET = "external-discovery-data-plane-secret"
SERIAL = {"name": "partInstanceId", "value": lp.SERIAL}  # BPN A only
PUBLIC = {"name": "manufacturerPartId", "value": "MPN-4711"}  # PUBLIC_READABLE
INTERNAL = {"name": "customerAssetNo", "value": "LEAK-7f3a91-CUST"}  # no externalSubjectId: internal
GLOBAL = {"name": "globalAssetId", "value": "urn:leak:asset:pump-1"}
HIDDEN_GLOBAL = {"name": "globalAssetId", "value": "urn:leak:asset:LEAK-hidden-asset"}  # of the hidden shell
NOBODYS = {"name": "partInstanceId", "value": "000000"}  # no shell has it


def _partner_rules() -> dict[str, Any]:
    """Any partner (a BPN) may read and write shell descriptors: the policy of a registry partners register in."""
    return {"AllAccessPermissionRules": {"rules": [{
        "ACL": {"ATTRIBUTES": [{"CLAIM": "BPN"}], "RIGHTS": ["CREATE", "READ", "UPDATE", "DELETE"], "ACCESS": "ALLOW"},
        "OBJECTS": [{"DESCRIPTOR": '$aasdesc("*")'}],
        "FORMULA": {"$regex": [{"$attribute": {"CLAIM": "BPN"}}, {"$strVal": "^BPNL[0-9A-Z]{12}$"}]}}]}}


@pytest.fixture(scope="module", params=["embedded", "mongo"])
def root(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    folder = tmp_path_factory.mktemp("external-discovery")
    settings = module_store_settings(request, folder)
    with opened_store(settings) as store:
        lp.load(store)
    rules_file, masking_file = lp.write_policy(folder)
    (folder / "partner_rules.json").write_text(json.dumps(_partner_rules()))
    auth = {"anonymous": True, "data_plane": {"secret_env": "AAS_TEST_DATA_PLANE_SECRET", "header": "X-Data-Plane-Token"}}
    ports = {"ports": [
        {"name": "internal", "internal": True, "prefix": "", "auth": {"anonymous": True}},
        {"name": "external", "internal": False, "prefix": "/external", "rules": str(rules_file),
         "masking": str(masking_file), "auth": auth},
        {"name": "partners", "internal": False, "prefix": "/partners", "writable": True,
         "rules": str(folder / "partner_rules.json"), "auth": auth},
    ]}
    (folder / "ports.yaml").write_text(yaml.safe_dump(ports))
    env = {**server_env(settings), "AAS_PORTS_FILE": str(folder / "ports.yaml"),
           "AAS_TEST_DATA_PLANE_SECRET": DATA_PLANE_SECRET, lp.SECRET_ENV: lp.MASKING_SECRET}
    with GunicornServer(env) as running:
        yield running.url


def partner(bpn: str) -> requests.Session:
    session = requests.Session()
    session.headers.update({"X-Data-Plane-Token": DATA_PLANE_SECRET, "Edc-Bpn": bpn})
    return session


def _get(session: requests.Session, url: str, **kwargs: Any) -> Any:
    response = session.get(url, timeout=30, **kwargs)
    assert response.status_code == 200, f"{url}: {response.status_code} {response.text}"
    return response.json()


def not_found_text(session: requests.Session, prefix: str, identifier: str, encode: bool = True) -> str:
    """The 404 message for ``identifier`` with the identifier itself taken out, to compare hidden with missing."""
    response = session.get(prefix + (encode_id(identifier) if encode else identifier), allow_redirects=False,
                           timeout=30)
    assert response.status_code == 404, response.text
    return str(response.json()["messages"][0]["text"]).replace(identifier, "<id>")


def lookup(session: requests.Session, api: str, *asset_ids: dict[str, str]) -> list[str]:
    """The shells found by GET /lookup/shells, checked against POST /lookup/shellsByAssetLink."""
    found = _get(session, f"{api}/lookup/shells", params={"assetIds": [b64_json(a) for a in asset_ids]})["result"]
    posted = session.post(f"{api}/lookup/shellsByAssetLink", json=list(asset_ids), timeout=30)
    assert posted.status_code == 200, posted.text
    assert posted.json()["result"] == found
    return found


def shells_with(session: requests.Session, api: str, asset_id: dict[str, str]) -> list[str]:
    found = _get(session, f"{api}/shells", params={"assetIds": b64_json(asset_id)})["result"]
    return [s["id"] for s in found]


def test_lookup_finds_the_shell_by_visible_asset_ids_only(root: str) -> None:
    api = f"{root}/external/api/v3.1"
    a, b = partner(lp.BPN_A), partner(lp.BPN_B)
    assert lookup(requests.Session(), f"{root}/api/v3.1", INTERNAL) == [lp.SHELL]  # there, internally
    assert lookup(a, api, SERIAL) == [lp.SHELL]
    assert lookup(a, api, SERIAL, PUBLIC) == [lp.SHELL]
    for session in (a, b):
        assert lookup(session, api, PUBLIC) == [lp.SHELL]
        assert lookup(session, api, GLOBAL) == [lp.SHELL]
        # hidden from this BPN: the same empty answer as an id no shell has
        assert lookup(session, api, INTERNAL) == lookup(session, api, NOBODYS) == []
        assert lookup(session, api, HIDDEN_GLOBAL) == []
        assert lookup(session, api, PUBLIC, INTERNAL) == []  # all given ids must match, hidden ones never do
    assert lookup(b, api, SERIAL) == lookup(b, api, PUBLIC, SERIAL) == []


def test_asset_links_of_a_shell_are_the_visible_ones(root: str) -> None:
    api = f"{root}/external/api/v3.1"
    internal = _get(requests.Session(), f"{root}/api/v3.1/lookup/shells/{encode_id(lp.SHELL)}")
    assert {link["name"] for link in internal} == {"globalAssetId", "partInstanceId", "customerAssetNo",
                                                  "manufacturerPartId"}
    for bpn, names in ((lp.BPN_A, {"globalAssetId", "partInstanceId", "manufacturerPartId"}),
                       (lp.BPN_B, {"globalAssetId", "manufacturerPartId"})):
        links = _get(partner(bpn), f"{api}/lookup/shells/{encode_id(lp.SHELL)}")
        assert {link["name"] for link in links} == names
        assert [link for link in links if link["name"] != "globalAssetId"] == [
            link for link in internal if link["name"] in names - {"globalAssetId"}]
    assert not_found_text(partner(lp.BPN_A), f"{api}/lookup/shells/", lp.HIDDEN_SHELL) == \
        not_found_text(partner(lp.BPN_A), f"{api}/lookup/shells/", "urn:leak:aas:missing")


def test_shell_descriptors_carry_the_visible_specific_asset_ids_only(root: str) -> None:
    api = f"{root}/external/api/v3.1"
    for bpn, names in ((lp.BPN_A, ["partInstanceId", "manufacturerPartId"]), (lp.BPN_B, ["manufacturerPartId"])):
        session = partner(bpn)
        listed = _get(session, f"{api}/shell-descriptors")["result"]
        assert [d["id"] for d in listed] == [lp.SHELL]  # the hidden shell's descriptor is hidden with it
        one = _get(session, f"{api}/shell-descriptors/{encode_id(lp.SHELL)}")
        for descriptor in (listed[0], one):
            assert sorted(s["name"] for s in descriptor["specificAssetIds"]) == sorted(names)
            assert descriptor["globalAssetId"] == GLOBAL["value"]
            assert descriptor["endpoints"][0]["protocolInformation"]["href"].startswith(f"{api}/shells/")


def test_shells_filtered_by_asset_id_never_confirm_a_hidden_one(root: str) -> None:
    api = f"{root}/external/api/v3.1"
    a, b = partner(lp.BPN_A), partner(lp.BPN_B)
    assert shells_with(requests.Session(), f"{root}/api/v3.1", SERIAL) == [lp.SHELL]  # it exists
    assert shells_with(a, api, SERIAL) == shells_with(a, api, PUBLIC) == [lp.SHELL]
    assert shells_with(b, api, PUBLIC) == [lp.SHELL]
    assert shells_with(b, api, SERIAL) == shells_with(b, api, NOBODYS) == []
    for session in (a, b):
        assert shells_with(session, api, INTERNAL) == shells_with(session, api, HIDDEN_GLOBAL) == []


def test_a_bulk_outcome_is_read_by_the_partner_who_made_it_only(root: str) -> None:
    api = f"{root}/partners/api/v3.1"
    a, b = partner(lp.BPN_A), partner(lp.BPN_B)
    identifier = uid("remote-shell")
    descriptor = {"id": identifier, "idShort": "Remote", "assetKind": "Instance", "globalAssetId": uid("asset"),
                  "endpoints": [{"interface": "AAS-3.0", "protocolInformation": {
                      "href": f"https://other.example.com/api/v3.0/shells/{encode_id(identifier)}"}}]}
    accepted = a.post(f"{api}/bulk/shell-descriptors", json=[descriptor], timeout=30)
    assert accepted.status_code == 202, accepted.text
    status_url = urljoin(accepted.url, accepted.headers["Location"])
    assert status_url.startswith(f"{api}/bulk/status/")  # answered by the same port
    status = a.get(status_url, allow_redirects=False, timeout=30)
    assert status.status_code == 302, status.text
    assert status.headers["Location"].startswith("/partners/api/v3.1/bulk/result/")
    assert a.get(urljoin(status_url, status.headers["Location"]), timeout=30).status_code == 204
    assert _get(b, f"{api}/shell-descriptors/{encode_id(identifier)}")["id"] == identifier  # the rules allow B
    base, handle = status_url.rsplit("/", 1)
    assert not_found_text(b, f"{base}/", handle, encode=False) == \
        not_found_text(a, f"{base}/", uuid.uuid4().hex, encode=False)
    assert not_found_text(b, f"{base.replace('/status', '/result')}/", handle, encode=False) == \
        not_found_text(a, f"{base.replace('/status', '/result')}/", uuid.uuid4().hex, encode=False)
