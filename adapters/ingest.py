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

This module runs the inputs; the write path is :mod:`adapters.ingest_write` (time series:
:mod:`adapters.ingest_series`), merging :mod:`adapters.ingest_merge`, reporting :mod:`adapters.ingest_report`,
data quality :mod:`adapters.ingest_quality`.
"""
from __future__ import annotations

import dataclasses
import datetime
import logging
from collections.abc import Callable, Iterable
from pathlib import Path

from aas_server.errors import AASError
from aas_server.observability.store_metrics import add_ingest_run
from aas_server.store.base import Store

from . import lineage
from .base import Record, Reject, Source
from .conversions import RecordError
from .ingest_merge import merge_shell, merge_submodel
from .ingest_report import InputStats, Summary
from .ingest_series import SeriesWriter
from .ingest_write import Rejected
from .mapping_rules import Mapping

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
    return _Run(store, mapping, run_id, Path(reject_report) if reject_report else None, progress, clock,
                MAX_OPEN, MAX_BUFFERED).run(sources)


class _Run(SeriesWriter):
    def __init__(self, store: Store, mapping: Mapping, run_id: str | None, report: Path | None,
                 progress: Callable[[int], None] | None, clock: Callable[[], datetime.datetime] | None,
                 max_open: int, max_buffered: int) -> None:
        super().__init__(store, mapping, run_id, report, clock, max_open, max_buffered)
        self.progress = progress or (lambda n: None)

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
                add_ingest_run(self.store, self.summary.adapter, self.summary.status, {
                    "loaded": self.summary.loaded, "unchanged": self.summary.unchanged,
                    "rejected": self.summary.rejected})
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
        except Rejected as e:
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
