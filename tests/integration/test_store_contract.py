"""The Store contract, run against every store through the ``store`` fixture (embedded and mongo)."""

from __future__ import annotations

import threading
from typing import Any

import pytest

from aas_server.errors import ConflictError, InvalidRequestError, NotFoundError
from aas_server.model.index import ASSET_ID, DATA_SPECIFICATION, asset_id_term
from aas_server.store.base import JSON, KINDS, Attachment, Page, PageRequest, Query, Store, iterate

pytestmark = pytest.mark.integration


# -- builders -----------------------------------------------------------------------------------------------


def ref(value: str, key_type: str = "GlobalReference") -> JSON:
    return {"type": "ExternalReference", "keys": [{"type": key_type, "value": value}]}


def prop(id_short: str, value: str = "1") -> JSON:
    return {"modelType": "Property", "idShort": id_short, "valueType": "xs:int", "value": value}


def shell(
    identifier: str,
    id_short: str | None = None,
    global_asset_id: str | None = None,
    specific: tuple[tuple[str, str], ...] = (),
) -> JSON:
    asset: JSON = {"assetKind": "Instance"}
    if global_asset_id is not None:
        asset["globalAssetId"] = global_asset_id
    if specific:
        asset["specificAssetIds"] = [{"name": n, "value": v} for n, v in specific]
    obj: JSON = {"modelType": "AssetAdministrationShell", "id": identifier, "assetInformation": asset}
    if id_short is not None:
        obj["idShort"] = id_short
    return obj


def submodel(
    identifier: str, id_short: str | None = None, semantic_id: str | None = None, elements: list[JSON] | None = None
) -> JSON:
    obj: JSON = {"modelType": "Submodel", "id": identifier}
    if id_short is not None:
        obj["idShort"] = id_short
    if semantic_id is not None:
        obj["semanticId"] = ref(semantic_id)
    if elements is not None:
        obj["submodelElements"] = elements
    return obj


def concept_description(identifier: str, id_short: str | None = None, data_specification: str | None = None) -> JSON:
    obj: JSON = {"modelType": "ConceptDescription", "id": identifier}
    if id_short is not None:
        obj["idShort"] = id_short
    if data_specification is not None:
        obj["embeddedDataSpecifications"] = [
            {
                "dataSpecification": ref(data_specification),
                "dataSpecificationContent": {
                    "modelType": "DataSpecificationIec61360",
                    "preferredName": [{"language": "en", "text": "x"}],
                },
            }
        ]
    return obj


BUILDERS: dict[str, Any] = {"shell": shell, "submodel": submodel, "concept_description": concept_description}


def build(kind: str, identifier: str, id_short: str | None = None) -> JSON:
    obj: JSON = BUILDERS[kind](identifier, id_short=id_short)
    return obj


def ids(page: Page[JSON]) -> list[str]:
    return [item["id"] for item in page.items]


def all_pages(fetch: Any, limit: int) -> list[Page[JSON]]:
    pages = [fetch(PageRequest(limit))]
    while pages[-1].next_after is not None:
        pages.append(fetch(PageRequest(limit, pages[-1].next_after)))
        assert len(pages) < 100
    return pages


# -- identifiables ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", KINDS)
def test_create_then_get_returns_the_json(store: Store, kind: str) -> None:
    obj = build(kind, "urn:x:1", id_short="One")
    store.create(kind, obj)
    assert store.get(kind, "urn:x:1") == obj


@pytest.mark.parametrize("kind", KINDS)
def test_create_existing_id_conflicts(store: Store, kind: str) -> None:
    store.create(kind, build(kind, "urn:x:1", id_short="First"))
    with pytest.raises(ConflictError):
        store.create(kind, build(kind, "urn:x:1", id_short="Second"))
    assert store.get(kind, "urn:x:1")["idShort"] == "First"


@pytest.mark.parametrize("kind", KINDS)
def test_get_missing_is_not_found(store: Store, kind: str) -> None:
    with pytest.raises(NotFoundError):
        store.get(kind, "urn:x:missing")


@pytest.mark.parametrize("kind", KINDS)
def test_replace_overwrites_and_updates_the_index(store: Store, kind: str) -> None:
    store.create(kind, build(kind, "urn:x:1", id_short="Old"))
    new = build(kind, "urn:x:1", id_short="New")
    store.replace(kind, new)
    assert store.get(kind, "urn:x:1") == new
    assert store.find(kind, Query(id_short="Old"), PageRequest(10)).items == []
    assert ids(store.find(kind, Query(id_short="New"), PageRequest(10))) == ["urn:x:1"]


@pytest.mark.parametrize("kind", KINDS)
def test_replace_missing_is_not_found(store: Store, kind: str) -> None:
    with pytest.raises(NotFoundError):
        store.replace(kind, build(kind, "urn:x:missing"))
    with pytest.raises(NotFoundError):
        store.get(kind, "urn:x:missing")


@pytest.mark.parametrize("kind", KINDS)
def test_delete_removes_it_and_the_id_can_be_reused(store: Store, kind: str) -> None:
    store.create(kind, build(kind, "urn:x:1", id_short="Gone"))
    store.delete(kind, "urn:x:1")
    with pytest.raises(NotFoundError):
        store.get(kind, "urn:x:1")
    with pytest.raises(NotFoundError):
        store.delete(kind, "urn:x:1")
    assert store.find(kind, Query(id_short="Gone"), PageRequest(10)).items == []
    store.create(kind, build(kind, "urn:x:1", id_short="Again"))
    assert store.get(kind, "urn:x:1")["idShort"] == "Again"


def test_kinds_are_separate(store: Store) -> None:
    for kind in KINDS:
        store.create(kind, build(kind, "urn:x:same", id_short=kind))
    for kind in KINDS:
        assert store.get(kind, "urn:x:same")["idShort"] == kind
        assert ids(store.find(kind, Query(), PageRequest(10))) == ["urn:x:same"]
    store.delete("shell", "urn:x:same")
    assert store.get("submodel", "urn:x:same")["idShort"] == "submodel"


def test_json_round_trips_unchanged(store: Store) -> None:
    obj = submodel("urn:x:1", id_short="Grüße", elements=[prop("p1")])
    obj["description"] = [{"language": "de", "text": 'Maße: 3 × 4 µm, "quoted", tab\there, ∞'}]
    obj["extensions"] = [{"name": "a.b", "value": "$dollar and dots.in.keys"}]
    obj["submodelElements"][0]["qualifiers"] = [{"type": "$x.y", "valueType": "xs:string", "value": "\x1f\n"}]
    store.create("submodel", obj)
    assert store.get("submodel", "urn:x:1") == obj


# -- find -----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", KINDS)
def test_find_pages_through_all_in_id_order(store: Store, kind: str) -> None:
    created = [f"urn:x:{i:02d}" for i in range(25)]
    for identifier in reversed(created):
        store.create(kind, build(kind, identifier))
    pages = all_pages(lambda page: store.find(kind, Query(), page), 10)
    assert [len(p.items) for p in pages] == [10, 10, 5]
    assert [i for p in pages for i in ids(p)] == created
    assert pages[0].next_after == "urn:x:09"
    assert pages[-1].next_after is None


def test_find_last_full_page_has_no_next(store: Store) -> None:
    for i in range(20):
        store.create("shell", shell(f"urn:x:{i:02d}"))
    pages = all_pages(lambda page: store.find("shell", Query(), page), 10)
    assert [len(p.items) for p in pages] == [10, 10]
    assert list(iterate(lambda page: store.find("shell", Query(), page), limit=7)) == [
        shell(f"urn:x:{i:02d}") for i in range(20)
    ]


def test_find_nothing(store: Store) -> None:
    page = store.find("shell", Query(), PageRequest(10))
    assert page.items == []
    assert page.next_after is None
    page = store.find("shell", Query(), PageRequest(10, after="urn:x:zzz"))
    assert page.items == []
    assert page.next_after is None


def test_find_by_id_short(store: Store) -> None:
    store.create("shell", shell("urn:x:1", id_short="Pump"))
    store.create("shell", shell("urn:x:2", id_short="Valve"))
    store.create("shell", shell("urn:x:3", id_short="Pump"))
    store.create("shell", shell("urn:x:4"))
    assert ids(store.find("shell", Query(id_short="Pump"), PageRequest(10))) == ["urn:x:1", "urn:x:3"]
    assert store.find("shell", Query(id_short="pump"), PageRequest(10)).items == []


def test_find_by_semantic_id(store: Store) -> None:
    store.create("submodel", submodel("urn:sm:1", semantic_id="urn:sem:nameplate", elements=[prop("a")]))
    store.create("submodel", submodel("urn:sm:2", semantic_id="urn:sem:other"))
    store.create("submodel", submodel("urn:sm:3", semantic_id="urn:sem:nameplate"))
    page = store.find("submodel", Query(semantic_id="urn:sem:nameplate"), PageRequest(10))
    assert ids(page) == ["urn:sm:1", "urn:sm:3"]
    assert page.items[0]["submodelElements"] == [prop("a")]
    both = Query(id_short=None, semantic_id="urn:sem:other")
    assert ids(store.find("submodel", both, PageRequest(10))) == ["urn:sm:2"]


def test_find_by_asset_ids_ands_the_terms(store: Store) -> None:
    store.create("shell", shell("urn:x:1", global_asset_id="urn:asset:1", specific=(("serial", "42"),)))
    store.create("shell", shell("urn:x:2", global_asset_id="urn:asset:2", specific=(("serial", "42"),)))
    store.create("shell", shell("urn:x:3", global_asset_id="urn:asset:1"))
    store.create("shell", shell("urn:x:4", specific=(("serial", "42"), ("batch", "7"))))
    global_1 = (ASSET_ID, asset_id_term("globalAssetId", "urn:asset:1"))
    serial_42 = (ASSET_ID, asset_id_term("serial", "42"))
    batch_7 = (ASSET_ID, asset_id_term("batch", "7"))

    def find(*terms: tuple[str, str], **filters: str) -> list[str]:
        return ids(store.find("shell", Query(terms=terms, **filters), PageRequest(10)))

    assert find(global_1) == ["urn:x:1", "urn:x:3"]
    assert find(serial_42) == ["urn:x:1", "urn:x:2", "urn:x:4"]
    assert find(global_1, serial_42) == ["urn:x:1"]
    assert find(serial_42, batch_7) == ["urn:x:4"]
    assert find(global_1, batch_7) == []
    assert find((ASSET_ID, asset_id_term("serial", "4"))) == []
    store.create("shell", shell("urn:x:5", id_short="Five", specific=(("serial", "42"),)))
    assert find(serial_42, id_short="Five") == ["urn:x:5"]


def test_find_by_data_specification(store: Store) -> None:
    store.create("concept_description", concept_description("urn:cd:1", data_specification="urn:iec61360"))
    store.create("concept_description", concept_description("urn:cd:2"))
    query = Query(terms=((DATA_SPECIFICATION, "urn:iec61360"),))
    assert ids(store.find("concept_description", query, PageRequest(10))) == ["urn:cd:1"]


def test_find_pages_filtered_results(store: Store) -> None:
    for i in range(30):
        store.create("shell", shell(f"urn:x:{i:02d}", id_short="Even" if i % 2 == 0 else "Odd"))
    pages = all_pages(lambda page: store.find("shell", Query(id_short="Even"), page), 4)
    assert [len(p.items) for p in pages] == [4, 4, 4, 3]
    assert [i for p in pages for i in ids(p)] == [f"urn:x:{i:02d}" for i in range(0, 30, 2)]


def test_replace_updates_terms(store: Store) -> None:
    store.create("shell", shell("urn:x:1", global_asset_id="urn:asset:old"))
    store.replace("shell", shell("urn:x:1", global_asset_id="urn:asset:new"))
    old = Query(terms=((ASSET_ID, asset_id_term("globalAssetId", "urn:asset:old")),))
    new = Query(terms=((ASSET_ID, asset_id_term("globalAssetId", "urn:asset:new")),))
    assert store.find("shell", old, PageRequest(10)).items == []
    assert ids(store.find("shell", new, PageRequest(10))) == ["urn:x:1"]


# -- submodels with elements ----------------------------------------------------------------------------------


def test_submodel_elements_keep_their_order(store: Store) -> None:
    obj = submodel("urn:sm:1", id_short="Sm", elements=[prop("z"), prop("a"), prop("m", "3")])
    store.create("submodel", obj)
    assert store.get("submodel", "urn:sm:1") == obj
    assert store.find_elements("urn:sm:1", PageRequest(10)).items == obj["submodelElements"]


def test_submodel_without_elements_has_no_element_list(store: Store) -> None:
    store.create("submodel", submodel("urn:sm:1", elements=[]))
    assert "submodelElements" not in store.get("submodel", "urn:sm:1")
    assert store.find_elements("urn:sm:1", PageRequest(10)).items == []


def test_find_submodels_returns_their_elements(store: Store) -> None:
    for i in range(12):
        store.create("submodel", submodel(f"urn:sm:{i:02d}", elements=[prop(f"p{i}"), prop("shared", str(i))]))
    store.create("submodel", submodel("urn:sm:99"))
    items = [item for page in all_pages(lambda p: store.find("submodel", Query(), p), 5) for item in page.items]
    assert len(items) == 13
    for i, item in enumerate(items[:12]):
        assert item["submodelElements"] == [prop(f"p{i}"), prop("shared", str(i))]
    assert "submodelElements" not in items[12]


def test_replace_submodel_replaces_its_elements(store: Store) -> None:
    store.create("submodel", submodel("urn:sm:1", id_short="Old", elements=[prop("a"), prop("b"), prop("c")]))
    new = submodel("urn:sm:1", id_short="New", elements=[prop("c", "9"), prop("d")])
    store.replace("submodel", new)
    assert store.get("submodel", "urn:sm:1") == new
    assert store.find_elements("urn:sm:1", PageRequest(10)).items == new["submodelElements"]
    with pytest.raises(NotFoundError):
        store.get_element("urn:sm:1", "a")
    assert store.get_element("urn:sm:1", "c") == prop("c", "9")
    store.add_element("urn:sm:1", prop("a"))
    assert [e["idShort"] for e in store.get("submodel", "urn:sm:1")["submodelElements"]] == ["c", "d", "a"]
    store.replace("submodel", submodel("urn:sm:1"))
    assert store.get("submodel", "urn:sm:1") == submodel("urn:sm:1")


def test_delete_submodel_deletes_its_elements(store: Store) -> None:
    store.create("submodel", submodel("urn:sm:1", elements=[prop("a"), prop("b")]))
    store.delete("submodel", "urn:sm:1")
    with pytest.raises(NotFoundError):
        store.get_element("urn:sm:1", "a")
    store.create("submodel", submodel("urn:sm:1"))
    assert store.find_elements("urn:sm:1", PageRequest(10)).items == []
    store.add_element("urn:sm:1", prop("a", "2"))
    assert store.get("submodel", "urn:sm:1")["submodelElements"] == [prop("a", "2")]


def test_same_id_short_in_different_submodels(store: Store) -> None:
    store.create("submodel", submodel("urn:sm:1", elements=[prop("p", "1")]))
    store.create("submodel", submodel("urn:sm:2", elements=[prop("p", "2")]))
    store.update_element("urn:sm:1", "p", lambda e: {**e, "value": "10"})
    assert store.get_element("urn:sm:1", "p")["value"] == "10"
    assert store.get_element("urn:sm:2", "p")["value"] == "2"


# -- elements -------------------------------------------------------------------------------------------------


def test_find_elements_pages_in_order(store: Store) -> None:
    elements = [prop(f"e{24 - i:02d}", str(i)) for i in range(25)]
    store.create("submodel", submodel("urn:sm:1", elements=elements))
    pages = all_pages(lambda page: store.find_elements("urn:sm:1", page), 10)
    assert [len(p.items) for p in pages] == [10, 10, 5]
    assert [e for p in pages for e in p.items] == elements


def test_find_elements_after_deletes_and_adds(store: Store) -> None:
    store.create("submodel", submodel("urn:sm:1", elements=[prop(f"e{i}") for i in range(6)]))
    store.delete_element("urn:sm:1", "e1")
    store.delete_element("urn:sm:1", "e5")
    store.add_element("urn:sm:1", prop("new"))
    got = [e["idShort"] for e in iterate(lambda page: store.find_elements("urn:sm:1", page), limit=2)]
    assert got == ["e0", "e2", "e3", "e4", "new"]


def test_find_elements_rejects_a_bad_cursor(store: Store) -> None:
    store.create("submodel", submodel("urn:sm:1", elements=[prop("a")]))
    with pytest.raises(InvalidRequestError, match="invalid cursor"):
        store.find_elements("urn:sm:1", PageRequest(10, after="not-a-cursor"))


def test_find_elements_of_missing_submodel(store: Store) -> None:
    with pytest.raises(NotFoundError):
        store.find_elements("urn:sm:missing", PageRequest(10))


def test_get_element(store: Store) -> None:
    store.create("submodel", submodel("urn:sm:1", elements=[prop("a", "1"), prop("b", "2")]))
    assert store.get_element("urn:sm:1", "b") == prop("b", "2")
    with pytest.raises(NotFoundError):
        store.get_element("urn:sm:1", "c")
    with pytest.raises(NotFoundError):
        store.get_element("urn:sm:missing", "a")


def test_add_element_appends(store: Store) -> None:
    store.create("submodel", submodel("urn:sm:1", id_short="Sm", elements=[prop("b")]))
    store.add_element("urn:sm:1", prop("a"))
    store.add_element("urn:sm:1", prop("c"))
    got = store.get("submodel", "urn:sm:1")
    assert got == submodel("urn:sm:1", id_short="Sm", elements=[prop("b"), prop("a"), prop("c")])


def test_add_element_to_empty_submodel(store: Store) -> None:
    store.create("submodel", submodel("urn:sm:1"))
    store.add_element("urn:sm:1", prop("a"))
    assert store.find_elements("urn:sm:1", PageRequest(10)).items == [prop("a")]


def test_add_element_with_taken_id_short_conflicts(store: Store) -> None:
    store.create("submodel", submodel("urn:sm:1", elements=[prop("a", "1")]))
    with pytest.raises(ConflictError):
        store.add_element("urn:sm:1", prop("a", "2"))
    assert store.find_elements("urn:sm:1", PageRequest(10)).items == [prop("a", "1")]


def test_add_element_to_missing_submodel(store: Store) -> None:
    with pytest.raises(NotFoundError):
        store.add_element("urn:sm:missing", prop("a"))
    store.create("submodel", submodel("urn:sm:missing"))
    assert "submodelElements" not in store.get("submodel", "urn:sm:missing")


def test_update_element_applies_the_change(store: Store) -> None:
    store.create("submodel", submodel("urn:sm:1", id_short="Sm", elements=[prop("a", "1"), prop("b", "2")]))
    seen: list[JSON] = []

    def change(element: JSON) -> JSON:
        seen.append(dict(element))
        return {**element, "value": str(int(element["value"]) + 41)}

    result = store.update_element("urn:sm:1", "a", change)
    assert seen[-1] == prop("a", "1")
    assert result == prop("a", "42")
    assert store.get_element("urn:sm:1", "a") == prop("a", "42")
    assert store.get("submodel", "urn:sm:1") == submodel(
        "urn:sm:1", id_short="Sm", elements=[prop("a", "42"), prop("b", "2")]
    )


def test_update_element_that_raises_changes_nothing(store: Store) -> None:
    store.create("submodel", submodel("urn:sm:1", elements=[prop("a", "1")]))

    def change(element: JSON) -> JSON:
        element["value"] = "mutated"
        raise InvalidRequestError("refused")

    with pytest.raises(InvalidRequestError, match="refused"):
        store.update_element("urn:sm:1", "a", change)
    assert store.get_element("urn:sm:1", "a") == prop("a", "1")


def test_update_element_missing(store: Store) -> None:
    store.create("submodel", submodel("urn:sm:1", elements=[prop("a")]))
    with pytest.raises(NotFoundError):
        store.update_element("urn:sm:1", "b", lambda e: e)
    with pytest.raises(NotFoundError):
        store.update_element("urn:sm:missing", "a", lambda e: e)


def test_concurrent_updates_of_different_elements_all_win(store: Store) -> None:
    threads_n, rounds = 6, 8
    store.create("submodel", submodel("urn:sm:1", elements=[prop(f"t{i}", "0") for i in range(threads_n)]))
    errors: list[BaseException] = []
    start = threading.Barrier(threads_n)

    def work(i: int) -> None:
        try:
            start.wait()
            for _ in range(rounds):
                store.update_element("urn:sm:1", f"t{i}", lambda e: {**e, "value": str(int(e["value"]) + 1)})
        except BaseException as e:  # noqa: BLE001 - reported below
            errors.append(e)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(threads_n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    elements = store.get("submodel", "urn:sm:1")["submodelElements"]
    assert elements == [prop(f"t{i}", str(rounds)) for i in range(threads_n)]


def test_delete_element(store: Store) -> None:
    store.create("submodel", submodel("urn:sm:1", elements=[prop("a"), prop("b"), prop("c")]))
    store.delete_element("urn:sm:1", "b")
    assert [e["idShort"] for e in store.get("submodel", "urn:sm:1")["submodelElements"]] == ["a", "c"]
    with pytest.raises(NotFoundError):
        store.get_element("urn:sm:1", "b")
    with pytest.raises(NotFoundError):
        store.delete_element("urn:sm:1", "b")
    with pytest.raises(NotFoundError):
        store.delete_element("urn:sm:missing", "a")
    store.add_element("urn:sm:1", prop("b", "2"))
    assert [e["idShort"] for e in store.get("submodel", "urn:sm:1")["submodelElements"]] == ["a", "c", "b"]


# -- header -------------------------------------------------------------------------------------------------


def test_update_header_changes_the_header_only(store: Store) -> None:
    store.create("submodel", submodel("urn:sm:1", id_short="Old", semantic_id="urn:sem:1", elements=[prop("a")]))
    seen: list[JSON] = []

    def change(header: JSON) -> JSON:
        seen.append(dict(header))
        return {**header, "idShort": "New", "semanticId": ref("urn:sem:2")}

    result = store.update_header("urn:sm:1", change)
    assert seen[-1] == submodel("urn:sm:1", id_short="Old", semantic_id="urn:sem:1")
    assert result == submodel("urn:sm:1", id_short="New", semantic_id="urn:sem:2")
    got = store.get("submodel", "urn:sm:1")
    assert got == submodel("urn:sm:1", id_short="New", semantic_id="urn:sem:2", elements=[prop("a")])
    assert ids(store.find("submodel", Query(id_short="New", semantic_id="urn:sem:2"), PageRequest(10))) == ["urn:sm:1"]
    assert store.find("submodel", Query(semantic_id="urn:sem:1"), PageRequest(10)).items == []


def test_update_header_that_raises_changes_nothing(store: Store) -> None:
    store.create("submodel", submodel("urn:sm:1", id_short="Old"))

    def change(header: JSON) -> JSON:
        raise ConflictError("refused")

    with pytest.raises(ConflictError, match="refused"):
        store.update_header("urn:sm:1", change)
    assert store.get("submodel", "urn:sm:1")["idShort"] == "Old"


def test_update_header_of_missing_submodel(store: Store) -> None:
    with pytest.raises(NotFoundError):
        store.update_header("urn:sm:missing", lambda h: h)


# -- attachments --------------------------------------------------------------------------------------------


def test_attachment_put_get_overwrite(store: Store) -> None:
    store.put_attachment("sm\nA\n", Attachment("text/plain", "a.txt", b"first"))
    assert store.get_attachment("sm\nA\n") == Attachment("text/plain", "a.txt", b"first")
    data = bytes(range(256)) * 1200  # several GridFS chunks
    store.put_attachment("sm\nA\n", Attachment("application/octet-stream", "b.bin", data))
    assert store.get_attachment("sm\nA\n") == Attachment("application/octet-stream", "b.bin", data)


def test_empty_attachment(store: Store) -> None:
    store.put_attachment("k", Attachment("text/plain", "empty.txt", b""))
    assert store.get_attachment("k") == Attachment("text/plain", "empty.txt", b"")


def test_get_missing_attachment(store: Store) -> None:
    with pytest.raises(NotFoundError):
        store.get_attachment("sm\nA\n")


def test_delete_attachments_by_prefix(store: Store) -> None:
    keys = ["sm\nA\n", "sm\nA\nfile", "sm\nA\nsub\nx", "sm\nAB\n", "sm\nB\n", "other\nsm\nA\n", "sm\na\n"]
    for key in keys:
        store.put_attachment(key, Attachment("text/plain", "f.txt", key.encode()))
    store.delete_attachments("sm\nA\n")
    for key in ["sm\nA\n", "sm\nA\nfile", "sm\nA\nsub\nx"]:
        with pytest.raises(NotFoundError):
            store.get_attachment(key)
    for key in ["sm\nAB\n", "sm\nB\n", "other\nsm\nA\n", "sm\na\n"]:
        assert store.get_attachment(key).data == key.encode()
    store.delete_attachments("nothing\n")


def test_delete_attachments_prefix_is_literal(store: Store) -> None:
    keys = ["urn:x.y*(1)+[a]\n$^|?\\{2}\n", "urn:xzy*(1)+[a]\n", "urn:x.yy\n"]
    for key in keys:
        store.put_attachment(key, Attachment("text/plain", "f.txt", b"x"))
    store.delete_attachments("urn:x.y*(1)+[a]\n$^|?\\{2}")
    with pytest.raises(NotFoundError):
        store.get_attachment(keys[0])
    store.delete_attachments("urn:x.y*")
    assert store.get_attachment(keys[1]).data == b"x"
    assert store.get_attachment(keys[2]).data == b"x"


# -- records ------------------------------------------------------------------------------------------------


def test_records_put_get_overwrite_delete(store: Store) -> None:
    store.put_record("operations", "h1", {"state": "Running"})
    assert store.get_record("operations", "h1") == {"state": "Running"}
    store.put_record("operations", "h1", {"state": "Completed", "output": [1, 2.5, None]})
    assert store.get_record("operations", "h1") == {"state": "Completed", "output": [1, 2.5, None]}
    with pytest.raises(NotFoundError):
        store.get_record("packages", "h1")
    store.delete_record("operations", "h1")
    with pytest.raises(NotFoundError):
        store.get_record("operations", "h1")
    with pytest.raises(NotFoundError):
        store.delete_record("operations", "h1")


def test_find_records_pages_by_key(store: Store) -> None:
    keys = [f"k{i:02d}" for i in range(25)]
    for key in reversed(keys):
        store.put_record("packages", key, {"key": key})
    store.put_record("operations", "k05", {"other": True})
    pages = all_pages(lambda page: store.find_records("packages", page), 10)
    assert [len(p.items) for p in pages] == [10, 10, 5]
    assert [r["key"] for p in pages for r in p.items] == keys
    assert pages[0].next_after == "k09"
    assert store.find_records("nothing", PageRequest(10)) == Page([], None)


def test_put_records_stores_a_batch_and_replaces_existing_keys(store: Store) -> None:
    store.put_record("audit", "r02", {"old": True})
    store.put_records("audit", [(f"r{i:02d}", {"n": i}) for i in range(5)])
    store.put_records("audit", [])
    assert [doc for _, doc in store.find_record_items("audit", PageRequest(10)).items] == [{"n": i} for i in range(5)]
    assert store.record_collections() == ["audit"]


def test_records_and_attachments_are_listed_for_backups(store: Store) -> None:
    store.put_records("b", [("k2", {"v": 2}), ("k1", {"v": 1})])
    store.put_record("a", "k", {"v": 0})
    store.put_attachment("sm/x", Attachment("text/plain", "x.txt", b"x"))
    store.put_attachment("sm/a", Attachment("text/plain", "a.txt", b"a"))
    assert store.record_collections() == ["a", "b"]
    page = store.find_record_items("b", PageRequest(1))
    assert page.items == [("k1", {"v": 1})] and page.next_after == "k1"
    assert store.attachment_keys() == ["sm/a", "sm/x"]


def test_records_collections_are_separate(store: Store) -> None:
    store.put_record("a", "k", {"in": "a"})
    store.put_record("b", "k", {"in": "b"})
    store.delete_record("a", "k")
    assert store.get_record("b", "k") == {"in": "b"}


def test_update_record_creates_changes_and_deletes(store: Store) -> None:
    seen: list[JSON | None] = []

    def bump(current: JSON | None) -> JSON | None:
        seen.append(current)
        return {"n": (current or {"n": 0})["n"] + 1}

    assert store.update_record("counters", "c", bump) == {"n": 1}
    assert store.update_record("counters", "c", bump) == {"n": 2}
    assert seen == [None, {"n": 1}]
    assert store.get_record("counters", "c") == {"n": 2}
    assert store.update_record("counters", "c", lambda current: None) is None
    with pytest.raises(NotFoundError):
        store.get_record("counters", "c")
    assert store.update_record("counters", "c", lambda current: None) is None
    with pytest.raises(NotFoundError):
        store.get_record("counters", "c")


def test_update_record_continues_a_put_record(store: Store) -> None:
    store.put_record("counters", "c", {"n": 5})
    assert store.update_record("counters", "c", lambda current: {"n": current["n"] + 1} if current else None) == {
        "n": 6
    }
    store.put_record("counters", "c", {"n": 0})
    assert store.update_record("counters", "c", lambda current: current) == {"n": 0}
    assert store.find_records("counters", PageRequest(10)).items == [{"n": 0}]


def test_update_record_that_raises_changes_nothing(store: Store) -> None:
    store.put_record("counters", "c", {"n": 1})

    def fail(current: JSON | None) -> JSON | None:
        raise InvalidRequestError("refused")

    with pytest.raises(InvalidRequestError):
        store.update_record("counters", "c", fail)
    with pytest.raises(InvalidRequestError):
        store.update_record("counters", "absent", fail)
    assert store.get_record("counters", "c") == {"n": 1}
    with pytest.raises(NotFoundError):
        store.get_record("counters", "absent")


def test_concurrent_update_record_loses_no_increment(store: Store) -> None:
    """Threads increment one counter that none of them created: every increment counts exactly once."""
    threads_n, rounds = 6, 15
    errors: list[BaseException] = []
    start = threading.Barrier(threads_n)

    def increment(current: JSON | None) -> JSON:
        return {"n": (current or {"n": 0})["n"] + 1}

    def work() -> None:
        try:
            start.wait()
            for _ in range(rounds):
                store.update_record("counters", "hot", increment)
        except BaseException as e:  # noqa: BLE001 - reported below
            errors.append(e)

    threads = [threading.Thread(target=work) for _ in range(threads_n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert store.get_record("counters", "hot") == {"n": threads_n * rounds}


# -- health -------------------------------------------------------------------------------------------------


def test_ping(store: Store) -> None:
    store.ping()
