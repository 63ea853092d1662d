"""SAP IDoc XML files (e.g. MATMAS05 material masters) as a :class:`~adapters.base.Source`, streamed with lxml.

``lxml.etree.iterparse`` delivers each record element (``IDOC`` unless the mapping's ``source.record`` says
otherwise) when it is complete; it is turned into a :class:`~adapters.base.Record` and then cleared, and its
finished predecessors are deleted from the root, so memory holds one IDoc however long the file is.

A record's fields are keyed by the path of segment and field tags below the IDoc, without indexes:
``E1MARAM/MATNR``, ``EDI_DC40/DOCNUM``, ``E1MARAM/E1MAKTM/MAKTX`` (the first occurrence). Every segment that
holds fields is also a *group*: ``groups["E1MARAM/E1MAKTM"]`` lists each ``E1MAKTM`` as its own record (fields
``SPRAS_ISO``, ``MAKTX``, ...), which is how repeated segments such as texts per language are mapped, so other
IDoc types (DEBMAS, ORDERS, ...) map without code. Each field keeps its own XPath
(``/MATMAS05/IDOC[2]/E1MARAM/E1MAKTM[1]/MAKTX``) for lineage; the record's position carries the IDoc's XPath and
its document number (``EDI_DC40/DOCNUM``), and its source time is the control record's creation date and time
(``CREDAT``/``CRETIM``, taken as UTC: IDocs carry no zone).

Leading zeros and change flags (``MSGFN``) stay as they are here; the mapping handles them. The parser neither
resolves entities nor loads DTDs or anything from the network. A file that stops being well-formed yields the
records before the fault and one reject naming the line.
"""
from __future__ import annotations

import datetime
import logging
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from lxml import etree

from aas_server.errors import SourceUnavailableError

from ..base import Item, Position, Record, Reject, file_checksum, file_time

logger = logging.getLogger(__name__)

ADAPTER = "erp-idoc"


class IdocSource:
    """An IDoc XML file.

    :param path: the file
    :param record: tag of the element that is one record
    :param document: field path of the document number
    :param created_date: field path of the creation date (``YYYYMMDD``)
    :param created_time: field path of the creation time (``HHMMSS``)
    """

    adapter = ADAPTER

    def __init__(self, path: str | Path, *, record: str = "IDOC", document: str = "EDI_DC40/DOCNUM",
                 created_date: str = "EDI_DC40/CREDAT", created_time: str = "EDI_DC40/CRETIM") -> None:
        self.path = Path(path)
        self.file = str(path)
        self.record_tag = record
        self.document_field = document
        self.created_date = created_date
        self.created_time = created_time
        self._checksum: str | None = None

    @classmethod
    def from_options(cls, path: str | Path, options: Mapping[str, Any]) -> IdocSource:
        return cls(path, **dict(options))

    def checksum(self) -> str:
        if self._checksum is None:
            try:
                self._checksum = file_checksum(self.path)
            except OSError as e:
                raise SourceUnavailableError(f"cannot read {self.file}: {e.strerror}", path=self.file) from e
        return self._checksum

    def read(self) -> Iterator[Item]:
        checksum = self.checksum()
        fallback_time = file_time(self.path)
        count = 0
        context = etree.iterparse(str(self.path), events=("end",), tag=self.record_tag, resolve_entities=False,
                                  no_network=True, load_dtd=False, huge_tree=False, remove_comments=True)
        try:
            for _, element in context:
                count += 1
                root = element.getroottree().getroot()
                xpath = f"/{root.tag}/{self.record_tag}[{count}]" if root is not element else f"/{element.tag}"
                yield self._record(element, xpath, checksum, fallback_time)
                element.clear(keep_tail=False)
                parent = element.getparent()
                if parent is not None:
                    while element.getprevious() is not None:
                        del parent[0]
        except etree.XMLSyntaxError as e:
            line = e.position[0] if e.position else None
            yield Reject(Position(self.file, checksum, line), f"XML not well-formed: {e.msg}; the rest of the file "
                                                                "is skipped")
        except OSError as e:
            raise SourceUnavailableError(f"cannot read {self.file}: {e}", path=self.file) from e

    def _record(self, idoc: Any, xpath: str, checksum: str, fallback_time: datetime.datetime) -> Record:
        fields: dict[str, str] = {}
        locations: dict[str, str] = {}
        groups: dict[str, list[Record]] = {}
        _walk(idoc, "", xpath, fields, locations, groups, checksum, self.file)
        document = fields.get(self.document_field)
        position = Position(self.file, checksum, idoc.sourceline, None, xpath, document)
        groups_with_document = {
            name: [Record(g.fields, Position(self.file, checksum, g.position.line, None, g.position.xpath, document),
                          g.locations) for g in items]
            for name, items in groups.items()
        }
        return Record(fields, position, locations, groups_with_document,
                      _created(fields.get(self.created_date), fields.get(self.created_time)) or fallback_time)


def _walk(element: Any, prefix: str, xpath: str, fields: dict[str, str], locations: dict[str, str],
          groups: dict[str, list[Record]], checksum: str, file: str) -> None:
    """Collect the leaf fields below ``element`` into ``fields`` (first occurrence wins) and every segment with
    fields into ``groups``."""
    counts: dict[str, int] = {}
    children = [c for c in element if isinstance(c.tag, str)]
    for child in children:
        counts[child.tag] = counts.get(child.tag, 0) + 1
    seen: dict[str, int] = {}
    for child in children:
        tag = _local(child.tag)
        seen[tag] = seen.get(tag, 0) + 1
        step = f"{tag}[{seen[tag]}]" if counts[child.tag] > 1 else tag
        child_xpath = f"{xpath}/{step}"
        path = f"{prefix}{tag}"
        if len(child) == 0:
            if path not in fields:
                fields[path] = child.text or ""
                locations[path] = child_xpath
            continue
        own_fields: dict[str, str] = {}
        own_locations: dict[str, str] = {}
        own_groups: dict[str, list[Record]] = {}
        _walk(child, "", child_xpath, own_fields, own_locations, own_groups, checksum, file)
        groups.setdefault(path, []).append(
            Record(own_fields, Position(file, checksum, child.sourceline, None, child_xpath), own_locations))
        for name, value in own_fields.items():
            if f"{path}/{name}" not in fields:
                fields[f"{path}/{name}"] = value
                locations[f"{path}/{name}"] = own_locations[name]
        for name, items in own_groups.items():
            groups.setdefault(f"{path}/{name}", []).extend(items)


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _created(date: str | None, time: str | None) -> datetime.datetime | None:
    if not date:
        return None
    try:
        return datetime.datetime.strptime(date.strip() + (time or "000000").strip().ljust(6, "0"),
                                          "%Y%m%d%H%M%S").replace(tzinfo=datetime.UTC)
    except ValueError:
        logger.warning("IDoc creation time %r %r is no YYYYMMDD HHMMSS; using the file's time", date, time)
        return None
