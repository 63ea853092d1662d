"""Lineage of ingested values, in W3C PROV terms: kept in the store per submodel, published per shell.

Vocabulary (PROV-O, https://www.w3.org/TR/prov-o/; chosen over OpenLineage because it describes single values,
while OpenLineage describes whole datasets and jobs; its run/job/dataset map onto activity/plan/entity):

========================  ==================================================================================
PROV term                 what it holds here
========================  ==================================================================================
``prov:Entity``           an element value, ``entity`` = ``<submodel id>#<idShortPath>``
``prov:wasGeneratedBy``   the ingest run (a ``prov:Activity``), ``urn:uuid:...``; runs are stored in the
                          ``ingest_runs`` records with ``startedAtTime``/``endedAtTime`` and what they used
``prov:generatedAtTime``  ingest time: when the run wrote the value
``prov:wasAttributedTo``  the adapter, a ``prov:SoftwareAgent`` (``aas-server ingest erp-flat``)
``prov:hadPlan``          the mapping rule: mapping name, file and checksum, rule path and line
``prov:wasDerivedFrom``   the source: ``file``, ``checksum`` (sha256, so a position names one version of the
                          file), ``line``/``endLine`` or ``xpath``, ``document`` (IDoc number), ``field``;
                          its ``generatedAtTime`` is the source time (IDoc creation time, a mapped
                          ``source_time`` field, else the file's modification time); for live values of the
                          OPC UA gateway (entries with ``live: true``): ``endpoint``, ``nodeId``,
                          ``generatedAtTime`` (OPC UA source timestamp) and ``serverTimestamp``
========================  ==================================================================================

Storage: one record per submodel in the ``lineage`` collection, keyed by the submodel id:
``{submodel, shell, idShort, template, entries: {idShortPath: entry}, quality: {...}}``. Entries exist for
leaf elements (Property, MultiLanguageProperty, Range, File, ...) and, for time series, per segment: a segment
entry adds ``sources`` (file, checksum, activity, times) and ``records`` runs ``[first record, count, source,
first line]``, so the line of every single record is known without one entry per value. An entry is
replaced only when its value (``valueDigest``) or the rule writing it changes: lineage describes the write that
produced the current value, so re-running the same input changes nothing, and an unchanged value keeps the run,
file version (checksum) and line that produced it, even when a later export carries it on another line or in
another file. Lineage is written *before* the values it describes, so a killed run never leaves a value without
it.

Published form: the ``Provenance`` submodel of each shell (``<shell id>/provenance``, semanticId
``prov:Bundle``) holds one collection per submodel the adapters fill, with one entry per value: path,
activity, times, agent, plan (mapping name and rule) and source (file *name*, checksum, line or XPath,
document). It is a reduced form of the store's lineage: no local paths, no digests, and never a value, so it
carries no personal data; partners get it through the standard API and ``$value``, where extensions and
qualifiers would not survive. Masking policies can drop ``*.Source``/``*.Location`` by semanticId where file
names or XPaths are internal.
"""
from __future__ import annotations

import datetime
import hashlib
import json
import re
from collections.abc import Iterable, Sequence
from pathlib import Path

from aas_server.errors import NotFoundError
from aas_server.model import tree
from aas_server.model.paths import format_path, parse_path
from aas_server.store.base import JSON, Store

from .base import Position

COLLECTION = "lineage"
RUNS = "ingest_runs"
PROV = "http://www.w3.org/ns/prov#"
SEMANTIC_IDS = {
    "Bundle": PROV + "Bundle",
    "Entity": PROV + "Entity",
    "Submodel": PROV + "specializationOf",
    "Path": "http://purl.org/dc/terms/identifier",
    "WasGeneratedBy": PROV + "wasGeneratedBy",
    "GeneratedAtTime": PROV + "generatedAtTime",
    "WasAttributedTo": PROV + "wasAttributedTo",
    "HadPlan": PROV + "hadPlan",
    "WasDerivedFrom": PROV + "wasDerivedFrom",
    "Source": "http://purl.org/dc/terms/source",
    "Checksum": "http://spdx.org/rdf/terms#checksum",
    "Location": PROV + "atLocation",
    "Document": "http://purl.org/dc/terms/identifier",
    "SourceTime": PROV + "generatedAtTime",
    "Values": PROV + "hadMember",
}
_LEAF_TYPES = ("Property", "MultiLanguageProperty", "Range", "File", "Blob", "ReferenceElement",
               "RelationshipElement", "BasicEventElement", "Capability", "Operation")
_RECORD = re.compile(r"Record(\d+)")


def timestamp(time: datetime.datetime) -> str:
    return time.astimezone(datetime.UTC).isoformat().replace("+00:00", "Z")


def digest(element: JSON) -> str:
    """A short digest of an element's JSON (its value, as the lineage's witness)."""
    return hashlib.sha256(json.dumps(element, sort_keys=True, separators=(",", ":")).encode()).hexdigest()[:24]


def leaves(elements: Iterable[JSON]) -> dict[str, JSON]:
    """Leaf elements (no child elements) of a submodel's top-level elements, by idShortPath."""
    out: dict[str, JSON] = {}
    for top in elements:
        for path, element in tree.walk(top, (top["idShort"],)):
            if element.get("modelType") in _LEAF_TYPES or not tree.children(element):
                if element.get("modelType") not in ("SubmodelElementCollection", "SubmodelElementList", "Entity") \
                        or not tree.children(element):
                    out[format_path(path)] = element
    return out


def source(position: Position, field: str | None, source_time: datetime.datetime | None) -> JSON:
    """``wasDerivedFrom`` of a value at ``position``."""
    out: JSON = {"file": position.file, "checksum": position.checksum}
    for key, value in (("line", position.line), ("endLine", position.end_line), ("xpath", position.xpath),
                       ("document", position.document), ("field", field)):
        if value is not None:
            out[key] = value
    if source_time is not None:
        out["generatedAtTime"] = timestamp(source_time)
    return out


def identity(entry: JSON) -> str:
    """What makes two entries the same lineage: the value and the rule that wrote it (see the module docstring)."""
    plan = entry.get("hadPlan") or {}
    return json.dumps([entry.get("valueDigest"), plan.get("mapping"), plan.get("rule"),
                       (entry.get("wasDerivedFrom") or {}).get("field")])


# -- the store's records ---------------------------------------------------------------------------------------


def load(store: Store, submodel_id: str) -> JSON | None:
    try:
        return store.get_record(COLLECTION, submodel_id)
    except NotFoundError:
        return None


def save(store: Store, doc: JSON) -> None:
    store.put_record(COLLECTION, doc["submodel"], doc)


def delete(store: Store, submodel_id: str) -> None:
    try:
        store.delete_record(COLLECTION, submodel_id)
    except NotFoundError:
        pass


def lookup(store: Store, submodel_id: str, path: str) -> JSON:
    """The lineage of the element at ``path``: its own entry, or for a record inside a time series segment the
    segment's entry narrowed to that record's line. The result tells whether the stored value still is the one
    the lineage describes (``current``).

    :raises NotFoundError: no lineage for the submodel or the path
    """
    doc = load(store, submodel_id)
    if doc is None:
        raise NotFoundError("no lineage recorded for this submodel", path=submodel_id)
    entries: dict[str, JSON] = doc.get("entries") or {}
    tokens = parse_path(path)
    for depth in range(len(tokens), 0, -1):
        key = format_path(tokens[:depth])
        entry = entries.get(key)
        if entry is None:
            continue
        result: JSON = {"submodel": submodel_id, "shell": doc.get("shell"), "path": path, "lineageOf": key}
        if depth < len(tokens) and entry.get("records"):
            narrowed = _record_entry(entry, tokens[depth:])
            if narrowed is None:
                break
            result["lineage"] = narrowed
        elif depth < len(tokens):
            break
        else:
            result["lineage"] = {k: v for k, v in entry.items() if k not in ("records", "sources")} \
                if not entry.get("records") else entry
        result["current"] = _current(store, submodel_id, key, entry)
        return result
    raise NotFoundError("no lineage recorded for this element", path=path)


def _record_entry(entry: JSON, rest: Sequence[str | int]) -> JSON | None:
    """The lineage of one record (``Records.Record00005...``) of a segment entry."""
    if len(rest) < 2 or rest[0] != "Records" or not isinstance(rest[1], str):
        return None
    match = _RECORD.fullmatch(rest[1])
    if not match:
        return None
    number = int(match[1])
    for first, count, source_index, first_line in entry.get("records") or []:
        if first <= number < first + count:
            src = dict(entry["sources"][source_index])
            derived = {k: v for k, v in src.items() if k in ("file", "checksum", "field")}
            derived["line"] = first_line + (number - first)
            if "sourceTime" in src:
                derived["generatedAtTime"] = src["sourceTime"]
            return {
                "entity": f"{entry['entity']}.{format_path(tuple(rest))}",
                "wasGeneratedBy": src.get("wasGeneratedBy"),
                "generatedAtTime": src.get("generatedAtTime"),
                "wasAttributedTo": entry.get("wasAttributedTo"),
                "hadPlan": entry.get("hadPlan"),
                "wasDerivedFrom": derived,
            }
    return None


def _current(store: Store, submodel_id: str, key: str, entry: JSON) -> bool | None:
    if entry.get("live"):  # a gateway's entry describes the binding; each value's times are on its qualifiers
        return None
    try:
        tokens = parse_path(key)
        top = store.get_element(submodel_id, str(tokens[0]))
        element = tree.find(top, tokens)
        if entry.get("records"):  # a time series segment: digested over its records (adapters.series)
            from .series import segment_digest

            return segment_digest(element) == entry.get("valueDigest")
        return digest(element) == entry.get("valueDigest")
    except (NotFoundError, ValueError):
        return None


# -- records runs of time series segments ----------------------------------------------------------------------


def record_runs(origins: Sequence[tuple[int, int]]) -> list[list[int]]:
    """Run-length code of per-record ``(source index, line)``: ``[first record, count, source, first line]``."""
    runs: list[list[int]] = []
    for number, (source_index, line) in enumerate(origins, 1):
        if runs:
            first, count, last_source, first_line = runs[-1]
            if last_source == source_index and first_line + count == line:
                runs[-1][1] += 1
                continue
        runs.append([number, 1, source_index, line])
    return runs


def record_origins(entry: JSON | None) -> dict[int, tuple[JSON, int]]:
    """Record number -> (source, line) of a stored segment entry."""
    out: dict[int, tuple[JSON, int]] = {}
    if not entry:
        return out
    sources = entry.get("sources") or []
    for first, count, source_index, first_line in entry.get("records") or []:
        for k in range(count):
            out[first + k] = (sources[source_index], first_line + k)
    return out


# -- the published provenance submodel ------------------------------------------------------------------------


def provenance_id(shell_id: str) -> str:
    return f"{shell_id}/provenance"


def provenance_submodel(shell_id: str) -> JSON:
    return {"modelType": "Submodel", "id": provenance_id(shell_id), "idShort": "Provenance", "kind": "Instance",
            "semanticId": _ref(SEMANTIC_IDS["Bundle"]),
            "description": [{"language": "en", "text": "W3C PROV lineage of the values adapters wrote into this "
                                                        "shell's submodels"}]}


def _ref(value: str) -> JSON:
    return {"type": "ExternalReference", "keys": [{"type": "GlobalReference", "value": value}]}


def _prop(name: str, value: str | None, value_type: str = "xs:string") -> JSON:
    out: JSON = {"idShort": name, "modelType": "Property", "semanticId": _ref(SEMANTIC_IDS[name]),
                 "valueType": value_type}
    if value is not None:
        out["value"] = value[:-1] + "+00:00" if value_type == "xs:dateTime" and value.endswith("Z") else value
    return out


def provenance_element(doc: JSON, id_short: str) -> JSON:
    """The provenance collection of one submodel, from its lineage record (reduced: see the module docstring)."""
    values = []
    for path, entry in sorted((doc.get("entries") or {}).items()):
        derived = entry.get("wasDerivedFrom") or {}
        plan = entry.get("hadPlan") or {}
        source_names = sorted({Path(s["file"]).name for s in entry.get("sources") or []}) \
            or [Path(derived.get("file", "")).name]
        location = _location(entry)
        children = [
            _prop("Path", path),
            _prop("WasGeneratedBy", entry.get("wasGeneratedBy")),
            _prop("GeneratedAtTime", entry.get("generatedAtTime"), "xs:dateTime"),
            _prop("WasAttributedTo", (entry.get("wasAttributedTo") or {}).get("agent")),
            _prop("HadPlan", f"{plan.get('mapping')} {plan.get('rule')}"),
        ]
        source_children = [_prop("Source", ", ".join(n for n in source_names if n) or None)]
        checksums = sorted({s.get("checksum") for s in entry.get("sources") or []} - {None}) \
            or ([derived["checksum"]] if derived.get("checksum") else [])
        if checksums:
            source_children.append(_prop("Checksum", ", ".join(checksums)))
        if location:
            source_children.append(_prop("Location", location))
        if derived.get("document"):
            source_children.append(_prop("Document", derived["document"]))
        if derived.get("generatedAtTime"):
            source_children.append(_prop("SourceTime", derived["generatedAtTime"], "xs:dateTime"))
        children.append({"idShort": "WasDerivedFrom", "modelType": "SubmodelElementCollection",
                         "semanticId": _ref(SEMANTIC_IDS["WasDerivedFrom"]), "value": source_children})
        values.append({"modelType": "SubmodelElementCollection", "semanticId": _ref(SEMANTIC_IDS["Entity"]),
                       "value": children})
    element: JSON = {
        "idShort": id_short, "modelType": "SubmodelElementCollection", "semanticId": _ref(SEMANTIC_IDS["Entity"]),
        "value": [
            {"idShort": "Submodel", "modelType": "ReferenceElement", "semanticId": _ref(SEMANTIC_IDS["Submodel"]),
             "value": {"type": "ModelReference", "keys": [{"type": "Submodel", "value": doc["submodel"]}]}},
        ],
    }
    if values:
        element["value"].append({
            "idShort": "Values", "modelType": "SubmodelElementList", "semanticId": _ref(SEMANTIC_IDS["Values"]),
            "typeValueListElement": "SubmodelElementCollection", "semanticIdListElement": _ref(SEMANTIC_IDS["Entity"]),
            "orderRelevant": True, "value": values,
        })
    return element


def _location(entry: JSON) -> str | None:
    derived = entry.get("wasDerivedFrom") or {}
    if entry.get("records"):
        spans = [f"{line}-{line + count - 1}" if count > 1 else str(line)
                 for _, count, _, line in entry["records"]]
        return "lines " + ", ".join(_merge_spans(spans))
    if derived.get("xpath"):
        return str(derived["xpath"])
    if derived.get("line") is not None:
        end = derived.get("endLine")
        return f"line {derived['line']}" + (f"-{end}" if end else "")
    return None


def _merge_spans(spans: list[str]) -> list[str]:
    return spans if len(spans) <= 20 else [*spans[:20], f"... ({len(spans) - 20} more)"]


def provenance_id_short(submodel: JSON) -> str:
    """idShort of a submodel's collection in the provenance submodel (the submodel's idShort; ``submodel`` may
    be the submodel or its lineage record)."""
    id_short = str(submodel.get("idShort") or "Submodel")
    return id_short if re.fullmatch(r"[A-Za-z][A-Za-z0-9_-]*[A-Za-z0-9_]|[A-Za-z]", id_short) else "Submodel"
