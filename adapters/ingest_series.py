"""Time series ingest: rows buffered per submodel and merged into the stored segments of their windows."""
from __future__ import annotations

import collections
import dataclasses
import datetime
import json
from collections.abc import Callable, Sequence
from pathlib import Path

from aas_server.errors import InvalidRequestError
from aas_server.model import codec
from aas_server.store.base import JSON, Store

from . import lineage, series
from .base import Position, Record, Reject
from .ingest_report import InputStats
from .ingest_write import Writer, committed
from .mapping_plan import Plan, SubmodelPlan
from .mapping_rules import Mapping, SubmodelRule


@dataclasses.dataclass
class _Group:
    """Buffered rows of one time series submodel."""

    plan: Plan
    submodel: SubmodelPlan
    record: Record
    #: window start -> {time: (row, input index, line)}
    windows: dict[datetime.datetime, dict[datetime.datetime, tuple[series.Row, int, int]]]
    rows: int = 0



class SeriesWriter(Writer):
    """A :class:`Writer` that buffers the rows of a time series mapping (at most ``max_open`` submodels and
    ``max_buffered`` rows; the least recently used is written first)."""

    def __init__(self, store: Store, mapping: Mapping, run_id: str | None, report: Path | None,
                 clock: Callable[[], datetime.datetime] | None, max_open: int, max_buffered: int) -> None:
        super().__init__(store, mapping, run_id, report, clock)
        self.max_open = max_open
        self.max_buffered = max_buffered
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
        while len(self.groups) > self.max_open or self.buffered > self.max_buffered:
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
        if committed(old_doc, witness):
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



def _series_witness(header: JSON, segments: list[JSON], entries: dict[str, JSON]) -> str:
    """Digest of a time series submodel from its header and its segments' digests (which the lineage entries
    hold already): a second pass over megabytes of records is not needed."""
    digests = sorted((s["idShort"], (entries.get(f"Segments.{s['idShort']}") or {}).get("valueDigest")
                      or series.segment_digest(s)) for s in segments)
    return lineage.digest({"header": header, "segments": digests})
