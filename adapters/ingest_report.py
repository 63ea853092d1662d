"""What a run reports: its :class:`Summary` (stored as a ``prov:Activity``) and the CSV of rejects."""
from __future__ import annotations

import csv
import dataclasses
import datetime
import logging
from pathlib import Path
from typing import IO, Any

from aas_server.store.base import JSON

from . import lineage
from .base import Reject
from .ingest_quality import QualityStats

logger = logging.getLogger(__name__)


@dataclasses.dataclass
class InputStats:
    file: str
    checksum: str
    records: int = 0
    loaded: int = 0
    unchanged: int = 0
    rejected: int = 0



@dataclasses.dataclass
class Summary:
    run_id: str
    mapping: str
    adapter: str
    started: datetime.datetime
    ended: datetime.datetime | None = None
    status: str = "running"
    inputs: list[InputStats] = dataclasses.field(default_factory=list)
    quality: dict[str, QualityStats] = dataclasses.field(default_factory=dict)
    reject_report: str | None = None
    shells_created: int = 0
    submodels_created: int = 0
    elements_written: int = 0

    @property
    def records(self) -> int:
        return sum(i.records for i in self.inputs)

    @property
    def loaded(self) -> int:
        return sum(i.loaded for i in self.inputs)

    @property
    def unchanged(self) -> int:
        return sum(i.unchanged for i in self.inputs)

    @property
    def rejected(self) -> int:
        return sum(i.rejected for i in self.inputs)

    @property
    def exit_code(self) -> int:
        """0: everything loaded or unchanged; 1: some records rejected (the others loaded)."""
        return 1 if self.rejected else 0

    def as_json(self) -> JSON:
        """The run as a ``prov:Activity`` record (``ingest_runs``)."""
        return {
            "id": self.run_id, "type": "prov:Activity", "status": self.status,
            "startedAtTime": lineage.timestamp(self.started),
            "endedAtTime": lineage.timestamp(self.ended) if self.ended else None,
            "wasAssociatedWith": f"aas-server ingest {self.adapter}", "hadPlan": self.mapping,
            "used": [dataclasses.asdict(i) for i in self.inputs],
            "records": self.records, "loaded": self.loaded, "unchanged": self.unchanged, "rejected": self.rejected,
            "shellsCreated": self.shells_created, "submodelsCreated": self.submodels_created,
            "elementsWritten": self.elements_written, "rejectReport": self.reject_report,
            "quality": {name: {"checked": q.checked, "withErrors": q.with_errors, "withWarnings": q.with_warnings,
                               "findings": [{"severity": s, "path": p, "message": m, "count": c, "examples": ex}
                                            for (s, p, m), (c, ex) in sorted(q.findings.items())]}
                        for name, q in sorted(self.quality.items())},
        }



class RejectReport:
    """CSV of rejects, opened on the first one: file, line, end_line, xpath, document, field, rule, reason."""

    COLUMNS = ("file", "line", "end_line", "xpath", "document", "field", "rule", "reason")

    def __init__(self, path: Path | None) -> None:
        self.path = path
        self.count = 0
        self._out: IO[str] | None = None
        self._writer: Any = None

    def add(self, reject: Reject) -> None:
        self.count += 1
        p = reject.position
        logger.debug("rejected %s: %s%s", p, f"{reject.field}: " if reject.field else "", reject.reason)
        if self.path is None:
            return
        if self._writer is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._out = open(self.path, "w", encoding="utf-8", newline="")
            self._writer = csv.writer(self._out)
            self._writer.writerow(self.COLUMNS)
        self._writer.writerow([p.file, p.line or "", p.end_line or "", p.xpath or "", p.document or "",
                               reject.field or "", reject.rule or "", reject.reason])

    def close(self) -> None:
        if self._out is not None:
            self._out.close()
