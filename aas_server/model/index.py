"""The fields a store indexes for each identifiable, derived from its JSON in one place for every store."""
from __future__ import annotations

import dataclasses
import json
from typing import Any

#: query terms are kept as (field, value) pairs; these are the fields
ASSET_ID = "assetId"
IS_CASE_OF = "isCaseOf"
DATA_SPECIFICATION = "dataSpecification"
ASSET_KIND = "assetKind"
ASSET_TYPE = "assetType"
#: a shell's submodel references, so that a submodel's change finds the shells (and descriptors) naming it
SUBMODEL = "submodel"


@dataclasses.dataclass(frozen=True)
class IndexFields:
    id_short: str | None
    semantic_id: str | None
    terms: frozenset[tuple[str, str]]


def asset_id_term(name: str, value: str) -> str:
    """One indexable string for a specific asset id (``name`` ``globalAssetId`` stands for the global one)."""
    return json.dumps([name, value], separators=(",", ":"), ensure_ascii=False)


def reference_value(reference: dict[str, Any] | None) -> str | None:
    """What a reference is matched on in filters: the value of its first key."""
    keys = (reference or {}).get("keys") or []
    return keys[0].get("value") if keys else None


def index_fields(obj: dict[str, Any]) -> IndexFields:
    """Shells carry asset data in ``assetInformation``; registry descriptors at the top level; asset link
    records of the discovery service in ``assetLinks`` (the global asset id as a link named ``globalAssetId``)."""
    terms: set[tuple[str, str]] = set()
    asset_info = obj.get("assetInformation") or obj
    if "globalAssetId" in asset_info:
        terms.add((ASSET_ID, asset_id_term("globalAssetId", asset_info["globalAssetId"])))
    for specific in [*(asset_info.get("specificAssetIds") or []), *(obj.get("assetLinks") or [])]:
        terms.add((ASSET_ID, asset_id_term(specific["name"], specific["value"])))
    for field in (ASSET_KIND, ASSET_TYPE):
        if field in asset_info:
            terms.add((field, asset_info[field]))
    for ref in obj.get("submodels") or []:
        keys = ref.get("keys") or []
        if keys and keys[-1].get("type") == "Submodel":
            terms.add((SUBMODEL, keys[-1]["value"]))
    for ref in obj.get("isCaseOf") or []:
        value = reference_value(ref)
        if value:
            terms.add((IS_CASE_OF, value))
    for spec in obj.get("embeddedDataSpecifications") or []:
        value = reference_value(spec.get("dataSpecification"))
        if value:
            terms.add((DATA_SPECIFICATION, value))
    return IndexFields(obj.get("idShort"), reference_value(obj.get("semanticId")), frozenset(terms))
