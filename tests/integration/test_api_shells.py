"""/shells over real HTTP, on both stores: list, filters, paging, CRUD, asset information, thumbnail,
submodel references and the /shells/{aasId}/submodels/{smId} superpath."""
from __future__ import annotations

from urllib.parse import urljoin

import pytest
import requests

from tests.factories import (
    assert_result,
    b64,
    b64_json,
    prop,
    shell,
    submodel,
    submodel_ref,
    uid,
)

pytestmark = pytest.mark.integration


def post_shell(http: requests.Session, api: str, obj: dict) -> dict:
    response = http.post(f"{api}/shells", json=obj)
    assert response.status_code == 201, response.text
    return obj


def list_all(http: requests.Session, url: str, params: dict, limit: int) -> list[list[dict]]:
    """Every page of a list route, following cursors."""
    pages = []
    cursor = None
    while True:
        response = http.get(url, params={**params, "limit": limit, **({"cursor": cursor} if cursor else {})})
        assert response.status_code == 200, response.text
        body = response.json()
        pages.append(body["result"])
        cursor = body["paging_metadata"].get("cursor")
        if cursor is None:
            return pages


# -- list, filters, paging ----------------------------------------------------------------------------------------


def test_paging_by_id_short_has_no_gaps_or_duplicates(http, api):
    tag = f"Page{uid()[-8:]}"
    ids = {post_shell(http, api, shell(id_short=tag))["id"] for _ in range(7)}
    pages = list_all(http, f"{api}/shells", {"idShort": tag}, 3)
    assert [len(p) for p in pages] == [3, 3, 1]
    seen = [s["id"] for page in pages for s in page]
    assert sorted(seen) == sorted(ids)


def test_paging_over_all_shells_returns_each_once(http, api):
    ids = {post_shell(http, api, shell())["id"] for _ in range(5)}
    pages = list_all(http, f"{api}/shells", {}, 2)
    seen = [s["id"] for page in pages for s in page]
    assert len(seen) == len(set(seen))
    assert ids <= set(seen)
    assert all(len(p) == 2 for p in pages[:-1])


def test_id_short_filter_matches_exactly(http, api):
    tag = f"Only{uid()[-8:]}"
    wanted = post_shell(http, api, shell(id_short=tag))
    post_shell(http, api, shell(id_short=tag + "x"))
    result = http.get(f"{api}/shells", params={"idShort": tag}).json()["result"]
    assert [s["id"] for s in result] == [wanted["id"]]


def test_asset_ids_filter_by_specific_and_global_asset_id(http, api):
    serial = uid("serial")
    global_id = uid("asset")
    wanted = post_shell(http, api, shell(global_asset_id=global_id, specific=(("serialNumber", serial),)))
    post_shell(http, api, shell(specific=(("serialNumber", uid("serial")),)))

    def found(*specific: dict) -> list[str]:
        params = {"assetIds": [b64_json(s) for s in specific]}
        response = http.get(f"{api}/shells", params=params)
        assert response.status_code == 200, response.text
        return [s["id"] for s in response.json()["result"]]

    assert found({"name": "serialNumber", "value": serial}) == [wanted["id"]]
    assert found({"name": "globalAssetId", "value": global_id}) == [wanted["id"]]
    assert found({"name": "globalAssetId", "value": global_id}, {"name": "serialNumber", "value": serial}) == [
        wanted["id"]
    ]
    assert found({"name": "serialNumber", "value": uid("none")}) == []
    assert found({"name": "globalAssetId", "value": global_id}, {"name": "serialNumber", "value": "other"}) == []


def test_list_of_references(http, api):
    tag = f"Ref{uid()[-8:]}"
    created = post_shell(http, api, shell(id_short=tag))
    body = http.get(f"{api}/shells/$reference", params={"idShort": tag}).json()
    assert body["result"] == [
        {"type": "ModelReference", "keys": [{"type": "AssetAdministrationShell", "value": created["id"]}]}
    ]


# -- one shell ----------------------------------------------------------------------------------------------------


def test_post_answers_location_that_gets_the_shell(http, api):
    obj = shell(specific=(("serialNumber", "S-1"),))
    response = http.post(f"{api}/shells", json=obj)
    assert response.status_code == 201
    assert response.json() == obj
    location = urljoin(api + "/", response.headers["Location"])
    assert location == f"{api}/shells/{b64(obj['id'])}"
    fetched = http.get(location)
    assert fetched.status_code == 200
    assert fetched.json() == obj


def test_post_duplicate_is_conflict_and_keeps_the_first(http, api):
    first = post_shell(http, api, shell(id_short="First"))
    assert_result(http.post(f"{api}/shells", json={**first, "idShort": "Second"}), 409, "exists")
    assert http.get(f"{api}/shells/{b64(first['id'])}").json()["idShort"] == "First"


def test_put_replaces_then_upserts(http, api):
    obj = post_shell(http, api, shell(id_short="Before"))
    url = f"{api}/shells/{b64(obj['id'])}"
    assert http.put(url, json={**obj, "idShort": "After"}).status_code == 204
    assert http.get(url).json()["idShort"] == "After"

    new = shell(id_short="Upserted")
    url = f"{api}/shells/{b64(new['id'])}"
    response = http.put(url, json=new)
    assert response.status_code == 201
    assert response.json() == new
    assert http.get(url).json() == new


def test_delete_then_404(http, api):
    obj = post_shell(http, api, shell())
    url = f"{api}/shells/{b64(obj['id'])}"
    assert http.delete(url).status_code == 204
    assert_result(http.get(url), 404, obj["id"])
    assert_result(http.delete(url), 404)


def test_reference_of_one_shell(http, api):
    obj = post_shell(http, api, shell())
    assert http.get(f"{api}/shells/{b64(obj['id'])}/$reference").json() == {
        "type": "ModelReference", "keys": [{"type": "AssetAdministrationShell", "value": obj["id"]}],
    }


def test_asset_information_get_and_put(http, api):
    obj = post_shell(http, api, shell())
    url = f"{api}/shells/{b64(obj['id'])}/asset-information"
    assert http.get(url).json() == obj["assetInformation"]
    global_id = uid("asset")
    info = {"assetKind": "Type", "globalAssetId": global_id,
            "specificAssetIds": [{"name": "partNumber", "value": "P-7"}]}
    assert http.put(url, json=info).status_code == 204
    assert http.get(url).json() == info
    # the asset id index follows the new asset information
    found = http.get(f"{api}/shells", params={"assetIds": b64_json({"name": "partNumber", "value": "P-7"})})
    assert obj["id"] in [s["id"] for s in found.json()["result"]]
    found = http.get(f"{api}/shells", params={"assetIds": b64_json({"name": "globalAssetId", "value": global_id})})
    assert [s["id"] for s in found.json()["result"]] == [obj["id"]]


def test_thumbnail_put_get_delete(http, api):
    obj = post_shell(http, api, shell())
    url = f"{api}/shells/{b64(obj['id'])}/asset-information/thumbnail"
    assert_result(http.get(url), 404)
    png = b"\x89PNG\r\n\x1a\n" + bytes(range(256))
    response = http.put(url, files={"file": ("pic.png", png, "image/png")}, data={"fileName": "thumb.png"})
    assert response.status_code == 204, response.text
    fetched = http.get(url)
    assert fetched.status_code == 200
    assert fetched.content == png
    assert fetched.headers["Content-Type"] == "image/png"
    info = http.get(f"{api}/shells/{b64(obj['id'])}/asset-information").json()
    assert info["defaultThumbnail"] == {"path": "thumb.png", "contentType": "image/png"}

    assert http.delete(url).status_code == 204
    assert_result(http.get(url), 404)
    assert "defaultThumbnail" not in http.get(f"{api}/shells/{b64(obj['id'])}/asset-information").json()
    assert_result(http.delete(url), 404)


def test_thumbnail_follows_asset_information(http, api):
    """The stored image is the one defaultThumbnail names: replace or drop that, and the old bytes are gone."""
    obj = post_shell(http, api, shell())
    url = f"{api}/shells/{b64(obj['id'])}"
    response = http.put(f"{url}/asset-information/thumbnail", files={"file": ("a.png", b"old", "image/png")})
    assert response.status_code == 204
    info = http.get(f"{url}/asset-information").json()
    assert http.put(f"{url}/asset-information", json=info).status_code == 204
    assert http.get(f"{url}/asset-information/thumbnail").content == b"old"
    changed = {**info, "defaultThumbnail": {"path": "https://example.com/b.png", "contentType": "image/png"}}
    assert http.put(f"{url}/asset-information", json=changed).status_code == 204
    assert_result(http.get(f"{url}/asset-information/thumbnail"), 404)
    assert http.put(f"{url}/asset-information", json=info).status_code == 204
    assert http.get(f"{url}/asset-information/thumbnail").content == b"old"
    without = {k: v for k, v in info.items() if k != "defaultThumbnail"}
    assert http.put(f"{url}/asset-information", json=without).status_code == 204
    assert_result(http.get(f"{url}/asset-information/thumbnail"), 404)


def test_deleted_shell_leaves_no_thumbnail(http, api):
    obj = post_shell(http, api, shell())
    url = f"{api}/shells/{b64(obj['id'])}"
    response = http.put(f"{url}/asset-information/thumbnail", files={"file": ("a.png", b"old", "image/png")})
    assert response.status_code == 204
    info = http.get(f"{url}/asset-information").json()
    assert http.delete(url).status_code == 204
    assert http.post(f"{api}/shells", json={**obj, "assetInformation": info}).status_code == 201
    assert_result(http.get(f"{url}/asset-information/thumbnail"), 404)


def test_thumbnail_needs_multipart_file(http, api):
    obj = post_shell(http, api, shell())
    url = f"{api}/shells/{b64(obj['id'])}/asset-information/thumbnail"
    assert_result(http.put(url, data=b"raw", headers={"Content-Type": "image/png"}), 400, "file")
    assert_result(http.get(url), 404)


# -- submodel references and the superpath ------------------------------------------------------------------------


def test_submodel_refs_paged_add_duplicate_remove(http, api):
    sm_ids = [uid("sm") for _ in range(5)]
    obj = post_shell(http, api, shell(submodels=tuple(sm_ids[:4])))
    url = f"{api}/shells/{b64(obj['id'])}/submodel-refs"
    pages = list_all(http, url, {}, 3)
    assert [len(p) for p in pages] == [3, 1]
    assert [p for page in pages for p in page] == [submodel_ref(s) for s in sm_ids[:4]]

    response = http.post(url, json=submodel_ref(sm_ids[4]))
    assert response.status_code == 201
    assert response.json() == submodel_ref(sm_ids[4])
    assert_result(http.post(url, json=submodel_ref(sm_ids[4])), 409)
    assert len(http.get(url).json()["result"]) == 5

    assert http.delete(f"{url}/{b64(sm_ids[0])}").status_code == 204
    assert_result(http.delete(f"{url}/{b64(sm_ids[0])}"), 404)
    assert http.get(url).json()["result"] == [submodel_ref(s) for s in sm_ids[1:]]


def test_superpath_reads_and_writes_referenced_submodel(http, api):
    sm = submodel(elements=[prop("Speed", "10")])
    assert http.post(f"{api}/submodels", json=sm).status_code == 201
    obj = post_shell(http, api, shell(submodels=(sm["id"],)))
    base = f"{api}/shells/{b64(obj['id'])}/submodels/{b64(sm['id'])}"
    assert http.get(base).json() == sm
    assert http.get(f"{base}/submodel-elements/Speed/$value").json() == {"Speed": 10}
    assert http.patch(f"{base}/submodel-elements/Speed/$value", json=11).status_code == 204
    assert http.get(f"{api}/submodels/{b64(sm['id'])}/submodel-elements/Speed/$value").json() == {"Speed": 11}


def test_superpath_404_when_not_referenced(http, api):
    sm = submodel()
    assert http.post(f"{api}/submodels", json=sm).status_code == 201
    obj = post_shell(http, api, shell())
    base = f"{api}/shells/{b64(obj['id'])}/submodels/{b64(sm['id'])}"
    assert_result(http.get(base), 404, "does not reference")
    assert_result(http.delete(base), 404)
    assert http.get(f"{api}/submodels/{b64(sm['id'])}").status_code == 200
    assert_result(http.get(f"{api}/shells/{b64(uid())}/submodels/{b64(sm['id'])}"), 404)


def test_superpath_delete_removes_submodel_and_reference(http, api):
    sm = submodel()
    assert http.post(f"{api}/submodels", json=sm).status_code == 201
    obj = post_shell(http, api, shell(submodels=(sm["id"], uid("other"))))
    assert http.delete(f"{api}/shells/{b64(obj['id'])}/submodels/{b64(sm['id'])}").status_code == 204
    assert_result(http.get(f"{api}/submodels/{b64(sm['id'])}"), 404)
    refs = http.get(f"{api}/shells/{b64(obj['id'])}/submodel-refs").json()["result"]
    assert sm["id"] not in [r["keys"][0]["value"] for r in refs]
    assert len(refs) == 1


# -- the same handlers under /api/v3.0 ------------------------------------------------------------------------


def test_v3_0_prefix_serves_the_same_shells(http, api, live_server):
    v30 = f"{live_server}/api/v3.0"
    obj = shell()
    response = http.post(f"{v30}/shells", json=obj)
    assert response.status_code == 201
    assert response.headers["Location"].startswith("/api/v3.0/shells/")
    assert http.get(f"{api}/shells/{b64(obj['id'])}").json() == obj
    assert http.get(f"{v30}/shells/{b64(obj['id'])}/asset-information").json() == obj["assetInformation"]
    assert http.delete(f"{v30}/shells/{b64(obj['id'])}").status_code == 204
    assert_result(http.get(f"{api}/shells/{b64(obj['id'])}"), 404)
