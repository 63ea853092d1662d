"""Declarative mappings: how a source record becomes a shell and the template submodels it fills.

Pure: no IO besides reading the mapping file. A mapping file is YAML; :func:`load` validates it completely and
reports every problem with its line and column (taken from the YAML node marks), element paths included, which
are checked against the submodel template. :meth:`Mapping.apply` turns one :class:`~adapters.base.Record` into a
:class:`Plan` (the values to write, each with the rule and source position it came from) or raises
:class:`RecordError` naming every field that does not fit.

File format (see ``adapters/mappings/*.yaml`` for complete examples)::

    version: 1
    name: serial-units                  # default: the file's stem
    adapter: erp-flat                   # csv | erp-flat | erp-idoc
    source: {encoding: iso-8859-1, delimiter: ";"}     # options of the adapter's source
    defaults: {decimal: ",", date_format: "%d.%m.%Y"}  # conversion options of every value rule
    source_time: {field: PRUEFDATUM}    # optional: when the source produced the record
    change_flag:                        # optional: how a record applies (default: replace)
      {field: E1MARAM/MSGFN, replace: ["005"], change: ["004"], delete: ["003"]}
    shell:
      id: "https://example.com/ids/aas/serial/{SERNR}"
      global_asset_id: "https://example.com/ids/asset/serial/{SERNR}"
      asset_kind: Instance              # or Type
      specific_asset_ids: {partInstanceId: "{SERNR}", manufacturerPartId: "{MATNR|nozeros}"}
    submodels:
      - template: cx_serial_part        # a registry name, or an inline template (see below)
        id: "https://example.com/ids/sm/serial/{SERNR}/SerialPart"
        elements:
          localIdentifiers[0].key: {const: partInstanceId}
          localIdentifiers[0].value: SERNR
          manufacturingInformation.date: {field: HERDAT, type: date}

Strings in ``id``-like places are text templates: ``{FIELD}`` or ``{FIELD|filter|...}`` (filters ``nozeros``,
``strip``, ``upper``, ``lower``, ``idshort``, ``quote``, ``uuid5``; ``{{`` for a brace); every field they name is a
key: a record without it is rejected. An element's rule is a field name (shorthand), a text template (a string
with ``{``), or a mapping with exactly one of ``field``, ``const``, ``text``, ``texts`` (language-tagged texts from
fields or from a repeated group) or ``range`` (``{min: rule, max: rule}``), and options: ``type`` (string,
integer, decimal, double, boolean, date, datetime; inferred from the template's valueType when absent),
``format`` (strptime, one or a list), ``decimal``, ``thousands``, ``nozeros``, ``map`` (a lookup table),
``default``, ``required``, ``unit`` (``{from: g, to: kg}`` or ``{from_field: GEWEI, to: kg}``), ``scale``,
``lang``, ``timezone``; elements the template leaves free (``{arbitrary}``) also take ``value_type`` and
``semantic_id``. An empty cell is an absent value: the element is left out (replace) or kept (change).

A submodel of the ``time_series`` template has a ``time_series`` block instead of per-record elements: ``time``
(a rule giving the timestamp), ``window`` (segment length: ``30s``, ``15min``, ``1h``, ``1d``), ``max_records``
and ``variables`` (idShort -> rule with ``value_type`` and ``semantic_id``); see :mod:`adapters.series`.

An inline template is a mapping ``{name, semantic_id, id_short, elements: {path: {model_type, value_type,
semantic_id, required, unit, minimum, maximum}}}``: for data no published template covers (the shipped
serial-unit mapping keeps end-of-line test data and the personal data of the export in one, so masking can
drop it as a whole on external ports).
"""
from __future__ import annotations

import dataclasses
import datetime
import decimal
import hashlib
import re
from collections.abc import Callable, Iterator, Sequence
from collections.abc import Mapping as TMapping
from pathlib import Path
from typing import Any

import yaml
from basyx.aas import model
from basyx.aas.model import datatypes

from submodels import templates as registry

from .base import Position, Record
from .conversions import (
    _ID_SHORT,
    _WINDOW,
    _WINDOW_SECONDS,
    _XSD_TYPE,
    TYPES,
    UNITS,
    FieldError,
    RecordError,
    TextTemplate,
    ValueRule,
    _as_datetime,
    _plain,
    _type_of,
    _xsd_of,
    _zone,
    evaluate,
    parse_template,
    value_of,
)

ADAPTERS = ("csv", "erp-flat", "erp-idoc")
MODES = ("replace", "change", "delete")


# -- errors ------------------------------------------------------------------------------------------------------


class MappingError(ValueError):
    """An invalid mapping file; ``problems`` are ``(line, column, message)``, 1-based, in file order."""

    def __init__(self, file: str, problems: list[tuple[int, int, str]]) -> None:
        self.file = file
        self.problems = sorted(problems)
        super().__init__("\n".join(f"{file}:{line}:{column}: {message}" for line, column, message in self.problems))


# -- YAML with marks ---------------------------------------------------------------------------------------------


class _Map(dict):  # type: ignore[type-arg]
    """A YAML mapping that remembers where it and each of its values are."""

    mark: tuple[int, int] = (0, 0)
    marks: dict[str, tuple[int, int]]


class _Seq(list):  # type: ignore[type-arg]
    mark: tuple[int, int] = (0, 0)
    marks: list[tuple[int, int]]


def _mark(node: yaml.Node) -> tuple[int, int]:
    return node.start_mark.line + 1, node.start_mark.column + 1


class _Loader(yaml.SafeLoader):
    """SafeLoader keeping marks on mappings and sequences and rejecting duplicate keys."""

    duplicates: list[tuple[int, int, str]]

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> _Map:  # type: ignore[override]
        result = _Map()
        result.mark = _mark(node)
        result.marks = {}
        for key_node, value_node in node.value:
            key = self.construct_object(key_node, deep=True)
            key = str(key) if key is not None else ""
            if key in result:
                self.duplicates.append((*_mark(key_node), f"duplicate key {key!r}"))
            result[key] = self.construct_object(value_node, deep=True)
            result.marks[key] = _mark(value_node)
        return result

    def construct_sequence(self, node: yaml.SequenceNode, deep: bool = False) -> _Seq:  # type: ignore[override]
        result = _Seq(self.construct_object(child, deep=True) for child in node.value)
        result.mark = _mark(node)
        result.marks = [_mark(child) for child in node.value]
        return result


_Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _Loader.construct_mapping)
_Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_SEQUENCE_TAG, _Loader.construct_sequence)


class _Problems:
    """Collects validation problems with their marks."""

    def __init__(self) -> None:
        self.items: list[tuple[int, int, str]] = []

    def add(self, mark: tuple[int, int], message: str) -> None:
        self.items.append((mark[0], mark[1], message))


def _at(parent: Any, key: str | int, default: tuple[int, int] = (1, 1)) -> tuple[int, int]:
    marks = getattr(parent, "marks", None)  # absent on mappings made up for missing keys
    if isinstance(parent, _Map) and isinstance(key, str) and marks is not None:
        return marks.get(key, parent.mark)  # type: ignore[no-any-return]
    if isinstance(parent, _Seq) and isinstance(key, int) and marks and 0 <= key < len(marks):
        return marks[key]  # type: ignore[no-any-return]
    return getattr(parent, "mark", default)  # type: ignore[no-any-return]


# -- the mapping model -------------------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class ShellRule:
    id: TextTemplate
    global_asset_id: TextTemplate
    id_short: TextTemplate | None
    asset_kind: str
    asset_type: TextTemplate | None
    specific_asset_ids: tuple[tuple[str, TextTemplate], ...]
    line: int


@dataclasses.dataclass(frozen=True)
class SeriesRule:
    time: ValueRule
    window: int  # seconds
    max_records: int
    variables: tuple[tuple[str, ValueRule], ...]
    line: int


@dataclasses.dataclass(frozen=True)
class SubmodelRule:
    index: int
    template: registry.Template
    id: TextTemplate
    id_short: str | None
    elements: tuple[tuple[str, ValueRule], ...]
    series: SeriesRule | None
    line: int

    @property
    def label(self) -> str:
        return f"submodels[{self.index}]"


@dataclasses.dataclass(frozen=True)
class ChangeFlag:
    field: str
    modes: TMapping[str, str]  # flag value -> mode
    default: str
    line: int


@dataclasses.dataclass(frozen=True)
class Mapping:
    """A validated mapping file."""

    name: str
    file: str
    checksum: str
    adapter: str
    source: TMapping[str, Any]
    shell: ShellRule
    submodels: tuple[SubmodelRule, ...]
    change_flag: ChangeFlag | None
    source_time: ValueRule | None

    def apply(self, record: Record) -> Plan:
        """The values ``record`` gives. :raises RecordError: listing every field that does not fit"""
        errors: list[FieldError] = []
        mode = self._mode(record, errors)
        shell = self._shell(record, errors)
        submodels = []
        for rule in self.submodels:
            try:
                sm_id = rule.id.render(record, f"{rule.label}.id")
            except FieldError as e:
                if not any(known.field == e.field for known in errors):
                    errors.append(e)
                sm_id = ""
            values: list[Value] = []
            for path, value_rule in rule.elements if mode != "delete" else ():  # a delete needs the ids only
                try:
                    evaluated = evaluate(value_rule, record)
                except FieldError as e:
                    errors.append(e)
                    continue
                if evaluated is not None:
                    values.append(Value(path, evaluated[0], value_rule, evaluated[1], evaluated[2]))
            point = None
            if rule.series is not None and mode != "delete":
                try:
                    point = _point(rule.series, record)
                except RecordError as e:
                    errors.extend(e.errors)
            submodels.append(SubmodelPlan(rule, sm_id, values, point))
        source_time = record.source_time
        if self.source_time is not None:
            try:
                evaluated = evaluate(self.source_time, record)
                if evaluated is not None:
                    source_time = _as_datetime(evaluated[0])
            except FieldError as e:
                errors.append(e)
        if errors or shell is None:
            raise RecordError(errors)
        return Plan(record.position, shell, submodels, mode, source_time)

    def _mode(self, record: Record, errors: list[FieldError]) -> str:
        flag = self.change_flag
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

    def _shell(self, record: Record, errors: list[FieldError]) -> ShellPlan | None:
        rule = self.shell
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


@dataclasses.dataclass(frozen=True)
class Value:
    """One value for an element, with where it came from (for lineage)."""

    path: str
    value: Any
    rule: ValueRule
    field: str | None
    position: Position


@dataclasses.dataclass(frozen=True)
class SeriesPoint:
    """One time series row: its time and variable values (absent ones left out)."""

    time: datetime.datetime
    values: tuple[tuple[str, Any], ...]
    position: Position


@dataclasses.dataclass(frozen=True)
class ShellPlan:
    id: str
    global_asset_id: str
    id_short: str | None
    asset_kind: str
    asset_type: str | None
    specific_asset_ids: tuple[tuple[str, str], ...]


@dataclasses.dataclass
class SubmodelPlan:
    rule: SubmodelRule
    id: str
    values: list[Value]
    point: SeriesPoint | None = None

    def build_values(self) -> dict[str, Any]:
        """Values for ``Template.build``: free elements become SDK elements."""
        out: dict[str, Any] = {}
        for value in self.values:
            out[value.path] = _free_element(value) if value.rule.free else value.value
        return out


@dataclasses.dataclass
class Plan:
    position: Position
    shell: ShellPlan
    submodels: list[SubmodelPlan]
    mode: str
    source_time: datetime.datetime | None


# -- loading -----------------------------------------------------------------------------------------------------


def load(path: str | Path, templates: Callable[[str], registry.Template] = registry.get_template) -> Mapping:
    """Read and validate a mapping file. :raises MappingError: listing every problem with line and column"""
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as e:
        raise MappingError(str(path), [(0, 0, f"cannot read the mapping: {e.strerror}")]) from e
    return parse(data.decode("utf-8-sig", errors="replace"), str(path), templates,
                 checksum="sha256:" + hashlib.sha256(data).hexdigest())


def parse(text: str, file: str = "<mapping>", templates: Callable[[str], registry.Template] = registry.get_template,
          checksum: str | None = None) -> Mapping:
    """Validate mapping text (see :func:`load`)."""
    loader = _Loader(text)
    loader.duplicates = []
    try:
        doc = loader.get_single_data()
    except yaml.MarkedYAMLError as e:
        mark = e.problem_mark or e.context_mark
        line, column = (mark.line + 1, mark.column + 1) if mark else (0, 0)
        raise MappingError(file, [(line, column, f"not valid YAML: {e.problem or e}")]) from e
    except yaml.YAMLError as e:
        raise MappingError(file, [(0, 0, f"not valid YAML: {e}")]) from e
    finally:
        loader.dispose()
    problems = _Problems()
    problems.items.extend(loader.duplicates)
    if not isinstance(doc, _Map):
        raise MappingError(file, [(1, 1, "a mapping file holds a YAML mapping (version, adapter, shell, ...)")])
    built = _Builder(problems, templates).mapping(doc, file, checksum or _checksum(text))
    if problems.items or built is None:
        raise MappingError(file, problems.items)
    return built


def _checksum(text: str) -> str:
    return "sha256:" + hashlib.sha256(text.encode("utf-8")).hexdigest()


class _Builder:
    """Validates the YAML document and builds the model; every problem is recorded, none stops the walk."""

    def __init__(self, problems: _Problems, templates: Callable[[str], registry.Template]) -> None:
        self.problems = problems
        self.templates = templates
        self.defaults: dict[str, Any] = {}

    def fail(self, mark: tuple[int, int], message: str) -> None:
        self.problems.add(mark, message)

    def keys(self, doc: _Map, allowed: Sequence[str], where: str, required: Sequence[str] = ()) -> None:
        for key in doc:
            if key not in allowed:
                self.fail(_at(doc, key), f"{where}: unknown key {key!r} (allowed: {', '.join(allowed)})")
        for key in required:
            if key not in doc:
                self.fail(doc.mark, f"{where}: {key!r} is required")

    def mapping(self, doc: _Map, file: str, checksum: str) -> Mapping | None:
        self.keys(doc, ("version", "name", "description", "adapter", "source", "defaults", "source_time",
                        "change_flag", "shell", "submodels"), "mapping", ("version", "adapter", "shell", "submodels"))
        if "version" in doc and doc["version"] != 1:
            self.fail(_at(doc, "version"), f"unsupported version {doc['version']!r} (this reader knows 1)")
        adapter = doc.get("adapter")
        if "adapter" in doc and adapter not in ADAPTERS:
            self.fail(_at(doc, "adapter"), f"adapter must be one of {', '.join(ADAPTERS)}, not {adapter!r}")
        source = doc.get("source", _Map())
        if not isinstance(source, _Map):
            self.fail(_at(doc, "source"), "source must be a mapping of adapter options")
            source = _Map()
        elif adapter in ADAPTERS:
            self.source_options(source, str(adapter))
        defaults = doc.get("defaults", _Map())
        if isinstance(defaults, _Map):
            self.keys(defaults, ("decimal", "thousands", "date_format", "datetime_format", "timezone"), "defaults")
            self.defaults = dict(defaults)
        else:
            self.fail(_at(doc, "defaults"), "defaults must be a mapping")
        name = doc.get("name") or Path(file).stem
        shell = self.shell(doc["shell"], _at(doc, "shell")) if "shell" in doc else None
        submodels: list[SubmodelRule] = []
        items = doc.get("submodels")
        if "submodels" in doc and (not isinstance(items, _Seq) or not items):
            self.fail(_at(doc, "submodels"), "submodels must be a non-empty list")
        elif isinstance(items, _Seq):
            for i, item in enumerate(items):
                built = self.submodel(item, i, _at(items, i))
                if built is not None:
                    submodels.append(built)
            self.unique_submodels(submodels)
        change_flag = self.change_flag(doc["change_flag"], _at(doc, "change_flag")) if "change_flag" in doc else None
        source_time = None
        if "source_time" in doc:
            source_time = self.value_rule(doc["source_time"], "source_time", _at(doc, "source_time"), None, None)
        if shell is None or self.problems.items:
            return None
        return Mapping(str(name), file, checksum, str(adapter), dict(source), shell, tuple(submodels), change_flag,
                       source_time)

    def source_options(self, source: _Map, adapter: str) -> None:
        if adapter == "erp-idoc":
            allowed: tuple[str, ...] = ("record", "document", "created_date", "created_time")
        else:
            allowed = ("encoding", "delimiter", "quote", "header", "columns", "rename", "skip_lines")
        self.keys(source, allowed, f"source ({adapter})")
        if "encoding" in source:
            try:
                if source["encoding"] != "auto":
                    "".encode(str(source["encoding"]))
            except LookupError:
                self.fail(_at(source, "encoding"), f"unknown encoding {source['encoding']!r}")
        if "delimiter" in source and source["delimiter"] != "auto" and len(str(source["delimiter"])) != 1:
            self.fail(_at(source, "delimiter"), "delimiter must be one character or auto")
        if "quote" in source and len(str(source["quote"])) != 1:
            self.fail(_at(source, "quote"), "quote must be one character")
        if source.get("header") is False and not isinstance(source.get("columns"), list):
            self.fail(source.mark, "header: false needs columns (the field names)")
        if "rename" in source and not isinstance(source["rename"], dict):
            self.fail(_at(source, "rename"), "rename must map header names to field names")

    def text_template(self, value: Any, mark: tuple[int, int], what: str) -> TextTemplate | None:
        if not isinstance(value, (str, int)) or isinstance(value, bool):
            self.fail(mark, f"{what} must be a text template such as \"urn:x:{{FIELD}}\"")
            return None
        try:
            return parse_template(str(value))
        except ValueError as e:
            self.fail(mark, f"{what}: {e}")
            return None

    def shell(self, doc: Any, mark: tuple[int, int]) -> ShellRule | None:
        if not isinstance(doc, _Map):
            self.fail(mark, "shell must be a mapping")
            return None
        self.keys(doc, ("id", "global_asset_id", "id_short", "asset_kind", "asset_type", "specific_asset_ids"),
                  "shell", ("id", "global_asset_id"))
        shell_id = self.text_template(doc.get("id"), _at(doc, "id"), "shell.id") if "id" in doc else None
        gai = doc.get("global_asset_id")
        global_asset_id = self.text_template(gai, _at(doc, "global_asset_id"), "shell.global_asset_id") \
            if "global_asset_id" in doc else None
        id_short = self.text_template(doc["id_short"], _at(doc, "id_short"), "shell.id_short") \
            if "id_short" in doc else None
        asset_type = self.text_template(doc["asset_type"], _at(doc, "asset_type"), "shell.asset_type") \
            if "asset_type" in doc else None
        kind = doc.get("asset_kind", "Instance")
        if kind not in ("Instance", "Type", "NotApplicable"):
            self.fail(_at(doc, "asset_kind"), f"asset_kind must be Instance, Type or NotApplicable, not {kind!r}")
        specific: list[tuple[str, TextTemplate]] = []
        ids = doc.get("specific_asset_ids", _Map())
        if not isinstance(ids, _Map):
            self.fail(_at(doc, "specific_asset_ids"), "specific_asset_ids must map names to text templates")
        else:
            for name, value in ids.items():
                template = self.text_template(value, _at(ids, name), f"specific_asset_ids.{name}")
                if template is not None:
                    specific.append((name, template))
        if shell_id is None or global_asset_id is None:
            return None
        return ShellRule(shell_id, global_asset_id, id_short, str(kind), asset_type, tuple(specific), doc.mark[0])

    def change_flag(self, doc: Any, mark: tuple[int, int]) -> ChangeFlag | None:
        if not isinstance(doc, _Map):
            self.fail(mark, "change_flag must be a mapping {field, replace, change, delete, default}")
            return None
        self.keys(doc, ("field", "replace", "change", "delete", "default"), "change_flag", ("field",))
        modes: dict[str, str] = {}
        for mode in MODES:
            values = doc.get(mode, [])
            if not isinstance(values, list):
                self.fail(_at(doc, mode), f"change_flag.{mode} must be a list of flag values")
                continue
            for value in values:
                if str(value) in modes:
                    self.fail(_at(doc, mode), f"flag value {value!r} is given for two modes")
                modes[str(value)] = mode
        default = doc.get("default", "replace")
        if default not in MODES:
            self.fail(_at(doc, "default"), f"change_flag.default must be one of {', '.join(MODES)}")
        return ChangeFlag(str(doc.get("field")), modes, str(default), mark[0])

    def template(self, value: Any, mark: tuple[int, int]) -> registry.Template | None:
        if isinstance(value, str):
            try:
                return self.templates(value)
            except ValueError as e:
                self.fail(mark, str(e))
                return None
        if not isinstance(value, _Map):
            self.fail(mark, "template must be a registry name or an inline template mapping")
            return None
        return self.inline_template(value)

    def inline_template(self, doc: _Map) -> registry.Template | None:
        self.keys(doc, ("name", "semantic_id", "id_short", "version", "elements"), "template",
                  ("name", "semantic_id", "id_short", "elements"))
        specs: list[registry.ElementSpec] = []
        elements = doc.get("elements")
        if not isinstance(elements, _Map):
            self.fail(_at(doc, "elements"), "template.elements must map idShortPaths to element specs")
            return None
        for path, spec in elements.items():
            mark = _at(elements, path)
            if not isinstance(spec, _Map):
                self.fail(mark, f"template element {path}: expected a mapping with model_type, value_type, ...")
                continue
            self.keys(spec, ("model_type", "value_type", "semantic_id", "required", "unit", "minimum", "maximum",
                             "pattern"), f"template element {path}", ("model_type",))
            specs.append(registry.ElementSpec(
                str(path), str(spec.get("model_type")), spec.get("value_type"), spec.get("semantic_id"),
                bool(spec.get("required", False)), spec.get("unit"), spec.get("minimum"), spec.get("maximum"),
                pattern=spec.get("pattern"),
            ))
        try:
            return registry.Template(str(doc.get("name")), str(doc.get("semantic_id")), str(doc.get("id_short")),
                                     tuple(specs), str(doc.get("version", "")))
        except (ValueError, re.error) as e:
            self.fail(doc.mark, f"inline template: {e}")
            return None

    def submodel(self, doc: Any, index: int, mark: tuple[int, int]) -> SubmodelRule | None:
        where = f"submodels[{index}]"
        if not isinstance(doc, _Map):
            self.fail(mark, f"{where} must be a mapping with template, id and elements")
            return None
        self.keys(doc, ("template", "id", "id_short", "elements", "time_series"), where, ("template", "id"))
        template = self.template(doc["template"], _at(doc, "template")) if "template" in doc else None
        sm_id = self.text_template(doc["id"], _at(doc, "id"), f"{where}.id") if "id" in doc else None
        id_short = doc.get("id_short")
        if id_short is not None and not _ID_SHORT.fullmatch(str(id_short)):
            self.fail(_at(doc, "id_short"), f"{where}.id_short {id_short!r} is no valid idShort")
        elements: list[tuple[str, ValueRule]] = []
        raw = doc.get("elements", _Map())
        if not isinstance(raw, _Map):
            self.fail(_at(doc, "elements"), f"{where}.elements must map idShortPaths to value rules")
        elif template is not None:
            for path, rule_doc in raw.items():
                rule = self.element(template, str(path), rule_doc, f"{where}.elements.{path}", _at(raw, path))
                if rule is not None:
                    elements.append((str(path), rule))
        series = None
        if "time_series" in doc:
            if template is not None and template.name != "time_series":
                self.fail(_at(doc, "time_series"), f"{where}: time_series needs template time_series")
            series = self.series(doc["time_series"], f"{where}.time_series", _at(doc, "time_series"))
        elif template is not None and template.name == "time_series":
            self.fail(doc.mark, f"{where}: template time_series needs a time_series block")
        if template is None or sm_id is None:
            return None
        return SubmodelRule(index, template, sm_id, str(id_short) if id_short else None, tuple(elements), series,
                            mark[0])

    def unique_submodels(self, submodels: list[SubmodelRule]) -> None:
        seen: dict[str, SubmodelRule] = {}
        for rule in submodels:
            if rule.id.source in seen:
                self.fail((rule.line, 1), f"{rule.label}.id is the id of {seen[rule.id.source].label} too")
            seen[rule.id.source] = rule

    def element(self, template: registry.Template, path: str, doc: Any, rule_id: str,
                mark: tuple[int, int]) -> ValueRule | None:
        try:
            spec = template.element(path)
        except ValueError as e:
            self.fail(mark, f"{rule_id}: {e}")
            return None
        if spec.model_type in ("SubmodelElementCollection", "SubmodelElementList") or \
                spec.model_type not in ("Property", "MultiLanguageProperty", "Range", "File", "SubmodelElement"):
            self.fail(mark, f"{rule_id}: a {spec.model_type} takes no value; map its elements")
            return None
        return self.value_rule(doc, rule_id, mark, spec, template)

    def series(self, doc: Any, where: str, mark: tuple[int, int]) -> SeriesRule | None:
        if not isinstance(doc, _Map):
            self.fail(mark, f"{where} must be a mapping with time, window and variables")
            return None
        self.keys(doc, ("time", "window", "max_records", "variables"), where, ("time", "variables"))
        time_rule = self.value_rule(doc["time"], f"{where}.time", _at(doc, "time"), None, None) \
            if "time" in doc else None
        if time_rule is not None and (time_rule.type or "datetime") != "datetime":
            self.fail(_at(doc, "time"), f"{where}.time must give a datetime")
        if time_rule is not None:
            time_rule = dataclasses.replace(time_rule, type="datetime", required=True)
        window = 3600
        if "window" in doc:
            match = _WINDOW.fullmatch(str(doc["window"]).strip())
            if not match or int(match[1]) == 0:
                self.fail(_at(doc, "window"), f"{where}.window must look like 30s, 15min, 1h or 1d")
            else:
                window = int(match[1]) * _WINDOW_SECONDS[match[2]]
                if 86400 % window and window % 86400:
                    self.fail(_at(doc, "window"), f"{where}.window must divide a day (or be whole days)")
        max_records = doc.get("max_records", 10000)
        if not isinstance(max_records, int) or isinstance(max_records, bool) or not 1 <= max_records <= 100000:
            self.fail(_at(doc, "max_records"), f"{where}.max_records must be an integer from 1 to 100000")
            max_records = 10000
        variables: list[tuple[str, ValueRule]] = []
        raw = doc.get("variables")
        if not isinstance(raw, _Map) or not raw:
            self.fail(_at(doc, "variables"), f"{where}.variables must map variable idShorts to value rules")
        else:
            for name, rule_doc in raw.items():
                vmark = _at(raw, name)
                if name == "Time" or not _ID_SHORT.fullmatch(name):
                    self.fail(vmark, f"{where}.variables: {name!r} is no valid variable idShort (nor 'Time')")
                    continue
                rule = self.value_rule(rule_doc, f"{where}.variables.{name}", vmark, None, None)
                if rule is None:
                    continue
                if rule.value_type is None:
                    rule = dataclasses.replace(rule, value_type=_xsd_of(rule.type or "string"))
                if rule.type is None:
                    rule = dataclasses.replace(rule, type=_XSD_TYPE.get(rule.value_type or "", "string"))
                variables.append((name, rule))
        if time_rule is None:
            return None
        return SeriesRule(time_rule, window, max_records, tuple(variables), mark[0])

    def value_rule(self, doc: Any, rule_id: str, mark: tuple[int, int], spec: registry.ElementSpec | None,
                   template: registry.Template | None) -> ValueRule | None:
        """A value rule; ``spec`` (the template element) gives the type when the rule does not."""
        before = len(self.problems.items)
        if isinstance(doc, str):
            doc_map = _Map({"text": doc} if "{" in doc else {"field": doc})
            doc_map.mark = mark
            doc_map.marks = {k: mark for k in doc_map}
            doc = doc_map
        if not isinstance(doc, _Map):
            self.fail(mark, f"{rule_id}: expected a field name, a text template or a mapping")
            return None
        self.keys(doc, ("field", "const", "text", "texts", "range", "type", "format", "decimal", "thousands",
                        "nozeros", "map", "default", "required", "unit", "scale", "lang", "timezone", "value_type",
                        "semantic_id"), rule_id)
        kinds = [k for k in ("field", "const", "text", "texts", "range") if k in doc]
        if len(kinds) != 1:
            self.fail(doc.mark, f"{rule_id}: give exactly one of field, const, text, texts, range"
                      + (f" (found {', '.join(kinds)})" if kinds else ""))
            return None
        kind = kinds[0]
        options: dict[str, Any] = {"rule": rule_id, "line": doc.mark[0], "kind": kind}
        free = spec is not None and spec.model_type == "SubmodelElement"
        model_type = spec.model_type if spec is not None and not free else None
        if kind == "field":
            if not isinstance(doc["field"], str) or not doc["field"]:
                self.fail(_at(doc, "field"), f"{rule_id}: field must be a field name")
            options["field"] = str(doc["field"])
        elif kind == "const":
            options["const"] = _plain(doc["const"])
        elif kind == "text":
            options["text"] = self.text_template(doc["text"], _at(doc, "text"), f"{rule_id}.text")
        elif kind == "texts":
            self.texts_option(doc["texts"], rule_id, _at(doc, "texts"), options)
        else:
            pair = doc["range"]
            if not isinstance(pair, _Map) or set(pair) != {"min", "max"}:
                self.fail(_at(doc, "range"), f"{rule_id}: range must be {{min: rule, max: rule}}")
            else:
                low = self.value_rule(pair["min"], f"{rule_id}.min", _at(pair, "min"), None, None)
                high = self.value_rule(pair["max"], f"{rule_id}.max", _at(pair, "max"), None, None)
                if low is not None and high is not None:
                    value_type = spec.value_type if spec is not None else None
                    options["range"] = tuple(self.typed(r, value_type) for r in (low, high))
        value_type = doc.get("value_type")
        if value_type is not None and value_type not in datatypes.XSD_TYPE_CLASSES:
            self.fail(_at(doc, "value_type"), f"{rule_id}: unknown value_type {value_type!r} (xs:string, ...)")
        if free:
            if kind != "texts" and not (kind == "const" and isinstance(options.get("const"), dict)) \
                    and value_type is None and "lang" not in doc:
                self.fail(doc.mark, f"{rule_id}: the template leaves this element free: give value_type "
                                    "(and semantic_id)")
            if "semantic_id" in doc:
                options["semantic_id"] = str(doc["semantic_id"])
            options["value_type"] = value_type
        elif value_type is not None or "semantic_id" in doc:
            if spec is not None:
                self.fail(doc.mark, f"{rule_id}: value_type and semantic_id come from the template here")
            else:
                options["value_type"] = value_type
                options["semantic_id"] = str(doc["semantic_id"]) if "semantic_id" in doc else None
        self.conversion_options(doc, rule_id, options)
        if "type" not in options or options["type"] is None:
            options["type"] = self.inferred_type(spec, value_type, kind, options, doc)
        if model_type == "MultiLanguageProperty" and kind not in ("texts",) and "lang" not in options \
                and not (kind == "const" and isinstance(options.get("const"), dict)):
            self.fail(doc.mark, f"{rule_id}: a MultiLanguageProperty needs texts, a const {{lang: text}} or lang")
        if model_type == "Range" and kind not in ("range", "const"):
            self.fail(doc.mark, f"{rule_id}: a Range needs range: {{min: rule, max: rule}}")
        if model_type is not None and model_type != "Range" and kind == "range":
            self.fail(doc.mark, f"{rule_id}: range only fills a Range")
        options["model_type"] = model_type or ("MultiLanguageProperty" if kind == "texts" or "lang" in options
                                               else "Property")
        options["free"] = free
        if len(self.problems.items) > before:
            return None
        return ValueRule(**options)

    def typed(self, rule: ValueRule, value_type: str | None) -> ValueRule:
        if rule.type is None and value_type is not None:
            return dataclasses.replace(rule, type=_type_of(value_type))
        return rule

    def texts_option(self, texts: Any, rule_id: str, mark: tuple[int, int], options: dict[str, Any]) -> None:
        if not isinstance(texts, _Map) or not texts:
            self.fail(mark, f"{rule_id}: texts must map languages to fields, or be {{group, lang, text}}")
        elif "group" in texts:
            self.keys(texts, ("group", "lang", "text"), f"{rule_id}.texts", ("group", "lang", "text"))
            options["group"] = {k: str(v) for k, v in texts.items()}
        else:
            for lang in texts:
                if not re.fullmatch(r"[a-zA-Z]{2,3}(-[A-Za-z0-9]{2,8})*", lang):
                    self.fail(_at(texts, lang), f"{rule_id}: {lang!r} is no language tag (BCP 47)")
            options["texts"] = {k: str(v) for k, v in texts.items()}

    def conversion_options(self, doc: _Map, rule_id: str, options: dict[str, Any]) -> None:
        kind_type = doc.get("type")
        if kind_type is not None and kind_type not in TYPES:
            self.fail(_at(doc, "type"), f"{rule_id}: type must be one of {', '.join(TYPES)}, not {kind_type!r}")
        options["type"] = kind_type
        formats = doc.get("format")
        if formats is None:
            formats = self.defaults.get("datetime_format" if kind_type == "datetime" else "date_format")
        if formats is not None:
            formats = [formats] if isinstance(formats, str) else formats
            if not isinstance(formats, list) or not all(isinstance(f, str) and "%" in f for f in formats):
                self.fail(_at(doc, "format"), f"{rule_id}: format must be a strptime format (e.g. %d.%m.%Y) or a "
                                              "list of them")
            else:
                options["formats"] = tuple(formats)
        decimal_mark = doc.get("decimal", self.defaults.get("decimal", "."))
        if decimal_mark not in (".", ","):
            self.fail(_at(doc, "decimal"), f"{rule_id}: decimal must be \".\" or \",\"")
        options["decimal"] = decimal_mark
        thousands = doc.get("thousands", self.defaults.get("thousands"))
        if thousands is not None and (thousands not in (".", ",", " ", "'", "\u202f") or thousands == decimal_mark):
            self.fail(_at(doc, "thousands"), f"{rule_id}: thousands must be one of . , ' or a space, other than "
                                             "the decimal mark")
        options["thousands"] = thousands
        for flag in ("nozeros", "required"):
            if flag in doc:
                if not isinstance(doc[flag], bool):
                    self.fail(_at(doc, flag), f"{rule_id}: {flag} must be true or false")
                options[flag] = bool(doc[flag])
        if "map" in doc:
            if not isinstance(doc["map"], dict) or not doc["map"]:
                self.fail(_at(doc, "map"), f"{rule_id}: map must be a non-empty table of source value -> value")
            else:
                options["table"] = {str(k): _plain(v) for k, v in doc["map"].items()}
        if "default" in doc:
            options["default"] = _plain(doc["default"])
        if "lang" in doc:
            if not isinstance(doc["lang"], str) or not re.fullmatch(r"[a-zA-Z]{2,3}(-[A-Za-z0-9]{2,8})*", doc["lang"]):
                self.fail(_at(doc, "lang"), f"{rule_id}: lang must be a language tag such as de or en-US")
            options["lang"] = doc["lang"]
        timezone = doc.get("timezone", self.defaults.get("timezone", "UTC"))
        try:
            _zone(str(timezone))
        except ValueError as e:
            self.fail(_at(doc, "timezone"), f"{rule_id}: {e}")
        options["timezone"] = str(timezone)
        if "scale" in doc:
            try:
                options["scale"] = decimal.Decimal(str(doc["scale"]))
            except decimal.InvalidOperation:
                self.fail(_at(doc, "scale"), f"{rule_id}: scale must be a number")
        if "unit" in doc:
            self.unit_option(doc["unit"], rule_id, _at(doc, "unit"), options)

    def unit_option(self, unit: Any, rule_id: str, mark: tuple[int, int], options: dict[str, Any]) -> None:
        if not isinstance(unit, _Map) or "to" not in unit or len({"from", "from_field"} & set(unit)) != 1:
            self.fail(mark, f"{rule_id}: unit must be {{from: UNIT, to: UNIT}} or {{from_field: FIELD, to: UNIT}}")
            return
        self.keys(unit, ("from", "from_field", "to"), f"{rule_id}.unit")
        to = str(unit["to"])
        if to not in UNITS:
            self.fail(_at(unit, "to"), f"{rule_id}: unknown unit {to!r} (known: {', '.join(sorted(UNITS))})")
            return
        options["unit_to"] = to
        if "from" in unit:
            source = str(unit["from"])
            if source not in UNITS:
                self.fail(_at(unit, "from"), f"{rule_id}: unknown unit {source!r}")
            elif UNITS[source][0] != UNITS[to][0]:
                self.fail(_at(unit, "from"), f"{rule_id}: cannot convert {UNITS[source][0]} ({source}) into "
                                             f"{UNITS[to][0]} ({to})")
            options["unit_from"] = source
        else:
            options["unit_from_field"] = str(unit["from_field"])

    def inferred_type(self, spec: registry.ElementSpec | None, value_type: Any, kind: str,
                      options: dict[str, Any], doc: _Map) -> str | None:
        if kind in ("texts", "range") or "lang" in options:
            return None
        if spec is not None and spec.model_type in ("Property", "Range") and spec.value_type:
            return _type_of(spec.value_type)
        if value_type:
            return _type_of(str(value_type))
        if kind == "const":
            return None
        return "string" if spec is not None else None


def _point(rule: SeriesRule, record: Record) -> SeriesPoint:
    errors: list[FieldError] = []
    time = None
    try:
        time = value_of(rule.time, record)
    except FieldError as e:
        errors.append(e)
    values = []
    for name, variable in rule.variables:
        try:
            value = value_of(variable, record)
        except FieldError as e:
            errors.append(e)
            continue
        if value is not None:
            values.append((name, value))
    if errors or not isinstance(time, datetime.datetime):
        if not errors:
            errors.append(FieldError(rule.time.field, "missing time", rule.time.rule, record.where(rule.time.field)))
        raise RecordError(errors)
    return SeriesPoint(time, tuple(values), record.position)


def _free_element(value: Value) -> model.SubmodelElement:
    """An SDK element for a path the template leaves free (``{arbitrary}``)."""
    rule = value.rule
    id_short = value.path.rsplit(".", 1)[-1]
    semantic_id = model.ExternalReference((model.Key(model.KeyTypes.GLOBAL_REFERENCE, rule.semantic_id),)) \
        if rule.semantic_id else None
    if isinstance(value.value, dict):
        return model.MultiLanguageProperty(id_short, model.MultiLanguageTextType(value.value), semantic_id=semantic_id)
    value_type = datatypes.XSD_TYPE_CLASSES[rule.value_type or "xs:string"]
    return model.Property(id_short, value_type, registry.to_xsd_value(value.value, rule.value_type or "xs:string"),
                          semantic_id=semantic_id)


def describe(mapping: Mapping) -> Iterator[str]:
    """One line per rule (the CLI's ``--explain``)."""
    yield f"{mapping.name} ({mapping.adapter}) from {mapping.file}"
    for rule in mapping.submodels:
        yield f"  {rule.label}: {rule.template.name} -> {rule.id.source}"
        for path, value_rule in rule.elements:
            yield f"    {path} <- {value_rule.kind} {', '.join(value_rule.fields) or value_rule.const!r}"
