"""How a live value's OPC UA timestamps and status are kept on its Property: four ValueQualifiers.

Qualifiers are part of the element's normal JSON, so every client sees them through the standard API (``GET
.../submodel-elements/{path}``; ``$value`` drops them, as it drops all metadata)::

    {"kind": "ValueQualifier", "type": "OpcUa.Quality",         "valueType": "xs:string",   "value": "Good"}
    {"kind": "ValueQualifier", "type": "OpcUa.StatusCode",      "valueType": "xs:string",   "value": "Good"}
    {"kind": "ValueQualifier", "type": "OpcUa.SourceTimestamp", "valueType": "xs:dateTime", "value": "...Z"}
    {"kind": "ValueQualifier", "type": "OpcUa.ServerTimestamp", "valueType": "xs:dateTime", "value": "...Z"}

``OpcUa.Quality`` is ``Good``, ``Uncertain`` (the value is stored, flagged), ``Bad`` (the PLC sent no usable
value: the Property keeps its last value, the StatusCode says why, e.g. ``BadSensorFailure``) or ``Stale`` (the
gateway lost the PLC: the value and timestamps are the last ones received). Pure JSON in, JSON out.
"""
from __future__ import annotations

import datetime
import functools
from typing import Any

from asyncua import ua

from aas_server.store.base import JSON

QUALITY = "OpcUa.Quality"
STATUS = "OpcUa.StatusCode"
SOURCE_TIME = "OpcUa.SourceTimestamp"
SERVER_TIME = "OpcUa.ServerTimestamp"
TYPES = (QUALITY, STATUS, SOURCE_TIME, SERVER_TIME)
GOOD, UNCERTAIN, BAD, STALE = "Good", "Uncertain", "Bad", "Stale"


@functools.lru_cache(maxsize=4096)  # the values of one notification share their timestamps
def timestamp(time: datetime.datetime) -> str:
    """xs:dateTime in UTC with a Z (naive times from asyncua are UTC)."""
    if time.tzinfo is None:
        time = time.replace(tzinfo=datetime.UTC)
    return time.astimezone(datetime.UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")  # sortable


def _qualifier(kind: str, value: str, value_type: str = "xs:string") -> JSON:
    return {"kind": "ValueQualifier", "type": kind, "valueType": value_type, "value": value}


def stamped(element: JSON, *, value: str | None, quality: str, status: str,
            source_time: datetime.datetime | None, server_time: datetime.datetime | None) -> JSON:
    """``element`` with a new value (``None`` keeps the stored one) and its quality, status and timestamps."""
    out = dict(element)
    if value is not None:
        out["value"] = value
    marks = [_qualifier(QUALITY, quality), _qualifier(STATUS, status)]
    for kind, time in ((SOURCE_TIME, source_time), (SERVER_TIME, server_time)):
        if time is not None:
            marks.append(_qualifier(kind, timestamp(time), "xs:dateTime"))
        else:
            marks.extend(q for q in element.get("qualifiers") or [] if q.get("type") == kind)
    out["qualifiers"] = [q for q in element.get("qualifiers") or [] if q.get("type") not in TYPES] + marks
    return out


def marked_stale(element: JSON) -> JSON:
    """``element`` with quality ``Stale``; value, status and timestamps stay the last ones received."""
    out = dict(element)
    kept = [q for q in element.get("qualifiers") or [] if q.get("type") != QUALITY]
    out["qualifiers"] = [*kept, _qualifier(QUALITY, STALE)]
    return out


def grade(status: int) -> str:
    """Good, Uncertain or Bad: the severity bits (30-31) of an OPC UA status code."""
    severity = (status >> 30) & 0b11
    return GOOD if severity == 0 else UNCERTAIN if severity == 1 else BAD


def status_name(status: int) -> str:
    """The symbolic name of a status code (``BadSensorFailure``; its low 16 info bits aside), or its hex value."""
    known = ua.status_codes.code_to_name_doc.get(status & 0xFFFF0000)
    return str(known[0]) if known else f"0x{status:08X}"


def quality_of(element: JSON) -> str | None:
    return qualifier(element, QUALITY)


def qualifier(element: JSON, kind: str) -> Any:
    """The value of the qualifier of type ``kind``, or ``None``."""
    return next((q.get("value") for q in element.get("qualifiers") or [] if q.get("type") == kind), None)
