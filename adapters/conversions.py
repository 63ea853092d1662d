"""Conversions of the mapping layer: value rules, text templates, units, dates and numbers. Pure.

A :class:`ValueRule` (built and validated by :mod:`adapters.mapping`) says how one value is taken from a
:class:`~adapters.base.Record`; :func:`evaluate` applies it and raises :class:`FieldError` with the field, the
reason and the rule when the value does not fit: an impossible date (``31.02.2025``), a non-numeric number
(``n/a``), a missing key, an unknown unit. Numbers go through :class:`decimal.Decimal` (decimal comma, thousands
separators, scale and unit factors stay exact) and become ``float`` only for ``double``; naive date-times are
put into the rule's time zone and converted to UTC.
"""
from __future__ import annotations

import dataclasses
import datetime
import decimal
import functools
import re
import string
import urllib.parse
import uuid
from collections.abc import Mapping as TMapping
from typing import Any

from .base import Position, Record

Decimal = decimal.Decimal  # the ValueRule field ``decimal`` hides the module in its annotations
TYPES = ("string", "integer", "decimal", "double", "boolean", "date", "datetime")
FILTERS = ("nozeros", "strip", "upper", "lower", "idshort", "quote", "uuid5")

#: dimension -> (factor to the dimension's base unit, names); SAP/UN-ECE codes included
_UNIT_TABLE: dict[str, tuple[tuple[str, str], ...]] = {
    "mass": (("1", "kg KGM"), ("0.001", "g GRM"), ("0.000001", "mg MGM"), ("1000", "t TNE"),
             ("0.45359237", "lb LBR")),
    "length": (("1", "m MTR"), ("0.001", "mm MMT"), ("0.01", "cm CMT"), ("1000", "km KMT"), ("0.0254", "in INH")),
    "volume": (("1", "m³ m3 MTQ"), ("0.001", "l L LTR")),
    "pressure": (("100000", "bar BAR"), ("100", "mbar MBR"), ("1", "Pa PAL"), ("1000", "kPa KPA"),
                 ("1000000", "MPa MPA"), ("6894.757293168", "psi PS")),
    "power": (("1", "W WTT"), ("1000", "kW KWT")),
    "flow": (("1", "m³/h m3/h MQH"), ("0.06", "l/min L/min"), ("3.6", "l/s L/s")),
    "torque": (("1", "N·m Nm N.m NU"),),
    "temperature": (("1", "K KEL"), ("1", "°C degC CEL")),
    "time": (("1", "s SEC"), ("60", "min MIN"), ("3600", "h HUR")),
    "piece": (("1", "pc ST PCE C62 EA"),),
}
#: offsets to the base unit, by unit name
_UNIT_OFFSETS = {"°C": "273.15", "degC": "273.15", "CEL": "273.15"}
#: unit name -> (dimension, factor to the dimension's base unit, offset)
UNITS: dict[str, tuple[str, decimal.Decimal, decimal.Decimal]] = {
    name: (dimension, decimal.Decimal(factor), decimal.Decimal(_UNIT_OFFSETS.get(name, "0")))
    for dimension, rows in _UNIT_TABLE.items() for factor, names in rows for name in names.split()
}

_XSD_TYPE = {
    "xs:string": "string", "xs:anyURI": "string", "xs:normalizedString": "string", "xs:token": "string",
    "xs:language": "string", "xs:decimal": "decimal", "xs:double": "double", "xs:float": "double",
    "xs:boolean": "boolean", "xs:date": "date", "xs:dateTime": "datetime",
}
_INTEGER_XSD = ("xs:integer", "xs:long", "xs:int", "xs:short", "xs:byte", "xs:nonNegativeInteger",
                "xs:positiveInteger", "xs:nonPositiveInteger", "xs:negativeInteger", "xs:unsignedLong",
                "xs:unsignedInt", "xs:unsignedShort", "xs:unsignedByte")
_TRUE = ("true", "1", "yes", "y", "x", "ja", "j", "on")
_FALSE = ("false", "0", "no", "n", "", "nein", "off")
_WINDOW = re.compile(r"(\d+)\s*(s|min|h|d)")
_WINDOW_SECONDS = {"s": 1, "min": 60, "h": 3600, "d": 86400}
_ID_SHORT = re.compile(r"[A-Za-z][A-Za-z0-9_-]*[A-Za-z0-9_]|[A-Za-z]")
#: default namespace of the ``uuid5`` filter
UUID_NAMESPACE = uuid.NAMESPACE_URL


# -- errors -----------------------------------------------------------------------------------------------------------


class FieldError(ValueError):
    """One value of a record does not fit its rule."""

    def __init__(self, field: str | None, reason: str, rule: str | None = None, position: Position | None = None):
        super().__init__(reason)
        self.field = field
        self.reason = reason
        self.rule = rule
        self.position = position


class RecordError(ValueError):
    """A record cannot be mapped; ``errors`` lists every field at fault."""

    def __init__(self, errors: list[FieldError]) -> None:
        super().__init__("; ".join(f"{e.field or '-'}: {e.reason}" for e in errors))
        self.errors = errors


# -- value rules -----------------------------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class TextTemplate:
    """``"urn:x:{SERNR|upper}"``: literal parts and (field, filters) placeholders."""

    source: str
    parts: tuple[str | tuple[str, tuple[str, ...]], ...]

    @functools.cached_property
    def fields(self) -> tuple[str, ...]:
        return tuple(p[0] for p in self.parts if isinstance(p, tuple))

    def render(self, record: Record, rule: str) -> str:
        """:raises FieldError: a field it names is missing or empty (a missing key)"""
        fields = record.fields
        key = tuple(fields.get(name) for name in self.fields)
        last = _LAST_RENDER.get(id(self))
        if last is not None and last[0] == key and last[1] is self:  # consecutive records of one key
            return last[2]
        out = []
        for part in self.parts:
            if isinstance(part, str):
                out.append(part)
                continue
            name, filters = part
            raw = record.fields.get(name)
            if raw is None or not raw.strip():
                raise FieldError(name, f"missing key field {name}", rule, record.where(name))
            out.append(_filter(raw.strip(), filters))
        text = "".join(out)
        _LAST_RENDER[id(self)] = (key, self, text)
        return text


_NUMBER = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?")

#: the last rendering of each template (rows of one unit follow each other; ids repeat row after row)
_LAST_RENDER: dict[int, tuple[tuple[str | None, ...], TextTemplate, str]] = {}


@dataclasses.dataclass(frozen=True)
class ValueRule:
    """How one value is taken from a record and converted."""

    rule: str  # rule id, e.g. ``submodels[0].elements.manufacturingInformation.date``
    line: int
    kind: str  # field | const | text | texts | range
    field: str | None = None
    const: Any = None
    text: TextTemplate | None = None
    texts: TMapping[str, str] | None = None  # language -> field
    group: TMapping[str, str] | None = None  # {group, lang, text} for texts from a repeated group
    range: tuple[ValueRule, ValueRule] | None = None
    type: str | None = None
    formats: tuple[str, ...] = ()
    decimal: str = "."
    thousands: str | None = None
    nozeros: bool = False
    table: TMapping[str, Any] | None = None
    default: Any = None
    required: bool = False
    unit_from: str | None = None
    unit_from_field: str | None = None
    unit_to: str | None = None
    scale: Decimal | None = None
    lang: str | None = None
    timezone: str = "UTC"
    value_type: str | None = None  # xs: type of a free element or a time series variable
    semantic_id: str | None = None
    model_type: str | None = None  # of the template element this rule fills
    free: bool = False  # the template leaves the element free: the rule makes the SDK element

    @functools.cached_property
    def plain_double(self) -> bool:
        """A double with a decimal point and nothing to convert: parsed by ``float`` directly."""
        return (self.type == "double" and self.decimal == "." and not self.thousands and not self.nozeros
                and self.table is None and self.scale is None and self.unit_to is None)

    @functools.cached_property
    def fields(self) -> tuple[str, ...]:
        """Source fields this rule reads."""
        if self.kind == "field":
            names: tuple[str, ...] = (str(self.field),)
        elif self.kind == "text" and self.text:
            names = self.text.fields
        elif self.kind == "texts" and self.texts:
            names = tuple(self.texts.values())
        elif self.kind == "texts" and self.group:
            names = (self.group["group"],)
        elif self.kind == "range" and self.range:
            names = self.range[0].fields + self.range[1].fields
        else:
            names = ()
        return names + ((self.unit_from_field,) if self.unit_from_field else ())


def _type_of(value_type: str) -> str:
    if value_type in _INTEGER_XSD:
        return "integer"
    return _XSD_TYPE.get(value_type, "string")


def _xsd_of(kind: str) -> str:
    return {"string": "xs:string", "integer": "xs:long", "decimal": "xs:decimal", "double": "xs:double",
            "boolean": "xs:boolean", "date": "xs:date", "datetime": "xs:dateTime"}[kind]


def _plain(value: Any) -> Any:
    """YAML values without our marking subclasses."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


# -- text templates ----------------------------------------------------------------------------------------------


def parse_template(text: str) -> TextTemplate:
    """:raises ValueError: on unbalanced braces, an empty field name or an unknown filter"""
    parts: list[str | tuple[str, tuple[str, ...]]] = []
    try:
        parsed = list(string.Formatter().parse(text))
    except ValueError as e:
        raise ValueError(f"{text!r}: {e}") from None
    for literal, name, spec, conversion in parsed:
        if literal:
            parts.append(literal)
        if name is None:
            continue
        if spec or conversion:
            name = name + (f"!{conversion}" if conversion else "") + (f":{spec}" if spec else "")
        field, *filters = [p.strip() for p in name.split("|")]
        if not field:
            raise ValueError(f"{text!r}: empty field name in {{}}")
        for f in filters:
            if f not in FILTERS:
                raise ValueError(f"unknown filter {f!r} (known: {', '.join(FILTERS)})")
        parts.append((field, tuple(filters)))
    return TextTemplate(text, tuple(parts))


def _filter(value: str, filters: tuple[str, ...]) -> str:
    for name in filters:
        if name == "nozeros":
            value = value.lstrip("0") or "0"
        elif name == "strip":
            value = value.strip()
        elif name == "upper":
            value = value.upper()
        elif name == "lower":
            value = value.lower()
        elif name == "idshort":
            value = re.sub(r"[^A-Za-z0-9_-]", "_", value)
            value = value if value[:1].isalpha() else "X" + value
            value = value.rstrip("-") or "X"
        elif name == "quote":
            value = urllib.parse.quote(value, safe="-._~")
        elif name == "uuid5":
            value = str(uuid.uuid5(UUID_NAMESPACE, value))
    return value


# -- evaluation --------------------------------------------------------------------------------------------------


def evaluate(rule: ValueRule, record: Record) -> tuple[Any, str | None, Position] | None:
    """``(value, field, position)`` of ``rule`` on ``record``, ``None`` when absent (and not required).

    :raises FieldError: the value does not fit (or a required one is missing)
    """
    field = rule.field if rule.kind == "field" else (rule.fields[0] if rule.fields else None)
    position = record.where(field)
    if rule.kind == "const":
        value: Any = rule.const
        if rule.type is not None and isinstance(value, str):
            value = convert(value, rule, record)
        elif rule.lang and isinstance(value, str):
            value = {rule.lang: value}
        return value, None, record.position
    if rule.kind == "text":
        assert rule.text is not None
        text = rule.text.render(record, rule.rule)
        return _finish(convert(text, rule, record), rule), None, record.position
    if rule.kind == "texts":
        texts = _texts(rule, record)
        if not texts:
            return _missing(rule, field, position)
        group = rule.group["group"] if rule.group else None
        first = record.groups.get(group, ()) if group else ()
        if first and rule.group:
            position = first[0].where(rule.group["text"])
            if len(first) > 1 and position.xpath:  # every text: the group step without its index
                position = position.at(re.sub(r"\[\d+\](/[^/]+)$", r"\1", position.xpath))
        return texts, group or field, position
    if rule.kind == "range":
        assert rule.range is not None
        low = evaluate(rule.range[0], record)
        high = evaluate(rule.range[1], record)
        if low is None and high is None:
            return _missing(rule, field, position)
        return (low[0] if low else None, high[0] if high else None), field, position
    raw = record.fields.get(str(rule.field))
    if raw is None or not raw.strip():
        return _missing(rule, field, position)
    value = convert(raw, rule, record)
    return _finish(value, rule), field, position


def value_of(rule: ValueRule, record: Record) -> Any:
    """Only the value of a plain ``field`` rule (``None`` when absent), else as :func:`evaluate`: the fast path of
    time series rows, which need no position per value.

    :raises FieldError:
    """
    if rule.kind == "field" and rule.default is None and not rule.required:
        raw = record.fields.get(str(rule.field))
        if raw is None or not raw or raw.isspace():
            return None
        return _finish(convert(raw, rule, record), rule)
    evaluated = evaluate(rule, record)
    return evaluated[0] if evaluated is not None else None


def _missing(rule: ValueRule, field: str | None, position: Position) -> tuple[Any, str | None, Position] | None:
    if rule.default is not None:
        return rule.default, field, position
    if rule.required:
        raise FieldError(field, "missing value" + (f" of {field}" if field else ""), rule.rule, position)
    return None


def _finish(value: Any, rule: ValueRule) -> Any:
    if rule.lang and isinstance(value, str):
        return {rule.lang: value}
    return value


def _texts(rule: ValueRule, record: Record) -> dict[str, str]:
    out: dict[str, str] = {}
    if rule.texts:
        for lang, field in rule.texts.items():
            text = _clean_text(record.fields.get(field) or "")
            if text:
                out[lang] = text
        return out
    assert rule.group is not None
    for item in record.groups.get(rule.group["group"], ()):
        lang = (item.fields.get(rule.group["lang"]) or "").strip().lower()
        text = _clean_text(item.fields.get(rule.group["text"]) or "")
        if lang and text:
            out.setdefault(lang, text)
    return out


def _clean_text(text: str) -> str:
    return text.replace("\r\n", "\n").replace("\r", "\n").strip()


def convert(raw: str, rule: ValueRule, record: Record | None = None) -> Any:
    """The typed value of one raw text under ``rule``. :raises FieldError: with the reason"""
    if rule.plain_double:  # the common case of measurement series, without Decimal
        match = _NUMBER.fullmatch(raw.strip())
        if match is not None:
            return float(match[0])
    field = rule.field if rule.kind == "field" else None
    position = record.where(field) if record is not None else None
    text = raw.strip()
    if rule.nozeros:
        text = text.lstrip("0") or ("0" if text else "")
    if rule.table is not None:
        if text in rule.table:
            mapped = rule.table[text]
            if not isinstance(mapped, str):
                return mapped
            text = mapped
        elif rule.default is not None:
            return rule.default
        else:
            raise FieldError(field, f"value {raw!r} is not in the mapping's table ({', '.join(rule.table)})",
                             rule.rule, position)
    kind = rule.type or "string"
    try:
        if kind == "string":
            value: Any = _clean_text(raw if rule.table is None and not rule.nozeros else text)
        elif kind == "integer":
            value = int(_number(text, rule))
            if value != _number(text, rule):
                raise ValueError(f"{raw!r} is not a whole number")
        elif kind in ("decimal", "double"):
            value = _number(text, rule)
        elif kind == "boolean":
            lowered = text.lower()
            if lowered not in _TRUE + _FALSE:
                raise ValueError(f"{raw!r} is not a boolean (true/false, 1/0, yes/no, X/empty)")
            value = lowered in _TRUE
        elif kind == "date":
            value = _date(text, rule)
        else:
            value = _datetime(text, rule)
    except (ValueError, decimal.InvalidOperation, ArithmeticError) as e:
        raise FieldError(field, str(e), rule.rule, position) from None
    if kind in ("integer", "decimal", "double"):
        value = _scaled(value, rule, record, field, position)
        if kind == "double":
            value = float(value)
        elif kind == "integer":
            value = int(value)
    return value


def _number(text: str, rule: ValueRule) -> decimal.Decimal:
    cleaned = text
    if rule.thousands:
        cleaned = cleaned.replace(rule.thousands, "")
    if rule.decimal == ",":
        if "." in cleaned and not rule.thousands:
            raise ValueError(f"{text!r} is not a number with decimal comma")
        cleaned = cleaned.replace(",", ".")
    elif "," in cleaned:
        raise ValueError(f"{text!r} is not a number (decimal point expected; configure decimal: \",\")")
    if not _NUMBER.fullmatch(cleaned):
        raise ValueError(f"{text!r} is not a number")
    return decimal.Decimal(cleaned)


def _scaled(value: decimal.Decimal | int, rule: ValueRule, record: Record | None, field: str | None,
            position: Position | None) -> decimal.Decimal:
    number = decimal.Decimal(value)
    if rule.scale is not None:
        number *= rule.scale
    if rule.unit_to is None:
        return number
    source = rule.unit_from
    if rule.unit_from_field:
        source = ((record.fields.get(rule.unit_from_field) if record else None) or "").strip()
        if not source:
            raise FieldError(rule.unit_from_field, f"missing unit in {rule.unit_from_field}", rule.rule, position)
        if source not in UNITS:
            raise FieldError(rule.unit_from_field, f"unknown unit {source!r}", rule.rule,
                             record.where(rule.unit_from_field) if record else position)
    assert source is not None
    return convert_unit(number, source, rule.unit_to, field, rule.rule, position)


def convert_unit(value: decimal.Decimal, source: str, target: str, field: str | None = None, rule: str | None = None,
                 position: Position | None = None) -> decimal.Decimal:
    """``value`` in ``source`` units expressed in ``target`` units (both keys of :data:`UNITS`)."""
    dimension, factor, offset = UNITS[source]
    target_dimension, target_factor, target_offset = UNITS[target]
    if dimension != target_dimension:
        raise FieldError(field, f"cannot convert {dimension} ({source}) into {target_dimension} ({target})", rule,
                         position)
    if source == target:
        return value
    base = (value + offset) * factor
    return (base / target_factor - target_offset).normalize()


def _date(text: str, rule: ValueRule) -> datetime.date:
    if not rule.formats:
        try:
            return datetime.date.fromisoformat(text)
        except ValueError as e:
            raise ValueError(f"impossible date {text!r}: {e} (expected YYYY-MM-DD)") from None
    return _parse_with(text, rule.formats, "date").date()


def _datetime(text: str, rule: ValueRule) -> datetime.datetime:
    if rule.formats:
        value = _parse_with(text, rule.formats, "date and time")
    else:
        try:
            value = datetime.datetime.fromisoformat(text)
        except ValueError as e:
            raise ValueError(f"impossible date and time {text!r}: {e} (expected ISO 8601)") from None
    if value.tzinfo is None:
        value = value.replace(tzinfo=_zone(rule.timezone))
    return value.astimezone(datetime.UTC)


def _parse_with(text: str, formats: tuple[str, ...], what: str) -> datetime.datetime:
    reasons = []
    for fmt in formats:
        try:
            return datetime.datetime.strptime(text, fmt)
        except ValueError as e:
            reasons.append(str(e))
    impossible = [r for r in reasons if "out of range" in r or "must be in" in r]
    reason = impossible[0] if impossible else reasons[0]
    return _raise(f"impossible {what} {text!r}: {reason} (format {' or '.join(formats)})")


def _raise(message: str) -> Any:
    raise ValueError(message)


def _zone(name: str) -> datetime.tzinfo:
    if name.upper() in ("UTC", "Z"):
        return datetime.UTC
    match = re.fullmatch(r"([+-])(\d{2}):(\d{2})", name)
    if match:
        delta = datetime.timedelta(hours=int(match[2]), minutes=int(match[3]))
        return datetime.timezone(delta if match[1] == "+" else -delta)
    try:
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

        return ZoneInfo(name)
    except (ImportError, ValueError, ZoneInfoNotFoundError) as e:
        raise ValueError(f"unknown timezone {name!r} (UTC, +01:00 or an IANA name)") from e


def _as_datetime(value: Any) -> datetime.datetime:
    if isinstance(value, datetime.datetime):
        return value
    if isinstance(value, datetime.date):
        return datetime.datetime(value.year, value.month, value.day, tzinfo=datetime.UTC)
    raise FieldError(None, f"source_time must give a date or datetime, not {value!r}", "source_time")
