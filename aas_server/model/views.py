"""Representations of stored JSON that the API modifiers ask for: level, extent, $metadata, $reference, $path."""
from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from ..errors import UnsupportedError
from .paths import IdShortPath, format_path
from .tree import CHILDREN_KEY, Element, children, find

#: keys that carry an element's value; $metadata leaves them out (first/second/observed, and an Entity's
#: entityType, globalAssetId and specificAssetIds stay: the test engine reads $metadata as the metamodel, where
#: they are mandatory, or required by AASd-014)
_VALUE_KEYS = {
    "Property": ("value", "valueId"),
    "MultiLanguageProperty": ("value", "valueId"),
    "Range": ("min", "max"),
    "File": ("value",),
    "Blob": ("value",),
    "ReferenceElement": ("value",),
    "SubmodelElementCollection": ("value",),
    "SubmodelElementList": ("value",),
    "AnnotatedRelationshipElement": ("annotations",),
    "Entity": ("statements",),
}
_NO_METADATA = {"Operation", "Capability"}
#: kinds with a $path: the containers of submodel elements (an AnnotatedRelationshipElement's annotations are
#: data elements and not listed; the test engine expects 4xx for $path on one)
PATH_KINDS = {"SubmodelElementCollection", "SubmodelElementList", "Entity"}


def core(element: Element) -> Element:
    """``level=core``: the element with its direct children, but not theirs."""
    key = CHILDREN_KEY.get(element.get("modelType", ""))
    if key is None or not element.get(key):
        return element
    return {**element, key: [strip_children(kid) for kid in element[key]]}


def strip_children(element: Element) -> Element:
    key = CHILDREN_KEY.get(element.get("modelType", ""))
    if key is None or key not in element:
        return element
    return {k: v for k, v in element.items() if k != key}


def without_blob_values(element: Element) -> Element:
    """``extent=withoutBlobValue`` (the default): Blob contents are left out, at any depth."""
    kind = element.get("modelType")
    if kind == "Blob":
        return {k: v for k, v in element.items() if k != "value"}
    key = CHILDREN_KEY.get(kind or "")
    if key is None or not element.get(key):
        return element
    return {**element, key: [without_blob_values(kid) for kid in element[key]]}


def submodel_view(submodel: dict[str, Any], level: str, extent: str) -> dict[str, Any]:
    elements = submodel.get("submodelElements")
    if not elements:
        return submodel
    if level == "core":
        elements = [strip_children(e) for e in elements]
    if extent == "withoutBlobValue":
        elements = [without_blob_values(e) for e in elements]
    return {**submodel, "submodelElements": elements}


def element_view(element: Element, level: str, extent: str) -> Element:
    if level == "core":
        element = core(element)
    if extent == "withoutBlobValue":
        element = without_blob_values(element)
    return element


def element_metadata(element: Element, path: str) -> Element:
    """:raises UnsupportedError: for Operation and Capability, which have no metadata view."""
    kind = element.get("modelType", "")
    if kind in _NO_METADATA:
        raise UnsupportedError(f"a {kind} has no $metadata representation", path=path)
    dropped = _VALUE_KEYS.get(kind, ())
    return {k: v for k, v in element.items() if k not in dropped}


def submodel_metadata(submodel: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in submodel.items() if k != "submodelElements"}


def model_reference(keys: list[tuple[str, str]]) -> dict[str, Any]:
    return {"type": "ModelReference", "keys": [{"type": t, "value": v} for t, v in keys]}


def identifiable_reference(obj: dict[str, Any]) -> dict[str, Any]:
    return model_reference([(obj["modelType"], obj["id"])])


def element_reference(submodel_id: str, path: IdShortPath, kinds: list[str]) -> dict[str, Any]:
    """Reference to an element; ``kinds`` are the modelTypes along ``path``."""
    keys = [("Submodel", submodel_id)]
    keys += [(kind, str(segment)) for segment, kind in zip(path, kinds)]
    return model_reference(keys)


def element_paths(element: Element, path: IdShortPath) -> list[str]:
    """``$path``: the idShortPaths of the element and all its descendant submodel elements.

    :raises UnsupportedError: for an element that holds no submodel elements (the test engine expects 4xx there)
    """
    if element.get("modelType") not in PATH_KINDS:
        raise UnsupportedError(f"a {element.get('modelType')} has no $path representation", path=format_path(path))
    return list(_paths(element, path))


def _paths(element: Element, path: IdShortPath) -> Iterator[str]:
    yield format_path(path)
    if element.get("modelType") in PATH_KINDS:
        is_list = element.get("modelType") == "SubmodelElementList"
        for i, kid in enumerate(children(element)):
            yield from _paths(kid, (*path, i if is_list else kid["idShort"]))


def kinds_along(top: Element, path: IdShortPath) -> list[str]:
    """modelTypes of the elements along ``path`` starting at ``top``."""
    return [find(top, path[: i + 1])["modelType"] for i in range(len(path))]
