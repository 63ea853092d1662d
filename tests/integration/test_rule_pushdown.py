"""Access rule pushdown on both stores: the store queries ``RuleSet.store_filter`` gives fetch every object the
rules allow (a superset the PolicyStore then checks one by one), and fewer than all when the rules narrow."""
from __future__ import annotations

import json
import random
from typing import Any

import pytest

from aas_server.security.access_rules import RuleSet, Target
from aas_server.security.caller import Caller
from aas_server.store.base import iterate

pytestmark = pytest.mark.integration

PARTNER = Caller(port="external", internal=False, subject="svc-a", bpn="BPNL000000000001", claims={"tier": "Cost"})
SEMANTIC_IDS = ["urn:nameplate", "urn:cost", "urn:a", "urn:b"]
ID_SHORTS = ["Nameplate", "Cost", "TechnicalData", "Other"]


def eq(field: str, value: str) -> dict[str, Any]:
    return {"$eq": [{"$field": field}, {"$strVal": value}]}


FORMULAS = [
    eq("$sm#semanticId", "urn:nameplate"),
    {"$or": [eq("$sm#idShort", "Cost"), {"$and": [eq("$sm#semanticId", "urn:a"), eq("$sm#idShort", "Other")]}]},
    {"$and": [eq("$sm#semanticId", "urn:b"), {"$not": eq("$sm#idShort", "Other")}]},
    {"$and": [{"$eq": [{"$attribute": {"CLAIM": "BPN"}}, {"$strVal": "BPNL000000000001"}]},
              {"$eq": [{"$field": "$sm#idShort"}, {"$attribute": {"CLAIM": "tier"}}]}]},
    {"$and": [eq("$sm#idShort", "Cost"), eq("$sm#idShort", "Other")]},
    {"$match": [eq("$aas#assetInformation.specificAssetIds[].name", "serial"),
                eq("$aas#assetInformation.specificAssetIds[].value", "V1")]},
    {"$match": [eq("$aasdesc#specificAssetIds[].name", "partId"), eq("$aasdesc#specificAssetIds[].value", "V2")]},
    {"$or": [eq("$aas#assetInformation.globalAssetId", "urn:asset:3"), eq("$aas#idShort", "Other")]},
    {"$or": [eq("$sm#semanticId", "urn:a"), {"$starts-with": [{"$field": "$sm#idShort"}, {"$strVal": "Tech"}]}]},
]


def ruleset(formula: dict[str, Any]) -> RuleSet:
    acl = {"ATTRIBUTES": [{"CLAIM": "BPN"}], "RIGHTS": ["READ"], "ACCESS": "ALLOW"}
    objects = [{"IDENTIFIABLE": '$sm("*")'}, {"IDENTIFIABLE": '$aas("*")'}]
    return RuleSet.from_text(json.dumps({"AllAccessPermissionRules": {"rules": [
        {"ACL": acl, "OBJECTS": objects, "FORMULA": formula}]}}))


def generated(rng: random.Random) -> dict[str, list[dict[str, Any]]]:
    """Submodels and shells whose idShorts, semanticIds and asset ids the FORMULAS select among."""
    def ref(value: str) -> dict[str, Any]:
        return {"type": "ExternalReference", "keys": [{"type": "GlobalReference", "value": value}]}
    submodels = [{"id": f"urn:sm:{i}", "idShort": rng.choice(ID_SHORTS), "semanticId": ref(rng.choice(SEMANTIC_IDS)),
                  "submodelElements": []} for i in range(60)]
    shells = [{"id": f"urn:aas:{i}", "idShort": rng.choice(ID_SHORTS), "assetInformation": {
        "assetKind": "Instance", "globalAssetId": f"urn:asset:{i % 7}",
        "specificAssetIds": [{"name": rng.choice(["partId", "serial"]), "value": f"V{rng.randrange(4)}"}]}}
        for i in range(60)]
    return {"submodel": submodels, "shell": shells}


def test_pushdown_queries_contain_every_allowed_object(store: Any) -> None:
    data = generated(random.Random(5))
    for kind, objects in data.items():
        for obj in objects:
            store.create(kind, obj)
    narrowed = 0
    for formula in FORMULAS:
        rules = ruleset(formula)
        for kind, objects in data.items():
            allowed = {o["id"] for o in objects if rules.allows(PARTNER, "READ", Target(kind, obj=o))}
            queries = rules.store_filter(PARTNER, "READ", kind)
            if queries is None:
                continue  # no pushdown: the PolicyStore post-filters every object
            fetched: set[str] = set()
            for query in queries:
                fetched |= {o["id"] for o in iterate(lambda page, k=kind, q=query: store.find(k, q, page))}
            assert allowed <= fetched, (kind, formula, sorted(allowed - fetched))
            assert len(fetched) < len(objects), (kind, formula)
            narrowed += 1
    assert narrowed == 2 * len(FORMULAS) - 1  # all but the $starts-with alternative push down, for both kinds
