"""IDTA-01004 access rules: decisions, formulas, filters, file errors with lines, reload and store pushdown."""
from __future__ import annotations

import datetime as dt
import json
import time
from pathlib import Path
from typing import Any

import pytest

from aas_server.errors import InvalidRequestError
from aas_server.security.access_rules import RuleFileError, RuleSet, RuleSource, Target
from aas_server.security.access_rules_model import compile_route, normalize_route
from aas_server.security.caller import Caller
from aas_server.store.base import Query

pytestmark = pytest.mark.unit

NAMEPLATE = "https://admin-shell.io/zvei/nameplate/2/0/Nameplate"
SECRET = "urn:example:cost"


def ref(value: str) -> dict[str, Any]:
    return {"type": "ExternalReference", "keys": [{"type": "GlobalReference", "value": value}]}


def prop(id_short: str, value: str, semantic_id: str | None = None) -> dict[str, Any]:
    element = {"idShort": id_short, "modelType": "Property", "valueType": "xs:string", "value": value}
    if semantic_id:
        element["semanticId"] = ref(semantic_id)
    return element


def rules(*rule_list: dict[str, Any], **defs: Any) -> RuleSet:
    return RuleSet.from_text(json.dumps({"AllAccessPermissionRules": {**defs, "rules": list(rule_list)}}))


def rule(attributes: list[dict[str, str]], rights: list[str], objects: list[dict[str, str]],
         formula: dict[str, Any] | None = None, **extra: Any) -> dict[str, Any]:
    return {"ACL": {"ATTRIBUTES": attributes, "RIGHTS": rights, "ACCESS": "ALLOW"}, "OBJECTS": objects,
            "FORMULA": formula or {"$boolean": True}, **extra}


def eq(field: str, value: str) -> dict[str, Any]:
    return {"$eq": [{"$field": field}, {"$strVal": value}]}


ANON = Caller(port="external", internal=False)
PARTNER = Caller(port="external", internal=False, subject="svc-a", bpn="BPNL000000000001",
                 claims={"sub": "svc-a", "tier": "3", "regionCode": "EU-West",
                         "CLIENTNOW": "2024-01-01T08:00:00Z"})
OTHER = Caller(port="external", internal=False, subject="svc-b", bpn="BPNL000000000002")
ENGINEER = Caller(port="internal", internal=True, subject="eve", roles=frozenset({"engineer"}),
                  claims={"sub": "eve"})

SHELL = {"id": "urn:aas:1", "idShort": "Pump", "assetInformation": {
    "assetKind": "Instance", "globalAssetId": "urn:asset:1",
    "specificAssetIds": [
        {"name": "manufacturerPartId", "value": "MP-1", "externalSubjectId": ref("PUBLIC_READABLE")},
        {"name": "customerPartId", "value": "CP-9", "externalSubjectId": ref("BPNL000000000001")},
        {"name": "serial", "value": "S-123456"}]}}
NAMEPLATE_SM = {"id": "urn:sm:nameplate", "idShort": "Nameplate", "semanticId": ref(NAMEPLATE), "submodelElements": [
    prop("ManufacturerName", "ACME"), prop("SerialNumber", "S-123456", "urn:serial"),
    {"idShort": "Public", "modelType": "SubmodelElementCollection", "value": [prop("Colour", "red")]}]}
SECRET_SM = {"id": "urn:sm:cost", "idShort": "Cost", "semanticId": ref(SECRET),
             "submodelElements": [prop("UnitCost", "12.5"), prop("Margin", "0.3")]}
CD = {"id": "urn:cd:1", "idShort": "Colour"}

MATRIX_RULES = rules(
    # partners read nameplates
    rule([{"CLAIM": "BPN"}], ["READ"], [{"IDENTIFIABLE": '$sm("*")'}], eq("$sm#semanticId", NAMEPLATE)),
    # everybody may see that shells exist
    rule([{"GLOBAL": "ANONYMOUS"}], ["VIEW"], [{"IDENTIFIABLE": '$aas("*")'}]),
    # partner 1 reads shells and concept descriptions
    rule([{"CLAIM": "BPN"}], ["READ"], [{"IDENTIFIABLE": '$aas("*")'}, {"IDENTIFIABLE": '$cd("*")'}],
         {"$eq": [{"$attribute": {"CLAIM": "BPN"}}, {"$strVal": "BPNL000000000001"}]}),
    # engineers may do everything through any route
    rule([{"CLAIM": "role"}], ["ALL"], [{"ROUTE": "*"}],
         {"$eq": [{"$attribute": {"CLAIM": "role"}}, {"$strVal": "engineer"}]}),
    # a disabled rule grants nothing
    {"ACL": {"ATTRIBUTES": [{"GLOBAL": "ANONYMOUS"}], "RIGHTS": ["ALL"], "ACCESS": "DISABLED"},
     "OBJECTS": [{"ROUTE": "*"}], "FORMULA": {"$boolean": True}},
)

OBJECTS = {"shell": Target("shell", obj=SHELL), "nameplate": Target("submodel", obj=NAMEPLATE_SM),
           "secret": Target("submodel", obj=SECRET_SM), "cd": Target("concept_description", obj=CD)}
ROUTE = "/api/v3.0/submodels/dXJuOnNtOmNvc3Q"
ALLOWED = {
    # (identity, object): rights granted
    ("anon", "shell"): {"VIEW"}, ("anon", "nameplate"): set(), ("anon", "secret"): set(), ("anon", "cd"): set(),
    ("partner", "shell"): {"READ", "VIEW"}, ("partner", "nameplate"): {"READ", "VIEW"},
    ("partner", "secret"): set(), ("partner", "cd"): {"READ", "VIEW"},
    ("other", "shell"): {"VIEW"}, ("other", "nameplate"): {"READ", "VIEW"}, ("other", "secret"): set(),
    ("other", "cd"): set(),
    ("engineer", "shell"): {"CREATE", "READ", "UPDATE", "DELETE", "EXECUTE", "VIEW"},
    ("engineer", "nameplate"): {"CREATE", "READ", "UPDATE", "DELETE", "EXECUTE", "VIEW"},
    ("engineer", "secret"): {"CREATE", "READ", "UPDATE", "DELETE", "EXECUTE", "VIEW"},
    ("engineer", "cd"): {"CREATE", "READ", "UPDATE", "DELETE", "EXECUTE", "VIEW"},
}
IDENTITIES = {"anon": ANON, "partner": PARTNER, "other": OTHER, "engineer": ENGINEER}
ALL_RIGHTS = ("CREATE", "READ", "UPDATE", "DELETE", "EXECUTE", "VIEW")


@pytest.mark.parametrize(("identity", "obj", "right"),
                         [(i, o, r) for i in IDENTITIES for o in OBJECTS for r in ALL_RIGHTS])
def test_matrix(identity: str, obj: str, right: str) -> None:
    target = OBJECTS[obj]
    if identity == "engineer":  # the ROUTE rule grants objects reached through a matching route
        target = Target(target.kind, obj=target.obj, route=ROUTE)
    expected = right in ALLOWED[(identity, obj)]
    assert MATRIX_RULES.allows(IDENTITIES[identity], right, target) is expected


def test_route_checks() -> None:
    assert MATRIX_RULES.allows(ENGINEER, "DELETE", Target("route", route="/api/v3.1/shells/abc"))
    # partners: rules on identifiables let list routes through, the objects are checked one by one
    assert MATRIX_RULES.allows(PARTNER, "READ", Target("route", route="/external/api/v3.0/submodels"))
    assert not MATRIX_RULES.allows(PARTNER, "DELETE", Target("route", route="/api/v3.0/submodels/x"))
    assert not MATRIX_RULES.allows(ANON, "READ", Target("route", route="/api/v3.0/submodels"))
    # the engineer's ROUTE rule does not grant objects without a route
    assert not MATRIX_RULES.allows(ENGINEER, "READ", Target("submodel", obj=SECRET_SM))


def test_default_deny_and_system_caller() -> None:
    empty = rules()
    for target in OBJECTS.values():
        for right in ALL_RIGHTS:
            assert not empty.allows(ENGINEER, right, target)
    assert empty.element_access(PARTNER, NAMEPLATE_SM, "ManufacturerName", NAMEPLATE_SM["submodelElements"][0]) == (
        "none")
    assert empty.store_filter(PARTNER, "READ", "submodel") == []
    assert empty.allows(None, "DELETE", OBJECTS["secret"])  # no caller: the system itself


@pytest.mark.parametrize(("literal", "path", "expected"), [
    ("*", "/anything/at/all", True),
    ("/shells", "/api/v3.0/shells", True),
    ("/shells", "/api/v3.0/shells/abc", False),
    ("/shells/*", "/api/v3.1/shells/abc/submodels", True),
    ("/shells/*", "/shells", False),
    ("/submodels/*/submodel-elements", "/submodels/abc/submodel-elements", True),
    ("/submodels/*/submodel-elements", "/submodels/a/b/submodel-elements", False),
    ("/submodels/*/submodel-elements*", "/external/api/v3.0/submodels/x/submodel-elements/A.B/$value", True),
    ("/description", "/api/v3.0/description/", True),
])
def test_route_wildcards(literal: str, path: str, expected: bool) -> None:
    assert (compile_route(literal).fullmatch(normalize_route(path)) is not None) is expected


DATED = {**NAMEPLATE_SM, "administration": {"version": "2"}, "submodelElements": [
    prop("Count", "42"), prop("When", "2024-05-01T10:00:00Z"), prop("Flag", "true"), prop("Mask", "16#1F"),
    prop("At", "12:30:00"), {"idShort": "Name", "modelType": "MultiLanguageProperty", "semanticId": ref("urn:name"),
                             "value": [{"language": "de", "text": "Pumpe"}, {"language": "en", "text": "Pump"}]}]}


@pytest.mark.parametrize(("formula", "expected"), [
    ({"$eq": [{"$field": "$sm#idShort"}, {"$strVal": "Nameplate"}]}, True),
    ({"$ne": [{"$field": "$sm#idShort"}, {"$strVal": "Nameplate"}]}, False),
    ({"$gt": [{"$field": "$sm#idShort"}, {"$strVal": "Aaa"}]}, True),
    ({"$ge": [{"$field": "$sm#idShort"}, {"$strVal": "Nameplate"}]}, True),
    ({"$lt": [{"$field": "$sm#idShort"}, {"$strVal": "Nameplate"}]}, False),
    ({"$le": [{"$field": "$sm#idShort"}, {"$strVal": "Zzz"}]}, True),
    ({"$contains": [{"$field": "$sm#semanticId"}, {"$strVal": "zvei"}]}, True),
    ({"$starts-with": [{"$field": "$sm#id"}, {"$strVal": "urn:sm:"}]}, True),
    ({"$ends-with": [{"$field": "$sm#id"}, {"$strVal": "cost"}]}, False),
    ({"$regex": [{"$field": "$sm#semanticId"}, {"$strVal": "^https://admin-shell\\.io/.*/Nameplate$"}]}, True),
    ({"$regex": [{"$attribute": {"CLAIM": "regionCode"}}, {"$strVal": "^EU-"}]}, True),
    ({"$and": [eq("$sm#idShort", "Nameplate"), eq("$sm#id", "nope")]}, False),
    ({"$or": [eq("$sm#idShort", "x"), eq("$sm#id", "urn:sm:nameplate")]}, True),
    ({"$not": eq("$sm#idShort", "x")}, True),
    ({"$boolean": False}, False),
    ({"$boolCast": {"$strVal": "true"}}, True),
    ({"$eq": [{"$attribute": {"CLAIM": "BPN"}}, {"$strVal": "BPNL000000000001"}]}, True),
    ({"$eq": [{"$attribute": {"CLAIM": "missing"}}, {"$strVal": "x"}]}, False),
    ({"$gt": [{"$numCast": {"$attribute": {"CLAIM": "tier"}}}, {"$numVal": 2}]}, True),
    ({"$lt": [{"$numCast": {"$attribute": {"CLAIM": "tier"}}}, {"$numVal": 2.5}]}, False),
    ({"$eq": [{"$numCast": {"$strVal": "not a number"}}, {"$numVal": 1}]}, False),  # invalid cast: false
    ({"$not": {"$eq": [{"$numCast": {"$strVal": "x"}}, {"$numVal": 1}]}}, False),  # ... even under $not
    ({"$eq": [{"$hexCast": {"$strVal": "16#1F"}}, {"$hexVal": "16#1F"}]}, True),
    ({"$eq": [{"$strCast": {"$numVal": 3}}, {"$strVal": "3"}]}, True),
    ({"$gt": [{"$attribute": {"GLOBAL": "UTCNOW"}}, {"$dateTimeVal": "2020-01-01T00:00:00Z"}]}, True),
    ({"$lt": [{"$attribute": {"GLOBAL": "LOCALNOW"}}, {"$dateTimeVal": "2020-01-01T00:00:00+02:00"}]}, False),
    ({"$ge": [{"$timeCast": {"$dateTimeVal": "2024-01-01T12:00:00Z"}}, {"$timeVal": "09:00:00"}]}, True),
    ({"$le": [{"$timeCast": {"$dateTimeVal": "2024-01-01T12:00:00+05:00"}}, {"$timeVal": "07:00:00Z"}]}, True),
    ({"$eq": [{"$year": {"$dateTimeVal": "2024-05-01T10:00:00Z"}}, {"$numVal": 2024}]}, True),
    ({"$eq": [{"$dayOfWeek": {"$dateTimeVal": "2024-05-05T10:00:00Z"}}, {"$numVal": 0}]}, True),  # a Sunday
    ({"$eq": [{"$month": {"$dateTimeCast": {"$strVal": "2024-05-01T10:00:00"}}}, {"$numVal": 5}]}, True),
    ({"$eq": [{"$dayOfMonth": {"$dateTimeVal": "2024-05-31T10:00:00Z"}}, {"$numVal": 31}]}, True),
    ({"$eq": [{"$attribute": {"GLOBAL": "ANONYMOUS"}}, {"$boolean": False}]}, True),
    ({"$lt": [{"$attribute": {"GLOBAL": "CLIENTNOW"}}, {"$dateTimeVal": "2024-01-01T09:00:00+00:00"}]}, True),
    ({"$gt": [{"$attribute": {"GLOBAL": "CLIENTNOW"}}, {"$timeVal": "08:30:00"}]}, False),
    ({"$eq": [{"$attribute": {"REFERENCE": "$sm#id"}}, {"$strVal": "urn:sm:nameplate"}]}, True),
])
def test_formula_operators(formula: dict[str, Any], expected: bool) -> None:
    ruleset = rules(rule([{"CLAIM": "BPN"}], ["READ"], [{"IDENTIFIABLE": '$sm("*")'}], formula))
    assert ruleset.allows(PARTNER, "READ", Target("submodel", obj=DATED)) is expected


@pytest.mark.parametrize(("formula", "path", "expected"), [
    ({"$gt": [{"$field": "$sme#value"}, {"$numVal": 41.5}]}, "Count", "read"),
    ({"$gt": [{"$field": "$sme#value"}, {"$numVal": 42}]}, "Count", "none"),
    ({"$eq": [{"$field": "$sme#value"}, {"$boolean": True}]}, "Flag", "read"),
    ({"$ge": [{"$field": "$sme#value"}, {"$hexVal": "16#1E"}]}, "Mask", "read"),
    ({"$gt": [{"$field": "$sme#value"}, {"$dateTimeVal": "2024-04-30T00:00:00Z"}]}, "When", "read"),
    ({"$lt": [{"$field": "$sme#value"}, {"$timeVal": "12:00:00"}]}, "At", "none"),
    ({"$gt": [{"$field": "$sme#value"}, {"$numVal": 0}]}, "Flag", "none"),  # "true" is no number: skipped
    ({"$eq": [{"$field": "$sme.Count#value"}, {"$strVal": "42"}]}, "Flag", "read"),  # another element's field
    ({"$eq": [{"$field": "$sme#language"}, {"$strVal": "en"}]}, "Name", "read"),
    ({"$eq": [{"$field": "$sme#value"}, {"$strVal": "Pumpe"}]}, "Name", "read"),
    ({"$eq": [{"$field": "$sme#language"}, {"$strVal": "fr"}]}, "Name", "none"),
    ({"$eq": [{"$field": "$sme#semanticId"}, {"$strVal": "urn:name"}]}, "Name", "read"),
    ({"$eq": [{"$field": "$sme#valueType"}, {"$strVal": "xs:string"}]}, "Count", "read"),
])
def test_formulas_on_element_values(formula: dict[str, Any], path: str, expected: str) -> None:
    ruleset = rules(rule([{"CLAIM": "BPN"}], ["READ"], [{"IDENTIFIABLE": '$sm("*")'}], formula))
    element = next(e for e in DATED["submodelElements"] if e["idShort"] == path)
    assert ruleset.element_access(PARTNER, DATED, path, element) == expected


def test_match_binds_one_list_item() -> None:
    def match(name: str, value: str) -> dict[str, Any]:
        return {"$match": [eq("$aas#assetInformation.specificAssetIds[].name", name),
                           eq("$aas#assetInformation.specificAssetIds[].value", value)]}
    same_item = rules(rule([{"CLAIM": "BPN"}], ["READ"], [{"IDENTIFIABLE": '$aas("*")'}], match("serial", "S-123456")))
    crossed = rules(rule([{"CLAIM": "BPN"}], ["READ"], [{"IDENTIFIABLE": '$aas("*")'}], match("serial", "MP-1")))
    assert same_item.allows(PARTNER, "READ", OBJECTS["shell"])
    assert not crossed.allows(PARTNER, "READ", OBJECTS["shell"])


def test_claim_paths_reach_into_nested_claims() -> None:
    """IDTA-01004 (v3.2 draft) CLAIMPATH: JSON pointers into the token claims, in the ACL and in formulas."""
    formula = {"$and": [
        {"$contains": [{"$attribute": {"CLAIMPATH": "/realm_access/roles"}}, {"$strVal": "admin"}]},
        {"$eq": [{"$attribute": {"CLAIMPATH": "/department/name"}}, {"$strCast": {"$field": "$sme#value"}}]},
        {"$ge": [{"$numCast": {"$attribute": {"CLAIMPATH": "/assurance/level"}}}, {"$numVal": 3}]}]}
    ruleset = rules(rule([{"CLAIMPATH": "/realm_access/roles"}, {"CLAIMPATH": "/department/name"}], ["READ"],
                         [{"REFERABLE": '$sme("*").departmentData'}], formula))
    element = prop("departmentData", "engineering")
    submodel = {"id": "urn:sm:hr", "idShort": "HR", "submodelElements": [element]}

    def caller(claims: dict[str, Any]) -> Caller:
        return Caller(port="internal", internal=True, subject="u", claims=claims)
    admin = caller({"realm_access": {"roles": ["user", "admin"]}, "department": {"name": "engineering"},
                    "assurance": {"level": "4"}})
    assert ruleset.element_access(admin, submodel, "departmentData", element) == "read"
    weak = caller({**admin.claims, "assurance": {"level": 2}})
    assert ruleset.element_access(weak, submodel, "departmentData", element) == "none"
    no_department = caller({"realm_access": {"roles": ["admin"]}, "assurance": {"level": 5}})
    assert ruleset.element_access(no_department, submodel, "departmentData", element) == "none"
    with pytest.raises(RuleFileError, match="JSON pointer"):
        rules(rule([{"CLAIMPATH": "realm_access.roles"}], ["READ"], [{"ROUTE": "*"}]))


def test_view_versus_read_on_elements() -> None:
    ruleset = rules(
        rule([{"CLAIM": "BPN"}], ["VIEW"], [{"IDENTIFIABLE": '$sm("urn:sm:nameplate")'}]),
        rule([{"CLAIM": "BPN"}], ["READ"], [{"REFERABLE": '$sme("urn:sm:nameplate").ManufacturerName'}]),
    )
    elements = NAMEPLATE_SM["submodelElements"]
    assert ruleset.element_access(PARTNER, NAMEPLATE_SM, "ManufacturerName", elements[0]) == "read"
    assert ruleset.element_access(PARTNER, NAMEPLATE_SM, "SerialNumber", elements[1]) == "view"
    assert ruleset.allows(PARTNER, "VIEW", OBJECTS["nameplate"])
    filtered = ruleset.filter_submodel(PARTNER, NAMEPLATE_SM)
    assert filtered["submodelElements"][0] == elements[0]
    assert filtered["submodelElements"][1] == {"idShort": "SerialNumber", "modelType": "Property"}
    assert "S-123456" not in json.dumps(filtered) and "red" not in json.dumps(filtered)
    assert filtered["submodelElements"][2] == {"idShort": "Public", "modelType": "SubmodelElementCollection",
                                               "value": [{"idShort": "Colour", "modelType": "Property"}]}
    assert ruleset.filter_submodel(OTHER, SECRET_SM)["submodelElements"] == []


def test_referable_grants_subtree_and_container() -> None:
    ruleset = rules(rule([{"CLAIM": "BPN"}], ["READ"], [{"REFERABLE": '$sme("*").Public.Colour'}]))
    assert ruleset.allows(PARTNER, "READ", OBJECTS["nameplate"])  # a container
    assert not ruleset.allows(PARTNER, "UPDATE", OBJECTS["nameplate"])
    filtered = ruleset.filter_submodel(PARTNER, NAMEPLATE_SM)
    assert filtered["submodelElements"] == [
        {"idShort": "Public", "modelType": "SubmodelElementCollection", "value": [prop("Colour", "red")]}]
    assert ruleset.element_access(PARTNER, NAMEPLATE_SM, "SerialNumber", NAMEPLATE_SM["submodelElements"][1]) == (
        "none")


def test_filter_fragment_on_list_items() -> None:
    documents = {"idShort": "Docs", "modelType": "SubmodelElementList", "value": [
        {"modelType": "SubmodelElementCollection", "value": [prop("State", "running"), prop("Title", "A")]},
        {"modelType": "SubmodelElementCollection", "value": [prop("State", "stopped"), prop("Title", "B")]}]}
    submodel = {"id": "urn:sm:maint", "idShort": "Maintenance", "submodelElements": [documents, prop("Other", "x")]}
    ruleset = rules(rule([{"CLAIM": "BPN"}], ["READ"], [{"REFERABLE": '$sme("urn:sm:maint").Docs'}],
                         FILTER={"FRAGMENT": "$sme.Docs[]",
                                 "CONDITION": eq("$sme.Docs[].State#value", "running")}))
    filtered = ruleset.filter_submodel(PARTNER, submodel)
    assert json.dumps(filtered).count('"Title"') == 1
    assert '"B"' not in json.dumps(filtered) and "Other" not in json.dumps(filtered)
    assert ruleset.element_access(PARTNER, submodel, "Docs[1]", documents["value"][1]) == "none"
    assert ruleset.element_access(PARTNER, submodel, "Docs[0]", documents["value"][0]) == "read"


def test_filter_naming_an_ancestor_uses_the_given_ancestors() -> None:
    """GET of one element deep in a list: the FILTER on its list item is checked with the item passed along."""
    item_ok = {"modelType": "SubmodelElementCollection", "value": [prop("State", "running"), prop("Title", "A")]}
    item_bad = {"modelType": "SubmodelElementCollection", "value": [prop("State", "stopped"), prop("Title", "B")]}
    documents = {"idShort": "Docs", "modelType": "SubmodelElementList", "value": [item_ok, item_bad]}
    header = {"id": "urn:sm:maint", "idShort": "Maintenance"}
    ruleset = rules(rule([{"CLAIM": "BPN"}], ["READ"], [{"REFERABLE": '$sme("*").Docs'}],
                         FILTER={"FRAGMENT": "$sme.Docs[]",
                                 "CONDITION": eq("$sme.Docs[].State#value", "running")}))
    title_ok, title_bad = item_ok["value"][1], item_bad["value"][1]
    assert ruleset.filter_element(PARTNER, header, "Docs[0].Title", title_ok, ancestors=[documents, item_ok]) == (
        title_ok)
    assert ruleset.filter_element(PARTNER, header, "Docs[1].Title", title_bad, ancestors=[documents, item_bad]) is (
        None)
    assert ruleset.element_access(PARTNER, header, "Docs[0].Title", title_ok, ancestors=[documents, item_ok]) == (
        "read")
    # without the ancestors (and only the header at hand) the FILTER cannot be checked: hidden, not guessed
    assert ruleset.filter_element(PARTNER, header, "Docs[0].Title", title_ok) is None
    # a whole submodel serves as well
    whole = {**header, "submodelElements": [documents]}
    assert ruleset.filter_element(PARTNER, whole, "Docs[0].Title", title_ok) == title_ok
    assert ruleset.filter_element(PARTNER, whole, "Docs[1]", item_bad) is None
    # element-level writes are decided the same way
    assert ruleset.allows(PARTNER, "READ", Target("submodel", obj=whole, id_short_path="Docs[0]", element=item_ok))
    assert not ruleset.allows(PARTNER, "UPDATE", Target("submodel", obj=whole, id_short_path="Docs[0]",
                                                        element=item_ok))


def test_filter_fragment_on_specific_asset_ids() -> None:
    """IDTA-01004 example 11: a partner sees the public and its own specificAssetIds only."""
    condition = {"$or": [
        eq("$aasdesc#specificAssetIds[].externalSubjectId", "PUBLIC_READABLE"),
        {"$eq": [{"$field": "$aasdesc#specificAssetIds[].externalSubjectId"}, {"$attribute": {"CLAIM": "BPN"}}]}]}
    ruleset = rules(rule([{"CLAIM": "BPN"}], ["READ"], [{"IDENTIFIABLE": '$aas("*")'}],
                         FILTER={"FRAGMENT": "$aasdesc#specificAssetIds[]", "CONDITION": condition}))
    names = [s["name"] for s in ruleset.filter_fields(PARTNER, "shell", SHELL)["assetInformation"]["specificAssetIds"]]
    assert names == ["manufacturerPartId", "customerPartId"]
    names = [s["name"] for s in ruleset.filter_fields(OTHER, "shell", SHELL)["assetInformation"]["specificAssetIds"]]
    assert names == ["manufacturerPartId"]
    assert len(SHELL["assetInformation"]["specificAssetIds"]) == 3  # the input is not changed


def test_descriptor_objects_with_match_and_filter() -> None:
    """Shaped like IDTA-01004 example 11: a partner sees a shell descriptor whose asset ids it knows, and of its
    specificAssetIds only the public ones, its own and partInstanceId."""
    def pair(name: str, value: str) -> dict[str, Any]:
        return {"$match": [eq("$aasdesc#specificAssetIds[].name", name), eq("$aasdesc#specificAssetIds[].value", value)]}
    bpn_claim = {"$attribute": {"CLAIM": "BusinessPartnerNumber"}}
    ruleset = rules(rule(
        [{"CLAIM": "BusinessPartnerNumber"}], ["READ"], [{"DESCRIPTOR": '$aasDesc("*")'}],
        {"$and": [{"$eq": [bpn_claim, {"$strVal": "BPNL00000000000A"}]}, pair("manufacturerPartId", "99991"),
                  pair("customerPartId", "ACME001")]},
        FILTER={"FRAGMENT": "$aasdesc#specificAssetIds[]", "CONDITION": {"$or": [
            pair("manufacturerPartId", "99991"), eq("$aasdesc#specificAssetIds[].name", "partInstanceId"),
            {"$eq": [{"$field": "$aasdesc#specificAssetIds[].externalSubjectId"}, bpn_claim]}]}}))
    descriptor = {"id": "urn:aas:x", "specificAssetIds": [
        {"name": "manufacturerPartId", "value": "99991", "externalSubjectId": ref("PUBLIC_READABLE")},
        {"name": "customerPartId", "value": "ACME001", "externalSubjectId": ref("BPNL00000000000A")},
        {"name": "partInstanceId", "value": "SN1"},
        {"name": "secret", "value": "S", "externalSubjectId": ref("BPNL0000000000ZZ")}]}
    partner = Caller(port="external", internal=False, subject="x", claims={"BusinessPartnerNumber": "BPNL00000000000A"})
    stranger = Caller(port="external", internal=False, subject="y",
                      claims={"BusinessPartnerNumber": "BPNL00000000000B"})
    assert ruleset.allows(partner, "READ", Target("shell_descriptor", obj=descriptor))
    assert not ruleset.allows(stranger, "READ", Target("shell_descriptor", obj=descriptor))
    assert not ruleset.allows(partner, "READ", Target("shell", obj=SHELL))  # DESCRIPTOR objects grant descriptors
    shown = ruleset.filter_fields(partner, "shell_descriptor", descriptor)["specificAssetIds"]
    assert [s["name"] for s in shown] == ["manufacturerPartId", "customerPartId", "partInstanceId"]
    wrong_value = {**descriptor, "specificAssetIds": [{**descriptor["specificAssetIds"][0], "value": "1"},
                                                     *descriptor["specificAssetIds"][1:]]}
    assert not ruleset.allows(partner, "READ", Target("shell_descriptor", obj=wrong_value))


def test_filter_fragments_on_submodel_references_and_scalar_fields() -> None:
    shell = {**SHELL, "submodels": [ref("urn:sm:nameplate"), ref("urn:sm:cost")]}
    ruleset = rules(
        rule([{"CLAIM": "BPN"}], ["READ"], [{"IDENTIFIABLE": '$aas("*")'}, {"IDENTIFIABLE": '$sm("*")'}],
             FILTERLIST=[
                 {"FRAGMENT": "$aas#submodels[]", "CONDITION": {"$ne": [{"$field": "$aas#submodels[].keys[].value"},
                                                                        {"$strVal": "urn:sm:cost"}]}},
                 {"FRAGMENT": "$aas#idShort", "CONDITION": {"$eq": [{"$attribute": {"CLAIM": "tier"}},
                                                                    {"$strVal": "1"}]}},
                 {"FRAGMENT": "$sm#semanticId", "CONDITION": {"$boolean": False}}]))
    shown = ruleset.filter_fields(PARTNER, "shell", shell)
    assert shown["submodels"] == [ref("urn:sm:nameplate")]
    assert "idShort" not in shown  # tier is 3, not 1
    assert shown["assetInformation"] == SHELL["assetInformation"]
    assert "semanticId" not in ruleset.filter_fields(PARTNER, "submodel", SECRET_SM)
    # a second rule without field FILTERs lets everything through
    opened = rules(rule([{"CLAIM": "BPN"}], ["READ"], [{"IDENTIFIABLE": '$aas("*")'}],
                        FILTER={"FRAGMENT": "$aas#idShort", "CONDITION": {"$boolean": False}}),
                   rule([{"CLAIM": "BPN"}], ["READ"], [{"IDENTIFIABLE": '$aas("*")'}]))
    assert opened.filter_fields(PARTNER, "shell", shell) is shell
    assert rules(rule([{"CLAIM": "BPN"}], ["READ"], [{"IDENTIFIABLE": '$aas("*")'}],
                      FILTER={"FRAGMENT": "$aas#idShort", "CONDITION": {"$boolean": False}})).filter_fields(
        PARTNER, "shell", shell).get("idShort") is None


def test_definitions_and_use_references(tmp_path: Path) -> None:
    ruleset = rules(
        {"USEACL": "partnerRead", "USEOBJECTS": ["submodels"], "USEFORMULA": "nameplate"},
        DEFATTRIBUTES=[{"name": "bpn", "attributes": [{"CLAIM": "BPN"}]},
                       {"name": "partner", "USEATTRIBUTES": ["bpn"]}],
        DEFACLS=[{"name": "partnerRead", "acl": {"USEATTRIBUTES": "partner", "RIGHTS": ["READ"], "ACCESS": "ALLOW"}}],
        DEFOBJECTS=[{"name": "sm", "objects": [{"IDENTIFIABLE": '$sm("*")'}]},
                    {"name": "submodels", "USEOBJECTS": ["sm"]}],
        DEFFORMULAS=[{"name": "nameplate", "formula": eq("$sm#semanticId", NAMEPLATE)}],
    )
    assert ruleset.allows(PARTNER, "READ", OBJECTS["nameplate"])
    assert not ruleset.allows(PARTNER, "READ", OBJECTS["secret"])
    assert not ruleset.allows(ANON, "READ", OBJECTS["nameplate"])


HEAD = '{"AllAccessPermissionRules": {"rules": [{'
ACL = ' "ACL": {"ATTRIBUTES": [{"CLAIM": "BPN"}], "RIGHTS": ["READ"], "ACCESS": "ALLOW"},'
TAIL = ' "FORMULA": {"$boolean": true}}]}}'
#: (lines of the file, expected message, line at fault)
BAD_FILES = [
    (['{"AllAccessPermissionRules": {"rules": [', '  {"ACL": '], "malformed JSON", 2),
    ([HEAD, ' "ACL": {"ATTRIBUTES": [{"CLAIM": "BPN"}], "RIGHTS": ["READ"],', '   "ACCESS": "DENY"},',
      ' "OBJECTS": [{"ROUTE": "*"}],', TAIL], "no deny rules", 3),
    ([HEAD, ACL, ' "OBJECTS": [{"ROUTE": "*"}],', ' "FORMULA": {"$and": [', '   {"$boolean": true},',
      '   {"$like": [{"$field": "$sm#idShort"}, {"$strVal": "x"}]}]}}]}}'], "unknown operator '$like'", 6),
    ([HEAD, ACL, ' "OBJECTS": [{"ROUTE": "*"}],', ' "FORMULA": {"$eq": [{"$field": "$sm#idShort"},',
      '   {"$numVal": "five"}]}}]}}'], "$numVal takes a number", 5),
    ([HEAD, ' "ACL": {"ATTRIBUTES": [{"CLAIM": "BPN"}],', '  "RIGHTS": ["READ", "TREE"], "ACCESS": "ALLOW"},',
      ' "OBJECTS": [{"ROUTE": "*"}],', TAIL], "unknown right 'TREE'", 3),
    ([HEAD, ' "USEACL": "missing",', ' "OBJECTS": [{"ROUTE": "*"}],', TAIL], "DEFACLS has no entry 'missing'", 2),
    ([HEAD, ACL, ' "OBJECTS": [{"IDENTIFIABLE": "$sm(urn)"}],', TAIL], "IDENTIFIABLE must look like", 3),
    ([HEAD, ACL, ' "OBJECTS": [{"ROUTE": "*"}],', ' "FORMULA": {"$eq": [{"$field": "$sm#color"},',
      '  {"$strVal": "x"}]}}]}}'], "$sm has no field 'color'", 4),
    (['{"AllAccessPermissionRules": {"rules": [], "rules": []}}'], "duplicate key 'rules'", 1),
    (['{', ' "ResourceBoundAccessRuleModels": []', '}'], "ResourceBoundAccessRuleModels", 2),
    (['[]'], "the document must be an object", 1),
    ([HEAD, ACL, ' "OBJECTS": [{"ROUTE": "shells"}],', TAIL], "ROUTE must be '*' or a path", 3),
    ([HEAD, ACL, ' "OBJECTS": [{"ROUTE": "*"}],', ' "FORMULA": {"$regex": [{"$field": "$sm#idShort"},',
      '   {"$strVal": "(a+)+"}]}}]}}'], "nests quantifiers", 5),
    ([HEAD, ACL, ' "OBJECTS": [{"ROUTE": "*"}]}]}}'], "needs one of FORMULA / USEFORMULA", 1),
    ([HEAD, ACL, ' "OBJECTS": [{"ROUTE": "*"}],', ' "FORMULA": {"$eq": [{"$field": "$sm#idShort"},',
      '    {"$field": "$aas#idShort"}]}}]}}'], "compares two fields", 4),
    ([HEAD, ACL, ' "OBJECTS": [{"ROUTE": "*"}],', ' "FORMULA": {"$eq": [{"$attribute": {"REFERENCE":',
      '   "$sme(\\"urn:sm:1\\").State#value"}}, {"$strVal": "on"}]}}]}}'], "only references to the object", 4),
]


@pytest.mark.parametrize(("lines", "message", "line"), BAD_FILES)
def test_malformed_files_name_path_and_line(lines: list[str], message: str, line: int) -> None:
    with pytest.raises(RuleFileError) as caught:
        RuleSet.from_text("\n".join(lines), "rules.json")
    assert isinstance(caught.value, InvalidRequestError)
    assert message in caught.value.text
    assert f"rules.json: line {line}:" in caught.value.text
    assert f"(line {line})" in (caught.value.path or "")


@pytest.mark.parametrize(("pattern", "message"), [
    ("a" * 300, "longer than 256"),
    ("^(a+)+$", "nests quantifiers"),
    ("(x|xx)*y", "nests quantifiers"),
    ("([", "not a regular expression"),
])
def test_regex_limits_at_load(pattern: str, message: str) -> None:
    formula = {"$regex": [{"$field": "$sm#idShort"}, {"$strVal": pattern}]}
    with pytest.raises(RuleFileError, match=message):
        rules(rule([{"CLAIM": "BPN"}], ["READ"], [{"IDENTIFIABLE": '$sm("*")'}], formula))


def test_regex_from_a_claim_is_checked_at_evaluation() -> None:
    formula = {"$regex": [{"$field": "$sm#idShort"}, {"$attribute": {"CLAIM": "pattern"}}]}
    ruleset = rules(rule([{"CLAIM": "pattern"}], ["READ"], [{"IDENTIFIABLE": '$sm("*")'}], formula))
    evil = Caller(port="external", internal=False, subject="x", claims={"pattern": "^(N+)+$"})
    slow = {**NAMEPLATE_SM, "idShort": "N" * 5000 + "!"}
    started = time.perf_counter()
    assert not ruleset.allows(evil, "READ", Target("submodel", obj=slow))
    assert time.perf_counter() - started < 1.0
    good = Caller(port="external", internal=False, subject="x", claims={"pattern": "^Name"})
    assert ruleset.allows(good, "READ", OBJECTS["nameplate"])


GOOD = {"AllAccessPermissionRules": {"rules": [
    rule([{"CLAIM": "BPN"}], ["READ"], [{"IDENTIFIABLE": '$sm("*")'}], eq("$sm#semanticId", NAMEPLATE))]}}


def test_reload_keeps_old_rules_on_a_bad_file_and_picks_up_a_good_change(tmp_path: Path,
                                                                        caplog: pytest.LogCaptureFixture) -> None:
    path = tmp_path / "rules.json"
    path.write_text(json.dumps(GOOD))
    source = RuleSource(path)
    source.CHECK_INTERVAL_S = 0.0
    first = source.current()
    assert first.allows(PARTNER, "READ", OBJECTS["nameplate"])

    path.write_text('{"AllAccessPermissionRules": {"rules": [\n  {"ACL": {}}\n')
    assert source.current() is first
    assert "not reloaded" in caplog.text and "line" in caplog.text

    changed = json.loads(json.dumps(GOOD))
    changed["AllAccessPermissionRules"]["rules"][0]["FORMULA"] = eq("$sm#semanticId", SECRET)
    path.write_text(json.dumps(changed, indent=1))
    second = source.current()
    assert second is not first
    assert second.allows(PARTNER, "READ", OBJECTS["secret"])
    assert not second.allows(PARTNER, "READ", OBJECTS["nameplate"])


def test_reload_checks_the_file_at_most_once_per_interval(tmp_path: Path) -> None:
    path = tmp_path / "rules.json"
    path.write_text(json.dumps(GOOD))
    source = RuleSource(path)
    first = source.current()
    path.write_text(json.dumps({"AllAccessPermissionRules": {"rules": []}}))
    assert source.current() is first  # within the interval: not even a stat
    source._checked -= source.CHECK_INTERVAL_S  # the interval passed
    assert source.current() is not first


def test_deep_nesting_is_refused() -> None:
    formula = '{"$not": ' * 3000 + '{"$boolean": true}' + "}" * 3000
    with pytest.raises(RuleFileError, match="nested too deeply"):
        RuleSet.from_text("\n".join([HEAD, ACL, ' "OBJECTS": [{"ROUTE": "*"}],', f' "FORMULA": {formula}}}]}}}}']))
    shallow = '{"$not": ' * 50 + '{"$boolean": true}' + "}" * 50  # an even count of $not: true
    assert RuleSet.from_text("\n".join([HEAD, ACL, ' "OBJECTS": [{"ROUTE": "*"}],', f' "FORMULA": {shallow}}}]}}}}'])
                             ).allows(PARTNER, "READ", Target("route", route="/shells"))


def test_a_deleted_file_keeps_the_rules(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    path = tmp_path / "rules.json"
    path.write_text(json.dumps(GOOD))
    source = RuleSource(path)
    source.CHECK_INTERVAL_S = 0.0
    first = source.current()
    path.unlink()
    assert source.current() is first
    assert "keeping the rules loaded before" in caplog.text


def test_a_missing_or_broken_file_is_refused_on_first_load(tmp_path: Path) -> None:
    with pytest.raises(RuleFileError, match="cannot read"):
        RuleSource(tmp_path / "absent.json")
    (tmp_path / "bad.json").write_text("{\n  \"AllAccessPermissionRules\": {\"rules\": [1]}\n}")
    with pytest.raises(RuleFileError, match="line 2"):
        RuleSource(tmp_path / "bad.json")


# --- pushdown (its equivalence on generated data runs on both stores: tests/integration/test_rule_pushdown.py) ---

def test_pushdown_shapes() -> None:
    def pushed(formula: dict[str, Any], caller: Caller = PARTNER, kind: str = "submodel") -> list[Query] | None:
        ruleset = rules(rule([{"CLAIM": "BPN"}], ["READ"], [{"IDENTIFIABLE": '$sm("*")'}], formula))
        return ruleset.store_filter(caller, "READ", kind)
    alternatives = {"$or": [eq("$sm#idShort", "Cost"), {"$and": [eq("$sm#semanticId", "urn:a"),
                                                                 eq("$sm#idShort", "Other")]}]}
    assert pushed(alternatives) == [Query(id_short="Cost"), Query(id_short="Other", semantic_id="urn:a")]
    claim_based = {"$and": [{"$eq": [{"$attribute": {"CLAIM": "BPN"}}, {"$strVal": "BPNL000000000001"}]},
                            {"$eq": [{"$field": "$sm#idShort"}, {"$attribute": {"CLAIM": "tier"}}]}]}
    assert pushed(claim_based) == [Query(id_short="3")]
    assert pushed(claim_based, OTHER) == []  # the BPN condition is false for OTHER
    assert pushed({"$and": [eq("$sm#idShort", "A"), eq("$sm#idShort", "B")]}) == []  # contradiction
    unpushable = {"$starts-with": [{"$field": "$sm#idShort"}, {"$strVal": "Tech"}]}
    assert pushed(unpushable) is None
    assert pushed(unpushable, kind="shell") == []  # no rule covers shells
    by_id = rules(rule([{"CLAIM": "BPN"}], ["READ"], [{"IDENTIFIABLE": '$sm("urn:sm:1")'}]))
    assert by_id.store_filter(PARTNER, "READ", "submodel") is None  # Query has no id filter
    assert by_id.store_filter(None, "READ", "submodel") == [Query()]  # the system sees everything


def test_callers_with_equal_attributes_share_grants_and_others_do_not() -> None:
    """Every request authenticates a new Caller; the rules that apply to it are worked out once per attribute set."""
    ruleset = rules(
        rule([{"CLAIM": "BPN"}], ["READ"], [{"IDENTIFIABLE": '$sm("*")'}],
             {"$eq": [{"$attribute": {"CLAIM": "tier"}}, {"$strVal": "3"}]}),
        rule([{"CLAIM": "role"}], ["UPDATE"], [{"ROUTE": "*"}]),
        rule([{"CLAIMPATH": "/realm/groups"}], ["READ"], [{"ROUTE": "/shells"}]))

    def partner(bpn: str = "BPNL000000000001", roles: frozenset[str] = frozenset(), **claims: Any) -> Caller:
        return Caller(port="external", internal=False, subject="svc-a", bpn=bpn, roles=roles,
                      claims={"tier": "3", "realm": {"groups": ["a", "b"]}, **claims})

    def grants(caller: Caller) -> Any:
        return ruleset._plan(caller).by_right

    first = partner(jti="1")
    assert grants(partner(jti="2")) is grants(first)  # a claim no rule reads does not matter
    assert ruleset._plan(partner()) is not ruleset._plan(first)  # the clock is read per request
    assert grants(partner(bpn="BPNL000000000002")) is not grants(first)
    engineer = partner(roles=frozenset({"engineer"}))
    assert grants(engineer) is not grants(first)
    assert ruleset.allows(engineer, "UPDATE", Target("route", route="/x"))
    assert not ruleset.allows(partner(), "UPDATE", Target("route", route="/x"))
    assert grants(partner(tier="4")) is not grants(first)
    assert not ruleset.allows(partner(tier="4"), "READ", OBJECTS["nameplate"])
    assert ruleset.allows(partner(), "READ", OBJECTS["nameplate"])
    assert grants(partner(tier=3)) is not grants(first)  # the same text, another JSON type
    assert grants(partner(realm={"groups": ["a"]})) is not grants(first)
    assert grants(partner(realm={"groups": ("a", "b")})) is not grants(first)


def test_grants_are_shared_but_the_clock_is_not() -> None:
    """UTCNOW is read per request even when the caller's grants come from the cache."""
    soon = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=0.3)
    ruleset = rules(rule([{"CLAIM": "BPN"}], ["READ"], [{"ROUTE": "*"}], {"$gt": [
        {"$attribute": {"GLOBAL": "UTCNOW"}}, {"$dateTimeVal": soon.strftime("%Y-%m-%dT%H:%M:%S.%fZ")}]}))
    before = Caller(port="external", internal=False, bpn="BPNL000000000001")
    assert not ruleset.allows(before, "READ", Target("route", route="/shells"))
    time.sleep(0.35)
    after = Caller(port="external", internal=False, bpn="BPNL000000000001")
    assert ruleset._plan(after).by_right is ruleset._plan(before).by_right
    assert ruleset.allows(after, "READ", Target("route", route="/shells"))


def test_a_plan_lives_as_long_as_its_caller() -> None:
    """A request's plan holds the submodels it decided on: it must go with the request's caller."""
    ruleset = rules(rule([{"CLAIM": "BPN"}], ["READ"], [{"IDENTIFIABLE": '$sm("*")'}]))
    callers = [Caller(port="external", internal=False, bpn="BPNL000000000001") for _ in range(3)]
    for caller in callers:
        assert ruleset.allows(caller, "READ", OBJECTS["nameplate"])
    assert len(ruleset._plans) == 3
    del caller, callers
    assert not ruleset._plans
