"""/submodels and /submodels/{id} over real HTTP, on both stores: filters, modifiers, CRUD, PATCH variants."""
from __future__ import annotations

import base64
from urllib.parse import urljoin

import pytest
import requests

from tests.factories import (
    assert_result,
    b64,
    blob,
    collection,
    element_list,
    file,
    mlp,
    prop,
    submodel,
    uid,
)

pytestmark = pytest.mark.integration


def post(http: requests.Session, api: str, obj: dict) -> dict:
    response = http.post(f"{api}/submodels", json=obj)
    assert response.status_code == 201, response.text
    return obj


def sample(**kwargs) -> dict:
    """A submodel with a nested collection, a list and a Blob."""
    return submodel(elements=[
        prop("Speed", "1500"),
        mlp("Name", en="pump"),
        collection("Motor", [prop("Power", "5.5", "xs:double"), collection("Bearing", [prop("Temp", "40")])]),
        element_list("Intervals", [prop(None, "100"), prop(None, "200")]),
        blob("Spectrum", b"\x00\x01binary"),
        file("Manual", "manual.pdf", "application/pdf"),
    ], **kwargs)


def url_of(api: str, obj: dict) -> str:
    return f"{api}/submodels/{b64(obj['id'])}"


# -- lists and filters ----------------------------------------------------------------------------------------


def test_id_short_and_semantic_id_filters(http, api):
    tag = f"Filter{uid()[-8:]}"
    semantic = uid("semantic")
    both = post(http, api, submodel(id_short=tag, semantic_id=semantic))
    only_tag = post(http, api, submodel(id_short=tag))
    only_semantic = post(http, api, submodel(semantic_id=semantic))

    def ids(**params: str) -> list[str]:
        response = http.get(f"{api}/submodels", params=params)
        assert response.status_code == 200, response.text
        return sorted(s["id"] for s in response.json()["result"])

    assert ids(idShort=tag) == sorted([both["id"], only_tag["id"]])
    assert ids(semanticId=b64(semantic)) == sorted([both["id"], only_semantic["id"]])
    assert ids(idShort=tag, semanticId=b64(semantic)) == [both["id"]]
    assert ids(semanticId=b64(uid("none"))) == []


def test_list_modifiers(http, api):
    semantic = uid("semantic")
    sm = post(http, api, sample(semantic_id=semantic))
    params = {"semanticId": b64(semantic)}

    metadata = http.get(f"{api}/submodels/$metadata", params=params).json()["result"]
    assert metadata == [{k: v for k, v in sm.items() if k != "submodelElements"}]

    value = http.get(f"{api}/submodels/$value", params=params).json()["result"]
    assert value == [http.get(f"{url_of(api, sm)}/$value").json()]

    reference = http.get(f"{api}/submodels/$reference", params=params).json()["result"]
    assert reference == [{"type": "ModelReference", "keys": [{"type": "Submodel", "value": sm["id"]}]}]

    paths = http.get(f"{api}/submodels/$path", params=params).json()["result"]
    assert paths == http.get(f"{url_of(api, sm)}/$path").json()


def test_list_paging(http, api):
    tag = f"Paged{uid()[-8:]}"
    ids = {post(http, api, submodel(id_short=tag))["id"] for _ in range(5)}
    seen, cursor = [], None
    while True:
        params = {"idShort": tag, "limit": 2, **({"cursor": cursor} if cursor else {})}
        body = http.get(f"{api}/submodels", params=params).json()
        seen += [s["id"] for s in body["result"]]
        cursor = body["paging_metadata"].get("cursor")
        if not cursor:
            break
    assert sorted(seen) == sorted(ids)


# -- one submodel: representations ------------------------------------------------------------------------------


def test_post_location_and_get(http, api):
    sm = sample()
    response = http.post(f"{api}/submodels", json=sm)
    assert response.status_code == 201
    assert response.json() == sm
    location = urljoin(api + "/", response.headers["Location"])
    assert location == url_of(api, sm)
    shown = http.get(location, params={"extent": "withBlobValue"}).json()
    assert shown == sm


def test_blob_value_only_with_blob_value_extent(http, api):
    sm = post(http, api, sample())
    default = http.get(url_of(api, sm)).json()
    spectrum = next(e for e in default["submodelElements"] if e["idShort"] == "Spectrum")
    assert "value" not in spectrum
    assert spectrum["contentType"] == "application/octet-stream"
    full = http.get(url_of(api, sm), params={"extent": "withBlobValue"}).json()
    spectrum = next(e for e in full["submodelElements"] if e["idShort"] == "Spectrum")
    assert base64.b64decode(spectrum["value"]) == b"\x00\x01binary"
    assert_result(http.get(url_of(api, sm), params={"extent": "everything"}), 400, "extent")


def test_level_core_leaves_out_grandchildren(http, api):
    sm = post(http, api, sample())
    core = http.get(url_of(api, sm), params={"level": "core"}).json()
    motor = next(e for e in core["submodelElements"] if e["idShort"] == "Motor")
    assert "value" not in motor
    deep = http.get(url_of(api, sm), params={"level": "deep"}).json()
    motor = next(e for e in deep["submodelElements"] if e["idShort"] == "Motor")
    assert [c["idShort"] for c in motor["value"]] == ["Power", "Bearing"]
    assert_result(http.get(url_of(api, sm), params={"level": "shallow"}), 400, "level")


def test_metadata_value_reference_path(http, api):
    sm = post(http, api, sample(semantic_id=uid("semantic")))
    url = url_of(api, sm)
    assert http.get(f"{url}/$metadata").json() == {k: v for k, v in sm.items() if k != "submodelElements"}
    assert http.get(f"{url}/$value").json() == {
        "Speed": 1500,
        "Name": [{"en": "pump"}],
        "Motor": {"Power": 5.5, "Bearing": {"Temp": 40}},
        "Intervals": [100, 200],
        "Spectrum": {"contentType": "application/octet-stream"},
        "Manual": {"contentType": "application/pdf", "value": "manual.pdf"},
    }
    assert http.get(f"{url}/$reference").json() == {
        "type": "ModelReference", "keys": [{"type": "Submodel", "value": sm["id"]}],
    }
    assert http.get(f"{url}/$path").json() == [
        "Speed", "Name", "Motor", "Motor.Power", "Motor.Bearing", "Motor.Bearing.Temp",
        "Intervals", "Intervals[0]", "Intervals[1]", "Spectrum", "Manual",
    ]


# -- one submodel: writes -------------------------------------------------------------------------------------


def test_put_replace_and_upsert(http, api):
    sm = post(http, api, sample())
    replacement = submodel(sm["id"], id_short="Replaced", elements=[prop("Only", "1")])
    assert http.put(url_of(api, sm), json=replacement).status_code == 204
    assert http.get(url_of(api, sm)).json() == replacement
    assert_result(http.get(f"{url_of(api, sm)}/submodel-elements/Speed"), 404)

    new = sample()
    response = http.put(url_of(api, new), json=new)
    assert response.status_code == 201
    assert http.get(url_of(api, new), params={"extent": "withBlobValue"}).json() == new


def test_patch_merges_attributes_and_elements(http, api):
    sm = post(http, api, submodel(elements=[prop("A", "1"), prop("B", "2")]))
    patch = {"idShort": "Patched", "submodelElements": [prop("B", "20"), prop("C", "3")]}
    assert http.patch(url_of(api, sm), json=patch).status_code == 204
    got = http.get(url_of(api, sm)).json()
    assert got["idShort"] == "Patched"
    assert got["submodelElements"] == [prop("A", "1"), prop("B", "20"), prop("C", "3")]


def test_patch_metadata_keeps_elements(http, api):
    sm = post(http, api, sample())
    semantic = uid("semantic")
    patch = {"idShort": "Renamed", "semanticId": {"type": "ExternalReference",
                                                   "keys": [{"type": "GlobalReference", "value": semantic}]}}
    assert http.patch(f"{url_of(api, sm)}/$metadata", json=patch).status_code == 204
    got = http.get(url_of(api, sm), params={"extent": "withBlobValue"}).json()
    assert got == {**sm, **patch}
    found = http.get(f"{api}/submodels", params={"semanticId": b64(semantic)}).json()["result"]
    assert [s["id"] for s in found] == [sm["id"]]
    assert_result(http.patch(f"{url_of(api, sm)}/$metadata", json={"submodelElements": []}), 400, "submodelElements")


def test_patch_value_sets_several_elements(http, api):
    sm = post(http, api, sample())
    value = {"Speed": 1800, "Motor": {"Power": 7.5, "Bearing": {"Temp": 45}}, "Intervals": [110, 220],
             "Name": [{"en": "pump"}, {"de": "Pumpe"}]}
    assert http.patch(f"{url_of(api, sm)}/$value", json=value).status_code == 204
    got = http.get(f"{url_of(api, sm)}/$value").json()
    assert {k: got[k] for k in value} == value


def test_patch_value_with_unknown_element_changes_nothing(http, api):
    sm = post(http, api, sample())
    before = http.get(f"{url_of(api, sm)}/$value").json()
    assert_result(http.patch(f"{url_of(api, sm)}/$value", json={"Speed": 1, "Nope": 2}), 404, "Nope")
    assert http.get(f"{url_of(api, sm)}/$value").json() == before


def test_delete_removes_submodel_and_elements(http, api):
    sm = post(http, api, sample())
    assert http.delete(url_of(api, sm)).status_code == 204
    assert_result(http.get(url_of(api, sm)), 404, sm["id"])
    assert_result(http.get(f"{url_of(api, sm)}/submodel-elements/Speed"), 404)
    assert_result(http.delete(url_of(api, sm)), 404)
    # the id is free again
    assert http.post(f"{api}/submodels", json=submodel(sm["id"])).status_code == 201
    assert "submodelElements" not in http.get(url_of(api, sm)).json()


def test_v3_0_prefix_serves_the_same_submodels(http, api, live_server):
    v30 = f"{live_server}/api/v3.0"
    sm = sample()
    assert http.post(f"{v30}/submodels", json=sm).status_code == 201
    assert http.get(f"{api}/submodels/{b64(sm['id'])}/$value").json() == http.get(
        f"{v30}/submodels/{b64(sm['id'])}/$value").json()
    assert http.patch(f"{v30}/submodels/{b64(sm['id'])}/submodel-elements/Speed/$value", json=1).status_code == 204
    assert http.get(f"{api}/submodels/{b64(sm['id'])}/submodel-elements/Speed/$value").json() == {"Speed": 1}
    assert http.get(f"{v30}/description").json()["profiles"][0].startswith("https://admin-shell.io/aas/API/3/0/")
