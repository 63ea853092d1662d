"""Time Series Data (IDTA 02008-1-1) as a registry template, and a helper turning table rows into a segment.

Source: admin-shell-io/submodel-templates, ``published/Time Series Data/1/1`` (IDTA 02008-1-1; the template JSON
of its bug-fix release 1.1.3 carries the same semantic IDs). Where this module deviates from the template JSON:

- the JSON gives the submodel semanticId as a ModelReference with a Submodel key; here it is an
  ExternalReference like every other semanticId (same value, ``https://admin-shell.io/idta/TimeSeries/1/1``);
- ``Time`` is pinned to UtcTime (``https://admin-shell.io/idta/TimeSeries/UtcTime/1/1``, xs:dateTime), one of the
  time semantics the specification lists (TaiTime, RelativePointInTime, ... are not modelled), and StartTime,
  EndTime and LastUpdate are xs:dateTime to match it (the JSON has the placeholder xs:string);
- Record variables are free (``{arbitrary}``): their idShorts and semanticIds come from the data.
"""

from __future__ import annotations

import datetime
import re
from collections.abc import Iterable, Mapping
from typing import Any

from basyx.aas import model
from basyx.aas.model import datatypes

from submodels.templates import ARBITRARY, ElementSpec, Template, register, to_xsd_value

TS = "https://admin-shell.io/idta/TimeSeries/"
TIME_SERIES = TS + "1/1"
METADATA = TS + "Metadata/1/1"
METADATA_NAME = TS + "Metadata/Name/1/1"
METADATA_DESCRIPTION = TS + "Metadata/Description/1/1"
RECORD = TS + "Record/1/1"
UTC_TIME = TS + "UtcTime/1/1"
SEGMENTS = TS + "Segments/1/1"
INTERNAL_SEGMENT = TS + "Segments/InternalSegment/1/1"
LINKED_SEGMENT = TS + "Segments/LinkedSegment/1/1"
EXTERNAL_SEGMENT = TS + "Segments/ExternalSegment/1/1"
SEGMENT_NAME = TS + "Segment/Name/1/1"
SEGMENT_DESCRIPTION = TS + "Segment/Description/1/1"
RECORD_COUNT = TS + "Segment/RecordCount/1/1"
START_TIME = TS + "Segment/StartTime/1/1"
END_TIME = TS + "Segment/EndTime/1/1"
DURATION = TS + "Segment/Duration/1/1"
SAMPLING_INTERVAL = TS + "Segment/SamplingInterval/1/1"
SAMPLING_RATE = TS + "Segment/SamplingRate/1/1"
STATE = TS + "Segment/State/1/1"
LAST_UPDATE = TS + "Segment/LastUpdate/1/1"
RECORDS = TS + "Records/1/1"
ENDPOINT = TS + "Endpoint/1/1"
QUERY = TS + "Query/1/1"
FILE = TS + "File/1/1"
BLOB = TS + "Blob/1/1"

_MLP, _PROP, _SMC = "MultiLanguageProperty", "Property", "SubmodelElementCollection"


def _segment(path: str, semantic_id: str) -> list[ElementSpec]:
    """The elements every kind of segment has (all optional)."""
    return [
        ElementSpec(path, _SMC, None, semantic_id, False),
        ElementSpec(f"{path}.Name", _MLP, None, SEGMENT_NAME, False),
        ElementSpec(f"{path}.Description", _MLP, None, SEGMENT_DESCRIPTION, False),
        ElementSpec(f"{path}.RecordCount", _PROP, "xs:long", RECORD_COUNT, False),
        ElementSpec(f"{path}.StartTime", _PROP, "xs:dateTime", START_TIME, False),
        ElementSpec(f"{path}.EndTime", _PROP, "xs:dateTime", END_TIME, False),
        ElementSpec(f"{path}.Duration", _PROP, "xs:string", DURATION, False),
        ElementSpec(f"{path}.SamplingInterval", _PROP, "xs:long", SAMPLING_INTERVAL, False, unit="s"),
        ElementSpec(f"{path}.SamplingRate", _PROP, "xs:long", SAMPLING_RATE, False, unit="Hz"),
        ElementSpec(f"{path}.State", _PROP, "xs:string", STATE, False, pattern=r"^(in progress|completed)$"),
        ElementSpec(f"{path}.LastUpdate", _PROP, "xs:dateTime", LAST_UPDATE, False),
    ]


_INTERNAL = "Segments.InternalSegment{00}"
_LINKED = "Segments.LinkedSegment{00}"
_EXTERNAL = "Segments.ExternalSegment{00}"

TEMPLATE = register(Template(
    name="time_series",
    semantic_id=TIME_SERIES,
    id_short="TimeSeries",
    version="IDTA 02008-1-1",
    elements=(
        ElementSpec("Metadata", _SMC, None, METADATA, True),
        ElementSpec("Metadata.Name", _MLP, None, METADATA_NAME, True),
        ElementSpec("Metadata.Description", _MLP, None, METADATA_DESCRIPTION, False),
        ElementSpec("Metadata.Record", _SMC, None, RECORD, True),
        ElementSpec("Metadata.Record.Time", _PROP, "xs:dateTime", UTC_TIME, True),
        ElementSpec(f"Metadata.Record.{ARBITRARY}", "SubmodelElement", None, None, False),
        ElementSpec("Segments", _SMC, None, SEGMENTS, True),
        *_segment(_INTERNAL, INTERNAL_SEGMENT),
        ElementSpec(f"{_INTERNAL}.Records", _SMC, None, RECORDS, True),
        ElementSpec(f"{_INTERNAL}.Records.Record{{00}}", _SMC, None, RECORD, False),
        ElementSpec(f"{_INTERNAL}.Records.Record{{00}}.Time", _PROP, "xs:dateTime", UTC_TIME, True),
        ElementSpec(f"{_INTERNAL}.Records.Record{{00}}.{ARBITRARY}", "SubmodelElement", None, None, False),
        *_segment(_LINKED, LINKED_SEGMENT),
        ElementSpec(f"{_LINKED}.Endpoint", _PROP, "xs:string", ENDPOINT, True),
        ElementSpec(f"{_LINKED}.Query", _PROP, "xs:string", QUERY, True),
        *_segment(_EXTERNAL, EXTERNAL_SEGMENT),
        ElementSpec(f"{_EXTERNAL}.File", "File", None, FILE, False),
        ElementSpec(f"{_EXTERNAL}.Blob", "Blob", None, BLOB, False),
    ),
))

# English preferred names and definitions of the template's concept descriptions (UtcTime has none there)
_NAMES: dict[str, str | tuple[str, str]] = {
    METADATA: ("time series metadata", "A set of data describing and providing information about the time series"),
    METADATA_NAME: ("name of the time series", "Meaningful name for labeling"),
    METADATA_DESCRIPTION: ("description of the time series", "Short description of the time series"),
    RECORD: ("time series record", "A time series record is unique by its ID within the time series and contains "
                                   "the timestamps and variable values referenced to the ID"),
    UTC_TIME: ("timestamp UTC", "Point in time according to ISO 8601 on the time scale UTC"),
    SEGMENTS: ("time series segments", "Contains segments of a time series"),
    INTERNAL_SEGMENT: ("time series segment", "Grouped sequence of data points in successive order over a "
                                              "specified period of time"),
    LINKED_SEGMENT: ("linked time series segment", "Reference to an endpoint of data points in sequential order "
                                                   "over a period of time"),
    EXTERNAL_SEGMENT: ("external time series segment", "Reference to a file of data points in sequential order "
                                                       "over a period of time"),
    SEGMENT_NAME: ("name of time series segment", "Meaningful name for labeling"),
    SEGMENT_DESCRIPTION: ("description of the time series segment", "Short description of the time series segment"),
    RECORD_COUNT: ("record count", "Indicates how many records are present in a segment"),
    START_TIME: ("start time", "Contains the first recorded timestamp of the time series segment"),
    END_TIME: ("end time", "Contains the last recorded timestamp of the time series segment"),
    DURATION: ("duration", "Period covered by the segment, according to ISO 8601 (P[n]Y[n]M[n]DT[n]H[n]M[n]S)"),
    SAMPLING_INTERVAL: ("sampling interval", "The time period between two time series records"),
    SAMPLING_RATE: ("sampling rate", "Defines the number of samples per second for a regular time series in Hz"),
    STATE: ("state", "State of the time series related to its progress"),
    LAST_UPDATE: ("last update", "Time of the last change"),
    RECORDS: ("time series records", "Group of data points in successive order over a specified period of time"),
    ENDPOINT: ("time series API endpoint", "Specifies a location of a resource on an API server through which "
                                           "time series can be requested"),
    QUERY: ("time series API query", "Generic query component to read time series data from an API"),
    FILE: ("time series data file", "Sequence of data points in sequential order over a period of time within a "
                                    "paged data file"),
    BLOB: ("time series Blob", "Sequence of data points in sequential order over a period of time within a BLOB"),
}


def concept_descriptions() -> list[model.ConceptDescription]:
    """IEC 61360 concept descriptions of the template's elements (the record variables bring their own)."""
    return TEMPLATE.concept_descriptions(_NAMES)


_ID_SHORT = re.compile(r"[A-Za-z][A-Za-z0-9_-]*[A-Za-z0-9_]")


def time_series_records(
    rows: Iterable[Mapping[str, Any]],
    time_key: str,
    variables: Mapping[str, str],
    *,
    segment: str = "Segments.InternalSegment01",
    value_types: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """Values for ``TEMPLATE.build`` describing the rows of a table as one internal segment.

    Every row becomes a ``Record{nn}`` collection (numbered in time order) with ``Time`` (UtcTime, xs:dateTime)
    and one Property per variable; ``Metadata.Record`` declares the same variables without values. Merge the
    result with the other values (``Metadata.Name``, ...) and pass it to ``TEMPLATE.build``.

    :param rows: one mapping per record, e.g. a ``csv.DictReader``; sorted by time here
    :param time_key: the column with the timestamp: a datetime, or xs:dateTime text (naive ones stay naive)
    :param variables: column -> semanticId of the variable; the column name is the variable's idShort
    :param segment: idShortPath of the segment the records go into
    :param value_types: column -> ``xs:`` type; other columns are inferred over all rows: xs:boolean (all bool),
        xs:long (all integers or integer text), xs:double (all numbers or number text), else xs:string
    :returns: values keyed by idShortPath; without rows only ``Metadata.Record`` (no segment)
    :raises ValueError: for a column that is no valid idShort, a row without a valid time, a cell not fitting its
        column's type
    """
    for column in variables:
        if column == "Time" or not _ID_SHORT.fullmatch(column):
            raise ValueError(f"column {column!r} cannot be a variable idShort (two or more letters, digits, _ "
                             "or -, starting with a letter; not 'Time')")
    table = [(_time(row, time_key, n), row) for n, row in enumerate(rows, 1)]
    try:
        table.sort(key=lambda entry: entry[0])
    except TypeError as e:
        raise ValueError(f"column {time_key!r} mixes timestamps with and without time zone") from e
    types = {column: (value_types or {}).get(column) or _infer([row.get(column) for _, row in table])
             for column in variables}
    declaration = model.SubmodelElementCollection(
        "Record",
        [_time_property(None), *(_variable(c, variables[c], types[c], None) for c in variables)],
        semantic_id=_ref(RECORD),
    )
    values: dict[str, Any] = {"Metadata.Record": declaration}
    if not table:
        return values
    width = max(2, len(str(len(table))))
    records = model.SubmodelElementCollection("Records", [
        model.SubmodelElementCollection(
            f"Record{n:0{width}d}",
            [_time_property(time), *(_variable(c, variables[c], types[c], row.get(c)) for c in variables
                                     if row.get(c) not in (None, ""))],
            semantic_id=_ref(RECORD),
        )
        for n, (time, row) in enumerate(table, 1)
    ], semantic_id=_ref(RECORDS))
    values.update({
        f"{segment}.RecordCount": len(table),
        f"{segment}.StartTime": table[0][0],
        f"{segment}.EndTime": table[-1][0],
        f"{segment}.Records": records,
    })
    return values


def _time(row: Mapping[str, Any], time_key: str, n: int) -> datetime.datetime:
    value = row.get(time_key)
    try:
        time = to_xsd_value(value, "xs:dateTime") if value not in (None, "") else None
    except ValueError as e:
        raise ValueError(f"row {n}: {time_key} {value!r} is no xs:dateTime: {e}") from e
    if not isinstance(time, datetime.datetime):
        raise ValueError(f"row {n}: no timestamp in column {time_key!r}")
    return time


def _infer(cells: list[Any]) -> str:
    present = [cell for cell in cells if cell not in (None, "")]
    if present and all(isinstance(cell, bool) for cell in present):
        return "xs:boolean"
    if any(isinstance(cell, bool) for cell in present):
        return "xs:string"
    for value_type in ("xs:long", "xs:double"):
        try:
            for cell in present:
                to_xsd_value(cell, value_type)
        except ValueError:
            continue
        if present:
            return value_type
    return "xs:string"


def _time_property(time: datetime.datetime | None) -> model.Property:
    return model.Property("Time", datetime.datetime, time, semantic_id=_ref(UTC_TIME))


def _variable(column: str, semantic_id: str, value_type: str, cell: Any) -> model.Property:
    try:
        value = None if cell in (None, "") else to_xsd_value(cell, value_type)
    except ValueError as e:
        raise ValueError(f"column {column!r}: {cell!r} is not a valid {value_type}: {e}") from e
    return model.Property(column, datatypes.XSD_TYPE_CLASSES[value_type], value, semantic_id=_ref(semantic_id))


def _ref(value: str) -> model.ExternalReference:
    return model.ExternalReference((model.Key(model.KeyTypes.GLOBAL_REFERENCE, value),))
