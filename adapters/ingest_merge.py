"""Merging what a record states into what is stored: JSON in, JSON out, no store access."""
from __future__ import annotations

import json
from collections.abc import Sequence

from aas_server.model import codec
from aas_server.store.base import JSON

from .mapping_plan import ShellPlan


def merge_submodel(stored: JSON, new: JSON) -> JSON:
    """``new``'s header and elements merged into ``stored`` (a *change* record): stored elements the record does
    not give are kept, given ones are merged by idShort (collections) or position (lists); leaves are replaced."""
    old = stored.get("submodelElements") or []
    incoming = {e["idShort"]: e for e in new.get("submodelElements") or []}
    elements = [merge_element(e, incoming.pop(e["idShort"])) if e["idShort"] in incoming else e for e in old]
    elements += list(incoming.values())
    out = {**stored, **submodel_header(new)}
    if elements:
        out["submodelElements"] = elements
    return out


def merge_element(old: JSON, new: JSON) -> JSON:
    kind = new.get("modelType")
    if kind != old.get("modelType") or kind not in ("SubmodelElementCollection", "SubmodelElementList"):
        return new
    old_children = old.get("value") or []
    new_children = new.get("value") or []
    if kind == "SubmodelElementList":
        merged = [merge_element(o, n) for o, n in zip(old_children, new_children, strict=False)]
        merged += new_children[len(old_children):] + old_children[len(new_children):]
    else:
        incoming = {c.get("idShort"): c for c in new_children}
        merged = [merge_element(c, incoming.pop(c.get("idShort"))) if c.get("idShort") in incoming else c
                  for c in old_children]
        merged += list(incoming.values())
    out = {**old, **{k: v for k, v in new.items() if k != "value"}}
    if merged:
        out["value"] = merged
    return out


def merge_shell(stored: JSON | None, plan: ShellPlan, submodel_ids: Sequence[str]) -> JSON:
    """The shell with what ``plan`` states; every reference, asset id and attribute it does not state is kept."""
    shell: JSON = dict(stored) if stored else {"modelType": "AssetAdministrationShell", "id": plan.id}
    if plan.id_short:
        shell["idShort"] = plan.id_short
    info = dict(shell.get("assetInformation") or {})
    info["assetKind"] = plan.asset_kind
    info["globalAssetId"] = plan.global_asset_id
    if plan.asset_type:
        info["assetType"] = plan.asset_type
    specific = list(info.get("specificAssetIds") or [])
    for name, value in plan.specific_asset_ids:
        entry = {"name": name, "value": value}
        for i, existing in enumerate(specific):
            if existing.get("name") == name:
                specific[i] = {**existing, **entry}
                break
        else:
            specific.append(entry)
    if specific:
        info["specificAssetIds"] = specific
    shell["assetInformation"] = info
    refs = list(shell.get("submodels") or [])
    present = {ref_id(r) for r in refs}
    for sm_id in submodel_ids:
        if sm_id not in present:
            refs.append({"type": "ModelReference", "keys": [{"type": "Submodel", "value": sm_id}]})
            present.add(sm_id)
    shell["submodels"] = refs
    return shell


def asset_ids_in_order(shell: JSON, given: JSON) -> JSON:
    """The SDK's JSON reader keeps specificAssetIds in a set (``codec.keep_order`` does not restore them), so their
    order would follow the process's hash seed and every run would "change" the shell: put them back in order."""
    ids = (shell.get("assetInformation") or {}).get("specificAssetIds")
    if not ids:
        return shell
    rank = {json.dumps(i, sort_keys=True): n for n, i in
            enumerate(codec.prune((given.get("assetInformation") or {}).get("specificAssetIds") or []))}
    ordered = sorted(ids, key=lambda i: rank.get(json.dumps(i, sort_keys=True), len(rank)))
    return {**shell, "assetInformation": {**shell["assetInformation"], "specificAssetIds": ordered}}


def ref_id(reference: JSON) -> str | None:
    keys = reference.get("keys") or []
    return keys[-1].get("value") if keys and keys[-1].get("type") == "Submodel" else None




def submodel_header(submodel: JSON) -> JSON:
    return {k: v for k, v in submodel.items() if k != "submodelElements"}
