"""Helpers of the batch adapter tests: running a mapping, snapshots of the store, value-only views."""
from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

from aas_server.model import tree
from aas_server.model.paths import format_path
from aas_server.store.base import JSON, Query, Store, iterate
from adapters import lineage
from adapters import mapping as mappings
from adapters.cli import MAPPINGS, make_source
from adapters.ingest import Summary, ingest

ROOT = Path(__file__).resolve().parents[2]
SAMPLES = ROOT.parent / "shared" / "samples"
MATMAS = SAMPLES / "erp" / "MATMAS05_pumps.xml"
SERIAL_EXPORT = SAMPLES / "erp" / "serial_units_export.csv"
TEST_BENCH = SAMPLES / "csv" / "test_bench_TB03.csv"
RUN_FIELDS = ("WasGeneratedBy", "GeneratedAtTime")


def load_mapping(name: str) -> mappings.Mapping:
    return mappings.load(MAPPINGS / f"{name}.yaml")


def run(store: Store, name: str, *inputs: Path | str, rejects: Path | None = None) -> Summary:
    mapping = load_mapping(name)
    return ingest([make_source(mapping, str(p)) for p in inputs], mapping, store, reject_report=rejects)


def values(element_or_submodel: JSON) -> dict[str, Any]:
    """Leaf values by idShortPath: Property -> lexical value, MLP -> {lang: text}, Range -> (min, max)."""
    out: dict[str, Any] = {}
    tops = element_or_submodel.get("submodelElements") if "submodelElements" in element_or_submodel \
        else [element_or_submodel]
    for top in tops or []:
        for path, element in tree.walk(top, (top["idShort"],)):
            kind = element.get("modelType")
            if kind == "Property":
                out[format_path(path)] = element.get("value")
            elif kind == "MultiLanguageProperty":
                out[format_path(path)] = {t["language"]: t["text"] for t in element.get("value") or []}
            elif kind == "Range":
                out[format_path(path)] = (element.get("min"), element.get("max"))
    return out


def value_types(submodel: JSON) -> dict[str, str]:
    out = {}
    for top in submodel.get("submodelElements") or []:
        for path, element in tree.walk(top, (top["idShort"],)):
            if "valueType" in element:
                out[format_path(path)] = element["valueType"]
    return out


def snapshot(store: Store) -> dict[str, Any]:
    """Every shell, submodel and lineage record, without what differs between runs (run ids and times, and the
    lineage records' ``committed`` witness, a digest over them)."""
    shells = {s["id"]: s for s in iterate(lambda page: store.find("shell", Query(), page))}
    submodels = {s["id"]: _without_run(s) for s in iterate(lambda page: store.find("submodel", Query(), page))}
    records = {r["submodel"]: _without_run({k: v for k, v in r.items() if k != "committed"})
               for r in iterate(lambda page: store.find_records(lineage.COLLECTION, page))}
    return {"shells": shells, "submodels": submodels, "lineage": records}


def _without_run(obj: Any) -> Any:
    obj = copy.deepcopy(obj)

    def clean(node: Any) -> Any:
        if isinstance(node, dict):
            if node.get("idShort") in RUN_FIELDS and node.get("modelType") == "Property":
                return {k: v for k, v in node.items() if k != "value"}
            return {k: clean(v) for k, v in node.items() if k not in ("wasGeneratedBy", "generatedAtTime")}
        if isinstance(node, list):
            return [clean(v) for v in node]
        return node

    return clean(obj)


def diff_paths(before: Any, after: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Where two JSON values differ, as key paths (for readable assertions)."""
    if isinstance(before, dict) and isinstance(after, dict):
        out = []
        for key in sorted(set(before) | set(after), key=str):
            out += diff_paths(before.get(key), after.get(key), (*prefix, key))
        return out
    if isinstance(before, list) and isinstance(after, list) and len(before) == len(after):
        out = []
        for i, (b, a) in enumerate(zip(before, after, strict=True)):
            out += diff_paths(b, a, (*prefix, i))
        return out
    return [] if before == after else [prefix]
