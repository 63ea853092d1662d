"""Reading and validating mapping files: every problem is reported with its line and column."""
from __future__ import annotations

import dataclasses
import hashlib
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

from submodels import templates as registry

from .conversions import (
    _ID_SHORT,
    _WINDOW,
    _WINDOW_SECONDS,
    _XSD_TYPE,
    TextTemplate,
    ValueRule,
    _xsd_of,
)
from .mapping_rules import (
    ADAPTERS,
    MODES,
    ChangeFlag,
    Mapping,
    SeriesRule,
    ShellRule,
    SubmodelRule,
)
from .mapping_values import ValueRules
from .mapping_yaml import (
    Problems,
    YamlMap,
    YamlSeq,
    build_marked,
    mark_at,
)


class MappingError(ValueError):
    """An invalid mapping file; ``problems`` are ``(line, column, message)``, 1-based, in file order."""

    def __init__(self, file: str, problems: list[tuple[int, int, str]]) -> None:
        self.file = file
        self.problems = sorted(problems)
        super().__init__("\n".join(f"{file}:{line}:{column}: {message}" for line, column, message in self.problems))



def load(path: str | Path, templates: Callable[[str], registry.Template] = registry.get_template) -> Mapping:
    """Read and validate a mapping file. :raises MappingError: listing every problem with line and column"""
    text, checksum = read_mapping(Path(path))
    return parse(text, str(path), templates, checksum=checksum)


def read_mapping(path: Path) -> tuple[str, str]:
    """The text of a mapping file (BOM dropped) and the checksum of its bytes. :raises MappingError: unreadable"""
    try:
        data = path.read_bytes()
    except OSError as e:
        raise MappingError(str(path), [(0, 0, f"cannot read the mapping: {e.strerror}")]) from e
    return data.decode("utf-8-sig", errors="replace"), _checksum(data)


def parse(text: str, file: str = "<mapping>", templates: Callable[[str], registry.Template] = registry.get_template,
          checksum: str | None = None) -> Mapping:
    """Validate mapping text (see :func:`load`)."""
    return build_marked(text, file, MappingError, "a mapping file holds a YAML mapping (version, adapter, shell, ...)",
                        lambda doc, problems: _Builder(problems, templates).mapping(
                            doc, file, checksum or _checksum(text.encode("utf-8"))))


def _checksum(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


class _Builder(ValueRules):
    """Validates the YAML document and builds the model; every problem is recorded, none stops the walk."""

    def __init__(self, problems: Problems, templates: Callable[[str], registry.Template]) -> None:
        super().__init__(problems)
        self.templates = templates


    def mapping(self, doc: YamlMap, file: str, checksum: str) -> Mapping | None:
        self.keys(doc, ("version", "name", "description", "adapter", "source", "defaults", "source_time",
                        "change_flag", "shell", "submodels"), "mapping", ("version", "adapter", "shell", "submodels"))
        if "version" in doc and doc["version"] != 1:
            self.fail(mark_at(doc, "version"), f"unsupported version {doc['version']!r} (this reader knows 1)")
        adapter = doc.get("adapter")
        if "adapter" in doc and adapter not in ADAPTERS:
            self.fail(mark_at(doc, "adapter"), f"adapter must be one of {', '.join(ADAPTERS)}, not {adapter!r}")
        source = doc.get("source", YamlMap())
        if not isinstance(source, YamlMap):
            self.fail(mark_at(doc, "source"), "source must be a mapping of adapter options")
            source = YamlMap()
        elif adapter in ADAPTERS:
            self.source_options(source, str(adapter))
        defaults = doc.get("defaults", YamlMap())
        if isinstance(defaults, YamlMap):
            self.keys(defaults, ("decimal", "thousands", "date_format", "datetime_format", "timezone"), "defaults")
            self.defaults = dict(defaults)
        else:
            self.fail(mark_at(doc, "defaults"), "defaults must be a mapping")
        name = doc.get("name") or Path(file).stem
        shell = self.shell(doc["shell"], mark_at(doc, "shell")) if "shell" in doc else None
        submodels: list[SubmodelRule] = []
        items = doc.get("submodels")
        if "submodels" in doc and (not isinstance(items, YamlSeq) or not items):
            self.fail(mark_at(doc, "submodels"), "submodels must be a non-empty list")
        elif isinstance(items, YamlSeq):
            for i, item in enumerate(items):
                built = self.submodel(item, i, mark_at(items, i))
                if built is not None:
                    submodels.append(built)
            self.unique_submodels(submodels)
        change_flag = self.change_flag(doc["change_flag"], mark_at(doc, "change_flag")) if "change_flag" in doc else None
        source_time = None
        if "source_time" in doc:
            source_time = self.value_rule(doc["source_time"], "source_time", mark_at(doc, "source_time"))
        if shell is None or self.problems.items:
            return None
        return Mapping(str(name), file, checksum, str(adapter), dict(source), shell, tuple(submodels), change_flag,
                       source_time)

    def source_options(self, source: YamlMap, adapter: str) -> None:
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
                self.fail(mark_at(source, "encoding"), f"unknown encoding {source['encoding']!r}")
        if "delimiter" in source and source["delimiter"] != "auto" and len(str(source["delimiter"])) != 1:
            self.fail(mark_at(source, "delimiter"), "delimiter must be one character or auto")
        if "quote" in source and len(str(source["quote"])) != 1:
            self.fail(mark_at(source, "quote"), "quote must be one character")
        if source.get("header") is False and not isinstance(source.get("columns"), list):
            self.fail(source.mark, "header: false needs columns (the field names)")
        if "rename" in source and not isinstance(source["rename"], dict):
            self.fail(mark_at(source, "rename"), "rename must map header names to field names")


    def shell(self, doc: Any, mark: tuple[int, int]) -> ShellRule | None:
        if not isinstance(doc, YamlMap):
            self.fail(mark, "shell must be a mapping")
            return None
        self.keys(doc, ("id", "global_asset_id", "id_short", "asset_kind", "asset_type", "specific_asset_ids"),
                  "shell", ("id", "global_asset_id"))
        shell_id = self.text_template(doc.get("id"), mark_at(doc, "id"), "shell.id") if "id" in doc else None
        gai = doc.get("global_asset_id")
        global_asset_id = self.text_template(gai, mark_at(doc, "global_asset_id"), "shell.global_asset_id") \
            if "global_asset_id" in doc else None
        id_short = self.text_template(doc["id_short"], mark_at(doc, "id_short"), "shell.id_short") \
            if "id_short" in doc else None
        asset_type = self.text_template(doc["asset_type"], mark_at(doc, "asset_type"), "shell.asset_type") \
            if "asset_type" in doc else None
        kind = doc.get("asset_kind", "Instance")
        if kind not in ("Instance", "Type", "NotApplicable"):
            self.fail(mark_at(doc, "asset_kind"), f"asset_kind must be Instance, Type or NotApplicable, not {kind!r}")
        specific: list[tuple[str, TextTemplate]] = []
        ids = doc.get("specific_asset_ids", YamlMap())
        if not isinstance(ids, YamlMap):
            self.fail(mark_at(doc, "specific_asset_ids"), "specific_asset_ids must map names to text templates")
        else:
            for name, value in ids.items():
                template = self.text_template(value, mark_at(ids, name), f"specific_asset_ids.{name}")
                if template is not None:
                    specific.append((name, template))
        if shell_id is None or global_asset_id is None:
            return None
        return ShellRule(shell_id, global_asset_id, id_short, str(kind), asset_type, tuple(specific), doc.mark[0])

    def change_flag(self, doc: Any, mark: tuple[int, int]) -> ChangeFlag | None:
        if not isinstance(doc, YamlMap):
            self.fail(mark, "change_flag must be a mapping {field, replace, change, delete, default}")
            return None
        self.keys(doc, ("field", "replace", "change", "delete", "default"), "change_flag", ("field",))
        modes: dict[str, str] = {}
        for mode in MODES:
            values = doc.get(mode, [])
            if not isinstance(values, list):
                self.fail(mark_at(doc, mode), f"change_flag.{mode} must be a list of flag values")
                continue
            for value in values:
                if str(value) in modes:
                    self.fail(mark_at(doc, mode), f"flag value {value!r} is given for two modes")
                modes[str(value)] = mode
        default = doc.get("default", "replace")
        if default not in MODES:
            self.fail(mark_at(doc, "default"), f"change_flag.default must be one of {', '.join(MODES)}")
        return ChangeFlag(str(doc.get("field")), modes, str(default), mark[0])

    def template(self, value: Any, mark: tuple[int, int]) -> registry.Template | None:
        if isinstance(value, str):
            try:
                return self.templates(value)
            except ValueError as e:
                self.fail(mark, str(e))
                return None
        if not isinstance(value, YamlMap):
            self.fail(mark, "template must be a registry name or an inline template mapping")
            return None
        return self.inline_template(value)

    def inline_template(self, doc: YamlMap) -> registry.Template | None:
        self.keys(doc, ("name", "semantic_id", "id_short", "version", "elements"), "template",
                  ("name", "semantic_id", "id_short", "elements"))
        specs: list[registry.ElementSpec] = []
        elements = doc.get("elements")
        if not isinstance(elements, YamlMap):
            self.fail(mark_at(doc, "elements"), "template.elements must map idShortPaths to element specs")
            return None
        for path, spec in elements.items():
            mark = mark_at(elements, path)
            if not isinstance(spec, YamlMap):
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
        if not isinstance(doc, YamlMap):
            self.fail(mark, f"{where} must be a mapping with template, id and elements")
            return None
        self.keys(doc, ("template", "id", "id_short", "elements", "time_series"), where, ("template", "id"))
        template = self.template(doc["template"], mark_at(doc, "template")) if "template" in doc else None
        sm_id = self.text_template(doc["id"], mark_at(doc, "id"), f"{where}.id") if "id" in doc else None
        id_short = doc.get("id_short")
        if id_short is not None and not _ID_SHORT.fullmatch(str(id_short)):
            self.fail(mark_at(doc, "id_short"), f"{where}.id_short {id_short!r} is no valid idShort")
        elements: list[tuple[str, ValueRule]] = []
        raw = doc.get("elements", YamlMap())
        if not isinstance(raw, YamlMap):
            self.fail(mark_at(doc, "elements"), f"{where}.elements must map idShortPaths to value rules")
        elif template is not None:
            for path, rule_doc in raw.items():
                rule = self.element(template, str(path), rule_doc, f"{where}.elements.{path}", mark_at(raw, path))
                if rule is not None:
                    elements.append((str(path), rule))
        series = None
        if "time_series" in doc:
            if template is not None and template.name != "time_series":
                self.fail(mark_at(doc, "time_series"), f"{where}: time_series needs template time_series")
            series = self.series(doc["time_series"], f"{where}.time_series", mark_at(doc, "time_series"))
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
        return self.value_rule(doc, rule_id, mark, spec)

    def series(self, doc: Any, where: str, mark: tuple[int, int]) -> SeriesRule | None:
        if not isinstance(doc, YamlMap):
            self.fail(mark, f"{where} must be a mapping with time, window and variables")
            return None
        self.keys(doc, ("time", "window", "max_records", "variables"), where, ("time", "variables"))
        time_rule = self.value_rule(doc["time"], f"{where}.time", mark_at(doc, "time")) \
            if "time" in doc else None
        if time_rule is not None and (time_rule.type or "datetime") != "datetime":
            self.fail(mark_at(doc, "time"), f"{where}.time must give a datetime")
        if time_rule is not None:
            time_rule = dataclasses.replace(time_rule, type="datetime", required=True)
        window = 3600
        if "window" in doc:
            match = _WINDOW.fullmatch(str(doc["window"]).strip())
            if not match or int(match[1]) == 0:
                self.fail(mark_at(doc, "window"), f"{where}.window must look like 30s, 15min, 1h or 1d")
            else:
                window = int(match[1]) * _WINDOW_SECONDS[match[2]]
                if 86400 % window and window % 86400:
                    self.fail(mark_at(doc, "window"), f"{where}.window must divide a day (or be whole days)")
        max_records = doc.get("max_records", 10000)
        if not isinstance(max_records, int) or isinstance(max_records, bool) or not 1 <= max_records <= 100000:
            self.fail(mark_at(doc, "max_records"), f"{where}.max_records must be an integer from 1 to 100000")
            max_records = 10000
        variables: list[tuple[str, ValueRule]] = []
        raw = doc.get("variables")
        if not isinstance(raw, YamlMap) or not raw:
            self.fail(mark_at(doc, "variables"), f"{where}.variables must map variable idShorts to value rules")
        else:
            for name, rule_doc in raw.items():
                vmark = mark_at(raw, name)
                if name == "Time" or not _ID_SHORT.fullmatch(name):
                    self.fail(vmark, f"{where}.variables: {name!r} is no valid variable idShort (nor 'Time')")
                    continue
                rule = self.value_rule(rule_doc, f"{where}.variables.{name}", vmark)
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

