"""AAS Registry, Submodel Registry (with bulk) and Discovery over real HTTP, on both stores: descriptors that
follow the repository, registered descriptors of twins held elsewhere, filters, paging, lookups."""
from __future__ import annotations

from urllib.parse import urljoin

import pytest
import requests

from tests.factories import assert_result, b64, b64_json, prop, shell, submodel, uid

pytestmark = pytest.mark.integration


def created(response: requests.Response) -> dict:
    assert response.status_code == 201, response.text
    return response.json()


def external_descriptor(identifier: str | None = None, **extra: object) -> dict:
    """A descriptor of a twin held on another server (absolute hrefs)."""
    identifier = identifier or uid("remote-shell")
    return {"id": identifier, "idShort": "Remote", "assetKind": "Instance", "globalAssetId": uid("asset"),
            "endpoints": [{"interface": "AAS-3.0", "protocolInformation": {
                "href": f"https://other.example.com/api/v3.0/shells/{b64(identifier)}", "endpointProtocol": "HTTP"}}],
            **extra}


def submodel_descriptor(identifier: str | None = None, id_short: str = "Remote") -> dict:
    identifier = identifier or uid("remote-sm")
    return {"id": identifier, "idShort": id_short, "endpoints": [{"interface": "SUBMODEL-3.0", "protocolInformation": {
        "href": f"https://other.example.com/api/v3.0/submodels/{b64(identifier)}"}}]}


def href(descriptor: dict, interface: str) -> str:
    (found,) = [e["protocolInformation"]["href"] for e in descriptor["endpoints"] if e["interface"] == interface]
    return found


def lookup(http: requests.Session, api: str, *asset_ids: dict) -> list[str]:
    response = http.get(f"{api}/lookup/shells", params={"assetIds": [b64_json(a) for a in asset_ids]})
    assert response.status_code == 200, response.text
    return response.json()["result"]


@pytest.fixture()
def twin(http: requests.Session, api: str) -> tuple[dict, dict]:
    """A shell and its submodel, written through the repository API."""
    sm = submodel(id_short="Nameplate", semantic_id="urn:test:sem:nameplate", elements=[prop("Torque", "42")])
    aas = shell(id_short="Pump", specific=(("partInstanceId", uid("serial")),), submodels=(sm["id"],))
    created(http.post(f"{api}/shells", json=aas))
    created(http.post(f"{api}/submodels", json=sm))
    return aas, sm


# -- descriptors follow the repository -------------------------------------------------------------------------------


def test_shell_descriptor_follows_the_shell_with_endpoints_of_this_server(http, api, live_server, twin):
    aas, sm = twin
    descriptor = http.get(f"{api}/shell-descriptors/{b64(aas['id'])}").json()
    assert descriptor["idShort"] == "Pump"
    assert descriptor["globalAssetId"] == aas["assetInformation"]["globalAssetId"]
    assert descriptor["assetKind"] == "Instance"
    assert href(descriptor, "AAS-3.1") == f"{live_server}/api/v3.1/shells/{b64(aas['id'])}"
    assert href(descriptor, "AAS-3.0") == f"{live_server}/api/v3.0/shells/{b64(aas['id'])}"
    (sm_descriptor,) = descriptor["submodelDescriptors"]
    assert sm_descriptor["id"] == sm["id"]
    assert sm_descriptor["semanticId"] == sm["semanticId"]
    assert href(sm_descriptor, "SUBMODEL-3.0") == f"{live_server}/api/v3.0/submodels/{b64(sm['id'])}"
    assert http.get(href(descriptor, "AAS-3.1")).json()["id"] == aas["id"]
    assert http.get(f"{api}/submodel-descriptors/{b64(sm['id'])}").json() == sm_descriptor
    # the 3.0 interface serves the same descriptors with the same hrefs
    assert http.get(f"{live_server}/api/v3.0/shell-descriptors/{b64(aas['id'])}").json() == descriptor


def test_submodel_endpoint_answers_value_at_submodel_and_directly(http, api, twin):
    """CX-0002: a consumer appends /submodel/$value to the submodel endpoint's href."""
    _aas, sm = twin
    descriptor = http.get(f"{api}/submodel-descriptors/{b64(sm['id'])}").json()
    for interface in ("SUBMODEL-3.0", "SUBMODEL-3.1"):
        base = href(descriptor, interface)
        assert http.get(f"{base}/submodel/$value").json() == {"Torque": 42}
        assert http.get(f"{base}/$value").json() == {"Torque": 42}
        assert http.get(f"{base}/submodel").json()["id"] == sm["id"]


def test_renaming_changes_descriptors(http, api, twin):
    aas, sm = twin
    assert http.put(f"{api}/shells/{b64(aas['id'])}", json={**aas, "idShort": "PumpRenamed"}).status_code == 204
    assert http.put(f"{api}/submodels/{b64(sm['id'])}", json={**sm, "idShort": "NameplateV2"}).status_code == 204
    descriptor = http.get(f"{api}/shell-descriptors/{b64(aas['id'])}").json()
    assert descriptor["idShort"] == "PumpRenamed"
    assert descriptor["submodelDescriptors"][0]["idShort"] == "NameplateV2"
    assert http.get(f"{api}/submodel-descriptors/{b64(sm['id'])}").json()["idShort"] == "NameplateV2"


def test_submodel_created_after_its_shell_joins_the_shell_descriptor(http, api):
    sm = submodel()
    aas = shell(submodels=(sm["id"],))
    created(http.post(f"{api}/shells", json=aas))
    assert "submodelDescriptors" not in http.get(f"{api}/shell-descriptors/{b64(aas['id'])}").json()
    created(http.post(f"{api}/submodels", json=sm))
    descriptor = http.get(f"{api}/shell-descriptors/{b64(aas['id'])}").json()
    assert [d["id"] for d in descriptor["submodelDescriptors"]] == [sm["id"]]


def test_deleting_removes_descriptors_and_asset_links(http, api, twin):
    aas, sm = twin
    serial = aas["assetInformation"]["specificAssetIds"][0]
    assert lookup(http, api, serial) == [aas["id"]]
    assert http.delete(f"{api}/submodels/{b64(sm['id'])}").status_code == 204
    assert_result(http.get(f"{api}/submodel-descriptors/{b64(sm['id'])}"), 404)
    assert "submodelDescriptors" not in http.get(f"{api}/shell-descriptors/{b64(aas['id'])}").json()
    assert http.delete(f"{api}/shells/{b64(aas['id'])}").status_code == 204
    assert_result(http.get(f"{api}/shell-descriptors/{b64(aas['id'])}"), 404)
    assert_result(http.get(f"{api}/lookup/shells/{b64(aas['id'])}"), 404)
    assert lookup(http, api, serial) == []


def test_changing_asset_information_changes_lookups(http, api, twin):
    aas, _sm = twin
    old = aas["assetInformation"]["specificAssetIds"][0]
    new = {"name": "partInstanceId", "value": uid("serial")}
    info = {**aas["assetInformation"], "specificAssetIds": [new]}
    assert http.put(f"{api}/shells/{b64(aas['id'])}/asset-information", json=info).status_code == 204
    assert lookup(http, api, old) == []
    assert lookup(http, api, new) == [aas["id"]]


def test_descriptors_of_this_repository_are_not_written_through_the_registry(http, api, twin):
    aas, sm = twin
    target = f"{api}/shell-descriptors/{b64(aas['id'])}"
    assert_result(http.put(target, json=external_descriptor(aas["id"])), 409, "/shells/")
    assert_result(http.delete(target), 409)
    assert_result(http.post(f"{api}/shell-descriptors", json=external_descriptor(aas["id"])), 409)
    assert_result(http.delete(f"{api}/submodel-descriptors/{b64(sm['id'])}"), 409, "/submodels/")
    assert_result(http.post(f"{target}/submodel-descriptors", json=submodel_descriptor()), 409)
    assert_result(http.post(f"{api}/lookup/shells/{b64(aas['id'])}", json=[{"name": "x", "value": "y"}]), 409,
                  "asset-information")


# -- registered descriptors ------------------------------------------------------------------------------------------


def test_registered_shell_descriptor_lifecycle(http, api):
    descriptor = external_descriptor(specificAssetIds=[{"name": "partInstanceId", "value": uid("serial")}])
    response = http.post(f"{api}/shell-descriptors", json=descriptor)
    assert created(response) == descriptor
    target = f"{api}/shell-descriptors/{b64(descriptor['id'])}"
    assert response.headers["Location"].endswith(f"/shell-descriptors/{b64(descriptor['id'])}")
    assert http.get(target).json() == descriptor
    assert_result(http.post(f"{api}/shell-descriptors", json=descriptor), 409)
    assert lookup(http, api, descriptor["specificAssetIds"][0]) == [descriptor["id"]]
    changed = {**descriptor, "idShort": "Renamed", "assetType": "urn:test:type:remote"}
    assert http.put(target, json=changed).status_code == 204
    assert http.get(target).json() == changed
    assert http.delete(target).status_code == 204
    assert_result(http.get(target), 404)
    assert lookup(http, api, descriptor["specificAssetIds"][0]) == []
    fresh = external_descriptor()
    assert created(http.put(f"{api}/shell-descriptors/{b64(fresh['id'])}", json=fresh)) == fresh


def test_submodel_descriptors_through_the_shell_descriptor(http, api):
    descriptor = external_descriptor()
    created(http.post(f"{api}/shell-descriptors", json=descriptor))
    base = f"{api}/shell-descriptors/{b64(descriptor['id'])}/submodel-descriptors"
    first, second, third = (submodel_descriptor() for _ in range(3))
    for sm in (first, second, third):
        assert created(http.post(base, json=sm)) == sm
    assert_result(http.post(base, json=first), 409)
    page = http.get(base, params={"limit": 2}).json()
    assert page["result"] == [first, second]
    rest = http.get(base, params={"limit": 2, "cursor": page["paging_metadata"]["cursor"]}).json()
    assert rest == {"paging_metadata": {}, "result": [third]}
    assert http.get(f"{base}/{b64(second['id'])}").json() == second
    renamed = {**second, "idShort": "Renamed"}
    assert http.put(f"{base}/{b64(second['id'])}", json=renamed).status_code == 204
    assert http.get(f"{base}/{b64(second['id'])}").json() == renamed
    assert http.delete(f"{base}/{b64(first['id'])}").status_code == 204
    assert_result(http.get(f"{base}/{b64(first['id'])}"), 404)
    assert [d["id"] for d in http.get(base).json()["result"]] == [second["id"], third["id"]]
    assert_result(http.get(f"{api}/shell-descriptors/{b64(uid())}/submodel-descriptors"), 404)


def test_submodel_registry_lifecycle_and_paging(http, api):
    tag = uid("batch")
    descriptors = [submodel_descriptor(f"{tag}:{i}") for i in range(3)]
    for d in descriptors:
        response = http.post(f"{api}/submodel-descriptors", json=d)
        assert created(response) == d
        assert response.headers["Location"].endswith(b64(d["id"]))
    target = f"{api}/submodel-descriptors/{b64(descriptors[0]['id'])}"
    assert http.get(target).json() == descriptors[0]
    assert http.put(target, json={**descriptors[0], "idShort": "Changed"}).status_code == 204
    assert http.get(target).json()["idShort"] == "Changed"
    seen, cursor = [], None
    while True:
        body = http.get(f"{api}/submodel-descriptors", params={"limit": 2, **({"cursor": cursor} if cursor else {})}).json()
        seen += [d["id"] for d in body["result"]]
        cursor = body["paging_metadata"].get("cursor")
        if not cursor:
            break
    assert len(seen) == len(set(seen))
    assert {d["id"] for d in descriptors} <= set(seen)
    assert http.delete(target).status_code == 204
    assert_result(http.get(target), 404)


def test_asset_kind_and_asset_type_filters_with_paging(http, api):
    asset_type = uid("type")
    ids = set()
    for i in range(5):
        aas = shell()
        aas["assetInformation"]["assetType"] = asset_type
        aas["assetInformation"]["assetKind"] = "Type" if i == 4 else "Instance"
        created(http.post(f"{api}/shells", json=aas))
        ids.add(aas["id"])
    seen, pages, cursor = [], 0, None
    while True:
        params = {"assetType": b64(asset_type), "assetKind": "Instance", "limit": 2, **({"cursor": cursor} if cursor else {})}
        body = http.get(f"{api}/shell-descriptors", params=params).json()
        seen += [d["id"] for d in body["result"]]
        pages += 1
        cursor = body["paging_metadata"].get("cursor")
        if not cursor:
            break
    assert len(seen) == 4 == len(set(seen)) and set(seen) < ids
    assert pages == 2
    types = http.get(f"{api}/shell-descriptors", params={"assetType": b64(asset_type), "assetKind": "Type"}).json()
    assert [d["assetKind"] for d in types["result"]] == ["Type"]
    assert_result(http.get(f"{api}/shell-descriptors", params={"assetKind": "Sometimes"}), 400, "assetKind")


@pytest.mark.parametrize(("body", "path"), [
    ({"idShort": "NoId"}, "id"),
    ({"id": "urn:x", "idShort": "1bad"}, "idShort"),
    ({"id": "urn:x", "endpoints": [{"interface": "AAS-3.0", "protocolInformation": {}}]},
     "endpoints[0].protocolInformation.href"),
    ({"id": "urn:x", "submodelDescriptors": [{"id": "urn:y"}]}, "submodelDescriptors[0].endpoints"),
    ({"id": "urn:x", "colour": "red"}, "colour"),
    ({"id": "urn:x", "assetKind": "Sometimes"}, "assetKind"),
])
def test_invalid_descriptors_are_400_naming_the_attribute(http, api, body, path):
    assert_result(http.post(f"{api}/shell-descriptors", json=body), 400, path)


# -- bulk ----------------------------------------------------------------------------------------------------------


def follow_bulk(http: requests.Session, response: requests.Response) -> requests.Response:
    assert response.status_code == 202, response.text
    status = http.get(urljoin(response.url, response.headers["Location"]), allow_redirects=False)
    assert status.status_code == 302
    return http.get(urljoin(status.url, status.headers["Location"]))


def test_bulk_shell_descriptors_all_or_nothing(http, api):
    descriptors = [external_descriptor() for _ in range(3)]
    assert follow_bulk(http, http.post(f"{api}/bulk/shell-descriptors", json=descriptors)).status_code == 204
    for d in descriptors:
        assert http.get(f"{api}/shell-descriptors/{b64(d['id'])}").json() == d
    fresh = external_descriptor()
    failed = follow_bulk(http, http.post(f"{api}/bulk/shell-descriptors", json=[fresh, descriptors[0]]))
    assert_result(failed, 400, "rolled back", "[1]")
    assert_result(http.get(f"{api}/shell-descriptors/{b64(fresh['id'])}"), 404)
    changed = [{**d, "idShort": "Bulk"} for d in descriptors]
    assert follow_bulk(http, http.put(f"{api}/bulk/shell-descriptors", json=changed)).status_code == 204
    assert http.get(f"{api}/shell-descriptors/{b64(descriptors[1]['id'])}").json()["idShort"] == "Bulk"
    missing = follow_bulk(http, http.delete(f"{api}/bulk/shell-descriptors", json=[descriptors[0]["id"], uid()]))
    assert_result(missing, 400, "rolled back")
    assert http.get(f"{api}/shell-descriptors/{b64(descriptors[0]['id'])}").status_code == 200
    ids = [d["id"] for d in descriptors]
    assert follow_bulk(http, http.delete(f"{api}/bulk/shell-descriptors", json=ids)).status_code == 204
    assert_result(http.get(f"{api}/shell-descriptors/{b64(ids[2])}"), 404)
    assert_result(http.get(f"{api}/bulk/status/{uid()}"), 404)
    assert_result(http.post(f"{api}/bulk/shell-descriptors", json=[]), 400, "non-empty array")


def test_bulk_submodel_descriptors(http, api):
    descriptors = [submodel_descriptor() for _ in range(2)]
    assert follow_bulk(http, http.post(f"{api}/bulk/submodel-descriptors", json=descriptors)).status_code == 204
    assert http.get(f"{api}/submodel-descriptors/{b64(descriptors[1]['id'])}").json() == descriptors[1]
    invalid = follow_bulk(http, http.put(f"{api}/bulk/submodel-descriptors", json=[descriptors[0], {"id": "urn:x"}]))
    assert_result(invalid, 400, "[1]", "endpoints")
    ids = [d["id"] for d in descriptors]
    assert follow_bulk(http, http.delete(f"{api}/bulk/submodel-descriptors", json=ids)).status_code == 204
    assert_result(http.get(f"{api}/submodel-descriptors/{b64(ids[0])}"), 404)


# -- discovery -----------------------------------------------------------------------------------------------------


def test_lookup_by_one_or_many_asset_ids(http, api):
    part = {"name": "manufacturerPartId", "value": uid("mpn")}
    serials = [{"name": "partInstanceId", "value": uid("serial")} for _ in range(2)]
    shells = [shell(specific=((part["name"], part["value"]), (s["name"], s["value"]))) for s in serials]
    for aas in shells:
        created(http.post(f"{api}/shells", json=aas))
    assert sorted(lookup(http, api, part)) == sorted(s["id"] for s in shells)
    assert lookup(http, api, part, serials[1]) == [shells[1]["id"]]
    # one assetIds argument holding an array, as Catena-X clients send it
    response = http.get(f"{api}/lookup/shells", params={"assetIds": b64_json([part, serials[0]])})
    assert response.json()["result"] == [shells[0]["id"]]
    global_id = {"name": "globalAssetId", "value": shells[0]["assetInformation"]["globalAssetId"]}
    assert lookup(http, api, global_id) == [shells[0]["id"]]
    by_link = http.post(f"{api}/lookup/shellsByAssetLink", json=[part], params={"limit": 1})
    first = by_link.json()
    assert len(first["result"]) == 1 and first["paging_metadata"]["cursor"]
    second = http.post(f"{api}/lookup/shellsByAssetLink", json=[part],
                       params={"limit": 1, "cursor": first["paging_metadata"]["cursor"]}).json()
    assert sorted(first["result"] + second["result"]) == sorted(s["id"] for s in shells)
    assert lookup(http, api, {"name": "partInstanceId", "value": uid()}) == []


def test_bad_lookup_arguments_are_400(http, api):
    assert_result(http.get(f"{api}/lookup/shells", params={"assetIds": "!!"}), 400, "assetIds")
    assert_result(http.get(f"{api}/lookup/shells", params={"assetIds": b64_json({"name": "x"})}), 400, "assetIds")
    assert_result(http.post(f"{api}/lookup/shellsByAssetLink", json={"name": "x", "value": "y"}), 400, "array")


def test_asset_link_management(http, api, twin):
    aas, _sm = twin
    links = http.get(f"{api}/lookup/shells/{b64(aas['id'])}").json()
    assert links == [{"name": "globalAssetId", "value": aas["assetInformation"]["globalAssetId"]},
                     *aas["assetInformation"]["specificAssetIds"]]
    remote = uid("remote-shell")
    target = f"{api}/lookup/shells/{b64(remote)}"
    assert_result(http.get(target), 404)
    posted = [{"name": "globalAssetId", "value": uid("asset")}, {"name": "customerPartId", "value": uid("cpn")}]
    assert created(http.post(target, json=posted)) == posted
    assert http.get(target).json() == posted
    assert lookup(http, api, posted[1]) == [remote]
    replaced = [{"name": "customerPartId", "value": uid("cpn")}]
    assert created(http.post(target, json=replaced)) == replaced
    assert lookup(http, api, posted[1]) == []
    assert_result(http.post(target, json=[{"name": "customerPartId"}]), 400)
    assert http.delete(target).status_code == 204
    assert_result(http.get(target), 404)
    assert_result(http.delete(target), 404)


# -- description, internal -------------------------------------------------------------------------------------------


def test_description_lists_registry_and_discovery_profiles(http, api, live_server):
    profiles = set(http.get(f"{api}/description").json()["profiles"])
    root = "https://admin-shell.io/aas/API/3/1/"
    for spec, profile in (("AssetAdministrationShellRegistryServiceSpecification", "SSP-003"),
                          ("AssetAdministrationShellRegistryServiceSpecification", "SSP-005"),
                          ("SubmodelRegistryServiceSpecification", "SSP-001"),
                          ("DiscoveryServiceSpecification", "SSP-001"),
                          ("DiscoveryServiceSpecification", "SSP-002")):
        assert f"{root}{spec}/{profile}" in profiles
    assert not any("/SSP-004" in p for p in profiles)  # the query profiles are not served
    old = set(http.get(f"{live_server}/api/v3.0/description").json()["profiles"])
    assert "https://admin-shell.io/aas/API/3/0/AssetAdministrationShellRegistryServiceSpecification/SSP-001" in old
    assert not any(p.endswith(("SSP-003", "SSP-005")) or "/3/1/" in p for p in old)


def test_outbox_status_is_404_without_an_external_registry(http, live_server):
    assert_result(http.get(f"{live_server}/internal/registry/outbox"), 404, "AAS_REGISTRY_PUSH_URL")
