"""/concept-descriptions over real HTTP, on both stores: CRUD and the idShort, isCaseOf and dataSpecificationRef
filters."""
from __future__ import annotations

from urllib.parse import urljoin

import pytest
import requests

from tests.factories import assert_result, b64, concept_description, ref, uid

pytestmark = pytest.mark.integration


def post(http: requests.Session, api: str, obj: dict) -> dict:
    response = http.post(f"{api}/concept-descriptions", json=obj)
    assert response.status_code == 201, response.text
    return obj


def url_of(api: str, obj: dict) -> str:
    return f"{api}/concept-descriptions/{b64(obj['id'])}"


def test_post_get_put_delete(http, api):
    cd = concept_description(is_case_of=uid("case"), data_specification=uid("spec"))
    response = http.post(f"{api}/concept-descriptions", json=cd)
    assert response.status_code == 201
    assert response.json() == cd
    assert urljoin(api + "/", response.headers["Location"]) == url_of(api, cd)
    assert http.get(url_of(api, cd)).json() == cd
    assert_result(http.post(f"{api}/concept-descriptions", json=cd), 409, cd["id"])

    changed = {**cd, "idShort": "Changed", "category": "PROPERTY"}
    assert http.put(url_of(api, cd), json=changed).status_code == 204
    assert http.get(url_of(api, cd)).json() == changed

    assert http.delete(url_of(api, cd)).status_code == 204
    assert_result(http.get(url_of(api, cd)), 404, cd["id"])
    assert_result(http.delete(url_of(api, cd)), 404)


def test_put_creates(http, api):
    cd = concept_description()
    response = http.put(url_of(api, cd), json=cd)
    assert response.status_code == 201
    assert response.json() == cd
    assert http.get(url_of(api, cd)).json() == cd


def test_put_with_other_id_is_400(http, api):
    cd = post(http, api, concept_description())
    other = concept_description()
    assert_result(http.put(url_of(api, cd), json=other), 400, "id")
    assert http.get(url_of(api, cd)).json() == cd
    assert_result(http.get(url_of(api, other)), 404)


def test_filters(http, api):
    tag = f"Cd{uid()[-8:]}"
    case, spec = uid("case"), uid("spec")
    all_three = post(http, api, concept_description(id_short=tag, is_case_of=case, data_specification=spec))
    case_only = post(http, api, concept_description(is_case_of=case))
    spec_only = post(http, api, concept_description(id_short=tag, data_specification=spec))

    def ids(**params: str) -> list[str]:
        response = http.get(f"{api}/concept-descriptions", params=params)
        assert response.status_code == 200, response.text
        return sorted(c["id"] for c in response.json()["result"])

    assert ids(idShort=tag) == sorted([all_three["id"], spec_only["id"]])
    assert ids(isCaseOf=b64(case)) == sorted([all_three["id"], case_only["id"]])
    assert ids(dataSpecificationRef=b64(spec)) == sorted([all_three["id"], spec_only["id"]])
    assert ids(isCaseOf=b64(case), dataSpecificationRef=b64(spec)) == [all_three["id"]]
    assert ids(idShort=tag, isCaseOf=b64(case)) == [all_three["id"]]
    assert ids(isCaseOf=b64(uid("none"))) == []
    assert_result(http.get(f"{api}/concept-descriptions", params={"isCaseOf": "***"}), 400, "isCaseOf")


def test_is_case_of_keeps_order_and_follows_updates(http, api):
    first, second, third = uid("case"), uid("case"), uid("case")
    cd = concept_description()
    cd["isCaseOf"] = [ref(first), ref(second), ref(third)]
    post(http, api, cd)
    assert http.get(url_of(api, cd)).json()["isCaseOf"] == [ref(first), ref(second), ref(third)]
    assert http.put(url_of(api, cd), json={**cd, "isCaseOf": [ref(third)]}).status_code == 204
    found = http.get(f"{api}/concept-descriptions", params={"isCaseOf": b64(first)}).json()["result"]
    assert cd["id"] not in [c["id"] for c in found]
    found = http.get(f"{api}/concept-descriptions", params={"isCaseOf": b64(third)}).json()["result"]
    assert [c["id"] for c in found] == [cd["id"]]


def test_paging(http, api):
    tag = f"CdPage{uid()[-8:]}"
    ids = {post(http, api, concept_description(id_short=tag))["id"] for _ in range(5)}
    seen, cursor = [], None
    while True:
        params = {"idShort": tag, "limit": 2, **({"cursor": cursor} if cursor else {})}
        body = http.get(f"{api}/concept-descriptions", params=params).json()
        assert len(body["result"]) <= 2
        seen += [c["id"] for c in body["result"]]
        cursor = body["paging_metadata"].get("cursor")
        if not cursor:
            break
    assert sorted(seen) == sorted(ids)


def test_v3_0_prefix(http, api, live_server):
    cd = concept_description()
    assert http.post(f"{live_server}/api/v3.0/concept-descriptions", json=cd).status_code == 201
    assert http.get(url_of(api, cd)).json() == cd
