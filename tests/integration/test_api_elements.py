"""/submodels/{id}/submodel-elements over real HTTP, on both stores: paths, CRUD, ValueOnly of every kind,
modifiers, attachments and concurrent writes to different elements."""
from __future__ import annotations

import base64
import io
import threading
import zipfile
from typing import Any
from urllib.parse import urljoin

import pytest
import requests

from tests.factories import (
    assert_result,
    b64,
    collection,
    entity,
    every_kind,
    file,
    model_ref,
    prop,
    ref,
    submodel,
)

pytestmark = pytest.mark.integration


def new_submodel(http: requests.Session, api: str, elements: list[dict] | None = None) -> tuple[dict, str]:
    """Post a fresh submodel (every kind of element by default); returns it and its elements URL."""
    sm = submodel(elements=every_kind() if elements is None else elements)
    response = http.post(f"{api}/submodels", json=sm)
    assert response.status_code == 201, response.text
    return sm, f"{api}/submodels/{b64(sm['id'])}/submodel-elements"


@pytest.fixture(scope="module")
def kinds(http: requests.Session, api: str) -> str:
    """Elements URL of one submodel with every kind, shared by the read-only and per-kind tests."""
    return new_submodel(http, api)[1]


def find(elements: list[dict], id_short: str) -> dict:
    return next(e for e in elements if e.get("idShort") == id_short)


# -- list and paths ---------------------------------------------------------------------------------------------


def test_list_paging_keeps_order(http, api):
    _, url = new_submodel(http, api, [prop(f"P{i}", str(i)) for i in range(7)])
    seen, cursor, sizes = [], None, []
    while True:
        body = http.get(url, params={"limit": 3, **({"cursor": cursor} if cursor else {})}).json()
        sizes.append(len(body["result"]))
        seen += [e["idShort"] for e in body["result"]]
        cursor = body["paging_metadata"].get("cursor")
        if not cursor:
            break
    assert sizes == [3, 3, 1]
    assert seen == [f"P{i}" for i in range(7)]


def test_get_by_nested_paths(http, kinds):
    assert http.get(f"{kinds}/Coll.Deep.Leaf").json() == prop("Leaf", "8")
    assert http.get(f"{kinds}/List[1]").json() == prop(None, "2")
    assert http.get(f"{kinds}/List%5B2%5D").json() == prop(None, "3")
    assert http.get(f"{kinds}/CollList[0].X").json() == prop("X", "1")
    assert http.get(f"{kinds}/CollList%5B0%5D.X").json() == prop("X", "1")
    assert http.get(f"{kinds}/Ent.Stmt").json() == prop("Stmt", "5")
    assert http.get(f"{kinds}/ARel.Note").json() == prop("Note", "n", "xs:string")
    assert_result(http.get(f"{kinds}/List[3]"), 404, "List[3]")
    assert_result(http.get(f"{kinds}/Coll.Nope"), 404, "Coll.Nope")
    assert_result(http.get(f"{kinds}/Coll..Deep"), 400, "idShortPath")


def test_list_modifiers(http, kinds):
    values = http.get(f"{kinds}/$value").json()["result"]
    assert {"IntProp": 42} in values
    assert not any("Op" in v or "Cap" in v for v in values)
    metadata = http.get(f"{kinds}/$metadata").json()["result"]
    assert {"modelType": "Property", "idShort": "IntProp", "valueType": "xs:int"} in metadata
    references = http.get(f"{kinds}/$reference").json()["result"]
    assert references[0]["keys"][1:] == [{"type": "Property", "value": "IntProp"}]
    paths = http.get(f"{kinds}/$path").json()["result"]
    assert {"Coll.Deep.Leaf", "List[2]", "Ent.Stmt", "Op", "IntProp"} <= set(paths)


def test_element_reference_has_keys_along_the_path(http, kinds):
    sm_id = http.get(kinds.rsplit("/", 1)[0]).json()["id"]
    assert http.get(f"{kinds}/Coll.Deep.Leaf/$reference").json() == model_ref(
        ("Submodel", sm_id), ("SubmodelElementCollection", "Coll"), ("SubmodelElementCollection", "Deep"),
        ("Property", "Leaf"),
    )
    assert http.get(f"{kinds}/List[1]/$reference").json() == model_ref(
        ("Submodel", sm_id), ("SubmodelElementList", "List"), ("Property", "1"),
    )


def test_element_metadata_and_path(http, kinds):
    assert http.get(f"{kinds}/IntProp/$metadata").json() == {
        "modelType": "Property", "idShort": "IntProp", "valueType": "xs:int",
    }
    coll = http.get(f"{kinds}/Coll/$metadata").json()
    assert coll == {"modelType": "SubmodelElementCollection", "idShort": "Coll"}
    assert http.get(f"{kinds}/Coll/$path").json() == ["Coll", "Coll.Inner", "Coll.Deep", "Coll.Deep.Leaf"]
    assert http.get(f"{kinds}/List/$path").json() == ["List", "List[0]", "List[1]", "List[2]"]


def test_level_core_on_element(http, kinds):
    coll = http.get(f"{kinds}/Coll", params={"level": "core"}).json()
    assert coll["value"] == [prop("Inner", "7"), {"modelType": "SubmodelElementCollection", "idShort": "Deep"}]


def test_blob_value_omitted_by_default(http, kinds):
    assert "value" not in http.get(f"{kinds}/Blob").json()
    shown = http.get(f"{kinds}/Blob", params={"extent": "withBlobValue"}).json()
    assert base64.b64decode(shown["value"]) == b"blob"


# -- create, replace, patch, delete ------------------------------------------------------------------------------


def test_post_top_level_with_location_and_conflict(http, api):
    _, url = new_submodel(http, api, [prop("A")])
    response = http.post(url, json=prop("B", "2"))
    assert response.status_code == 201
    assert response.json() == prop("B", "2")
    location = urljoin(url, response.headers["Location"])
    assert http.get(location).json() == prop("B", "2")
    assert_result(http.post(url, json=prop("B", "3")), 409, "B")
    assert http.get(f"{url}/B").json() == prop("B", "2")


@pytest.mark.parametrize(("parent", "child", "child_path"), [
    ("Coll", prop("New", "1"), "Coll.New"),
    ("Coll.Deep", prop("New", "1"), "Coll.Deep.New"),
    ("List", prop(None, "4"), "List[3]"),
    ("Ent", prop("New", "1"), "Ent.New"),
])
def test_post_into_container(http, api, parent, child, child_path):
    _, url = new_submodel(http, api)
    response = http.post(f"{url}/{parent}", json=child)
    assert response.status_code == 201, response.text
    assert response.json() == child
    assert http.get(f"{url}/{child_path}").json() == child
    assert http.get(urljoin(url, response.headers["Location"])).json() == child
    if child.get("idShort"):
        assert_result(http.post(f"{url}/{parent}", json=child), 409)


def test_post_into_element_without_children_is_400(http, kinds):
    assert_result(http.post(f"{kinds}/IntProp", json=prop("X")), 400, "Property")
    assert_result(http.get(f"{kinds}/IntProp.X"), 404)


def test_put_replaces_nested_and_creates(http, api):
    _, url = new_submodel(http, api)
    assert http.put(f"{url}/Coll.Deep.Leaf", json=prop("Leaf", "80")).status_code == 204
    assert http.get(f"{url}/Coll.Deep.Leaf").json() == prop("Leaf", "80")
    assert http.put(f"{url}/List[0]", json=prop(None, "10")).status_code == 204
    assert http.get(f"{url}/List/$value").json() == {"List": [10, 2, 3]}

    response = http.put(f"{url}/Coll.Deep.Fresh", json=prop("Fresh", "9"))
    assert response.status_code == 201
    assert http.get(f"{url}/Coll.Deep.Fresh").json() == prop("Fresh", "9")
    response = http.put(f"{url}/TopFresh", json=prop("TopFresh", "9"))
    assert response.status_code == 201
    assert http.get(f"{url}/TopFresh").json() == prop("TopFresh", "9")
    assert_result(http.put(f"{url}/Coll.Inner", json=prop("Other", "1")), 400, "idShort")


def test_patch_element(http, api):
    _, url = new_submodel(http, api)
    description = [{"language": "en", "text": "inner value"}]
    assert http.patch(f"{url}/Coll.Inner", json={"value": "70", "description": description}).status_code == 204
    assert http.get(f"{url}/Coll.Inner").json() == {**prop("Inner", "70"), "description": description}
    assert_result(http.patch(f"{url}/Coll.Inner", json={"idShort": "Renamed"}), 400, "idShort")
    assert http.get(f"{url}/Coll.Inner").json()["idShort"] == "Inner"


def test_patch_element_metadata(http, api):
    _, url = new_submodel(http, api)
    semantic = ref("urn:test:speed")
    assert http.patch(f"{url}/IntProp/$metadata", json={"semanticId": semantic}).status_code == 204
    assert http.get(f"{url}/IntProp").json() == {**prop("IntProp", "42"), "semanticId": semantic}
    assert_result(http.patch(f"{url}/IntProp/$metadata", json={"value": "1"}), 400, "value")


def test_delete_nested_and_top(http, api):
    _, url = new_submodel(http, api)
    assert http.delete(f"{url}/Coll.Deep.Leaf").status_code == 204
    assert_result(http.get(f"{url}/Coll.Deep.Leaf"), 404)
    assert http.get(f"{url}/Coll.Deep").json() == collection("Deep")
    assert http.delete(f"{url}/List[0]").status_code == 204
    assert http.get(f"{url}/List/$value").json() == {"List": [2, 3]}
    assert http.delete(f"{url}/Coll").status_code == 204
    assert_result(http.get(f"{url}/Coll"), 404)
    assert_result(http.delete(f"{url}/Coll"), 404)
    assert "Coll" not in [e["idShort"] for e in http.get(url).json()["result"]]


# -- ValueOnly of every kind ---------------------------------------------------------------------------------------

OBSERVED = model_ref(("Submodel", "urn:test:observed"))
NEW_REF = ref("urn:test:new-target")

#: path, ValueOnly after every_kind(), a new ValueOnly to PATCH (GET must return it)
VALUE_CASES: list[tuple[str, Any, Any]] = [
    ("IntProp", 42, 43),
    ("FloatProp", 2.5, 3.75),
    ("BoolProp", True, False),
    ("StringProp", "hello", "world"),
    ("Mlp", [{"en": "pump"}, {"de": "Pumpe"}], [{"en": "fan"}]),
    ("Range", {"min": 1, "max": 9}, {"min": 2, "max": 8}),
    ("File", {"contentType": "text/plain", "value": "manual.txt"},
     {"contentType": "application/pdf", "value": "/aasx/files/manual.pdf"}),
    ("Ref", ref("urn:test:target"), NEW_REF),
    ("Rel", {"first": ref("urn:test:first"), "second": ref("urn:test:second")},
     {"first": NEW_REF, "second": ref("urn:test:first")}),
    ("ARel", {"first": ref("urn:test:first"), "second": ref("urn:test:second"), "annotations": [{"Note": "n"}]},
     {"first": ref("urn:test:first"), "second": NEW_REF, "annotations": [{"Note": "changed"}]}),
    ("Coll", {"Inner": 7, "Deep": {"Leaf": 8}}, {"Inner": 70, "Deep": {"Leaf": 80}}),
    ("Coll.Deep", {"Leaf": 8}, {"Leaf": 81}),
    ("List", [1, 2, 3], [4, 5, 6]),
    ("List[1]", 2, 20),
    ("CollList", [{"X": 1}], [{"X": 2}]),
    ("Ent", {"statements": {"Stmt": 5}, "entityType": "SelfManagedEntity", "globalAssetId": "urn:test:entity-asset"},
     {"statements": {"Stmt": 6}, "entityType": "SelfManagedEntity", "globalAssetId": "urn:test:other-asset"}),
    ("Event", {"observed": OBSERVED}, {"observed": model_ref(("Submodel", "urn:test:observed-2"))}),
]


@pytest.mark.parametrize(("path", "before", "after"), VALUE_CASES, ids=[c[0] for c in VALUE_CASES])
def test_value_get_and_patch(http, api, path, before, after):
    _, url = new_submodel(http, api)
    got = http.get(f"{url}/{path}/$value").json()
    (value,) = got.values()
    assert value == before
    assert http.patch(f"{url}/{path}/$value", json=after).status_code == 204
    (value,) = http.get(f"{url}/{path}/$value").json().values()
    assert value == after
    # the wrapped form that GET returns is accepted as well
    assert http.patch(f"{url}/{path}/$value", json={next(iter(got)): before}).status_code == 204
    (value,) = http.get(f"{url}/{path}/$value").json().values()
    assert value == before


def test_entity_value_sets_specific_asset_ids_and_merges_statements(http, api):
    _, url = new_submodel(http, api, [entity("Ent", [prop("A", "1"), prop("B", "2")])])
    value = {"statements": {"B": 20}, "entityType": "SelfManagedEntity",
             "specificAssetIds": [{"serialNumber": "S-1"}]}
    assert http.patch(f"{url}/Ent/$value", json=value).status_code == 204
    assert http.get(f"{url}/Ent/$value").json() == {"Ent": {
        "statements": {"A": 1, "B": 20}, "entityType": "SelfManagedEntity",
        "globalAssetId": "urn:test:entity-asset", "specificAssetIds": [{"serialNumber": "S-1"}],
    }}
    assert http.get(f"{url}/Ent").json()["specificAssetIds"] == [{"name": "serialNumber", "value": "S-1"}]


def test_blob_value(http, api):
    _, url = new_submodel(http, api)
    assert http.get(f"{url}/Blob/$value").json() == {"Blob": {"contentType": "application/octet-stream"}}
    encoded = base64.b64encode(b"new bytes").decode()
    assert http.patch(f"{url}/Blob/$value", json={"contentType": "text/plain", "value": encoded}).status_code == 204
    assert http.get(f"{url}/Blob/$value", params={"extent": "withBlobValue"}).json() == {
        "Blob": {"contentType": "text/plain", "value": encoded},
    }


@pytest.mark.parametrize(("path", "value", "words"), [
    ("IntProp", "abc", ("xs:int",)),
    ("BoolProp", "maybe", ("xs:boolean",)),
    ("List", [1, 2], ("List",)),
    ("Coll", {"Nope": 1}, ("Nope",)),
    ("Range", [1, 2], ("Range",)),
])
def test_value_that_does_not_fit_is_400_and_changes_nothing(http, kinds, path, value, words):
    before = http.get(f"{kinds}/{path}/$value").json()
    assert_result(http.patch(f"{kinds}/{path}/$value", json=value), 400, *words)
    assert http.get(f"{kinds}/{path}/$value").json() == before


@pytest.mark.parametrize("path", ["Op", "Cap"])
def test_value_of_operation_and_capability_is_400(http, kinds, path):
    assert_result(http.get(f"{kinds}/{path}/$value"), 400, path)
    assert_result(http.patch(f"{kinds}/{path}/$value", json={}), 400)


# -- attachments ----------------------------------------------------------------------------------------------


def test_file_attachment_put_get_delete(http, api):
    _, url = new_submodel(http, api, [file("Doc"), collection("Folder", [file("Nested")])])
    data = b"%PDF-1.4\n" + bytes(range(256)) * 4
    for path in ("Doc", "Folder.Nested"):
        assert_result(http.get(f"{url}/{path}/attachment"), 404)
        response = http.put(f"{url}/{path}/attachment", files={"file": ("x.pdf", data, "application/pdf")},
                            data={"fileName": "manual.pdf"})
        assert response.status_code == 204, response.text
        fetched = http.get(f"{url}/{path}/attachment")
        assert fetched.status_code == 200
        assert fetched.content == data
        assert fetched.headers["Content-Type"] == "application/pdf"
        assert http.get(f"{url}/{path}/$value").json()[path.rsplit(".", 1)[-1]] == {
            "contentType": "application/pdf", "value": "manual.pdf",
        }
    assert http.delete(f"{url}/Doc/attachment").status_code in (200, 204)
    assert_result(http.get(f"{url}/Doc/attachment"), 404)
    assert "value" not in http.get(f"{url}/Doc").json()
    # deleting the element drops its content: a new element at the same path has none
    assert http.delete(f"{url}/Folder").status_code == 204
    assert http.post(url, json=collection("Folder", [file("Nested")])).status_code == 201
    assert_result(http.get(f"{url}/Folder.Nested/attachment"), 404)


def test_attachment_follows_the_file_value(http, api):
    """Content belongs to the File's value: replace the File or change its value, and the old bytes are gone."""
    sm, url = new_submodel(http, api, [file("Doc"), file("Other")])
    for path in ("Doc", "Other"):
        response = http.put(f"{url}/{path}/attachment", files={"file": ("a.pdf", b"old", "application/pdf")},
                            data={"fileName": "a.pdf"})
        assert response.status_code == 204
    # writing the same value back keeps the content
    assert http.put(f"{url}/Doc", json=file("Doc", "a.pdf", "application/pdf")).status_code == 204
    assert http.get(f"{url}/Doc/attachment").content == b"old"
    sm_url = url.rsplit("/", 1)[0]
    whole = http.get(sm_url).json()
    assert http.put(sm_url, json=whole).status_code == 204
    assert http.get(f"{url}/Doc/attachment").content == b"old"
    # a new value has no content yet
    assert http.put(f"{url}/Doc", json=file("Doc", "new.pdf", "application/pdf")).status_code == 204
    assert_result(http.get(f"{url}/Doc/attachment"), 404)
    assert http.patch(f"{url}/Other/$value", json={"value": "https://example.com/b.pdf"}).status_code == 204
    assert_result(http.get(f"{url}/Other/attachment"), 404)
    exported = http.get(f"{api}/serialization", params={"submodelIds": b64(sm["id"])},
                        headers={"Accept": "application/asset-administration-shell-package+xml"})
    assert exported.status_code == 200
    parts = zipfile.ZipFile(io.BytesIO(exported.content)).namelist()
    assert not [p for p in parts if p.startswith("aasx/files/")], parts


@pytest.mark.parametrize("path", ["Blob", "IntProp"])
def test_attachment_on_non_file_is_400(http, kinds, path):
    before = http.get(f"{kinds}/{path}", params={"extent": "withBlobValue"}).json()
    response = http.put(f"{kinds}/{path}/attachment", files={"file": ("a.bin", b"x", "application/octet-stream")})
    assert_result(response, 400, "File")
    assert_result(http.get(f"{kinds}/{path}/attachment"), 400, "File")
    assert http.get(f"{kinds}/{path}", params={"extent": "withBlobValue"}).json() == before


# -- concurrency ------------------------------------------------------------------------------------------------


def test_concurrent_value_patches_of_different_elements_both_win(api):
    with requests.Session() as http:
        _, url = new_submodel(http, api, [prop("A", "0"), prop("B", "0"), entity("E", [prop("S", "0")])])
    rounds = 20
    failures: list[str] = []

    def writer(path: str) -> None:
        with requests.Session() as session:
            for i in range(1, rounds + 1):
                response = session.patch(f"{url}/{path}/$value", json=i)
                if response.status_code != 204:
                    failures.append(f"{path} {i}: {response.status_code} {response.text[:200]}")

    threads = [threading.Thread(target=writer, args=(p,)) for p in ("A", "B", "E.S")]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert failures == []
    with requests.Session() as http:
        values = http.get(f"{url.rsplit('/', 1)[0]}/$value").json()
    assert values["A"] == rounds
    assert values["B"] == rounds
    assert values["E"]["statements"] == {"S": rounds}
