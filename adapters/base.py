"""The seam every batch source plugs into: a :class:`Source` yields :class:`Record` objects, each with the
:class:`Position` it came from, and :class:`Reject` objects for input it cannot even turn into a record.

A record is a bag of raw texts keyed by field name (a CSV header, or an IDoc ``SEGMENT/FIELD`` path) plus the
repeated groups inside it (IDoc segments that occur several times, such as ``E1MAKTM`` texts per language).
Sources do IO and nothing else: no conversion, no knowledge of shells or submodels (that is ``mapping``).
"""
from __future__ import annotations

import dataclasses
import datetime
import hashlib
from collections.abc import Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Protocol

#: bytes read at a time when hashing or sniffing a file
CHUNK = 1 << 18


@dataclasses.dataclass(frozen=True)
class Position:
    """Where a record (or one value of it) comes from.

    :param file: the input file as given to the run
    :param checksum: ``sha256:<hex>`` of the whole file, so a position names one version of the file
    :param line: first physical line of the record (1-based; the header is line 1 of a CSV file)
    :param end_line: last physical line, when a quoted field spans lines
    :param xpath: XPath of the record, or of one value inside it
    :param document: the document number inside the file (IDoc ``DOCNUM``), if any
    """

    file: str
    checksum: str
    line: int | None = None
    end_line: int | None = None
    xpath: str | None = None
    document: str | None = None

    def __str__(self) -> str:
        where = Path(self.file).name
        if self.line is not None:
            where += f":{self.line}" + (f"-{self.end_line}" if self.end_line and self.end_line != self.line else "")
        if self.xpath:
            where += f" {self.xpath}"
        if self.document:
            where += f" (document {self.document})"
        return where

    def at(self, xpath: str | None) -> Position:
        """This position narrowed to one value's XPath (unchanged without one)."""
        return dataclasses.replace(self, xpath=xpath) if xpath else self


@dataclasses.dataclass(frozen=True)
class Record:
    """One input record: raw field texts, their own XPaths (XML sources) and repeated groups.

    :param fields: raw text per field name; a missing field is absent, an empty cell is ``""``
    :param position: where the record is
    :param locations: XPath per field, for sources where values have their own position
    :param groups: repeated sub-records by group name (e.g. ``E1MARAM/E1MAKTM``), in document order
    :param source_time: when the source produced the record (IDoc creation time), else ``None``
    """

    fields: Mapping[str, str]
    position: Position
    locations: Mapping[str, str] = dataclasses.field(default_factory=dict)
    groups: Mapping[str, Sequence[Record]] = dataclasses.field(default_factory=dict)
    source_time: datetime.datetime | None = None

    def where(self, field: str | None) -> Position:
        """The position of one field's value (its XPath when it has one)."""
        return self.position.at(self.locations.get(field)) if field else self.position


@dataclasses.dataclass(frozen=True)
class Reject:
    """Input that does not fit, with the reason: from a source (unreadable row) or from the mapping."""

    position: Position
    reason: str
    field: str | None = None
    rule: str | None = None

    def as_json(self) -> dict[str, object]:
        out: dict[str, object] = {"file": self.position.file, "reason": self.reason}
        for key, value in (("line", self.position.line), ("xpath", self.position.xpath),
                           ("document", self.position.document), ("field", self.field), ("rule", self.rule)):
            if value is not None:
                out[key] = value
        return out


Item = Record | Reject


class Source(Protocol):
    """A batch input. Implementations stream: memory stays flat however large the input grows."""

    #: adapter name recorded in lineage (``csv``, ``erp-idoc``, ``erp-flat``)
    adapter: str
    #: the file, as given
    file: str

    def checksum(self) -> str:
        """``sha256:<hex>`` of the input. :raises SourceUnavailableError:"""

    def read(self) -> Iterable[Item]:
        """Records in input order, and rejects for input that is no record. :raises SourceUnavailableError:"""


def file_checksum(path: str | Path) -> str:
    """``sha256:<hex>`` of a file, read in chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(CHUNK), b""):
            digest.update(chunk)
    return "sha256:" + digest.hexdigest()


def file_time(path: str | Path) -> datetime.datetime:
    """The file's modification time (UTC): the source time of records that carry none."""
    return datetime.datetime.fromtimestamp(Path(path).stat().st_mtime, datetime.UTC)


def records(items: Iterable[Item]) -> Iterator[Record]:
    """Only the records of a source (tests)."""
    return (item for item in items if isinstance(item, Record))
