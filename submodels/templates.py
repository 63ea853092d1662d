"""Registry of the standard submodel templates the batch adapters fill, and the machinery behind it.

A :class:`Template` lists its elements as :class:`ElementSpec` keyed by idShortPath. Spec paths use three
placeholders that concrete paths fill in:

``Name[]``
    the items of the SubmodelElementList ``Name``; concrete paths give the index, ``Name[0].Child``.
``Name{00}``
    a counted collection member as the IDTA templates write it (``ProductClassificationItem{00}``): matches
    ``Name`` and ``Name`` followed by two or more digits (``Name01``, ``Name0001``).
``Parent.{arbitrary}``
    the template allows free elements here (TechnicalProperties, the variables of a time series record);
    :meth:`Template.check` accepts them unseen, :meth:`Template.build` only takes them as SDK elements.

Each template module registers its templates with :func:`register`; importing this module imports them all.
"""

from __future__ import annotations

import copy
import datetime
import decimal
import difflib
import mimetypes
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from basyx.aas import model
from basyx.aas.model import datatypes

from aas_server.model import codec

IEC61360_DATA_SPECIFICATION = "https://admin-shell.io/DataSpecificationTemplates/DataSpecificationIec61360/3"
ARBITRARY = "{arbitrary}"
COUNTED = "{00}"

ELEMENT_CLASSES: dict[str, type] = {
    "Property": model.Property,
    "MultiLanguageProperty": model.MultiLanguageProperty,
    "Range": model.Range,
    "File": model.File,
    "Blob": model.Blob,
    "ReferenceElement": model.ReferenceElement,
    "RelationshipElement": model.RelationshipElement,
    "AnnotatedRelationshipElement": model.AnnotatedRelationshipElement,
    "Entity": model.Entity,
    "BasicEventElement": model.BasicEventElement,
    "Operation": model.Operation,
    "Capability": model.Capability,
    "SubmodelElementCollection": model.SubmodelElementCollection,
    "SubmodelElementList": model.SubmodelElementList,
    "SubmodelElement": model.SubmodelElement,  # only for {arbitrary} specs
}
_CONTAINERS = ("SubmodelElementCollection", "SubmodelElementList")
_STEP = re.compile(r"([A-Za-z][A-Za-z0-9_-]*)((?:\[\d+\])*)")
_COUNTED_ID_SHORT = re.compile(r"(.+?)(\d{2,})?")


@dataclass(frozen=True)
class ElementSpec:
    """One element of a template, addressed by its idShortPath (see the module docstring for placeholders)."""

    path: str
    model_type: str
    value_type: str | None
    semantic_id: str | None
    required: bool  # cardinality One or OneToMany in the published template (within an existing parent)
    unit: str | None = None
    minimum: float | None = None
    maximum: float | None = None
    supplemental_semantic_ids: tuple[str, ...] = ()
    pattern: str | None = None  # regular expression the lexical value must match (SAMM RegularExpressionConstraint)


@dataclass(frozen=True)
class Finding:
    path: str  # idShortPath of the element concerned ("" for the submodel itself)
    severity: str  # "error" | "warning"
    message: str


@dataclass(frozen=True)
class Template:
    """A published submodel template: semantic IDs, structure and required elements."""

    name: str
    semantic_id: str
    id_short: str
    elements: tuple[ElementSpec, ...]
    version: str = ""  # the published version used, e.g. "IDTA 02006-3-0"

    def __post_init__(self) -> None:
        seen: set[str] = set()
        for spec in self.elements:
            where = f"template {self.name!r}, element {spec.path!r}"
            if spec.path in seen:
                raise ValueError(f"{where}: defined twice")
            parent = _parent_key(spec.path)
            if parent and parent not in seen:
                raise ValueError(f"{where}: parent {parent!r} must be defined before it")
            if parent and next(s for s in self.elements if s.path == parent).model_type not in _CONTAINERS:
                raise ValueError(f"{where}: parent {parent!r} is no collection or list")
            if spec.model_type not in ELEMENT_CLASSES:
                raise ValueError(f"{where}: unknown model type {spec.model_type!r}")
            if spec.model_type in ("Property", "Range") and spec.value_type not in datatypes.XSD_TYPE_CLASSES:
                raise ValueError(f"{where}: unknown value type {spec.value_type!r}")
            if spec.pattern is not None:
                re.compile(spec.pattern)
            seen.add(spec.path)

    # -- lookup ---------------------------------------------------------------------------------------------

    @cached_property
    def _specs(self) -> dict[str, ElementSpec]:
        return {spec.path: spec for spec in self.elements}

    @cached_property
    def _order(self) -> dict[str, int]:
        return {spec.path: i for i, spec in enumerate(self.elements)}

    @cached_property
    def _children(self) -> dict[str, list[ElementSpec]]:
        children: dict[str, list[ElementSpec]] = {}
        for spec in self.elements:
            children.setdefault(_parent_key(spec.path), []).append(spec)
        return children

    def element(self, path: str) -> ElementSpec:
        """The spec of a concrete (``Markings[0].MarkingName``) or spec-form (``Markings[].MarkingName``) path.

        :raises ValueError: naming template and path if the template has no such element
        """
        if path in self._specs:
            return self._specs[path]
        key = self._resolve(parse_path(path), path)
        return self._specs[key]

    def _resolve(self, tokens: list[str | int], path: str) -> str:
        key = ""
        for token in tokens:
            child = self._child_key(key, token)
            if child is None:
                raise ValueError(self._unknown(path))
            key = child
        return key

    def _child_key(self, parent: str, token: str | int) -> str | None:
        """Spec key of the child ``token`` (idShort or list index) of the element with spec key ``parent``."""
        if parent.endswith(ARBITRARY):
            return parent  # everything below a free element is free
        if isinstance(token, int):
            key = parent + "[]"
            return key if key in self._specs else None
        prefix = f"{parent}." if parent else ""
        match = _COUNTED_ID_SHORT.fullmatch(token)
        counted = prefix + match[1] + COUNTED if match else None
        for candidate in (prefix + token, counted, prefix + ARBITRARY):
            if candidate is not None and candidate in self._specs:
                return candidate
        return None

    def _unknown(self, path: str) -> str:
        close = difflib.get_close_matches(path, list(self._specs), n=3)
        hint = f"; did you mean {', '.join(close)}?" if close else ""
        return f"template {self.name!r} ({self.version or self.semantic_id}) has no element {path!r}{hint}"

    # -- build ------------------------------------------------------------------------------------------------

    def build(self, submodel_id: str, values: Mapping[str, Any], *, id_short: str | None = None) -> dict[str, Any]:
        """Canonical AAS JSON of a Submodel (kind Instance) filled from ``values`` keyed by idShortPath.

        Values: Python values for Property (converted to the lexical space of the spec's value type),
        ``{language: text}`` for MultiLanguageProperty, ``(min, max)`` for Range, a path or ``(path,
        content_type)`` for File, ``bytes`` or ``(bytes, content_type)`` for Blob. A collection or list path also
        takes a mapping or list of its children's values, and any path takes a ready SDK SubmodelElement.
        ``None`` and ``""`` count as absent: missing elements are left out, never invented; :meth:`check`
        reports required ones. Intermediate collections and lists are created with the template's semanticIds;
        list items are ordered by index (gaps close up).

        :raises ValueError: for a path not in the template or a value that does not fit its element
        """
        root = _Node("", None)
        for path, value in self._flatten(values):
            self._place(root, path, value)
        submodel = model.Submodel(
            submodel_id,
            self._emit_children(root, ""),
            id_short=id_short or self.id_short,
            semantic_id=_ref(self.semantic_id),
            kind=model.ModellingKind.INSTANCE,
        )
        result: dict[str, Any] = codec.to_json(submodel)
        return result

    def _flatten(self, values: Mapping[str, Any]) -> Iterator[tuple[str, Any]]:
        for path, value in values.items():
            yield from self._expand(path, value)

    def _expand(self, path: str, value: Any) -> Iterator[tuple[str, Any]]:
        if value is None or (isinstance(value, str) and value == ""):
            return
        spec = self.element(path)
        if isinstance(value, model.SubmodelElement):
            yield path, value
        elif spec.model_type == "SubmodelElementList" and isinstance(value, (list, tuple)):
            for index, item in enumerate(value):
                yield from self._expand(f"{path}[{index}]", item)
        elif spec.model_type == "SubmodelElementCollection" and isinstance(value, Mapping):
            for child, item in value.items():
                yield from self._expand(f"{path}.{child}", item)
        elif spec.model_type in _CONTAINERS or spec.path.endswith(ARBITRARY):
            raise ValueError(
                f"{self.name}: {path} is a {spec.model_type}: give values for its elements, "
                "a mapping or list of them, or an SDK SubmodelElement"
            )
        else:
            yield path, value

    def _place(self, root: _Node, path: str, value: Any) -> None:
        tokens = parse_path(path)
        node = root
        for depth, token in enumerate(tokens):
            key = self._child_key(node.key, token)
            if key is None:
                raise ValueError(self._unknown(path))
            if node.value is not _UNSET:
                raise ValueError(f"{self.name}: {path} lies inside {format_path(tokens[:depth])}, which is given whole")
            child = node.children.get(token)
            if child is None:
                child = node.children[token] = _Node(key, self._specs[key])
            node = child
        if node.value is not _UNSET or node.children:
            raise ValueError(f"{self.name}: {path} is given more than once")
        node.value = value

    def _emit_children(self, node: _Node, path: str) -> list[model.SubmodelElement]:
        named = [(token, child) for token, child in node.children.items() if isinstance(token, str)]
        named.sort(key=lambda item: self._order[item[1].key])  # stable: counted members keep their given order
        return [self._emit(child, token, _join(path, token)) for token, child in named]

    def _emit(self, node: _Node, id_short: str | None, path: str) -> model.SubmodelElement:
        spec = self._specs[node.key]
        if isinstance(node.value, model.SubmodelElement):
            return self._adopt(node.value, spec, id_short, path)
        semantics: dict[str, Any] = {
            "semantic_id": _ref(spec.semantic_id) if spec.semantic_id else None,
            "supplemental_semantic_id": tuple(_ref(s) for s in spec.supplemental_semantic_ids),
        }
        try:
            return self._emit_kind(node, spec, id_short, path, semantics)
        except (TypeError, ValueError, model.AASConstraintViolation) as e:
            if isinstance(e, ValueError) and str(e).startswith(f"{self.name}: "):
                raise
            raise ValueError(f"{self.name}: {path}: {e}") from e

    def _emit_kind(
        self, node: _Node, spec: ElementSpec, id_short: str | None, path: str, semantics: dict[str, Any]
    ) -> model.SubmodelElement:
        kind, value = spec.model_type, node.value
        if kind == "SubmodelElementCollection":
            return model.SubmodelElementCollection(id_short, self._emit_children(node, path), **semantics)
        if kind == "SubmodelElementList":
            return self._emit_list(node, spec, id_short, path, semantics)
        if kind == "Property":
            value_type = _value_class(spec)
            return model.Property(id_short, value_type, self._convert(value, spec, path), **semantics)
        if kind == "Range":
            if not isinstance(value, (tuple, list)) or len(value) != 2:
                raise ValueError(f"{self.name}: {path}: a Range takes (min, max), got {value!r}")
            low, high = (None if v is None or v == "" else self._convert(v, spec, path) for v in value)
            return model.Range(id_short, _value_class(spec), low, high, **semantics)
        if kind == "MultiLanguageProperty":
            if not isinstance(value, Mapping):
                raise ValueError(f"{self.name}: {path}: a MultiLanguageProperty takes {{language: text}}, "
                                 f"got {value!r}")
            texts = {str(lang): str(text) for lang, text in value.items() if text not in (None, "")}
            return model.MultiLanguageProperty(id_short, model.MultiLanguageTextType(texts) if texts else None,
                                               **semantics)
        if kind == "File":
            location, content_type = value if isinstance(value, tuple) else (value, None)
            content_type = content_type or mimetypes.guess_type(str(location))[0] or "application/octet-stream"
            return model.File(id_short, content_type, str(location), **semantics)
        if kind == "Blob":
            content, content_type = value if isinstance(value, tuple) else (value, "application/octet-stream")
            return model.Blob(id_short, content_type, bytes(content), **semantics)
        raise ValueError(f"{self.name}: {path}: a {kind} can only be given as an SDK element")

    def _emit_list(
        self, node: _Node, spec: ElementSpec, id_short: str | None, path: str, semantics: dict[str, Any]
    ) -> model.SubmodelElementList[Any]:
        item_spec = self._specs.get(spec.path + "[]")
        positions = sorted(token for token in node.children if isinstance(token, int))
        items = [self._emit(node.children[token], None, f"{path}[{n}]") for n, token in enumerate(positions)]
        if item_spec is not None and item_spec.model_type != "SubmodelElement":
            item_class: type[model.SubmodelElement] = ELEMENT_CLASSES[item_spec.model_type]
        else:
            item_class = type(items[0])
        kwargs: dict[str, Any] = {}
        if item_spec is not None and item_spec.semantic_id:
            kwargs["semantic_id_list_element"] = _ref(item_spec.semantic_id)
        if item_spec is not None and item_spec.model_type in ("Property", "Range"):
            kwargs["value_type_list_element"] = _value_class(item_spec)
        return model.SubmodelElementList(id_short, item_class, items, **kwargs, **semantics)

    def _adopt(
        self, element: model.SubmodelElement, spec: ElementSpec, id_short: str | None, path: str
    ) -> model.SubmodelElement:
        expected = ELEMENT_CLASSES[spec.model_type]
        if not isinstance(element, expected):
            raise ValueError(f"{self.name}: {path} must be a {spec.model_type}, got {type(element).__name__}")
        if element.parent is not None:
            raise ValueError(f"{self.name}: {path}: the SDK element already belongs to {element.parent!r}")
        element = copy.deepcopy(element)  # build leaves its input alone and can be called again with it
        element.id_short = id_short
        if element.semantic_id is None and spec.semantic_id:
            element.semantic_id = _ref(spec.semantic_id)
        return element

    def _convert(self, value: Any, spec: ElementSpec, path: str) -> Any:
        try:
            return to_xsd_value(value, str(spec.value_type))  # set for every Property and Range (__post_init__)
        except ValueError as e:
            raise ValueError(f"{self.name}: {path}: {value!r} is not a valid {spec.value_type}: {e}") from e

    # -- check ------------------------------------------------------------------------------------------------

    def check(self, submodel: dict[str, Any] | model.Submodel) -> list[Finding]:
        """Data-quality findings of a submodel (AAS JSON or SDK object) against this template.

        Errors: wrong submodel semanticId, required elements missing, a value not in the lexical space of its
        value type, outside minimum/maximum, not matching the pattern, a model type other than the template's.
        Warnings: elements the template does not know, a semanticId or valueType differing from the template's.
        """
        data: dict[str, Any] = codec.to_json(submodel) if isinstance(submodel, model.Submodel) else submodel
        findings: list[Finding] = []
        semantic_id = _semantic_id_of(data)
        if semantic_id != self.semantic_id:
            findings.append(Finding("", "error", f"semanticId {semantic_id!r} is not the one of template "
                                                  f"{self.name!r}: {self.semantic_id}"))
        self._check_children(data.get("submodelElements") or [], "", "", False, findings)
        return findings

    def _check_children(
        self, elements: list[dict[str, Any]], path: str, key: str, is_list: bool, findings: list[Finding]
    ) -> None:
        present: set[str] = set()
        for index, element in enumerate(elements):
            token: str | int = index if is_list else str(element.get("idShort", ""))
            element_path = f"{path}[{index}]" if is_list else _join(path, str(token))
            child_key = self._child_key(key, token)
            if child_key is None:
                findings.append(Finding(element_path, "warning", f"not an element of template {self.name!r}"))
                continue
            present.add(child_key)
            if not child_key.endswith(ARBITRARY):
                self._check_element(element, self._specs[child_key], element_path, findings)
        if key.endswith(ARBITRARY):
            return
        for spec in self._children.get(key, []):
            if spec.required and spec.path not in present:
                missing = f"{path}[0]" if spec.path.endswith("[]") else _join(path, _last_step(spec.path))
                findings.append(Finding(missing, "error", f"required {spec.model_type} missing ({spec.semantic_id})"))

    def _check_element(self, element: dict[str, Any], spec: ElementSpec, path: str, findings: list[Finding]) -> None:
        model_type = element.get("modelType")
        if spec.model_type != "SubmodelElement" and model_type != spec.model_type:
            findings.append(Finding(path, "error", f"is a {model_type}, the template has a {spec.model_type}"))
            return
        semantic_id = _semantic_id_of(element)
        if spec.semantic_id and semantic_id != spec.semantic_id:
            findings.append(Finding(path, "warning", f"semanticId {semantic_id!r} differs from the template's "
                                                      f"{spec.semantic_id}"))
        if model_type in ("Property", "Range") and element.get("valueType") != spec.value_type:
            findings.append(Finding(path, "warning", f"valueType {element.get('valueType')} differs from the "
                                                      f"template's {spec.value_type}"))
        if model_type == "Property":
            self._check_value(element.get("value"), spec, path, findings)
        elif model_type == "Range":
            low = self._check_value(element.get("min"), spec, path, findings)
            high = self._check_value(element.get("max"), spec, path, findings)
            if isinstance(low, (int, float, decimal.Decimal)) and isinstance(high, (int, float, decimal.Decimal)):
                if low > high:
                    findings.append(Finding(path, "error", f"min {low} is greater than max {high}"))
        elif model_type == "SubmodelElementCollection":
            self._check_children(element.get("value") or [], path, spec.path, False, findings)
        elif model_type == "SubmodelElementList":
            self._check_children(element.get("value") or [], path, spec.path, True, findings)

    def _check_value(self, lexical: Any, spec: ElementSpec, path: str, findings: list[Finding]) -> Any:
        if lexical is None or spec.value_type is None:
            return None
        try:
            parsed = datatypes.from_xsd(str(lexical), datatypes.XSD_TYPE_CLASSES[spec.value_type])
        except (ValueError, TypeError, decimal.InvalidOperation) as e:
            findings.append(Finding(path, "error", f"value {lexical!r} is not a valid {spec.value_type}: {e}"))
            return None
        if spec.pattern is not None and not re.search(spec.pattern, str(lexical)):
            findings.append(Finding(path, "error", f"value {lexical!r} does not match the pattern {spec.pattern}"))
        if isinstance(parsed, (int, float, decimal.Decimal)) and not isinstance(parsed, bool):
            unit = f" {spec.unit}" if spec.unit else ""
            if spec.minimum is not None and parsed < spec.minimum:
                findings.append(Finding(path, "error", f"value {lexical}{unit} is below the minimum {spec.minimum}"))
            if spec.maximum is not None and parsed > spec.maximum:
                findings.append(Finding(path, "error", f"value {lexical}{unit} is above the maximum {spec.maximum}"))
        return parsed

    # -- concept descriptions ---------------------------------------------------------------------------------

    def concept_descriptions(
        self, names: Mapping[str, str | tuple[str, str]] | None = None, *, skip_prefix: str | None = None
    ) -> list[model.ConceptDescription]:
        """One IEC 61360 concept description per semanticId of the template's elements.

        :param names: semanticId -> (preferred name, definition), all English; a name alone is its own definition,
            elements not named get one made from their idShort
        :param skip_prefix: semanticIds starting with it are left out (described elsewhere)
        """
        names = names or {}
        result: dict[str, model.ConceptDescription] = {}
        for spec in self.elements:
            sid = spec.semantic_id
            if not sid or sid in result or (skip_prefix and sid.startswith(skip_prefix)):
                continue
            text = names.get(sid) or _words(_last_step(spec.path) or self.id_short)
            preferred, definition = text if isinstance(text, tuple) else (text, text)  # AASc-3a-008 wants one
            result[sid] = concept_description(sid, _cd_id_short(spec), preferred, _iec_type(spec), spec.unit,
                                              definition)
        return list(result.values())


_UNSET: Any = object()


@dataclass
class _Node:
    key: str
    spec: ElementSpec | None
    children: dict[str | int, _Node] = field(default_factory=dict)
    value: Any = _UNSET


# -- paths ----------------------------------------------------------------------------------------------------


def parse_path(path: str) -> list[str | int]:
    """``"a.b[0].c"`` -> ``["a", "b", 0, "c"]``.

    :raises ValueError: if the path is no idShortPath
    """
    tokens: list[str | int] = []
    for part in path.split("."):
        match = _STEP.fullmatch(part)
        if match is None:
            raise ValueError(f"{path!r} is no idShortPath (idShorts separated by '.', list indexes as [0])")
        tokens.append(match[1])
        tokens += [int(index) for index in re.findall(r"\[(\d+)\]", match[2])]
    return tokens


def format_path(tokens: Iterable[str | int]) -> str:
    path = ""
    for token in tokens:
        path = f"{path}[{token}]" if isinstance(token, int) else _join(path, token)
    return path


def _join(path: str, id_short: str) -> str:
    return f"{path}.{id_short}" if path else id_short


def _parent_key(key: str) -> str:
    if key.endswith("[]"):
        return key[:-2]
    return key.rsplit(".", 1)[0] if "." in key else ""


def _last_step(key: str) -> str:
    """idShort a spec path ends in, without placeholders (``a.Record{00}`` -> ``Record``)."""
    while key.endswith("[]"):
        key = key[:-2]
    return key.rsplit(".", 1)[-1].replace(COUNTED, "").replace(ARBITRARY, "")


# -- values ---------------------------------------------------------------------------------------------------


def to_xsd_value(value: Any, value_type: str) -> Any:
    """A Python value (or its lexical form) as the SDK's value of ``value_type``.

    :raises ValueError: if the value is not in the value space of the type
    """
    type_class = datatypes.XSD_TYPE_CLASSES[value_type]
    if isinstance(value, bool) and value_type not in ("xs:boolean", "xs:string"):
        raise ValueError("a bool is no number, date or text")
    if isinstance(value, str):
        lexical = value if value_type in ("xs:string", "xs:normalizedString") else value.strip()
    elif isinstance(value, bool):
        lexical = "true" if value else "false"
    elif isinstance(value, (datetime.date, datetime.time)):
        lexical = value.isoformat()
    elif isinstance(value, float) and value_type == "xs:decimal":
        lexical = format(decimal.Decimal(repr(value)), "f")
    elif isinstance(value, decimal.Decimal):
        lexical = format(value, "f")
    elif isinstance(value, (int, float)):
        lexical = repr(value)
    else:
        lexical = str(value)
    try:
        return datatypes.from_xsd(lexical, type_class)
    except (TypeError, decimal.InvalidOperation, OverflowError) as e:
        raise ValueError(str(e)) from e


def _value_class(spec: ElementSpec) -> Any:
    return datatypes.XSD_TYPE_CLASSES[str(spec.value_type)]  # set for every Property and Range (__post_init__)


def _ref(value: str) -> model.ExternalReference:
    return model.ExternalReference((model.Key(model.KeyTypes.GLOBAL_REFERENCE, value),))


def _semantic_id_of(data: Mapping[str, Any]) -> str | None:
    keys = (data.get("semanticId") or {}).get("keys") or []
    return str(keys[0].get("value")) if keys else None


# -- concept descriptions -------------------------------------------------------------------------------------

_INTEGER_TYPES = {"xs:integer", "xs:long", "xs:int", "xs:short", "xs:byte", "xs:nonNegativeInteger",
                  "xs:positiveInteger", "xs:nonPositiveInteger", "xs:negativeInteger", "xs:unsignedLong",
                  "xs:unsignedInt", "xs:unsignedShort", "xs:unsignedByte"}
_IEC_BY_VALUE_TYPE = {
    "xs:string": model.DataTypeIEC61360.STRING,
    "xs:anyURI": model.DataTypeIEC61360.IRI,
    "xs:boolean": model.DataTypeIEC61360.BOOLEAN,
    "xs:date": model.DataTypeIEC61360.DATE,
    "xs:dateTime": model.DataTypeIEC61360.TIMESTAMP,
    "xs:time": model.DataTypeIEC61360.TIME,
}
_IEC_BY_MODEL_TYPE = {
    "MultiLanguageProperty": model.DataTypeIEC61360.STRING_TRANSLATABLE,
    "File": model.DataTypeIEC61360.FILE,
    "Blob": model.DataTypeIEC61360.BLOB,
}


def _iec_type(spec: ElementSpec) -> model.DataTypeIEC61360 | None:
    if spec.model_type in _IEC_BY_MODEL_TYPE:
        return _IEC_BY_MODEL_TYPE[spec.model_type]
    if spec.model_type not in ("Property", "Range") or spec.value_type is None:
        return None
    if spec.value_type in _INTEGER_TYPES:
        return model.DataTypeIEC61360.INTEGER_MEASURE if spec.unit else model.DataTypeIEC61360.INTEGER_COUNT
    if spec.value_type in ("xs:double", "xs:float", "xs:decimal"):
        return model.DataTypeIEC61360.REAL_MEASURE if spec.unit else model.DataTypeIEC61360.REAL_COUNT
    return _IEC_BY_VALUE_TYPE.get(spec.value_type, model.DataTypeIEC61360.STRING)


def _words(id_short: str) -> str:
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])", " ", id_short).lower()


def _cd_id_short(spec: ElementSpec) -> str | None:
    sid = spec.semantic_id or ""
    candidate = sid.rsplit("#", 1)[-1] if sid.startswith("urn:samm:") else _last_step(spec.path)
    return candidate if re.fullmatch(r"[A-Za-z][A-Za-z0-9_-]*[A-Za-z0-9_]", candidate) else None


def concept_description(
    cd_id: str,
    id_short: str | None,
    preferred_name: str,
    data_type: model.DataTypeIEC61360 | None,
    unit: str | None = None,
    definition: str | None = None,
) -> model.ConceptDescription:
    """Concept description with IEC 61360 content (English texts)."""
    content = model.DataSpecificationIEC61360(
        preferred_name=model.PreferredNameTypeIEC61360({"en": preferred_name}),
        data_type=data_type,
        definition=model.DefinitionTypeIEC61360({"en": definition}) if definition else None,
        unit=unit,
    )
    return model.ConceptDescription(
        id_=cd_id,
        id_short=id_short,
        embedded_data_specifications=(model.EmbeddedDataSpecification(_ref(IEC61360_DATA_SPECIFICATION), content),),
    )


# -- registry -------------------------------------------------------------------------------------------------

TEMPLATES: dict[str, Template] = {}


def register(template: Template) -> Template:
    """Add a template to :data:`TEMPLATES` (called by the template modules).

    :raises ValueError: if another template has the name already
    """
    if TEMPLATES.setdefault(template.name, template) is not template:
        raise ValueError(f"a template named {template.name!r} is registered already")
    return template


def get_template(name: str) -> Template:
    """:raises ValueError: listing the known names if there is no template ``name``"""
    try:
        return TEMPLATES[name]
    except KeyError:
        raise ValueError(f"unknown submodel template {name!r}; known: {', '.join(sorted(TEMPLATES))}") from None


# The template modules import this one for the classes above and register themselves; importing them here
# fills TEMPLATES whichever module is imported first.
from submodels import (  # noqa: E402
    carbon_footprint,  # noqa: F401
    catenax,  # noqa: F401
    digital_nameplate,  # noqa: F401
    technical_data,  # noqa: F401
    time_series,  # noqa: F401
)
