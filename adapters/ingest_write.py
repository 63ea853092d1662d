"""The per-record write path: build and check everything first, then write lineage -> submodels -> provenance
-> shell, each step comparing with the store, so a killed run is finished by the next (see :mod:`adapters.ingest`)."""
from __future__ import annotations

import copy
import datetime
import uuid
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from aas_server.errors import ConflictError, InvalidRequestError, NotFoundError
from aas_server.model import codec
from aas_server.store.base import JSON, Store
from submodels.templates import Finding

from . import lineage
from .base import Position, Record
from .ingest_merge import (
    asset_ids_in_order,
    merge_shell,
    merge_submodel,
    ref_id,
    submodel_header,
)
from .ingest_quality import QualityStats, sampled
from .ingest_report import RejectReport, Summary
from .mapping_plan import Plan, ShellPlan, SubmodelPlan, Value
from .mapping_rules import Mapping, SubmodelRule


class Writer:
    """Writes planned records into ``store``, counting into ``summary``."""

    def __init__(self, store: Store, mapping: Mapping, run_id: str | None, report: Path | None,
                 clock: Callable[[], datetime.datetime] | None) -> None:
        self.store = store
        self.mapping = mapping
        self.clock = clock or (lambda: datetime.datetime.now(datetime.UTC))
        self.run_id = run_id or f"urn:uuid:{uuid.uuid4()}"
        self.summary = Summary(self.run_id, mapping.name, mapping.adapter, self.clock(),
                               reject_report=str(report) if report else None)
        self.rejects = RejectReport(report)
        self.agent = {"agent": f"aas-server ingest {mapping.adapter}", "type": "prov:SoftwareAgent"}
        self.plan_ref = {"mapping": mapping.name, "file": mapping.file, "checksum": mapping.checksum}

    def _write_record(self, plan: Plan, record: Record) -> bool:
        if plan.mode == "delete":
            return self._delete(plan)
        # every check before any write: build, and validate what is not known to be written already
        prepared = []
        for sp in plan.submodels:
            built = self._build(sp, record)
            old_doc = lineage.load(self.store, sp.id)
            if not committed(old_doc, lineage.digest(built)):
                built = self._validate(sp, built, record)
            prepared.append((sp, built, old_doc))
        changed = False
        written = []
        for sp, built, old_doc in prepared:
            changes, doc = self._write_submodel(sp.rule, built, self._entries(plan, sp, built), plan.shell.id,
                                                plan.mode, old_doc)
            changed |= changes
            written.append((doc, old_doc))
        self._write_provenance(plan.shell.id, written)
        changed |= self._write_shell(plan.shell, [sp.id for sp, _, _ in prepared])
        return changed

    def _build(self, sp: SubmodelPlan, record: Record) -> JSON:
        try:
            built: JSON = sp.rule.template.build(sp.id, sp.build_values(), id_short=sp.rule.id_short)
            return built
        except ValueError as e:
            raise self._rejected(sp, record, e) from e

    def _validate(self, sp: SubmodelPlan, built: JSON, record: Record) -> JSON:
        try:
            return codec.validate("submodel", built)
        except InvalidRequestError as e:
            raise self._rejected(sp, record, e) from e

    @staticmethod
    def _rejected(sp: SubmodelPlan, record: Record, error: Exception) -> Rejected:
        value = next((v for v in sp.values if v.path in str(error)), None)
        return Rejected(str(error), value.field if value else None, value.rule.rule if value else sp.rule.label,
                         value.position if value else record.position)

    def _entries(self, plan: Plan, sp: SubmodelPlan, built: JSON) -> dict[str, JSON]:
        """Lineage entries of the leaves ``built`` holds, by path."""
        by_path = {v.path: v for v in sp.values}
        entries = {}
        for path, element in lineage.leaves(built.get("submodelElements") or []).items():
            value = by_path.get(path)
            entries[path] = self._entry(sp.id, path, element, value, plan.position, plan.source_time,
                                        value.rule.rule if value else sp.rule.label,
                                        value.rule.line if value else sp.rule.line)
        return entries

    def _entry(self, sm_id: str, path: str, element: JSON, value: Value | None, position: Position,
               source_time: datetime.datetime | None, rule: str, line: int) -> JSON:
        return {
            "entity": f"{sm_id}#{path}",
            "valueDigest": lineage.digest(element),
            "wasGeneratedBy": self.run_id,
            "generatedAtTime": lineage.timestamp(self.clock()),
            "wasAttributedTo": self.agent,
            "hadPlan": {**self.plan_ref, "rule": rule, "line": line},
            "wasDerivedFrom": lineage.source(value.position if value else position, value.field if value else None,
                                             source_time),
        }

    # -- submodels ----------------------------------------------------------------------------------------------

    def _write_submodel(self, rule: SubmodelRule, built: JSON, entries: dict[str, JSON], shell_id: str, mode: str,
                        old_doc: JSON | None) -> tuple[bool, JSON]:
        """Write what the record gives (``built``); see :meth:`_commit`. Returns whether values changed, and the
        lineage record whose ``committed`` witness :meth:`_write_provenance` stores last.

        The witness (digests of ``built`` and of the provenance element last written) lets an unchanged record
        skip reading the submodel: reads of elements are full collection scans on FerretDB. Whenever the witness
        does not match, the stored submodel is read and compared (and a missing witness never skips anything).
        """
        witness = lineage.digest(built)
        if committed(old_doc, witness):
            return False, self._confirmed(rule, built["id"], old_doc)
        stored = self._get("submodel", built["id"]) if old_doc is not None or mode == "change" else None
        desired = built
        if mode == "change" and stored is not None:
            desired = codec.validate("submodel", merge_submodel(stored, built))
            present = lineage.leaves(desired.get("submodelElements") or [])
            old_entries = (old_doc or {}).get("entries") or {}
            entries = {**{p: e for p, e in old_entries.items() if p in present}, **entries}
        return self._commit(rule, desired, entries, shell_id, stored, old_doc, witness)

    def _confirmed(self, rule: SubmodelRule, sm_id: str, old_doc: Any) -> JSON:
        """Nothing to write: the stored quality findings count for this run."""
        self._quality(rule.template.name).add(sm_id, [Finding(p, s, m) for s, p, m in old_doc.get("quality", [])])
        return copy.deepcopy(old_doc)  # type: ignore[no-any-return]

    def _commit(self, rule: SubmodelRule, desired: JSON, entries: dict[str, JSON], shell_id: str,
                stored: JSON | None, old_doc: JSON | None, witness: str) -> tuple[bool, JSON]:
        """Check ``desired`` against its template, write its lineage, then its values (what differs from
        ``stored``; ``None`` with no lineage record: presumed absent)."""
        sm_id = desired["id"]
        old_entries: dict[str, JSON] = (old_doc or {}).get("entries") or {}
        findings = rule.template.check(sampled(desired) if rule.series else desired)
        self._quality(rule.template.name).add(sm_id, findings)
        doc = {"submodel": sm_id, "shell": shell_id, "idShort": desired.get("idShort"), "template": rule.template.name,
               "entries": {path: old_entries[path] if path in old_entries and
                           lineage.identity(old_entries[path]) == lineage.identity(entry) else entry
                           for path, entry in entries.items()},
               "quality": [[f.severity, f.path, f.message] for f in findings],
               "committed": dict((old_doc or {}).get("committed") or {})}
        if doc != old_doc:
            lineage.save(self.store, doc)  # before the values it describes
        changed = self._store_submodel(stored, desired, presumed_absent=old_doc is None)
        doc["committed"]["input"] = witness
        return changed, doc

    def _store_submodel(self, stored: JSON | None, desired: JSON, presumed_absent: bool = False) -> bool:
        sm_id = desired["id"]
        if stored is None:
            try:
                self.store.create("submodel", desired)
            except ConflictError:
                if not presumed_absent:
                    raise
                return self._store_submodel(self.store.get("submodel", sm_id), desired)
            self.summary.submodels_created += 1
            self.summary.elements_written += len(desired.get("submodelElements") or [])
            return True
        if stored == desired:
            return False
        old = {e["idShort"]: e for e in stored.get("submodelElements") or []}
        new = desired.get("submodelElements") or []
        old_order = list(old)
        new_order = [e["idShort"] for e in new]
        if new_order[: len(old_order)] != old_order:
            self.store.replace("submodel", desired)  # elements vanish or move: atomically, by generation
            self.summary.elements_written += len(new)
            return True
        for element in new:
            if element["idShort"] not in old:
                try:
                    self.store.add_element(sm_id, element)
                except ConflictError:  # added by a run killed before it finished
                    self.store.update_element(sm_id, element["idShort"], _replacing(element))
                self.summary.elements_written += 1
            elif old[element["idShort"]] != element:
                self.store.update_element(sm_id, element["idShort"], _replacing(element))
                self.summary.elements_written += 1
        header = submodel_header(desired)
        if submodel_header(stored) != header:
            self.store.update_header(sm_id, lambda _: header)
        return True

    def _write_provenance(self, shell_id: str, written: Sequence[tuple[JSON, JSON | None]]) -> None:
        """Bring the shell's provenance submodel up to the lineage records (one collection per submodel), then
        store each changed record with its ``committed`` witness (``provenance``: ``[idShort, digest]``).

        :param written: (lineage record, the version in the store) per submodel
        """
        prov_id = lineage.provenance_id(shell_id)
        docs = [doc for doc, _ in written]
        pending = []
        for doc in docs:
            committed = doc.setdefault("committed", {})
            previous = committed.get("provenance")
            id_short = previous[0] if previous else lineage.provenance_id_short(doc)
            element = lineage.provenance_element(doc, id_short)
            if previous != [id_short, lineage.digest(element)]:
                pending.append((doc, id_short, element, previous))
        if pending and not any(previous for *_, previous in pending):
            try:  # a new shell: the whole provenance submodel in one write
                elements = [element for _, _, element, _ in pending]
                provenance = {**lineage.provenance_submodel(shell_id), "submodelElements": elements}
                self.store.create("submodel", provenance)
                for doc, id_short, element, _ in pending:
                    doc["committed"]["provenance"] = [id_short, lineage.digest(element)]
                pending = []
            except ConflictError:
                pass
        for doc, id_short, element, previous in pending:
            self._write_provenance_element(prov_id, shell_id, doc, id_short, element, bool(previous))
        for doc, stored in written:
            if doc != stored:
                lineage.save(self.store, doc)

    def _write_provenance_element(self, prov_id: str, shell_id: str, doc: JSON, id_short: str, element: JSON,
                                  written_before: bool) -> None:
        if written_before:
            try:
                self.store.update_element(prov_id, id_short, lambda _: element)
                doc["committed"]["provenance"] = [id_short, lineage.digest(element)]
                return
            except NotFoundError:
                pass  # deleted meanwhile: add it again
        for attempt in range(2):
            try:
                self.store.add_element(prov_id, element)
            except NotFoundError:
                provenance = {**lineage.provenance_submodel(shell_id), "submodelElements": [element]}
                try:
                    self.store.create("submodel", provenance)
                except ConflictError:
                    self.store.add_element(prov_id, element)
            except ConflictError:
                stored = self.store.get_element(prov_id, id_short)
                if _referenced(stored) != doc["submodel"] and attempt == 0:  # another submodel's idShort
                    id_short = f"{id_short}_{lineage.digest({'id': doc['submodel']})[:8]}"
                    element = lineage.provenance_element(doc, id_short)
                    continue
                if stored != element:
                    self.store.update_element(prov_id, id_short, _replacing(element))
            doc["committed"]["provenance"] = [id_short, lineage.digest(element)]
            return

    # -- shells -------------------------------------------------------------------------------------------------

    def _write_shell(self, plan: ShellPlan, submodel_ids: Sequence[str]) -> bool:
        stored = self._get("shell", plan.id)
        merged = merge_shell(stored, plan, [*submodel_ids, lineage.provenance_id(plan.id)])
        desired = asset_ids_in_order(codec.validate("shell", merged), merged)
        if stored == desired:
            return False
        if stored is None:
            try:
                self.store.create("shell", desired)
                self.summary.shells_created += 1
            except ConflictError:
                self.store.replace("shell", desired)
        else:
            self.store.replace("shell", desired)
        return True

    def _delete(self, plan: Plan) -> bool:
        changed = False
        prov_id = lineage.provenance_id(plan.shell.id)
        for sp in plan.submodels:
            doc = lineage.load(self.store, sp.id)
            submodel = self._get("submodel", sp.id)
            if submodel is None and doc is None:
                continue
            provenance = ((doc or {}).get("committed") or {}).get("provenance")
            lineage.delete(self.store, sp.id)  # first: a rerun must not take the submodel as written
            try:
                self.store.delete_element(prov_id, provenance[0] if provenance else
                                          lineage.provenance_id_short(submodel or {}))
            except NotFoundError:
                pass
            if submodel is not None:
                self.store.delete("submodel", sp.id)
            changed = True
        shell = self._get("shell", plan.shell.id)
        if shell is not None:
            gone = {sp.id for sp in plan.submodels}
            refs = [r for r in shell.get("submodels") or [] if ref_id(r) not in gone]
            if len(refs) != len(shell.get("submodels") or []):
                kept = {**shell, "submodels": refs}
                self.store.replace("shell", asset_ids_in_order(codec.validate("shell", kept), kept))
                changed = True
        return changed

    # -- helpers ------------------------------------------------------------------------------------------------

    def _get(self, kind: str, identifier: str) -> JSON | None:
        try:
            return self.store.get(kind, identifier)
        except NotFoundError:
            return None

    def _quality(self, template: str) -> QualityStats:
        return self.summary.quality.setdefault(template, QualityStats(template))


class Rejected(Exception):
    def __init__(self, reason: str, field: str | None, rule: str | None, position: Position | None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.field = field
        self.rule = rule
        self.position = position



def _referenced(element: JSON) -> str | None:
    for child in element.get("value") or []:
        if child.get("idShort") == "Submodel":
            keys = (child.get("value") or {}).get("keys") or []
            return keys[-1].get("value") if keys else None
    return None


def _replacing(element: JSON) -> Callable[[JSON], JSON]:
    """An ``update_element`` change that puts ``element`` in place of what is stored."""
    return lambda _: element



def committed(old_doc: JSON | None, witness: str) -> bool:
    """Whether the lineage record witnesses that what ``witness`` digests was written (and its provenance)."""
    committed = (old_doc or {}).get("committed") or {}
    return bool(committed.get("provenance")) and committed.get("input") == witness
