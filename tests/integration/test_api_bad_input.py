"""Bad requests over real HTTP, on both stores: each gets the right 4xx, a Part 2 Result body whose text says what
is wrong and where, and leaves the store as it was (a GET afterwards proves it)."""
from __future__ import annotations

import io
import zipfile
from pathlib import Path

import pytest
import requests

from aas_server.settings import Settings
from tests.conftest import server_env
from tests.factories import (
    assert_result,
    b64,
    b64_json,
    collection,
    concept_description,
    element_list,
    prop,
    shell,
    submodel,
    uid,
)
from tests.harness.server import GunicornServer

pytestmark = pytest.mark.integration

AASX = "application/asset-administration-shell-package+xml"


@pytest.fixture(scope="module")
def existing(http: requests.Session, api: str) -> dict:
    """A shell, a submodel and a concept description that every bad request must leave untouched."""
    objects = {
        "shells": shell(),
        "submodels": submodel(elements=[prop("Speed", "10"), collection("Motor", [prop("Power", "5")]),
                                        element_list("Values", [prop(None, "1")])]),
        "concept-descriptions": concept_description(),
    }
    for route, obj in objects.items():
        assert http.post(f"{api}/{route}", json=obj).status_code == 201
    return objects


def unchanged(http: requests.Session, api: str, existing: dict) -> None:
    for route, obj in existing.items():
        response = http.get(f"{api}/{route}/{b64(obj['id'])}")
        assert response.status_code == 200
        assert response.json() == obj


def elements_url(api: str, existing: dict) -> str:
    return f"{api}/submodels/{b64(existing['submodels']['id'])}/submodel-elements"


# -- malformed and invalid bodies ---------------------------------------------------------------------------------


def test_malformed_json_names_line_and_column(http, api, existing):
    body = b'{\n  "modelType": "AssetAdministrationShell",\n  "id": \n}'
    response = http.post(f"{api}/shells", data=body, headers={"Content-Type": "application/json"})
    assert_result(response, 400, "malformed JSON", "line 4, column 1")
    url = f"{api}/shells/{b64(existing['shells']['id'])}"
    assert_result(http.put(url, data=b'{"id": "x",}', headers={"Content-Type": "application/json"}), 400, "line 1")
    unchanged(http, api, existing)


def test_empty_body_and_non_object(http, api, existing):
    assert_result(http.post(f"{api}/shells", data=b"", headers={"Content-Type": "application/json"}), 400, "empty")
    assert_result(http.post(f"{api}/submodels", json=[submodel()]), 400, "JSON object")
    assert_result(http.post(elements_url(api, existing), json="Speed"), 400, "JSON object")
    unchanged(http, api, existing)


@pytest.mark.parametrize(("route", "obj", "words"), [
    ("shells", {**shell(), "modelType": "Submodel"}, ("modelType", "Submodel")),
    ("submodels", shell(), ("modelType", "AssetAdministrationShell")),
    ("concept-descriptions", {**concept_description(), "modelType": "Nonsense"}, ("Nonsense",)),
    ("submodels", submodel(elements=[{"modelType": "Nonsense", "idShort": "Odd"}]), ("Nonsense", "Odd")),
])
def test_wrong_model_type(http, api, existing, route, obj, words):
    assert_result(http.post(f"{api}/{route}", json=obj), 400, *words)
    assert_result(http.get(f"{api}/{route}/{b64(obj['id'])}"), 404)
    unchanged(http, api, existing)


def test_wrong_model_type_for_element(http, api, existing):
    url = elements_url(api, existing)
    assert_result(http.post(url, json={"modelType": "Submodel", "id": uid(), "idShort": "Sm"}), 400, "SubmodelElement")
    assert_result(http.put(f"{url}/Speed", json={"modelType": "Nonsense", "idShort": "Speed"}), 400, "Nonsense")
    assert_result(http.get(f"{url}/Sm"), 404)
    unchanged(http, api, existing)


@pytest.mark.parametrize(("element", "words"), [
    (prop("Count", "abc"), ("'abc'", "xs:int", "Count")),
    (prop("Big", "99999999999"), ("99999999999", "xs:int", "Big")),
    (prop("Flag", "yes", "xs:boolean"), ("'yes'", "xs:boolean", "Flag")),
    (prop("When", "yesterday", "xs:date"), ("yesterday", "xs:date", "When")),
    (collection("Outer", [prop("Inner", "1.5")]), ("'1.5'", "xs:int", "Inner")),
    ({"modelType": "Range", "idShort": "R", "valueType": "xs:double", "min": "low"}, ("min", "low", "xs:double")),
    (prop("Typed", "1", "xs:nonsense"), ("xs:nonsense", "Typed")),
])
def test_value_not_fitting_value_type(http, api, existing, element, words):
    sm = submodel(elements=[element])
    assert_result(http.post(f"{api}/submodels", json=sm), 400, *words)
    assert_result(http.get(f"{api}/submodels/{b64(sm['id'])}"), 404)
    url = elements_url(api, existing)
    assert_result(http.post(url, json=element), 400, *words)
    assert_result(http.get(f"{url}/{element['idShort']}"), 404)
    unchanged(http, api, existing)


def test_value_not_fitting_on_update(http, api, existing):
    url = elements_url(api, existing)
    assert_result(http.put(f"{url}/Speed", json=prop("Speed", "fast")), 400, "fast", "xs:int", "Speed")
    assert_result(http.patch(f"{url}/Speed", json={"value": "fast"}), 400, "fast", "xs:int")
    assert_result(http.patch(f"{url}/Speed/$value", json="fast"), 400, "fast", "xs:int")
    assert_result(http.patch(f"{url}/Motor.Power/$value", json="strong"), 400, "strong", "Power")
    assert_result(http.patch(f"{url.rsplit('/', 1)[0]}/$value", json={"Speed": "fast"}), 400, "fast")
    unchanged(http, api, existing)


@pytest.mark.parametrize("id_short", ["1abc", "has space", "_lead", "trailing-", "ü"])
def test_id_short_violations(http, api, existing, id_short):
    obj = shell(id_short=id_short)
    assert_result(http.post(f"{api}/shells", json=obj), 400, "id_short", id_short)
    assert_result(http.get(f"{api}/shells/{b64(obj['id'])}"), 404)
    url = elements_url(api, existing)
    assert_result(http.post(url, json=prop(id_short)), 400, "id_short")
    assert_result(http.post(f"{url}/Motor", json=prop(id_short)), 400, "id_short")
    unchanged(http, api, existing)


def test_duplicate_id_short_in_one_body(http, api, existing):
    sm = submodel(elements=[prop("Twin"), prop("Twin")])
    assert_result(http.post(f"{api}/submodels", json=sm), 400, "Twin")
    assert_result(http.get(f"{api}/submodels/{b64(sm['id'])}"), 404)
    unchanged(http, api, existing)


def test_id_short_on_list_item_is_400_not_dropped(http, api, existing):
    """AASd-120: items of a SubmodelElementList have no idShort; silently dropping one would lose data."""
    listed = element_list("Named", [prop("first", "1")])
    sm = submodel(elements=[listed])
    assert_result(http.post(f"{api}/submodels", json=sm), 400, "AASd-120", "first")
    assert_result(http.get(f"{api}/submodels/{b64(sm['id'])}"), 404)
    url = elements_url(api, existing)
    assert_result(http.post(f"{url}/Values", json=prop("second", "2")), 400, "AASd-120", "second")
    assert_result(http.put(f"{url}/Values[0]", json=prop("third", "3")), 400, "AASd-120", "third")
    unchanged(http, api, existing)


def test_blob_value_that_is_not_base64(http, api, existing):
    """The SDK's decoder skips invalid characters: "%%%" would be stored as an empty Blob."""
    blob = {"modelType": "Blob", "idShort": "Raw", "contentType": "text/plain", "value": "%%%"}
    url = elements_url(api, existing)
    assert_result(http.post(url, json=blob), 400, "base64", "Raw")
    assert_result(http.get(f"{url}/Raw"), 404)
    good = {**blob, "value": "aGVsbG8="}
    assert http.post(url, json=good).status_code == 201
    assert_result(http.patch(f"{url}/Raw/$value", json={"value": "%%%"}), 400, "base64")
    assert http.get(f"{url}/Raw", params={"extent": "withBlobValue"}).json() == good
    assert http.delete(f"{url}/Raw").status_code == 204
    unchanged(http, api, existing)


def test_submodel_reference_must_point_at_a_submodel(http, api, existing):
    cd_ref = {"type": "ModelReference", "keys": [{"type": "ConceptDescription", "value": uid("cd")}]}
    url = f"{api}/shells/{b64(existing['shells']['id'])}/submodel-refs"
    assert_result(http.post(url, json=cd_ref), 400, "Submodel")
    obj = {**shell(), "submodels": [cd_ref]}
    assert_result(http.post(f"{api}/shells", json=obj), 400, "Submodel")
    assert_result(http.get(f"{api}/shells/{b64(obj['id'])}"), 404)
    unchanged(http, api, existing)


@pytest.mark.parametrize("elements", ["x", [1, 2], {"idShort": "Speed"}])
def test_patch_submodel_with_malformed_elements(http, api, existing, elements):
    url = f"{api}/submodels/{b64(existing['submodels']['id'])}"
    assert_result(http.patch(url, json={"submodelElements": elements}), 400, "submodelElements")
    unchanged(http, api, existing)


def test_missing_required_attribute(http, api, existing):
    obj = {k: v for k, v in shell().items() if k != "assetInformation"}
    assert_result(http.post(f"{api}/shells", json=obj), 400, "assetInformation")
    assert_result(http.post(f"{api}/submodels", json={"modelType": "Submodel"}), 400, "id")
    unchanged(http, api, existing)


# -- unknown and duplicate ids --------------------------------------------------------------------------------


@pytest.mark.parametrize("path", [
    "/shells/{x}", "/shells/{x}/asset-information", "/shells/{x}/submodel-refs", "/submodels/{x}",
    "/submodels/{x}/$value", "/submodels/{x}/submodel-elements", "/submodels/{x}/submodel-elements/Speed",
    "/concept-descriptions/{x}", "/packages/{x}",
])
def test_unknown_id_is_404(http, api, path):
    missing = uid("missing")
    response = http.get(api + path.format(x=b64(missing)))
    message = assert_result(response, 404)
    assert missing in message["text"] or "not found" in message["text"]


def test_unknown_element_is_404_naming_the_path(http, api, existing):
    url = elements_url(api, existing)
    assert_result(http.get(f"{url}/Motor.Nope"), 404, "Motor.Nope")
    assert_result(http.patch(f"{url}/Motor.Nope/$value", json=1), 404, "Motor.Nope")
    assert_result(http.delete(f"{url}/Values[5]"), 404, "Values[5]")
    unchanged(http, api, existing)


def test_duplicate_id_is_409(http, api, existing):
    for route, obj in existing.items():
        changed = {**obj, "idShort": "Intruder"}
        assert_result(http.post(f"{api}/{route}", json=changed), 409, obj["id"])
    assert_result(http.post(elements_url(api, existing), json=prop("Speed", "99")), 409, "Speed")
    assert_result(http.post(f"{elements_url(api, existing)}/Motor", json=prop("Power", "99")), 409, "Motor")
    unchanged(http, api, existing)


def test_id_in_body_differs_from_path(http, api, existing):
    for route, obj in existing.items():
        other = {**obj, "id": uid("other")}
        assert_result(http.put(f"{api}/{route}/{b64(obj['id'])}", json=other), 400, "id", "path")
        assert_result(http.get(f"{api}/{route}/{b64(other['id'])}"), 404)
    url = f"{api}/submodels/{b64(existing['submodels']['id'])}"
    assert_result(http.patch(url, json={"id": uid("other")}), 400, "id")
    assert_result(http.patch(f"{url}/$metadata", json={"id": uid("other")}), 400, "id")
    assert_result(http.put(f"{url}/submodel-elements/Speed", json=prop("Other", "1")), 400, "idShort")
    unchanged(http, api, existing)


# -- ids, cursors and limits in the URL ---------------------------------------------------------------------------


@pytest.mark.parametrize("url", [
    "/shells/not*base64", "/submodels/%F0%9F%98%80", "/concept-descriptions/a", "/shells?cursor=***",
    "/submodels?semanticId=%25%25", "/shells/{aas}/submodel-refs?cursor={bad}",
    "/submodels/{sm}/submodel-elements?cursor={bad}", "/submodels/{sm}/submodel-elements/$path?cursor={bad}",
])
def test_bad_base64url_id_or_cursor_is_400(http, api, existing, url):
    url = url.format(aas=b64(existing["shells"]["id"]), sm=b64(existing["submodels"]["id"]), bad=b64("not-a-cursor"))
    message = assert_result(http.get(api + url), 400)
    assert any(w in message["text"] for w in ("base64url", "cursor", "identifier")), message["text"]


def test_bad_asset_ids_filter_is_400(http, api):
    assert_result(http.get(f"{api}/shells", params={"assetIds": b64("not json")}), 400, "malformed JSON")
    assert_result(http.get(f"{api}/shells", params={"assetIds": b64_json({"name": 1})}), 400, "assetIds")
    assert_result(http.get(f"{api}/shells", params={"assetIds": "?"}), 400, "assetIds")


@pytest.mark.parametrize("limit", ["0", "-1", "abc", "1.5"])
def test_invalid_limit_is_400(http, api, existing, limit):
    for route in ("/shells", "/submodels", "/concept-descriptions", "/packages",
                  f"/submodels/{b64(existing['submodels']['id'])}/submodel-elements"):
        assert_result(http.get(api + route, params={"limit": limit}), 400, "limit")


def test_bad_modifiers_are_400(http, api, existing):
    url = f"{api}/submodels/{b64(existing['submodels']['id'])}"
    assert_result(http.get(url, params={"level": "all"}), 400, "level")
    assert_result(http.get(url, params={"extent": "all"}), 400, "extent")
    assert_result(http.get(f"{api}/serialization", params={"includeConceptDescriptions": "maybe"}), 400,
                  "includeConceptDescriptions")


def test_unknown_route_and_method(http, api):
    assert_result(http.get(f"{api}/nonsense"), 404)
    assert_result(http.delete(f"{api}/description"), 405)


def test_correlation_id_is_the_request_id(http, api):
    response = http.get(f"{api}/shells/{b64(uid())}", headers={"X-Request-Id": "trace-42"})
    assert assert_result(response, 404)["correlationId"] == "trace-42"


# -- packages ------------------------------------------------------------------------------------------------


def test_invalid_aasx_is_400_and_imports_nothing(http, api, existing):
    before = http.get(f"{api}/packages", params={"limit": 1000}).json()["result"]
    broken = io.BytesIO()
    with zipfile.ZipFile(broken, "w") as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("aasx/data.json", "{}")
    for data in (broken.getvalue(), b"PK\x03\x04 truncated", b"<xml/>"):
        response = http.post(f"{api}/packages", files={"file": ("broken.aasx", data, AASX)})
        assert_result(response, 400, "broken.aasx")
    assert http.get(f"{api}/packages", params={"limit": 1000}).json()["result"] == before
    unchanged(http, api, existing)


# -- body size ------------------------------------------------------------------------------------------------


@pytest.mark.usefixtures("store")  # drops the MongoDB database afterwards
def test_oversized_body_is_413(settings: Settings, tmp_path: Path):
    env = {**server_env(settings), "AAS_MAX_BODY_BYTES": "1000"}
    with GunicornServer(env, workers=1, threads=2, log_dir=tmp_path) as server, requests.Session() as http:
        api = f"{server.url}/api/v3.1"
        small = submodel(elements=[prop("Small", "1")])
        assert http.post(f"{api}/submodels", json=small).status_code == 201
        big = submodel(elements=[prop(f"P{i}", str(i)) for i in range(100)])
        assert_result(http.post(f"{api}/submodels", json=big), 413, "1000 bytes")
        assert_result(http.get(f"{api}/submodels/{b64(big['id'])}"), 404)
        assert_result(http.put(f"{api}/submodels/{b64(small['id'])}", json={**big, "id": small["id"]}), 413)
        url = f"{api}/submodels/{b64(small['id'])}"
        assert http.get(url).json() == small
        response = http.post(f"{api}/packages", files={"file": ("big.aasx", b"PK" + b"\0" * 5000, AASX)})
        assert_result(response, 413)
        assert http.get(f"{api}/packages").json()["result"] == []
