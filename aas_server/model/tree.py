"""Navigation in the JSON form of submodel elements, which is how the store keeps them."""
from typing import Any, Iterator

from ..errors import NotFoundError, UnsupportedError
from .paths import IdShortPath, format_path

Element = dict[str, Any]

#: which key of an element holds its child elements
CHILDREN_KEY = {
    "SubmodelElementCollection": "value",
    "SubmodelElementList": "value",
    "Entity": "statements",
    "AnnotatedRelationshipElement": "annotations",
}


def children(element: Element) -> list[Element]:
    key = CHILDREN_KEY.get(element.get("modelType", ""))
    if key is None:
        return []
    return element.get(key) or []


def child_index(element: Element, segment: str | int, path: IdShortPath) -> int:
    """Position of the child addressed by ``segment`` (an idShort, or an index into a list).

    :raises NotFoundError: no such child
    """
    kids = children(element)
    is_list = element.get("modelType") == "SubmodelElementList"
    if isinstance(segment, int):
        if is_list and 0 <= segment < len(kids):
            return segment
    elif not is_list:
        for i, kid in enumerate(kids):
            if kid.get("idShort") == segment:
                return i
    raise NotFoundError("submodel element not found", path=format_path(path))


def find(top: Element, path: IdShortPath) -> Element:
    """The element at ``path`` (whose first segment names ``top``) inside ``top``."""
    element = top
    for depth, segment in enumerate(path[1:], start=1):
        element = children(element)[child_index(element, segment, path[: depth + 1])]
    return element


def replace(top: Element, path: IdShortPath, new: Element | None) -> Element:
    """A copy of ``top`` with the element at ``path`` replaced by ``new`` (removed when ``None``)."""
    if len(path) == 1:
        if new is None:
            raise ValueError("a top-level element is removed by the store, not in the tree")
        return new
    parent_path = path[:-1]
    parent = dict(find(top, parent_path))
    key = CHILDREN_KEY[parent["modelType"]]
    kids = list(parent.get(key) or [])
    i = child_index(parent, path[-1], path)
    if new is None:
        del kids[i]
    else:
        kids[i] = new
    if kids:
        parent[key] = kids
    else:
        parent.pop(key, None)
    return replace(top, parent_path, parent)


def append_child(top: Element, parent_path: IdShortPath, child: Element) -> Element:
    """A copy of ``top`` with ``child`` appended to the container at ``parent_path``.

    :raises UnsupportedError: the target holds no child elements
    """
    parent = dict(find(top, parent_path))
    key = CHILDREN_KEY.get(parent.get("modelType", ""))
    if key is None:
        raise UnsupportedError(f"a {parent.get('modelType')} holds no submodel elements", path=format_path(parent_path))
    parent[key] = [*(parent.get(key) or []), child]
    return replace(top, parent_path, parent)


def walk(element: Element, path: IdShortPath) -> Iterator[tuple[IdShortPath, Element]]:
    """``element`` and all its descendants with their idShortPaths, depth first."""
    yield path, element
    is_list = element.get("modelType") == "SubmodelElementList"
    for i, kid in enumerate(children(element)):
        yield from walk(kid, (*path, i if is_list else kid["idShort"]))
