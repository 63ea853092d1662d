"""The IDTA-01004 access rule model in its JSON form, checked and resolved into :class:`Rule` objects.

The checks follow the official JSON Schema (``AllAccessPermissionRules`` in
admin-shell-io/aas-specs-security, ``aas-queries-and-access-rules-schema.json``): required and exclusive keys, no
unknown keys, rights and global attribute enums, identifier patterns; plus what a schema cannot say: every USE*
reference names a definition, definitions do not refer to themselves in a cycle, and ``ACCESS: DENY`` is refused
(the model has no deny rules). Each failure names the JSON path below the document; the loader adds the line.
"""
from __future__ import annotations

import dataclasses
import re
from typing import Any

from .access_rules_formula import (
    Compiled,
    FieldRef,
    FormulaError,
    Node,
    claim_paths_of,
    compile_expression,
    fields_of,
    parse_expression,
    parse_field,
    parse_path_pattern,
)

Where = tuple[str | int, ...]
RIGHTS = ("CREATE", "READ", "UPDATE", "DELETE", "EXECUTE", "VIEW")
GLOBALS = ("LOCALNOW", "UTCNOW", "CLIENTNOW", "ANONYMOUS")
_IDENTIFIABLE = re.compile(r'\$(aas|sm|cd)\("([^"]+)"\)')
_DESCRIPTOR = re.compile(r'\$(aasdesc|smdesc)\("([^"]+)"\)', re.IGNORECASE)
_REFERABLE = re.compile(r'\$sme\("([^"]+)"\)\.(.+)')
_ROUTE_PREFIX = re.compile(r"^.*?/api/v3\.\d+(?=/|$)")


class ModelError(ValueError):
    def __init__(self, message: str, where: Where) -> None:
        super().__init__(message)
        self.message = message
        self.where = where


@dataclasses.dataclass(frozen=True)
class ObjectRef:
    """One entry of OBJECTS: what a rule grants access to."""

    kind: str  # ROUTE | IDENTIFIABLE | REFERABLE | FRAGMENT | DESCRIPTOR
    text: str
    root: str | None = None  # aas sm cd (IDENTIFIABLE), sm (REFERABLE), aasdesc smdesc (DESCRIPTOR), field root
    identifier: str | None = None  # None: every one ("*")
    route: re.Pattern[str] | None = None
    path: tuple[Any, ...] | None = None  # idShortPath pattern of REFERABLE / FRAGMENT $sme.<path>
    fragment: FieldRef | None = None


@dataclasses.dataclass(frozen=True)
class Acl:
    attributes: tuple[tuple[str, str], ...]  # (CLAIM|CLAIMPATH|GLOBAL|REFERENCE, value)
    rights: frozenset[str]
    enabled: bool


@dataclasses.dataclass(frozen=True)
class Filter:
    fragment: FieldRef
    condition: Node
    evaluate: Compiled


@dataclasses.dataclass(frozen=True)
class Rule:
    number: int  # index in ``rules``
    acl: Acl
    objects: tuple[ObjectRef, ...]
    formula: Node
    evaluate: Compiled
    filters: tuple[Filter, ...]

    @property
    def claim_paths(self) -> set[str]:
        """The CLAIMPATH pointers the rule reads (in its ACL, formula or filters)."""
        paths = {value for kind, value in self.acl.attributes if kind == "CLAIMPATH"}
        paths.update(claim_paths_of(self.formula))
        for flt in self.filters:
            paths.update(claim_paths_of(flt.condition))
        return paths

    @property
    def reads_elements(self) -> bool:
        """The formula reads ``$sme`` fields: its value can differ per element."""
        return any(ref.root == "sme" for ref in fields_of(self.formula))


def normalize_route(path: str) -> str:
    """A request path as ROUTE literals see it: no port prefix, no ``/api/v3.x``, no query, no trailing slash."""
    path = path.split("?", 1)[0]
    path = _ROUTE_PREFIX.sub("", path, count=1) or "/"
    return path[:-1] if len(path) > 1 and path.endswith("/") else path


def compile_route(literal: str) -> re.Pattern[str]:
    """``*`` all routes; a trailing ``*`` any suffix; ``*`` inside one path segment (e.g. an encoded id)."""
    if literal == "*":
        return re.compile(r".*", re.DOTALL)
    body, tail = (literal[:-1], ".*") if literal.endswith("*") else (literal, "")
    return re.compile("[^/]+".join(re.escape(part) for part in body.split("*")) + tail, re.DOTALL)


def _expect(condition: bool, message: str, where: Where) -> None:
    if not condition:
        raise ModelError(message, where)


def _keys(obj: Any, where: Where, allowed: set[str], what: str) -> dict[str, Any]:
    _expect(isinstance(obj, dict), f"{what} must be an object", where)
    unknown = sorted(set(obj) - allowed)
    if unknown:
        raise ModelError(f"unknown key {unknown[0]!r} in {what} (allowed: {', '.join(sorted(allowed))})",
                         (*where, unknown[0]))
    return obj  # type: ignore[no-any-return]


def _one_of(obj: dict[str, Any], names: tuple[str, ...], where: Where, what: str, required: bool = True) -> str | None:
    present = [n for n in names if n in obj]
    _expect(len(present) <= 1, f"{what} takes only one of {' / '.join(names)}", (*where, present[-1]) if present
            else where)
    _expect(bool(present) or not required, f"{what} needs one of {' / '.join(names)}", where)
    return present[0] if present else None


def _string_list(value: Any, where: Where, what: str) -> list[str]:
    if isinstance(value, str):  # USEATTRIBUTES is a string in the schema's ACL, an array in DEFATTRIBUTES
        return [value]
    _expect(isinstance(value, list) and all(isinstance(v, str) for v in value), f"{what} must be an array of names",
            where)
    return value  # type: ignore[no-any-return]


class _Builder:
    def __init__(self, doc: Any) -> None:
        root = _keys(doc, (), {"AllAccessPermissionRules", "ResourceBoundAccessRuleModels"}, "the document")
        _expect("ResourceBoundAccessRuleModels" not in root,
                "ResourceBoundAccessRuleModels (IDTA-01004 v3.2 draft) are not supported; use AllAccessPermissionRules",
                ("ResourceBoundAccessRuleModels",))
        _expect("AllAccessPermissionRules" in root, "the document needs AllAccessPermissionRules", ())
        self.where: Where = ("AllAccessPermissionRules",)
        self.model = _keys(root["AllAccessPermissionRules"], self.where,
                           {"DEFATTRIBUTES", "DEFACLS", "DEFOBJECTS", "DEFFORMULAS", "rules"}, "AllAccessPermissionRules")
        _expect("rules" in self.model, "AllAccessPermissionRules needs rules", self.where)
        self.defs: dict[str, dict[str, tuple[Where, Any]]] = {}
        for section in ("DEFATTRIBUTES", "DEFACLS", "DEFOBJECTS", "DEFFORMULAS"):
            entries = self.model.get(section, [])
            here = (*self.where, section)
            _expect(isinstance(entries, list), f"{section} must be an array", here)
            named: dict[str, tuple[Where, Any]] = {}
            for i, entry in enumerate(entries):
                _expect(isinstance(entry, dict) and isinstance(entry.get("name"), str) and entry["name"],
                        f"{section} entries need a name", (*here, i))
                _expect(entry["name"] not in named, f"{section} {entry['name']!r} is defined twice", (*here, i, "name"))
                named[entry["name"]] = ((*here, i), entry)
            self.defs[section] = named
        self.resolving: set[tuple[str, str]] = set()

    def _use(self, section: str, name: str, where: Where) -> tuple[Where, Any]:
        _expect(name in self.defs[section], f"{section} has no entry {name!r}", where)
        key = (section, name)
        _expect(key not in self.resolving, f"{section} {name!r} refers to itself", where)
        return self.defs[section][name]

    def attribute(self, item: Any, where: Where) -> tuple[str, str]:
        obj = _keys(item, where, {"CLAIM", "CLAIMPATH", "GLOBAL", "REFERENCE"}, "an attribute")
        kind = _one_of(obj, ("CLAIM", "CLAIMPATH", "GLOBAL", "REFERENCE"), where, "an attribute")
        assert kind is not None
        value = obj[kind]
        _expect(isinstance(value, str) and bool(value), f"{kind} takes a non-empty string", (*where, kind))
        if kind == "CLAIMPATH":
            _expect(value.startswith("/"), "CLAIMPATH takes a JSON pointer (\"/realm_access/roles\")", (*where, kind))
        if kind == "GLOBAL":
            _expect(value in GLOBALS, f"GLOBAL must be one of {', '.join(GLOBALS)}", (*where, kind))
        return kind, value

    def attribute_group(self, name: str, where: Where) -> list[tuple[str, str]]:
        def_where, entry = self._use("DEFATTRIBUTES", name, where)
        _keys(entry, def_where, {"name", "attributes", "USEATTRIBUTES"}, "a DEFATTRIBUTES entry")
        _expect("attributes" in entry or "USEATTRIBUTES" in entry, "a DEFATTRIBUTES entry needs attributes",
                def_where)
        self.resolving.add(("DEFATTRIBUTES", name))
        try:
            return self.attributes(entry, def_where, "attributes")
        finally:
            self.resolving.discard(("DEFATTRIBUTES", name))

    def attributes(self, obj: dict[str, Any], where: Where, key: str) -> list[tuple[str, str]]:
        out: list[tuple[str, str]] = []
        items = obj.get(key, [])
        _expect(isinstance(items, list), f"{key} must be an array", (*where, key))
        out += [self.attribute(item, (*where, key, i)) for i, item in enumerate(items)]
        if "USEATTRIBUTES" in obj:
            names = _string_list(obj["USEATTRIBUTES"], (*where, "USEATTRIBUTES"), "USEATTRIBUTES")
            for i, name in enumerate(names):
                here = (*where, "USEATTRIBUTES") if isinstance(obj["USEATTRIBUTES"], str) else (
                    *where, "USEATTRIBUTES", i)
                out += self.attribute_group(name, here)
        return out

    def acl(self, obj: Any, where: Where) -> Acl:
        acl = _keys(obj, where, {"ATTRIBUTES", "USEATTRIBUTES", "RIGHTS", "ACCESS"}, "an ACL")
        _expect("ATTRIBUTES" in acl or "USEATTRIBUTES" in acl, "an ACL needs ATTRIBUTES or USEATTRIBUTES", where)
        _expect("RIGHTS" in acl, "an ACL needs RIGHTS", where)
        _expect("ACCESS" in acl, "an ACL needs ACCESS", where)
        access = acl["ACCESS"]
        _expect(access != "DENY", "ACCESS DENY is refused: the access rule model has no deny rules (default deny; "
                "grant with ALLOW only)", (*where, "ACCESS"))
        _expect(access in ("ALLOW", "DISABLED"), "ACCESS must be ALLOW or DISABLED", (*where, "ACCESS"))
        rights = acl["RIGHTS"]
        _expect(isinstance(rights, list) and bool(rights), "RIGHTS must be a non-empty array", (*where, "RIGHTS"))
        granted: set[str] = set()
        for i, right in enumerate(rights):
            _expect(right in (*RIGHTS, "ALL"), f"unknown right {right!r} (allowed: {', '.join(RIGHTS)}, ALL)",
                    (*where, "RIGHTS", i))
            granted |= set(RIGHTS) if right == "ALL" else {right}
        attributes = tuple(self.attributes(acl, where, "ATTRIBUTES"))
        return Acl(attributes, frozenset(granted), access == "ALLOW")

    def object_item(self, item: Any, where: Where) -> ObjectRef:
        obj = _keys(item, where, {"ROUTE", "IDENTIFIABLE", "REFERABLE", "FRAGMENT", "DESCRIPTOR"}, "an object")
        kind = _one_of(obj, ("ROUTE", "IDENTIFIABLE", "REFERABLE", "FRAGMENT", "DESCRIPTOR"), where, "an object")
        assert kind is not None
        text = obj[kind]
        here = (*where, kind)
        _expect(isinstance(text, str) and bool(text), f"{kind} takes a non-empty string", here)
        if kind == "ROUTE":
            _expect(text == "*" or text.startswith("/"), "ROUTE must be '*' or a path starting with '/'", here)
            return ObjectRef(kind, text, route=compile_route(text))
        if kind in ("IDENTIFIABLE", "DESCRIPTOR"):
            match = (_IDENTIFIABLE if kind == "IDENTIFIABLE" else _DESCRIPTOR).fullmatch(text)
            _expect(match is not None, f"{kind} must look like " + (
                '$aas("id"), $sm("id"), $cd("id") or with "*"' if kind == "IDENTIFIABLE"
                else '$aasdesc("id") or $smdesc("id") or with "*"'), here)
            assert match is not None
            identifier = match.group(2)
            return ObjectRef(kind, text, root=match.group(1).lower(), identifier=None if identifier == "*" else identifier)
        if kind == "REFERABLE":
            match = _REFERABLE.fullmatch(text)
            _expect(match is not None, 'REFERABLE must look like $sme("submodel id").idShortPath (or "*")', here)
            assert match is not None
            try:
                path = parse_path_pattern(match.group(2))
            except FormulaError as e:
                raise ModelError(e.message, here) from None
            identifier = match.group(1)
            return ObjectRef(kind, text, root="sm", identifier=None if identifier == "*" else identifier, path=path)
        try:
            ref = parse_field(text, fragment=True)
        except FormulaError as e:
            raise ModelError(e.message, here) from None
        return ObjectRef(kind, text, root=ref.root, path=ref.sme_steps if ref.root == "sme" else None, fragment=ref)

    def objects(self, obj: dict[str, Any], where: Where, key: str) -> list[ObjectRef]:
        out: list[ObjectRef] = []
        items = obj.get(key, [])
        _expect(isinstance(items, list), f"{key} must be an array", (*where, key))
        out += [self.object_item(item, (*where, key, i)) for i, item in enumerate(items)]
        for i, name in enumerate(_string_list(obj.get("USEOBJECTS", []), (*where, "USEOBJECTS"), "USEOBJECTS")):
            def_where, entry = self._use("DEFOBJECTS", name, (*where, "USEOBJECTS", i))
            _keys(entry, def_where, {"name", "objects", "USEOBJECTS"}, "a DEFOBJECTS entry")
            self.resolving.add(("DEFOBJECTS", name))
            try:
                out += self.objects(entry, def_where, "objects")
            finally:
                self.resolving.discard(("DEFOBJECTS", name))
        return out

    def formula(self, obj: dict[str, Any], where: Where, inline: str) -> Node:
        key = _one_of(obj, (inline, "USEFORMULA"), where, "a rule" if inline == "FORMULA" else "a FILTER")
        if key == inline:
            here, expression = (*where, inline), obj[inline]
        else:
            _expect(isinstance(obj["USEFORMULA"], str), "USEFORMULA takes a name", (*where, "USEFORMULA"))
            def_where, entry = self._use("DEFFORMULAS", obj["USEFORMULA"], (*where, "USEFORMULA"))
            _keys(entry, def_where, {"name", "formula"}, "a DEFFORMULAS entry")
            _expect("formula" in entry, "a DEFFORMULAS entry needs a formula", def_where)
            here, expression = (*def_where, "formula"), entry["formula"]
        try:
            return parse_expression(expression)
        except FormulaError as e:
            raise ModelError(e.message, (*here, *e.where)) from None

    def filter(self, obj: Any, where: Where) -> Filter:
        spec = _keys(obj, where, {"FRAGMENT", "CONDITION", "USEFORMULA"}, "a FILTER")
        _expect(isinstance(spec.get("FRAGMENT"), str), "a FILTER needs a FRAGMENT string", where)
        try:
            fragment = parse_field(spec["FRAGMENT"], fragment=True)
        except FormulaError as e:
            raise ModelError(e.message, (*where, "FRAGMENT")) from None
        condition = self.formula(spec, where, "CONDITION")
        return Filter(fragment, condition, compile_expression(condition))

    def rule(self, obj: Any, number: int) -> Rule:
        where = (*self.where, "rules", number)
        rule = _keys(obj, where, {"ACL", "USEACL", "OBJECTS", "USEOBJECTS", "FORMULA", "USEFORMULA", "FILTER",
                                  "FILTERLIST"}, "a rule")
        if _one_of(rule, ("ACL", "USEACL"), where, "a rule") == "ACL":
            acl = self.acl(rule["ACL"], (*where, "ACL"))
        else:
            _expect(isinstance(rule["USEACL"], str), "USEACL takes a name", (*where, "USEACL"))
            def_where, entry = self._use("DEFACLS", rule["USEACL"], (*where, "USEACL"))
            _keys(entry, def_where, {"name", "acl"}, "a DEFACLS entry")
            _expect("acl" in entry, "a DEFACLS entry needs an acl", def_where)
            acl = self.acl(entry["acl"], (*def_where, "acl"))
        _expect("OBJECTS" in rule or "USEOBJECTS" in rule, "a rule needs OBJECTS or USEOBJECTS", where)
        objects = tuple(self.objects(rule, where, "OBJECTS"))
        _expect(bool(objects), "a rule needs at least one object", where)
        formula = self.formula(rule, where, "FORMULA")
        filters: list[Filter] = []
        if "FILTER" in rule:
            filters.append(self.filter(rule["FILTER"], (*where, "FILTER")))
        if "FILTERLIST" in rule:
            _expect(isinstance(rule["FILTERLIST"], list), "FILTERLIST must be an array", (*where, "FILTERLIST"))
            filters += [self.filter(f, (*where, "FILTERLIST", i)) for i, f in enumerate(rule["FILTERLIST"])]
        return Rule(number, acl, objects, formula, compile_expression(formula), tuple(filters))

    def check_definitions(self) -> None:
        """Every definition is checked, used or not: a typo in an unused one is still a broken file."""
        for name in self.defs["DEFATTRIBUTES"]:
            self.attribute_group(name, self.defs["DEFATTRIBUTES"][name][0])
        for def_where, entry in self.defs["DEFACLS"].values():
            _keys(entry, def_where, {"name", "acl"}, "a DEFACLS entry")
            _expect("acl" in entry, "a DEFACLS entry needs an acl", def_where)
            self.acl(entry["acl"], (*def_where, "acl"))
        for name, (def_where, _) in self.defs["DEFOBJECTS"].items():
            self.objects({"USEOBJECTS": [name]}, def_where, "objects")
        for name, (def_where, _) in self.defs["DEFFORMULAS"].items():
            self.formula({"USEFORMULA": name}, def_where, "FORMULA")

    def rules(self) -> list[Rule]:
        self.check_definitions()
        rules = self.model["rules"]
        _expect(isinstance(rules, list), "rules must be an array", (*self.where, "rules"))
        return [self.rule(obj, i) for i, obj in enumerate(rules)]


def build_rules(doc: Any) -> list[Rule]:
    """:raises ModelError: naming the JSON path at fault"""
    return _Builder(doc).rules()
