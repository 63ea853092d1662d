"""Validating one value rule (an element's, a series variable's, the source time) of a mapping file."""
from __future__ import annotations

import dataclasses
import decimal
import re
from collections.abc import Sequence
from typing import Any

from basyx.aas.model import datatypes

from submodels import templates as registry

from .conversions import (
    TYPES,
    UNITS,
    TextTemplate,
    ValueRule,
    _plain,
    _type_of,
    _zone,
    parse_template,
)
from .mapping_yaml import Problems, YamlMap, mark_at


class ValueRules:
    """Checks value rules against the template; every problem is recorded, none stops the walk."""

    def __init__(self, problems: Problems) -> None:
        self.problems = problems
        self.defaults: dict[str, Any] = {}

    def fail(self, mark: tuple[int, int], message: str) -> None:
        self.problems.add(mark, message)

    def keys(self, doc: YamlMap, allowed: Sequence[str], where: str, required: Sequence[str] = ()) -> None:
        self.problems.check_keys(doc, allowed, where, required)

    def text_template(self, value: Any, mark: tuple[int, int], what: str) -> TextTemplate | None:
        if not isinstance(value, (str, int)) or isinstance(value, bool):
            self.fail(mark, f"{what} must be a text template such as \"urn:x:{{FIELD}}\"")
            return None
        try:
            return parse_template(str(value))
        except ValueError as e:
            self.fail(mark, f"{what}: {e}")
            return None

    def value_rule(self, doc: Any, rule_id: str, mark: tuple[int, int],
                   spec: registry.ElementSpec | None = None) -> ValueRule | None:
        """A value rule; ``spec`` (the template element) gives the type when the rule does not."""
        before = len(self.problems.items)
        if isinstance(doc, str):
            doc_map = YamlMap({"text": doc} if "{" in doc else {"field": doc})
            doc_map.mark = mark
            doc_map.marks = {k: mark for k in doc_map}
            doc = doc_map
        if not isinstance(doc, YamlMap):
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
                self.fail(mark_at(doc, "field"), f"{rule_id}: field must be a field name")
            options["field"] = str(doc["field"])
        elif kind == "const":
            options["const"] = _plain(doc["const"])
        elif kind == "text":
            options["text"] = self.text_template(doc["text"], mark_at(doc, "text"), f"{rule_id}.text")
        elif kind == "texts":
            self.texts_option(doc["texts"], rule_id, mark_at(doc, "texts"), options)
        else:
            pair = doc["range"]
            if not isinstance(pair, YamlMap) or set(pair) != {"min", "max"}:
                self.fail(mark_at(doc, "range"), f"{rule_id}: range must be {{min: rule, max: rule}}")
            else:
                low = self.value_rule(pair["min"], f"{rule_id}.min", mark_at(pair, "min"))
                high = self.value_rule(pair["max"], f"{rule_id}.max", mark_at(pair, "max"))
                if low is not None and high is not None:
                    value_type = spec.value_type if spec is not None else None
                    options["range"] = tuple(self.typed(r, value_type) for r in (low, high))
        value_type = doc.get("value_type")
        if value_type is not None and value_type not in datatypes.XSD_TYPE_CLASSES:
            self.fail(mark_at(doc, "value_type"), f"{rule_id}: unknown value_type {value_type!r} (xs:string, ...)")
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
        if not isinstance(texts, YamlMap) or not texts:
            self.fail(mark, f"{rule_id}: texts must map languages to fields, or be {{group, lang, text}}")
        elif "group" in texts:
            self.keys(texts, ("group", "lang", "text"), f"{rule_id}.texts", ("group", "lang", "text"))
            options["group"] = {k: str(v) for k, v in texts.items()}
        else:
            for lang in texts:
                if not re.fullmatch(r"[a-zA-Z]{2,3}(-[A-Za-z0-9]{2,8})*", lang):
                    self.fail(mark_at(texts, lang), f"{rule_id}: {lang!r} is no language tag (BCP 47)")
            options["texts"] = {k: str(v) for k, v in texts.items()}

    def conversion_options(self, doc: YamlMap, rule_id: str, options: dict[str, Any]) -> None:
        kind_type = doc.get("type")
        if kind_type is not None and kind_type not in TYPES:
            self.fail(mark_at(doc, "type"), f"{rule_id}: type must be one of {', '.join(TYPES)}, not {kind_type!r}")
        options["type"] = kind_type
        formats = doc.get("format")
        if formats is None:
            formats = self.defaults.get("datetime_format" if kind_type == "datetime" else "date_format")
        if formats is not None:
            formats = [formats] if isinstance(formats, str) else formats
            if not isinstance(formats, list) or not all(isinstance(f, str) and "%" in f for f in formats):
                self.fail(mark_at(doc, "format"), f"{rule_id}: format must be a strptime format (e.g. %d.%m.%Y) or a "
                                              "list of them")
            else:
                options["formats"] = tuple(formats)
        decimal_mark = doc.get("decimal", self.defaults.get("decimal", "."))
        if decimal_mark not in (".", ","):
            self.fail(mark_at(doc, "decimal"), f"{rule_id}: decimal must be \".\" or \",\"")
        options["decimal"] = decimal_mark
        thousands = doc.get("thousands", self.defaults.get("thousands"))
        if thousands is not None and (thousands not in (".", ",", " ", "'", "\u202f") or thousands == decimal_mark):
            self.fail(mark_at(doc, "thousands"), f"{rule_id}: thousands must be one of . , ' or a space, other than "
                                             "the decimal mark")
        options["thousands"] = thousands
        for flag in ("nozeros", "required"):
            if flag in doc:
                if not isinstance(doc[flag], bool):
                    self.fail(mark_at(doc, flag), f"{rule_id}: {flag} must be true or false")
                options[flag] = bool(doc[flag])
        if "map" in doc:
            if not isinstance(doc["map"], dict) or not doc["map"]:
                self.fail(mark_at(doc, "map"), f"{rule_id}: map must be a non-empty table of source value -> value")
            else:
                options["table"] = {str(k): _plain(v) for k, v in doc["map"].items()}
        if "default" in doc:
            options["default"] = _plain(doc["default"])
        if "lang" in doc:
            if not isinstance(doc["lang"], str) or not re.fullmatch(r"[a-zA-Z]{2,3}(-[A-Za-z0-9]{2,8})*", doc["lang"]):
                self.fail(mark_at(doc, "lang"), f"{rule_id}: lang must be a language tag such as de or en-US")
            options["lang"] = doc["lang"]
        timezone = doc.get("timezone", self.defaults.get("timezone", "UTC"))
        try:
            _zone(str(timezone))
        except ValueError as e:
            self.fail(mark_at(doc, "timezone"), f"{rule_id}: {e}")
        options["timezone"] = str(timezone)
        if "scale" in doc:
            try:
                options["scale"] = decimal.Decimal(str(doc["scale"]))
            except decimal.InvalidOperation:
                self.fail(mark_at(doc, "scale"), f"{rule_id}: scale must be a number")
        if "unit" in doc:
            self.unit_option(doc["unit"], rule_id, mark_at(doc, "unit"), options)

    def unit_option(self, unit: Any, rule_id: str, mark: tuple[int, int], options: dict[str, Any]) -> None:
        if not isinstance(unit, YamlMap) or "to" not in unit or len({"from", "from_field"} & set(unit)) != 1:
            self.fail(mark, f"{rule_id}: unit must be {{from: UNIT, to: UNIT}} or {{from_field: FIELD, to: UNIT}}")
            return
        self.keys(unit, ("from", "from_field", "to"), f"{rule_id}.unit")
        to = str(unit["to"])
        if to not in UNITS:
            self.fail(mark_at(unit, "to"), f"{rule_id}: unknown unit {to!r} (known: {', '.join(sorted(UNITS))})")
            return
        options["unit_to"] = to
        if "from" in unit:
            source = str(unit["from"])
            if source not in UNITS:
                self.fail(mark_at(unit, "from"), f"{rule_id}: unknown unit {source!r}")
            elif UNITS[source][0] != UNITS[to][0]:
                self.fail(mark_at(unit, "from"), f"{rule_id}: cannot convert {UNITS[source][0]} ({source}) into "
                                             f"{UNITS[to][0]} ({to})")
            options["unit_from"] = source
        else:
            options["unit_from_field"] = str(unit["from_field"])

    def inferred_type(self, spec: registry.ElementSpec | None, value_type: Any, kind: str,
                      options: dict[str, Any], doc: YamlMap) -> str | None:
        if kind in ("texts", "range") or "lang" in options:
            return None
        if spec is not None and spec.model_type in ("Property", "Range") and spec.value_type:
            return _type_of(spec.value_type)
        if value_type:
            return _type_of(str(value_type))
        if kind == "const":
            return None
        return "string" if spec is not None else None


