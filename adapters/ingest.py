"""The one write path of the batch adapters: source -> mapping -> store.

:func:`ingest` reads every record of every source, applies the mapping (:mod:`adapters.mapping`), builds the
template submodels, checks them against their template (data quality), and writes only what differs from the
store: changed top-level elements, changed headers, missing shell references. Lineage (:mod:`adapters.lineage`)
is recorded for every value written; rejects go to a CSV report; the run ends with a :class:`Summary`.

Idempotent and restartable, without transactions (FerretDB has none):

- ids are deterministic (text templates over the record's keys), so a record always lands on the same shell
  and submodels, and a re-run compares with what is stored: the same input changes nothing, a changed record
  rewrites only its changed top-level elements (or, when elements appear or vanish out of order, replaces the
  submodel atomically through the store's generations);
- per record, all conversion, template building and validation happen before the first write; then the writes
  go lineage -> submodels -> provenance submodel -> shell (created, or its references and asset ids merged).
  A new record is therefore only reachable from its shell once all its submodels are complete, and a run killed
  anywhere (``kill -9``) is finished by the next run to the same state an uninterrupted run reaches: every step
  compares with the store, creates are upserts, and no step appends blindly, so nothing is duplicated;
- a shell used by several mappings keeps every submodel reference, specific asset id and attribute that a
  mapping does not state (merge, not overwrite);
- the lineage record of each submodel ends with a ``committed`` witness: the digest of what the record gave and
  of the provenance element written, stored last. When a record's digest matches it, the submodel is not read
  at all (on FerretDB every query but ``{_id: ...}`` is a full collection scan, so reading elements costs with
  the size of the whole store); when it does not match, or is missing, the stored submodel is read and compared.
  A value changed through the API in between is therefore overwritten by the next *changed* record, not by an
  unchanged re-run.

Change flags (IDoc ``MSGFN``, through the mapping's ``change_flag``): *replace* makes the submodel exactly what
the record gives (absent values removed), *change* merges the record's values into the stored submodel, *delete*
removes the mapping's submodels from the shell.

Time series mappings (:mod:`adapters.series`) buffer rows per submodel (at most :data:`MAX_OPEN` submodels and
:data:`MAX_BUFFERED` rows; the least recently used is written first), so memory stays flat however long the
file is, and rows of one submodel may be spread over the file. A row counts as loaded or unchanged when its
segment is written. A mapping with a time series fills only that submodel.

Data quality: every submodel written is checked with ``Template.check`` (a confirmed one counts with the
findings stored for it); findings are kept per submodel in its lineage record and summed per template in the
summary. For time series only the first and last
record of each segment are checked (all records are typed by the same conversion).
"""
from __future__ import annotations

import collections
import copy
import dataclasses
import datetime
import json
import logging
import uuid
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

from aas_server.errors import AASError, ConflictError, InvalidRequestError, NotFoundError
from aas_server.model import codec
from aas_server.store.base import JSON, Store
from submodels.templates import Finding

from . import lineage, series
from .base import Position, Record, Reject, Source
from .conversions import RecordError
from .ingest_merge import asset_ids_in_order, merge_shell, merge_submodel, ref_id, submodel_header
from .ingest_quality import QualityStats, sampled
from .ingest_report import InputStats, RejectReport, Summary
from .mapping_plan import Plan, ShellPlan, SubmodelPlan, Value
from .mapping_rules import Mapping, SubmodelRule

__all__ = ["MAX_BUFFERED", "MAX_OPEN", "Summary", "ingest", "merge_shell", "merge_submodel"]

logger = logging.getLogger(__name__)

#: time series submodels buffered at once, and rows buffered over all of them
MAX_OPEN = 16
MAX_BUFFERED = 50_000


# -- the run --------------------------------------------------------------------------------------------------


def ingest(sources: Iterable[Source], mapping: Mapping, store: Store, *, run_id: str | None = None,
           reject_report: str | Path | None = None, progress: Callable[[int], None] | None = None,
           clock: Callable[[], datetime.datetime] | None = None) -> Summary:
    """Load ``sources`` through ``mapping`` into ``store``. See the module docstring.

    :param reject_report: CSV file for rejects (written only if there are any); ``None``: log only
    :param progress: called with 1 per input item
    :raises StoreUnavailableError: the store failed; a new run finishes the work
    :raises SourceUnavailableError: an input cannot be read
    """
    return _Run(store, mapping, run_id, Path(reject_report) if reject_report else None, progress, clock).run(sources)


@dataclasses.dataclass
class _Group:
    """Buffered rows of one time series submodel."""

    plan: Plan
    submodel: SubmodelPlan
    record: Record
    #: window start -> {time: (row, input index, line)}
    windows: dict[datetime.datetime, dict[datetime.datetime, tuple[series.Row, int, int]]]
    rows: int = 0


class _Run:
    def __init__(self, store: Store, mapping: Mapping, run_id: str | None, report: Path | None,
                 progress: Callable[[int], None] | None, clock: Callable[[], datetime.datetime] | None) -> None:
        self.store = store
        self.mapping = mapping
        self.clock = clock or (lambda: datetime.datetime.now(datetime.UTC))
        self.run_id = run_id or f"urn:uuid:{uuid.uuid4()}"
        self.summary = Summary(self.run_id, mapping.name, mapping.adapter, self.clock(),
                               reject_report=str(report) if report else None)
        self.rejects = RejectReport(report)
        self.progress = progress or (lambda n: None)
        self.agent = {"agent": f"aas-server ingest {mapping.adapter}", "type": "prov:SoftwareAgent"}
        self.plan_ref = {"mapping": mapping.name, "file": mapping.file, "checksum": mapping.checksum}
        self.series_rule = next((r for r in mapping.submodels if r.series is not None), None)
        self.groups: collections.OrderedDict[str, _Group] = collections.OrderedDict()
        self.buffered = 0
        self.variables: dict[str, series.Variable] = {}
        if self.series_rule is not None and self.series_rule.series is not None:
            self.variables = {name: series.Variable(name, str(rule.value_type), rule.semantic_id)
                              for name, rule in self.series_rule.series.variables}
            if len(mapping.submodels) > 1:
                raise InvalidRequestError("a mapping with a time_series submodel fills only that submodel",
                                          path=mapping.file)

    def run(self, sources: Iterable[Source]) -> Summary:
        self._save_run()
        try:
            for source in sources:
                stats = InputStats(source.file, source.checksum())
                self.summary.inputs.append(stats)
                for item in source.read():
                    self.progress(1)
                    if isinstance(item, Reject):
                        stats.records += 1
                        stats.rejected += 1
                        self.rejects.add(item)
                        continue
                    stats.records += 1
                    self._record(item, stats, len(self.summary.inputs) - 1)
                self._flush_all()
            self.summary.status = "completed"
        except BaseException:
            self.summary.status = "failed"
            raise
        finally:
            self.rejects.close()
            if not self.rejects.count:
                self.summary.reject_report = None
            self.summary.ended = self.clock()
            try:
                self._save_run()
            except AASError as e:
                logger.warning("cannot record the run %s: %s", self.run_id, e)
        return self.summary

    def _save_run(self) -> None:
        self.store.put_record(lineage.RUNS, self.run_id, self.summary.as_json())

    # -- one record -------------------------------------------------------------------------------------------

    def _record(self, record: Record, stats: InputStats, input_index: int) -> None:
        try:
            plan = self.mapping.apply(record)
        except RecordError as e:
            self._reject_errors(record, e, stats)
            return
        if self.series_rule is not None and plan.mode != "delete":
            self._buffer(plan, record, stats, input_index)
            return
        try:
            changed = self._write_record(plan, record)
        except _Rejected as e:
            stats.rejected += 1
            self.rejects.add(Reject(e.position or record.position, e.reason, e.field, e.rule))
            return
        if changed:
            stats.loaded += 1
        else:
            stats.unchanged += 1

    def _reject_errors(self, record: Record, error: RecordError, stats: InputStats) -> None:
        stats.rejected += 1
        if not error.errors:
            self.rejects.add(Reject(record.position, "record cannot be mapped"))
        for e in error.errors:
            position = e.position or record.position
            if position.line is None and record.position.line is not None:
                position = dataclasses.replace(position, line=record.position.line)
            self.rejects.add(Reject(position, e.reason, e.field, e.rule))

    def _write_record(self, plan: Plan, record: Record) -> bool:
        if plan.mode == "delete":
            return self._delete(plan)
        # every check before any write: build, and validate what is not known to be written already
        prepared = []
        for sp in plan.submodels:
            built = self._build(sp, record)
            old_doc = lineage.load(self.store, sp.id)
            if not _committed(old_doc, lineage.digest(built)):
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
    def _rejected(sp: SubmodelPlan, record: Record, error: Exception) -> _Rejected:
        value = next((v for v in sp.values if v.path in str(error)), None)
        return _Rejected(str(error), value.field if value else None, value.rule.rule if value else sp.rule.label,
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
        if _committed(old_doc, witness):
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

    # -- time series --------------------------------------------------------------------------------------------

    def _buffer(self, plan: Plan, record: Record, stats: InputStats, input_index: int) -> None:
        sp = plan.submodels[0]
        rule = sp.rule.series
        if rule is None or sp.point is None:
            raise InvalidRequestError("no time series rule", path=sp.rule.label)
        try:
            row = series.row(sp.point.time, sp.point.values, self.variables)
        except ValueError as e:
            stats.rejected += 1
            self.rejects.add(Reject(record.position, str(e), None, f"{sp.rule.label}.time_series"))
            return
        group = self.groups.get(sp.id)
        if group is None:
            group = self.groups[sp.id] = _Group(plan, sp, record, {})
        else:
            self.groups.move_to_end(sp.id)
        start = series.window_start(sp.point.time, rule.window)
        window = group.windows.setdefault(start, {})
        if sp.point.time not in window:
            group.rows += 1
            self.buffered += 1
        else:  # the same time twice: the later row wins, the earlier one counts as unchanged
            stats.unchanged += 1
        window[sp.point.time] = (row, input_index, record.position.line or 0)
        while len(self.groups) > MAX_OPEN or self.buffered > MAX_BUFFERED:
            self._flush(next(iter(self.groups)))

    def _flush_all(self) -> None:
        while self.groups:
            self._flush(next(iter(self.groups)))

    def _flush(self, sm_id: str) -> None:
        """Write one submodel's buffered rows: merged into the stored segments of their windows."""
        group = self.groups.pop(sm_id)
        self.buffered -= group.rows
        rule = group.submodel.rule
        values = group.submodel.build_values()
        values["Metadata.Record"] = series.declaration(self.variables)
        try:
            header = codec.validate("submodel", rule.template.build(sm_id, values, id_short=rule.id_short))
        except (ValueError, InvalidRequestError) as e:
            for window in group.windows.values():
                for _, input_index, line in window.values():
                    stats = self.summary.inputs[input_index]
                    stats.rejected += 1
                    self.rejects.add(Reject(Position(stats.file, stats.checksum, line), str(e), None, rule.label))
            return
        leaf_entries = self._entries(group.plan, group.submodel, header)
        now = lineage.timestamp(self.clock())
        old_doc = lineage.load(self.store, sm_id)
        old_entries: dict[str, JSON] = (old_doc or {}).get("entries") or {}
        # the rows alone, as a first run writes them: if the lineage record witnesses exactly this, nothing is read
        segments, entries, counts = self._merge_segments(group, None, {}, now)
        witness = _series_witness(header, segments, entries)
        stored = None
        if _committed(old_doc, witness):
            doc = self._confirmed(rule, sm_id, old_doc)
            counts = {}
        else:
            if old_doc is not None:
                stored = self._get("submodel", sm_id)
            if stored is not None:
                stored_segments = next((e for e in stored.get("submodelElements") or []
                                        if e.get("idShort") == "Segments"), None)
                segments, entries, counts = self._merge_segments(group, stored_segments, old_entries, now)
                witness = _series_witness(header, segments, entries)
            desired = {**header, "submodelElements": [*(header.get("submodelElements") or []),
                                                       series.segments_json(segments)]}
            _, doc = self._commit(rule, desired, {**leaf_entries, **entries}, group.plan.shell.id, stored, old_doc,
                                  witness)
        self._write_provenance(group.plan.shell.id, [(doc, old_doc)])
        if counts:
            for input_index, (loaded, unchanged) in counts.items():
                self.summary.inputs[input_index].loaded += loaded
                self.summary.inputs[input_index].unchanged += unchanged
        else:  # the witness matched: every row is unchanged
            for window in group.windows.values():
                for _, input_index, _ in window.values():
                    self.summary.inputs[input_index].unchanged += 1
        self._write_shell(group.plan.shell, [sm_id])

    def _merge_segments(self, group: _Group, stored_segments: JSON | None, old_entries: dict[str, JSON], now: str
                        ) -> tuple[list[JSON], dict[str, JSON], dict[int, list[int]]]:
        """Segments with the group's windows merged into ``stored_segments``, their lineage entries (for every
        segment), and per input the numbers of loaded and unchanged rows."""
        rule = group.submodel.rule
        spec = rule.series
        if spec is None:
            raise InvalidRequestError("no time series rule", path=rule.label)
        segments = list((stored_segments or {}).get("value") or [])
        entries = {p: e for p, e in old_entries.items() if p.startswith("Segments.")}
        counts: dict[int, list[int]] = {}
        fresh: dict[int, JSON] = {}  # the source of this run's rows, one per input
        for start, window in sorted(group.windows.items()):
            parts = series.window_segments(stored_segments, start)
            existing: dict[datetime.datetime, tuple[series.Row, JSON, int]] = {}
            for part in parts:
                origins = lineage.record_origins(old_entries.get(f"Segments.{part['idShort']}"))
                for number, row in enumerate(series.stored_rows(part), 1):
                    source, line = origins.get(number, ({}, 0))
                    existing[row[0]] = (row, source, line)
            window_changed = False
            for time, (row, input_index, line) in window.items():
                count = counts.setdefault(input_index, [0, 0])
                before = existing.get(time)
                if before is not None and before[0] == row:
                    count[1] += 1  # keeps the lineage of the run that wrote it
                    continue
                count[0] += 1
                window_changed = True
                if input_index not in fresh:
                    fresh[input_index] = self._series_source(self.summary.inputs[input_index], group, now)
                existing[time] = (row, fresh[input_index], line)
            if not window_changed:
                continue
            merged = [existing[t] for t in sorted(existing)]
            prefix = series.segment_prefix(start)
            segments = [s for s in segments if s not in parts]
            for part in parts:
                entries.pop(f"Segments.{part['idShort']}", None)
            for number, chunk in enumerate(series.split(merged, spec.max_records), 1):
                id_short = f"{prefix}{number:02d}"
                segment = series.segment_json(id_short, [r for r, _, _ in chunk], self.variables, spec.window)
                segments.append(segment)
                entries[f"Segments.{id_short}"] = self._segment_entry(group.submodel.id, id_short, chunk, segment,
                                                                      rule)
        return segments, entries, counts

    def _series_source(self, stats: InputStats, group: _Group, now: str) -> JSON:
        source = {"file": stats.file, "checksum": stats.checksum, "wasGeneratedBy": self.run_id,
                  "generatedAtTime": now}
        time = group.plan.source_time or group.record.source_time
        if time is not None:
            source["sourceTime"] = lineage.timestamp(time)
        return source

    def _segment_entry(self, sm_id: str, id_short: str, chunk: Sequence[tuple[series.Row, JSON, int]],
                       segment: JSON, rule: SubmodelRule) -> JSON:
        sources: list[JSON] = []
        index: dict[str, int] = {}
        origins = []
        by_identity: dict[int, int] = {}
        for _, source, line in chunk:  # few distinct source dicts, shared by their rows
            position = by_identity.get(id(source))
            if position is None:
                key = json.dumps(source, sort_keys=True)
                if key not in index:
                    index[key] = len(sources)
                    sources.append(source)
                position = by_identity[id(source)] = index[key]
            origins.append((position, line))
        latest = max(sources, key=lambda s: str(s.get("generatedAtTime", "")))
        first = sources[origins[0][0]]
        derived = {"file": first.get("file"), "checksum": first.get("checksum"), "line": origins[0][1],
                   "generatedAtTime": first.get("sourceTime")}
        return {
            "entity": f"{sm_id}#Segments.{id_short}",
            "valueDigest": series.rows_digest([r for r, _, _ in chunk]),
            "wasGeneratedBy": latest.get("wasGeneratedBy"),
            "generatedAtTime": latest.get("generatedAtTime"),
            "wasAttributedTo": self.agent,
            "hadPlan": {**self.plan_ref, "rule": f"{rule.label}.time_series",
                        "line": rule.series.line if rule.series else rule.line},
            "wasDerivedFrom": {k: v for k, v in derived.items() if v is not None},
            "sources": sources,
            "records": lineage.record_runs(origins),
        }

    # -- helpers ------------------------------------------------------------------------------------------------

    def _get(self, kind: str, identifier: str) -> JSON | None:
        try:
            return self.store.get(kind, identifier)
        except NotFoundError:
            return None

    def _quality(self, template: str) -> QualityStats:
        return self.summary.quality.setdefault(template, QualityStats(template))


class _Rejected(Exception):
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


def _series_witness(header: JSON, segments: list[JSON], entries: dict[str, JSON]) -> str:
    """Digest of a time series submodel from its header and its segments' digests (which the lineage entries
    hold already): a second pass over megabytes of records is not needed."""
    digests = sorted((s["idShort"], (entries.get(f"Segments.{s['idShort']}") or {}).get("valueDigest")
                      or series.segment_digest(s)) for s in segments)
    return lineage.digest({"header": header, "segments": digests})


def _committed(old_doc: JSON | None, witness: str) -> bool:
    """Whether the lineage record witnesses that what ``witness`` digests was written (and its provenance)."""
    committed = (old_doc or {}).get("committed") or {}
    return bool(committed.get("provenance")) and committed.get("input") == witness
