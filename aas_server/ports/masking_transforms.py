"""What each masking transform does to one submodel element's own value (never to its children: the masker walks
those), keeping the element valid for the metamodel and its ``valueType``.

Each function returns a new element, the element itself when it has no value to mask, or ``None`` when the
transform does not fit the element (the masker then redacts instead and says so).
"""
from __future__ import annotations

import datetime
import decimal
import re
from collections.abc import Callable
from typing import Any

from basyx.aas.model import datatypes

from ..model import tree
from .masking_profile import STRING_TYPES, Generalization

JSON = dict[str, Any]

#: the marker Extension every masked element carries, so a partner knows its value is not raw
MARKER_NAME = "masking"
MARKER_SEMANTIC_ID = "https://aas-server.example/ids/masking/1/0"
#: stands for a withheld identifier where the metamodel requires one (a self-managed Entity's globalAssetId)
REDACTED_ID = "urn:aas-server:masked"

#: the attributes holding an element's own value, per kind; redact removes them (all are optional in the
#: metamodel 3.1, except what :func:`redact` replaces by a placeholder)
VALUE_KEYS: dict[str, tuple[str, ...]] = {
    **dict.fromkeys(("Property", "MultiLanguageProperty"), ("value", "valueId")),
    **dict.fromkeys(("File", "Blob", "ReferenceElement"), ("value",)),
    **dict.fromkeys(("RelationshipElement", "AnnotatedRelationshipElement"), ("first", "second")),
    "Range": ("min", "max"),
    "Entity": ("globalAssetId", "specificAssetIds"),
    "BasicEventElement": ("lastUpdate", "messageTopic"),
}

#: where an Operation holds the elements inside it (other kinds: ``tree.CHILDREN_KEY``)
OPERATION_VARIABLES = ("inputVariables", "outputVariables", "inoutputVariables")

_NUMERIC = {name for name, cls in datatypes.XSD_TYPE_CLASSES.items()
            if issubclass(cls, (int, float, decimal.Decimal)) and name != "xs:boolean"}


def marker(form: str) -> JSON:
    return {"name": MARKER_NAME, "semanticId": {"type": "ExternalReference", "keys": [
        {"type": "GlobalReference", "value": MARKER_SEMANTIC_ID}]}, "valueType": "xs:string", "value": form}


def marked(element: JSON, form: str) -> JSON:
    """``element`` (already a copy) with the marker Extension saying ``form``; one replaces a marker the source
    data may carry, since extension names are unique per element (AASd-077)."""
    others = [e for e in element.get("extensions") or () if e.get("name") != MARKER_NAME]
    element["extensions"] = [*others, marker(form)]
    return element


def marker_form(element: JSON) -> str | None:
    """The form a marker Extension on ``element`` states, if any."""
    return next((str(e.get("value")) for e in element.get("extensions") or () if e.get("name") == MARKER_NAME),
                None)


def has_value(element: JSON) -> bool:
    return any(key in element for key in VALUE_KEYS.get(element.get("modelType", ""), ()))


def redact(element: JSON) -> JSON:
    """The element without its value. A self-managed Entity must name an asset (AASd-014): it names
    :data:`REDACTED_ID`."""
    if not has_value(element):
        return element
    kind = element["modelType"]
    out = {k: v for k, v in element.items() if k not in VALUE_KEYS[kind]}
    if kind == "Entity" and element.get("entityType") == "SelfManagedEntity":
        out["globalAssetId"] = REDACTED_ID
    return out


def hollow(element: JSON) -> JSON:
    """A new element of the same kind with neither its value nor anything inside it (children, statements,
    annotations, operation variables): what a partner sees of an element withheld as a whole."""
    inside = (tree.CHILDREN_KEY.get(element.get("modelType", "")), *OPERATION_VARIABLES)
    return redact({k: v for k, v in element.items() if k not in inside})


def pseudonymize(element: JSON, replace: Callable[[str], str]) -> JSON | None:
    """Texts and identifiers replaced one by one (keyed hash or token); ``None`` for values that are no text.

    Property and Range only with a text valueType; MultiLanguageProperty per language; an Entity's
    globalAssetId and specificAssetId values (their names stay).
    """
    if not has_value(element):
        return element
    kind = element["modelType"]
    out = dict(element)
    if kind in ("Property", "Range"):
        if element.get("valueType") not in STRING_TYPES:
            return None
        for key in ("value", "min", "max"):
            if key in element:
                out[key] = replace(str(element[key]))
        out.pop("valueId", None)
    elif kind == "MultiLanguageProperty":
        out.pop("valueId", None)
        if "value" in element:
            out["value"] = [{**text, "text": replace(str(text.get("text", "")))} for text in element["value"]]
    elif kind == "Entity":
        if "globalAssetId" in element:
            out["globalAssetId"] = replace(str(element["globalAssetId"]))
        if "specificAssetIds" in element:
            out["specificAssetIds"] = [{"name": s.get("name"), "value": replace(str(s.get("value", "")))}
                                       for s in element["specificAssetIds"]]
    else:
        return None
    return out


def generalize(element: JSON, how: Generalization) -> JSON | None:
    """Numbers rounded or bucketed, dates and times truncated, texts cut to a prefix, each staying in the
    element's valueType; ``None`` when no option of ``how`` fits the element's value."""
    if not has_value(element):
        return element
    kind = element["modelType"]
    out = dict(element)
    if kind in ("Property", "Range"):
        value_type = str(element.get("valueType"))
        for key in ("value", "min", "max"):
            if key in element:
                coarse = _coarsen(str(element[key]), value_type, how, upper=key == "max")
                if coarse is None:
                    return None
                out[key] = coarse
        out.pop("valueId", None)
        return out
    if kind == "MultiLanguageProperty" and how.prefix is not None:
        out.pop("valueId", None)
        if "value" in element:
            out["value"] = [{**text, "text": _prefix(str(text.get("text", "")), how)} for text in element["value"]]
        return out
    return None


def _coarsen(lexical: str, value_type: str, how: Generalization, upper: bool) -> str | None:
    if value_type in _NUMERIC:
        text = _number(lexical, value_type, how, upper)
    elif value_type in ("xs:date", "xs:dateTime", "xs:time"):
        text = _truncate(lexical, value_type, how.truncate)
    elif value_type in STRING_TYPES:
        text = _truncate_text(lexical, how.truncate) if how.truncate is not None else None
        if text is None and how.prefix is not None:
            text = _prefix(lexical, how)
    else:
        text = None
    if text is None:
        return None
    try:  # e.g. 127 rounded to 130 leaves xs:byte: better withheld than invalid
        datatypes.from_xsd(text, datatypes.XSD_TYPE_CLASSES[value_type])
    except (ValueError, TypeError, ArithmeticError):
        return None
    return text


#: enough digits for any double (1.8e308) rounded to any allowed number of decimals
_WIDE = decimal.Context(prec=400)


def _number(lexical: str, value_type: str, how: Generalization, upper: bool) -> str | None:
    try:
        number = decimal.Decimal(lexical.strip())
        if not number.is_finite():
            return None
        if how.decimals is not None:
            coarse = number.quantize(decimal.Decimal(1).scaleb(-how.decimals), decimal.ROUND_HALF_EVEN, _WIDE)
        elif how.bucket is not None:
            width = decimal.Decimal(str(how.bucket))
            rounding = decimal.ROUND_CEILING if upper else decimal.ROUND_FLOOR
            coarse = _WIDE.multiply(_WIDE.divide(number, width).to_integral_value(rounding), width)
        else:
            return None
    except decimal.InvalidOperation:  # more digits than even a wide context holds (a huge xs:decimal)
        return None
    cls = datatypes.XSD_TYPE_CLASSES[value_type]
    if issubclass(cls, int):
        return str(int(coarse.to_integral_value(decimal.ROUND_CEILING if upper else decimal.ROUND_FLOOR)))
    if issubclass(cls, float):
        return repr(float(coarse))
    return format(coarse, "f")


_FIELDS_KEPT = {"year": 1, "month": 2, "day": 3, "hour": 4, "minute": 5}


def _truncate(lexical: str, value_type: str, level: str | None) -> str | None:
    if level is None:
        return None
    keep = _FIELDS_KEPT[level]
    value = datatypes.from_xsd(lexical.strip(), datatypes.XSD_TYPE_CLASSES[value_type])
    if value_type == "xs:time":
        if keep < 4:
            return None
        assert isinstance(value, datetime.time)
        value = value.replace(minute=value.minute if keep > 4 else 0, second=0, microsecond=0)
    elif isinstance(value, datatypes.Date):
        # the SDK's Date carries the timezone outside datetime.date, and its replace() loses it
        value = datatypes.Date(value.year, value.month if keep > 1 else 1, value.day if keep > 2 else 1,
                               value.tzinfo)
    else:
        assert isinstance(value, datetime.datetime)
        value = value.replace(month=value.month if keep > 1 else 1, day=value.day if keep > 2 else 1,
                              hour=value.hour if keep > 3 else 0, minute=value.minute if keep > 4 else 0,
                              second=0, microsecond=0)
    return str(datatypes.xsd_repr(value))


#: the lexical forms of xs:date and xs:dateTime: year, month, day, [hour, minute, second, fraction], zone
_DATE_TEXT = re.compile(r"(-?[0-9]{4,})-([0-9]{2})-([0-9]{2})"
                        r"(?:T([0-9]{2}):([0-9]{2}):([0-9]{2})([.][0-9]+)?)?(Z|[+-][0-9]{2}:[0-9]{2})?")


def _truncate_text(text: str, level: str) -> str | None:
    """A text holding an xs:date or xs:dateTime (as Catena-X aspects type dates: xs:string with a pattern),
    truncated in its own lexical form: a date stays a date, the zone stays as written (``Z`` or an offset), each
    truncated digit becomes its field's least value and a fraction keeps its length, so a pattern the text
    matched still matches. ``None`` for any other text."""
    found = _DATE_TEXT.fullmatch(text)
    if found is None:
        return None
    year, month, day, hour, minute, _, fraction, zone = found.groups()
    try:  # a real date: no 2021-02-30, no hour 25
        datatypes.from_xsd(text, datatypes.DateTime if hour is not None else datatypes.Date)
    except (ValueError, TypeError, NotImplementedError):  # the SDK has no years before 1
        return None
    keep = _FIELDS_KEPT[level]
    out = f"{year}-{month if keep > 1 else '01'}-{day if keep > 2 else '01'}"
    if hour is not None:
        out += f"T{hour if keep > 3 else '00'}:{minute if keep > 4 else '00'}:00"
        out += "." + "0" * (len(fraction) - 1) if fraction else ""
    return out + (zone or "")


def _prefix(text: str, how: Generalization) -> str:
    return text[: how.prefix] + how.fill
