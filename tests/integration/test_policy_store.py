"""PolicyStore on both stores: hidden objects answer like missing ones, rule pushdown alternatives are paged as one
list, writes need their right and a denied write changes nothing, masking follows the data, internal records stay
internal."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from aas_server.errors import ForbiddenError, NotFoundError
from aas_server.ports.masking import Masker, load_profile
from aas_server.ports.policy_store import PolicyStore
from aas_server.security.access_rules import RuleSource
from aas_server.security.caller import Caller, acting_as
from aas_server.services.submodels import attachment_key
from aas_server.store.base import PageRequest, Query, iterate
from tests.integration import leak_policy as lp

pytestmark = pytest.mark.integration

PARTNER = Caller("external", False, bpn=lp.BPN_A)
WRITER = Caller("external", False, subject="writer", roles=frozenset({"writer"}))


def _policy(store: Any, tmp_path: Path, rules: list[dict[str, Any]]) -> PolicyStore:
    rules_file, masking_file = lp.write_policy(tmp_path)
    rules_file.write_text(json.dumps({"AllAccessPermissionRules": {"rules": rules}}))
    return PolicyStore(store, RuleSource(rules_file), Masker(load_profile(masking_file, {lp.SECRET_ENV: lp.MASKING_SECRET}), store))


@pytest.fixture()
def policy(store: Any, tmp_path: Path) -> PolicyStore:
    lp.load(store)
    writer = {"ACL": {"ATTRIBUTES": [{"CLAIM": "role"}], "RIGHTS": ["READ", "UPDATE"], "ACCESS": "ALLOW"},
              "OBJECTS": [{"IDENTIFIABLE": f'$sm("{lp.NAMEPLATE}")'}],
              "FORMULA": {"$eq": [{"$attribute": {"CLAIM": "role"}}, {"$strVal": "writer"}]}}
    return _policy(store, tmp_path, [*lp.rules()["AllAccessPermissionRules"]["rules"], writer])


def _error(call: Any) -> str:
    with pytest.raises(NotFoundError) as caught:
        call()
    return str(caught.value)


def test_hidden_objects_raise_what_missing_ones_raise(policy: PolicyStore) -> None:
    with acting_as(PARTNER):
        for kind, hidden in (("shell", lp.HIDDEN_SHELL), ("submodel", lp.HIDDEN_SUBMODEL),
                             ("concept_description", lp.HIDDEN_CD)):
            assert _error(lambda k=kind, h=hidden: policy.get(k, h)).replace(hidden, "?") == _error(
                lambda k=kind: policy.get(k, "urn:none")).replace("urn:none", "?")
        assert _error(lambda: policy.find_elements(lp.HIDDEN_SUBMODEL, PageRequest(10))).replace(
            lp.HIDDEN_SUBMODEL, "?") == _error(lambda: policy.find_elements("urn:none", PageRequest(10))).replace(
            "urn:none", "?")
        assert _error(lambda: policy.get_element(lp.COST, "MovingPrice")).replace("MovingPrice", "?") == _error(
            lambda: policy.get_element(lp.COST, "NoSuch")).replace("NoSuch", "?")
    assert policy.get("submodel", lp.HIDDEN_SUBMODEL)["id"] == lp.HIDDEN_SUBMODEL  # the system sees everything


def test_pushdown_alternatives_page_as_one_list(store: Any, tmp_path: Path) -> None:
    """Rules by semanticId push two queries into the store; their union pages by id with any limit."""
    lp.load(store)
    for i in range(5):
        store.create("submodel", {"modelType": "Submodel", "id": f"urn:page:{i}", "idShort": f"Page{i}",
                                  "semanticId": lp._ref(f"urn:page:kind:{i % 3}")})
    by_kind = {"ACL": {"ATTRIBUTES": [{"GLOBAL": "ANONYMOUS"}], "RIGHTS": ["READ"], "ACCESS": "ALLOW"},
               "OBJECTS": [{"IDENTIFIABLE": '$sm("*")'}],
               "FORMULA": {"$or": [{"$eq": [{"$field": "$sm#semanticId"}, {"$strVal": "urn:page:kind:0"}]},
                                   {"$eq": [{"$field": "$sm#semanticId"}, {"$strVal": "urn:page:kind:2"}]}]}}
    policy = _policy(store, tmp_path, [by_kind])
    ruleset = policy.rules.current()  # type: ignore[union-attr]
    assert ruleset.store_filter(PARTNER, "READ", "submodel") is not None  # this test is about the pushdown
    expected = ["urn:page:0", "urn:page:2", "urn:page:3"]
    with acting_as(PARTNER):
        for limit in (1, 2, 3, 100):
            ids = [s["id"] for s in iterate(lambda page: policy.find("submodel", Query(), page), limit)]
            assert ids == expected, limit
        assert [s["id"] for s in policy.find("submodel", Query(id_short="Page3"), PageRequest(5)).items] == ["urn:page:3"]
        assert policy.find("submodel", Query(id_short="Page1"), PageRequest(5)).items == []


def test_element_pages_skip_what_the_policy_drops(policy: PolicyStore) -> None:
    with acting_as(PARTNER):
        top = [e["idShort"] for e in iterate(lambda page: policy.find_elements(lp.PRODUCTION, page), 1)]
        assert top == ["Plant", "EndOfLineTest", "Customer", "Report", "Signature", "Recalibrate", "Readings"]
        assert [e["idShort"] for e in iterate(lambda page: policy.find_elements(lp.COST, page), 1)] == ["Currency"]


def test_denied_writes_change_nothing(policy: PolicyStore, store: Any) -> None:
    before = {key: store.get(*key) for key in (("submodel", lp.PRODUCTION), ("submodel", lp.HIDDEN_SUBMODEL),
                                               ("shell", lp.SHELL))}
    with acting_as(PARTNER):
        with pytest.raises(ForbiddenError):
            policy.replace("submodel", {**before[("submodel", lp.PRODUCTION)], "idShort": "Changed"})
        with pytest.raises(NotFoundError):  # hidden: as if missing
            policy.delete("submodel", lp.HIDDEN_SUBMODEL)
        with pytest.raises(ForbiddenError):
            policy.update_element(lp.PRODUCTION, "Plant", lambda e: {**e, "value": "changed"})
        with pytest.raises(ForbiddenError):
            policy.delete_attachments(attachment_key(lp.PRODUCTION))
        with pytest.raises(ForbiddenError):
            policy.create("submodel", {"modelType": "Submodel", "id": "urn:new"})
        with pytest.raises(ForbiddenError):  # exists but hidden: the same answer as for a new id
            policy.create("submodel", {"modelType": "Submodel", "id": lp.HIDDEN_SUBMODEL})
    assert {key: store.get(*key) for key in before} == before
    assert store.get_attachment(attachment_key(lp.PRODUCTION, ("Report",))).data == lp.REPORT_BYTES
    with pytest.raises(NotFoundError):
        store.get("submodel", "urn:new")


def test_granted_write_goes_through(policy: PolicyStore, store: Any) -> None:
    with acting_as(WRITER):
        policy.update_element(lp.NAMEPLATE, "YearOfConstruction", lambda e: {**e, "value": "2022"})
        with pytest.raises(ForbiddenError):  # UPDATE, not DELETE, and the writer sees the nameplate
            policy.delete("submodel", lp.NAMEPLATE)
    assert store.get_element(lp.NAMEPLATE, "YearOfConstruction")["value"] == "2022"


def test_masked_elements_cannot_be_written(store: Any, tmp_path: Path) -> None:
    """A write works on the raw element: its errors could quote what the caller sees masked."""
    lp.load(store)
    writer = {"ACL": {"ATTRIBUTES": [{"GLOBAL": "ANONYMOUS"}], "RIGHTS": ["READ", "UPDATE"], "ACCESS": "ALLOW"},
              "OBJECTS": [{"IDENTIFIABLE": f'$sm("{lp.PRODUCTION}")'}], "FORMULA": {"$boolean": True}}
    policy = _policy(store, tmp_path, [writer])
    before = store.get_element(lp.PRODUCTION, "EndOfLineTest")
    with acting_as(PARTNER):
        with pytest.raises(ForbiddenError) as caught:
            policy.update_element(lp.PRODUCTION, "EndOfLineTest", lambda e: {**e, "valueType": "xs:int"})
        policy.update_element(lp.PRODUCTION, "Plant", lambda e: {**e, "value": "Werk Ulm"})  # unmasked: fine
    assert "987654" not in str(caught.value)
    assert store.get_element(lp.PRODUCTION, "EndOfLineTest") == before
    assert store.get_element(lp.PRODUCTION, "Plant")["value"] == "Werk Ulm"
    with acting_as(PARTNER), pytest.raises(ForbiddenError):  # its view lacks what masking dropped
        policy.replace("submodel", {**store.get("submodel", lp.PRODUCTION), "idShort": "Renamed"})
    assert store.get("submodel", lp.PRODUCTION)["idShort"] == "ProductionRecord"


def test_masking_follows_the_data(policy: PolicyStore, store: Any) -> None:
    """The reused masking of an unchanged submodel is replaced as soon as the stored value changes."""
    def torque() -> str:
        with acting_as(PARTNER):
            shown = policy.get("submodel", lp.PRODUCTION)
        test = next(e for e in shown["submodelElements"] if e["idShort"] == "EndOfLineTest")
        return next(e["value"] for e in test["value"] if e["idShort"] == "Torque")

    assert torque() == torque() == "988000.0"
    store.update_element(lp.PRODUCTION, "EndOfLineTest", lambda e: {**e, "value": [
        {**c, "value": "123456.7"} if c["idShort"] == "Torque" else c for c in e["value"]]})
    assert torque() == "123000.0"


def test_internal_records_stay_internal(policy: PolicyStore, store: Any) -> None:
    store.put_record("lineage", lp.PRODUCTION, {"submodel": lp.PRODUCTION, "source": "/srv/erp/LEAK.csv"})
    store.put_record("operation-results", "h1", {"executionState": "Failed", "success": False,
                                                 "submodelId": lp.PRODUCTION, "path": "Plant",
                                                 "messages": [{"messageType": "Error", "text": "LEAK raw 987654.321"}]})
    with acting_as(PARTNER):
        with pytest.raises(NotFoundError):
            policy.get_record("lineage", lp.PRODUCTION)
        assert policy.find_records("lineage", PageRequest(10)).items == []
        result = policy.get_record("operation-results", "h1")
    assert "987654" not in json.dumps(result) and result["executionState"] == "Failed"
    assert policy.get_record("lineage", lp.PRODUCTION)["source"] == "/srv/erp/LEAK.csv"
