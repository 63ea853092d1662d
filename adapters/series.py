"""Time series rows into Time Series Data (IDTA 02008-1-1) segments. Pure: JSON in, JSON out.

Grouping (a decision of this module): rows go to the time series submodel their mapping names (typically one per
serial unit), and within it to an ``InternalSegment`` per time *window* (the mapping's ``window``, default one
hour, aligned to UTC midnight). A segment's idShort is ``InternalSegment`` + the window start as
``YYYYMMDDhhmmss`` + a two-digit part number (``InternalSegment2025020507000001``): a window holding more than
``max_records`` records is split into parts 01, 02, ... Windows rather than "N rows per segment" keep segments
stable when rows are added or changed: a changed row rewrites its own window only, and rows arriving in a later
run (or later in the file) are merged into the window they belong to.

Within a segment the records are ordered by time and named ``Record00001``, ``Record00002``, ...; a record is
keyed by its time, so re-ingesting a row replaces the record with that time (the same input changes nothing, a
changed row changes one record) and two rows with the same time keep the later one. Empty cells (sensor
dropouts) leave the variable out of that record. Each segment carries RecordCount, StartTime, EndTime, Duration
(ISO 8601) and, when all records are evenly spaced by whole seconds, SamplingInterval. LastUpdate and State are
left out: they would change on every run without any change of data.

The JSON is built directly, not through the SDK (which is two orders of magnitude slower for large series);
``tests/unit/test_mapping.py`` checks that it equals what ``Template.build`` makes of the same records.
``Metadata`` (name, description, the record declaration) is built through the template.
"""
from __future__ import annotations

import dataclasses
import datetime
import hashlib
import re
from collections.abc import Iterable, Iterator, Sequence
from typing import Any, TypeVar

from basyx.aas import model
from basyx.aas.model import datatypes

from submodels import time_series as ts
from submodels.templates import to_xsd_value

#: idShort prefix of the segments this module writes
SEGMENT = "InternalSegment"
#: digits of the record number (``max_records`` is at most 100000)
RECORD_DIGITS = 5

_EPOCH = datetime.datetime(1970, 1, 1, tzinfo=datetime.UTC)
_PLAIN_FLOAT = re.compile(r"-?\d+\.\d+")


@dataclasses.dataclass(frozen=True)
class Variable:
    id_short: str
    value_type: str
    semantic_id: str | None


T = TypeVar("T")

#: one record: time, then (idShort, lexical value) of its present variables in declaration order
Row = tuple[datetime.datetime, tuple[tuple[str, str], ...]]


def window_start(time: datetime.datetime, window: int) -> datetime.datetime:
    """Start of the window of ``window`` seconds holding ``time`` (windows aligned to 1970-01-01 UTC)."""
    seconds = int((time - _EPOCH).total_seconds() // window) * window
    return _EPOCH + datetime.timedelta(seconds=seconds)


def segment_prefix(start: datetime.datetime) -> str:
    return SEGMENT + start.strftime("%Y%m%d%H%M%S")


def lexical(value: Any, value_type: str) -> str:
    """The canonical lexical form the SDK would store for ``value`` as ``value_type``."""
    if value_type == "xs:double" and type(value) is float:
        text = repr(value)  # what datatypes.xsd_repr makes of a float, without its type dispatch
        return text if _PLAIN_FLOAT.fullmatch(text) else datatypes.xsd_repr(value)
    if value_type == "xs:string" and isinstance(value, str):
        return value
    return datatypes.xsd_repr(to_xsd_value(value, value_type))


def time_lexical(time: datetime.datetime) -> str:
    return time.isoformat()


def row(time: datetime.datetime, values: Iterable[tuple[str, Any]], variables: dict[str, Variable]) -> Row:
    """A record of converted values. :raises ValueError: a value not fitting its variable's type"""
    return time, tuple((name, lexical(value, variables[name].value_type)) for name, value in values)


# -- JSON ----------------------------------------------------------------------------------------------------


def _ref(value: str) -> dict[str, Any]:
    """A semanticId; one shared object per IRI (never modified), built once."""
    ref = _REFS.get(value)
    if ref is None:
        ref = _REFS[value] = {"type": "ExternalReference", "keys": [{"type": "GlobalReference", "value": value}]}
    return ref


_REFS: dict[str, dict[str, Any]] = {}


def _property(id_short: str, value_type: str, value: str | None, semantic_id: str | None) -> dict[str, Any]:
    out: dict[str, Any] = {"idShort": id_short, "modelType": "Property"}
    if semantic_id:
        out["semanticId"] = _ref(semantic_id)
    if value is not None:
        out["value"] = value
    out["valueType"] = value_type
    return out


def record_json(number: int, record: Row, variables: dict[str, Variable]) -> dict[str, Any]:
    time, values = record
    children = [_property("Time", "xs:dateTime", time_lexical(time), ts.UTC_TIME)]
    for name, value in values:
        variable = variables[name]
        children.append(_property(name, variable.value_type, value, variable.semantic_id))
    return {"idShort": f"Record{number:0{RECORD_DIGITS}d}", "modelType": "SubmodelElementCollection",
            "semanticId": _ref(ts.RECORD), "value": children}


def segment_json(id_short: str, records: Sequence[Row], variables: dict[str, Variable],
                 window: int) -> dict[str, Any]:
    """An InternalSegment of ``records`` (sorted by time, at least one)."""
    start, end = records[0][0], records[-1][0]
    children: list[dict[str, Any]] = [
        {"idShort": "Name", "modelType": "MultiLanguageProperty", "semanticId": _ref(ts.SEGMENT_NAME),
         "value": [{"language": "en", "text": f"{start.isoformat()} window of {_duration(window)}"}]},
        _property("RecordCount", "xs:long", str(len(records)), ts.RECORD_COUNT),
        _property("StartTime", "xs:dateTime", time_lexical(start), ts.START_TIME),
        _property("EndTime", "xs:dateTime", time_lexical(end), ts.END_TIME),
        _property("Duration", "xs:string", _duration((end - start).total_seconds()), ts.DURATION),
    ]
    interval = _interval(records)
    if interval is not None:
        children.append(_property("SamplingInterval", "xs:long", str(interval), ts.SAMPLING_INTERVAL))
    children.append({"idShort": "Records", "modelType": "SubmodelElementCollection", "semanticId": _ref(ts.RECORDS),
                     "value": [record_json(n, r, variables) for n, r in enumerate(records, 1)]})
    return {"idShort": id_short, "modelType": "SubmodelElementCollection", "semanticId": _ref(ts.INTERNAL_SEGMENT),
            "value": children}


def segments_json(segments: list[dict[str, Any]]) -> dict[str, Any]:
    """The top-level ``Segments`` collection, its segments ordered by idShort (= by time)."""
    out: dict[str, Any] = {"idShort": "Segments", "modelType": "SubmodelElementCollection",
                           "semanticId": _ref(ts.SEGMENTS)}
    ordered = sorted(segments, key=lambda s: str(s["idShort"]))
    if ordered:
        out["value"] = ordered
    return out


def declaration(variables: dict[str, Variable]) -> model.SubmodelElementCollection:
    """``Metadata.Record``: Time and the variables, without values (an SDK element for ``Template.build``)."""
    elements: list[model.SubmodelElement] = [
        model.Property("Time", datetime.datetime, None, semantic_id=ts._ref(ts.UTC_TIME))]
    for variable in variables.values():
        elements.append(model.Property(
            variable.id_short, datatypes.XSD_TYPE_CLASSES[variable.value_type], None,
            semantic_id=ts._ref(variable.semantic_id) if variable.semantic_id else None))
    return model.SubmodelElementCollection("Record", elements, semantic_id=ts._ref(ts.RECORD))


def _duration(seconds: float) -> str:
    if seconds == int(seconds):
        whole = int(seconds)
        days, rest = divmod(whole, 86400)
        hours, rest = divmod(rest, 3600)
        minutes, secs = divmod(rest, 60)
        text = "P" + (f"{days}D" if days else "")
        clock = (f"{hours}H" if hours else "") + (f"{minutes}M" if minutes else "") + (f"{secs}S" if secs else "")
        return text + ("T" + clock if clock else ("" if days else "T0S"))
    return f"PT{seconds:g}S"


def _interval(records: Sequence[Row]) -> int | None:
    if len(records) < 2:
        return None
    first = (records[1][0] - records[0][0]).total_seconds()
    if first <= 0 or first != int(first):
        return None
    for a, b in zip(records, records[1:], strict=False):
        if (b[0] - a[0]).total_seconds() != first:
            return None
    return int(first)


def rows_digest(records: Sequence[Row]) -> str:
    """The digest of a segment: over its records, which determine all of it (a segment's JSON is made from its
    records and window), so that a segment of thousands of records is not serialized once more to be digested."""
    digest = hashlib.sha256()
    for time, values in records:
        digest.update(f"{time.isoformat()}|{values!r}\n".encode())
    return "rows:" + digest.hexdigest()[:24]


def segment_digest(segment: dict[str, Any]) -> str:
    """:func:`rows_digest` of a stored segment."""
    return rows_digest(list(stored_rows(segment)))


# -- reading stored segments back -----------------------------------------------------------------------------


def stored_rows(segment: dict[str, Any]) -> Iterator[Row]:
    """The records of a stored segment, as rows."""
    for child in segment.get("value") or []:
        if child.get("idShort") != "Records":
            continue
        for record in child.get("value") or []:
            time: datetime.datetime | None = None
            values = []
            for prop in record.get("value") or []:
                if prop.get("idShort") == "Time":
                    time = datetime.datetime.fromisoformat(str(prop.get("value")))
                elif "value" in prop:
                    values.append((str(prop["idShort"]), str(prop["value"])))
            if time is not None:
                yield time, tuple(values)


def window_segments(segments: dict[str, Any] | None, start: datetime.datetime) -> list[dict[str, Any]]:
    """The stored parts of the window starting at ``start``."""
    prefix = segment_prefix(start)
    return [s for s in (segments or {}).get("value") or []
            if str(s.get("idShort", "")).startswith(prefix) and len(str(s["idShort"])) == len(prefix) + 2]


def split(records: list[T], max_records: int) -> list[list[T]]:
    """Parts of at most ``max_records``."""
    return [records[i:i + max_records] for i in range(0, len(records), max_records)] or [[]]
