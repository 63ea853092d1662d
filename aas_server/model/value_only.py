"""The ValueOnly serialization (Part 2, 11.4.3), read from and written into the JSON form of elements."""
from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

from ..errors import InvalidRequestError
from .tree import Element

_INTEGER_TYPES = {
    "xs:integer", "xs:int", "xs:long", "xs:short", "xs:byte", "xs:nonNegativeInteger", "xs:positiveInteger",
    "xs:nonPositiveInteger", "xs:negativeInteger", "xs:unsignedLong", "xs:unsignedInt", "xs:unsignedShort",
    "xs:unsignedByte",
}
_FLOAT_TYPES = {"xs:decimal", "xs:double", "xs:float"}

#: element kinds that have no value in the ValueOnly form
NO_VALUE_KINDS = {"Operation", "Capability"}


def typed(value: str | None, value_type: str | None) -> Any:
    """A Property's lexical value as the JSON type its valueType implies (number, boolean or string)."""
    if value is None:
        return None
    try:
        if value_type in _INTEGER_TYPES:
            return int(value)
        if value_type in _FLOAT_TYPES:
            number = Decimal(value)
            if not number.is_finite():
                return value  # NaN and INF have no JSON number; keep the lexical form
            return int(number) if value_type == "xs:decimal" and number == number.to_integral_value() else float(number)
        if value_type == "xs:boolean":
            return value in ("true", "1")
    except (ValueError, InvalidOperation):
        return value
    return value


def lexical(value: Any) -> str:
    """The lexical (xs:) form of a ValueOnly primitive."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float, str)):
        return str(value)
    raise InvalidRequestError(f"expected a string, number or boolean, got {type(value).__name__}")


def to_value(element: Element) -> Any:
    """The ValueOnly form of one element (without its idShort); ``None`` for kinds without a value."""
    kind = element.get("modelType")
    if kind == "Property":
        return typed(element.get("value"), element.get("valueType"))
    if kind == "MultiLanguageProperty":
        return [{ls["language"]: ls["text"]} for ls in element.get("value", [])]
    if kind == "Range":
        vt = element.get("valueType")
        return {k: typed(element[k], vt) for k in ("min", "max") if k in element}
    if kind in ("File", "Blob"):
        return {k: element[k] for k in ("contentType", "value") if k in element}
    if kind == "ReferenceElement":
        return element.get("value")
    if kind in ("RelationshipElement", "AnnotatedRelationshipElement"):
        value = {k: element[k] for k in ("first", "second") if k in element}
        if kind == "AnnotatedRelationshipElement" and element.get("annotations"):
            value["annotations"] = [{a["idShort"]: to_value(a)} for a in element["annotations"]]
        return value
    if kind == "SubmodelElementCollection":
        return elements_to_value(element.get("value", []))
    if kind == "SubmodelElementList":
        return [to_value(e) for e in element.get("value", []) if e.get("modelType") not in NO_VALUE_KINDS]
    if kind == "Entity":
        value = {"statements": elements_to_value(element.get("statements", [])), "entityType": element["entityType"]}
        if "globalAssetId" in element:
            value["globalAssetId"] = element["globalAssetId"]
        if element.get("specificAssetIds"):
            value["specificAssetIds"] = [{s["name"]: s["value"]} for s in element["specificAssetIds"]]
        return value
    if kind == "BasicEventElement":
        return {"observed": element["observed"]}
    return None


def elements_to_value(elements: list[Element]) -> dict[str, Any]:
    """ValueOnly object of a list of named elements (a submodel's or a collection's)."""
    return {e["idShort"]: to_value(e) for e in elements if e.get("modelType") not in NO_VALUE_KINDS}


def apply_value(element: Element, value: Any, where: str) -> Element:
    """A copy of ``element`` carrying the ValueOnly ``value``; validate the result before storing it.

    :raises InvalidRequestError: the value does not fit the element's kind
    """
    kind = element.get("modelType")
    out = dict(element)
    try:
        if kind == "Property":
            _set(out, "value", None if value is None else lexical(value))
        elif kind == "MultiLanguageProperty":
            _set(out, "value", [{"language": lang, "text": text} for item in value for lang, text in item.items()])
        elif kind == "Range":
            _require_dict(value)
            for key in ("min", "max"):
                _set(out, key, None if value.get(key) is None else lexical(value[key]))
        elif kind in ("File", "Blob"):
            _require_dict(value)
            for key in ("contentType", "value"):
                if key in value:
                    _set(out, key, value[key])
        elif kind == "ReferenceElement":
            _set(out, "value", value)
        elif kind in ("RelationshipElement", "AnnotatedRelationshipElement"):
            _require_dict(value)
            for key in ("first", "second"):
                if key in value:
                    out[key] = value[key]
            if kind == "AnnotatedRelationshipElement" and "annotations" in value:
                merged = {k: v for item in value["annotations"] for k, v in item.items()}
                out["annotations"] = _apply_named(element.get("annotations", []), merged, where)
        elif kind == "SubmodelElementCollection":
            _require_dict(value)
            _set(out, "value", _apply_named(element.get("value", []), value, where))
        elif kind == "SubmodelElementList":
            if not isinstance(value, list):
                raise InvalidRequestError("expected a JSON array", path=where)
            kids = element.get("value", [])
            if len(value) != len(kids):
                raise InvalidRequestError(f"list holds {len(kids)} elements, value has {len(value)}", path=where)
            _set(out, "value", [apply_value(k, v, f"{where}[{i}]") for i, (k, v) in enumerate(zip(kids, value))])
        elif kind == "Entity":
            _require_dict(value)
            if "statements" in value:
                _set(out, "statements", _apply_named(element.get("statements", []), value["statements"], where))
            for key in ("entityType", "globalAssetId"):
                if key in value:
                    _set(out, key, value[key])
            if "specificAssetIds" in value:
                ids = _asset_ids(element.get("specificAssetIds", []), value["specificAssetIds"])
                _set(out, "specificAssetIds", ids)
        elif kind == "BasicEventElement":
            _require_dict(value)
            out["observed"] = value["observed"]
        else:
            raise InvalidRequestError(f"a {kind} has no value", path=where)
    except (AttributeError, TypeError, KeyError) as e:
        raise InvalidRequestError(f"value does not fit a {kind}: {e}", path=where) from e
    return out


def _apply_named(children: list[Element], value: Any, where: str) -> list[Element]:
    _require_dict(value)
    by_id = {c["idShort"]: c for c in children}
    unknown = set(value) - set(by_id)
    if unknown:
        raise InvalidRequestError(f"no such element: {', '.join(sorted(unknown))}", path=where)
    return [apply_value(c, value[c["idShort"]], f"{where}.{c['idShort']}") if c["idShort"] in value else c
            for c in children]


def _asset_ids(current: list[Element], value: Any) -> list[Element]:
    """SpecificAssetIds from their ValueOnly ``[{name: value}]``, keeping what that form cannot carry
    (externalSubjectId, semanticId) from the current id of the same name."""
    unused = list(current)
    out = []
    for name, asset_id in ((k, v) for item in value for k, v in item.items()):
        match = next((c for c in unused if c.get("name") == name), None)
        if match is not None:
            unused.remove(match)
        out.append({**(match or {}), "name": name, "value": asset_id})
    return out


def _require_dict(value: Any) -> None:
    if not isinstance(value, dict):
        raise TypeError("expected a JSON object")


def _set(out: Element, key: str, value: Any) -> None:
    if value is None or value == []:
        out.pop(key, None)
    else:
        out[key] = value
