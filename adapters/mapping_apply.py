"""Applying a mapping to one record: every field that does not fit is collected, none stops the walk."""
from __future__ import annotations

import datetime
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from .base import Record
from .conversions import (
    _ID_SHORT,
    FieldError,
    RecordError,
    TextTemplate,
    ValueRule,
    _as_datetime,
    evaluate,
    value_of,
)
from .mapping_plan import Plan, SeriesPoint, ShellPlan, SubmodelPlan, Value

if TYPE_CHECKING:
    from .mapping_rules import ChangeFlag, Mapping, SeriesRule, ShellRule


def apply(mapping: Mapping, record: Record) -> Plan:
    """The values ``record`` gives. :raises RecordError: listing every field that does not fit"""
    errors: list[FieldError] = []
    mode = _mode(mapping.change_flag, record, errors)
    shell = _shell(mapping.shell, record, errors)
    submodels = []
    for rule in mapping.submodels:
        try:
            sm_id = rule.id.render(record, f"{rule.label}.id")
        except FieldError as e:
            if not any(known.field == e.field for known in errors):
                errors.append(e)
            sm_id = ""
        elements = rule.elements if mode != "delete" else ()  # a delete needs the ids only
        values = [Value(path, evaluated[0], value_rule, evaluated[1], evaluated[2])
                  for path, value_rule, evaluated in _evaluated(elements, record, errors, evaluate)]
        point = None
        if rule.series is not None and mode != "delete":
            try:
                point = _point(rule.series, record)
            except RecordError as e:
                errors.extend(e.errors)
        submodels.append(SubmodelPlan(rule, sm_id, values, point))
    source_time = record.source_time
    if mapping.source_time is not None:
        try:
            evaluated = evaluate(mapping.source_time, record)
            if evaluated is not None:
                source_time = _as_datetime(evaluated[0])
        except FieldError as e:
            errors.append(e)
    if errors or shell is None:
        raise RecordError(errors)
    return Plan(record.position, shell, submodels, mode, source_time)


def _evaluated(rules: Sequence[tuple[str, ValueRule]], record: Record, errors: list[FieldError],
               evaluate_one: Callable[[ValueRule, Record], Any]) -> list[tuple[str, ValueRule, Any]]:
    """``(name, rule, result)`` of each rule giving a value; the fields that do not fit go to ``errors``."""
    out = []
    for name, rule in rules:
        try:
            result = evaluate_one(rule, record)
        except FieldError as e:
            errors.append(e)
            continue
        if result is not None:
            out.append((name, rule, result))
    return out


def _mode(flag: ChangeFlag | None, record: Record, errors: list[FieldError]) -> str:
    if flag is None:
        return "replace"
    raw = (record.fields.get(flag.field) or "").strip()
    if not raw:
        return flag.default
    if raw not in flag.modes:
        errors.append(FieldError(flag.field, f"unknown change flag {raw!r} (known: {', '.join(flag.modes)})",
                                 "change_flag", record.where(flag.field)))
        return flag.default
    return flag.modes[raw]


def _shell(rule: ShellRule, record: Record, errors: list[FieldError]) -> ShellPlan | None:
    count = len(errors)

    def render(template: TextTemplate | None, what: str) -> str | None:
        if template is None:
            return None
        try:
            return template.render(record, f"shell.{what}")
        except FieldError as e:
            errors.append(e)
            return None

    shell_id = render(rule.id, "id")
    global_asset_id = render(rule.global_asset_id, "global_asset_id")
    id_short = render(rule.id_short, "id_short")
    asset_type = render(rule.asset_type, "asset_type")
    specific = []
    for name, template in rule.specific_asset_ids:
        value = render(template, f"specific_asset_ids.{name}")
        if value is not None:
            specific.append((name, value))
    if len(errors) > count or shell_id is None or global_asset_id is None:
        return None
    if id_short is not None and not _ID_SHORT.fullmatch(id_short):
        errors.append(FieldError(None, f"shell idShort {id_short!r} is no valid idShort", "shell.id_short",
                                 record.position))
        return None
    return ShellPlan(shell_id, global_asset_id, id_short, rule.asset_kind, asset_type, tuple(specific))


def _point(rule: SeriesRule, record: Record) -> SeriesPoint:
    errors: list[FieldError] = []
    time = None
    try:
        time = value_of(rule.time, record)
    except FieldError as e:
        errors.append(e)
    values = tuple((name, value) for name, _, value in _evaluated(rule.variables, record, errors, value_of))
    if errors or not isinstance(time, datetime.datetime):
        if not errors:
            errors.append(FieldError(rule.time.field, "missing time", rule.time.rule, record.where(rule.time.field)))
        raise RecordError(errors)
    return SeriesPoint(time, values, record.position)
