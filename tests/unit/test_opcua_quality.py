"""Quality qualifiers of live values, and which polled values are news."""
from __future__ import annotations

import datetime

from asyncua import ua

from adapters.opcua import mapping, quality
from adapters.opcua.batch import Sample
from adapters.opcua.session import _news

T0 = datetime.datetime(2026, 1, 1, 12, 0, tzinfo=datetime.UTC)
T1 = T0 + datetime.timedelta(seconds=1)
BINDING = mapping.NodeBinding("line", "urn:sm", "Speed", "ns=2;s=Speed", None, "xs:double", deadband=("absolute", 0.5))


def test_grades_follow_the_severity_bits_and_names_the_status() -> None:
    assert quality.grade(ua.StatusCodes.Good) == "Good"
    assert quality.grade(ua.StatusCodes.UncertainLastUsableValue) == "Uncertain"
    assert quality.grade(ua.StatusCodes.BadCommunicationError) == "Bad"
    assert quality.status_name(ua.StatusCodes.BadSensorFailure) == "BadSensorFailure"
    assert quality.status_name(0x80FF1234) == "0x80FF1234"


def test_stamping_replaces_only_its_own_qualifiers_and_stale_keeps_the_last_value() -> None:
    other = {"kind": "ConceptQualifier", "type": "ExpressionSemantic", "valueType": "xs:string", "value": "x"}
    element = {"idShort": "Speed", "modelType": "Property", "valueType": "xs:double", "value": "1", "qualifiers": [other]}
    good = quality.stamped(element, value="2.5", quality="Good", status="Good", source_time=T0, server_time=T1)
    assert good["value"] == "2.5" and good["qualifiers"][0] == other
    assert quality.qualifier(good, quality.SOURCE_TIME) == "2026-01-01T12:00:00.000000Z"
    bad = quality.stamped(good, value=None, quality="Bad", status="BadSensorFailure", source_time=None,
                          server_time=T1)
    assert bad["value"] == "2.5" and quality.qualifier(bad, quality.SOURCE_TIME) == "2026-01-01T12:00:00.000000Z"
    assert [q["type"] for q in bad["qualifiers"]].count(quality.QUALITY) == 1
    stale = quality.marked_stale(bad)
    assert quality.quality_of(stale) == "Stale" and quality.qualifier(stale, quality.STATUS) == "BadSensorFailure"
    assert stale["value"] == "2.5" and element["value"] == "1"  # inputs are not changed


def test_a_poll_reports_only_news() -> None:
    first = Sample(BINDING, 10.0, 0, T0, T0)
    assert _news(None, first)
    assert not _news(first, Sample(BINDING, 10.0, 0, T0, T1))  # same value, same source time
    assert not _news(first, Sample(BINDING, 10.3, 0, T1, T1))  # within the absolute deadband
    assert _news(first, Sample(BINDING, 10.6, 0, T1, T1))
    assert _news(first, Sample(BINDING, 10.0, ua.StatusCodes.BadSensorFailure, T1, T1))  # the status changed
