"""Submodels and their elements: path resolution, element-level writes, ValueOnly, attachments."""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ..errors import (
    ConflictError,
    ForbiddenError,
    InvalidRequestError,
    NotFoundError,
    UnsupportedError,
)
from ..model import codec, tree, value_only
from ..model.paths import IdShortPath, format_path, parse_path
from ..security.caller import current_caller
from ..store.base import JSON, Attachment, Page, PageRequest, Query, Store

#: Writes a device-bound element's requested value (the element JSON carrying it, already validated) to the device
#: and returns the element as the device holds it afterwards, which is what gets stored. Raises an ``AASError``
#: when the device refuses (the store then keeps the device's value) or cannot be reached. Adapters register one per
#: element they mirror (:meth:`SubmodelService.register_value_writer`), e.g. OPC UA write-back.
ValueWriter = Callable[[JSON], JSON]


def attachment_key(submodel_id: str, path: IdShortPath | None = None) -> str:
    """Key of a File's content; without ``path`` the prefix of all attachments of the submodel."""
    return f"{submodel_id}\n" + (f"{format_path(path)}\n" if path else "")


class SubmodelService:
    def __init__(self, store: Store) -> None:
        self.store = store
        self._value_writers: dict[tuple[str, str], ValueWriter] = {}

    def register_value_writer(self, writer: ValueWriter, *, submodel_id: str, path: str) -> None:
        """Send ``$value`` writes of the element at ``path`` (an idShortPath string) to the device it mirrors.

        Such writes are refused to callers of external ports before anything is read or written: partners never
        reach a device through the API."""
        self._value_writers[(submodel_id, path)] = writer

    # -- whole submodels ----------------------------------------------------------------------------------

    def get(self, submodel_id: str) -> JSON:
        return self.store.get("submodel", submodel_id)

    def find(self, query: Query, page: PageRequest) -> Page[JSON]:
        return self.store.find("submodel", query, page)

    def create(self, data: Any) -> JSON:
        submodel = _validate_submodel(data)
        self.store.create("submodel", submodel)
        return submodel

    def put(self, submodel_id: str, data: Any) -> bool:
        """Replace or create (an upsert); returns whether it was created."""
        submodel = _validate_submodel(data)
        if submodel["id"] != submodel_id:
            raise InvalidRequestError("the id in the body differs from the id in the path", path="id")
        try:
            self.store.replace("submodel", submodel)
            return False
        except NotFoundError:
            self.store.create("submodel", submodel)
            return True

    def patch(self, submodel_id: str, data: Any) -> None:
        """Merge: attributes of the body replace those stored; elements are replaced or added by idShort."""
        if not isinstance(data, dict):
            raise InvalidRequestError("expected a Submodel JSON object")
        elements = data.get("submodelElements", [])
        if not isinstance(elements, list) or not all(isinstance(e, dict) for e in elements):
            raise InvalidRequestError("submodelElements must be an array of SubmodelElement objects",
                                      path="submodelElements")
        current = self.get(submodel_id)
        merged = {**current, **{k: v for k, v in data.items() if k != "submodelElements"}}
        if "submodelElements" in data:
            incoming = {e.get("idShort"): e for e in elements}
            kept = [incoming.pop(e["idShort"], e) for e in current.get("submodelElements", [])]
            merged["submodelElements"] = kept + list(incoming.values())
        self.put(submodel_id, merged)

    def patch_metadata(self, submodel_id: str, data: Any) -> None:
        if not isinstance(data, dict):
            raise InvalidRequestError("expected a SubmodelMetadata JSON object")
        if "submodelElements" in data:
            raise InvalidRequestError("$metadata cannot carry submodelElements", path="submodelElements")

        def merge(header: JSON) -> JSON:
            merged = codec.validate("submodel", {**header, **data})
            if merged["id"] != submodel_id:
                raise InvalidRequestError("the id cannot be changed", path="id")
            return merged

        self.store.update_header(submodel_id, merge)

    def patch_value(self, submodel_id: str, value: Any) -> None:
        """Set the values of top-level elements from a ValueOnly object; all are checked before any is written."""
        if not isinstance(value, dict):
            raise InvalidRequestError("expected a ValueOnly JSON object")
        for id_short in value:
            self._refuse_device_values(submodel_id, id_short)
            self.store.get_element(submodel_id, id_short)  # 404 before anything is written
        for id_short, element_value in value.items():
            self.store.update_element(
                submodel_id, id_short, lambda top, v=element_value, i=id_short: _with_value(top, v, i)
            )

    def delete(self, submodel_id: str) -> None:
        self.store.delete("submodel", submodel_id)
        self.store.delete_attachments(attachment_key(submodel_id))

    # -- elements -----------------------------------------------------------------------------------------

    def elements(self, submodel_id: str, page: PageRequest) -> Page[JSON]:
        return self.store.find_elements(submodel_id, page)

    def element(self, submodel_id: str, path: IdShortPath) -> JSON:
        return tree.find(self.store.get_element(submodel_id, _top(path)), path)

    def top_and_element(self, submodel_id: str, path: IdShortPath) -> tuple[JSON, JSON]:
        top = self.store.get_element(submodel_id, _top(path))
        return top, tree.find(top, path)

    def create_element(self, submodel_id: str, data: Any,
                       parent: IdShortPath | None = None) -> tuple[JSON, IdShortPath]:
        """Add a top-level element, or a child of the collection, list or entity at ``parent``.

        Returns the element and its idShortPath: a list's children have no idShort, only a position.
        """
        element = codec.validate_element(data)
        if parent is None:
            if "idShort" not in element:
                raise InvalidRequestError("a submodel element needs an idShort", path="idShort")
            self.store.add_element(submodel_id, element)
            return element, (element["idShort"],)
        created: IdShortPath = parent

        def append(top: JSON) -> JSON:
            nonlocal created
            container = tree.find(top, parent)
            siblings = tree.children(container)
            if element.get("idShort") and any(c.get("idShort") == element["idShort"] for c in siblings):
                raise ConflictError("a submodel element with this idShort exists", path=format_path(parent))
            is_list = container.get("modelType") == "SubmodelElementList"
            created = (*parent, len(siblings) if is_list else element.get("idShort", ""))
            return codec.validate_element(tree.append_child(top, parent, element))

        self.store.update_element(submodel_id, _top(parent), append)
        return element, created

    def put_element(self, submodel_id: str, path: IdShortPath, data: Any) -> bool:
        """Replace the element at ``path``, or create it under its existing parent; returns whether created."""
        element = codec.validate_element(data)
        if isinstance(path[-1], str) and element.get("idShort") != path[-1]:
            raise InvalidRequestError("the idShort in the body differs from the idShortPath", path="idShort")
        if len(path) == 1:
            try:
                self.store.update_element(submodel_id, path[0], lambda _: element)
                return False
            except NotFoundError:
                self.store.get("submodel", submodel_id)  # a missing submodel stays a 404
                self.store.add_element(submodel_id, element)
                return True
        created = False

        def put(top: JSON) -> JSON:
            nonlocal created
            try:
                tree.find(top, path)
            except NotFoundError:
                if isinstance(path[-1], int):
                    raise
                created = True
                return codec.validate_element(tree.append_child(top, path[:-1], element))
            return codec.validate_element(tree.replace(top, path, element))

        self.store.update_element(submodel_id, _top(path), put)
        return created

    def patch_element(self, submodel_id: str, path: IdShortPath, data: Any) -> None:
        """Merge the body's attributes into the element (children included, as given)."""
        if not isinstance(data, dict):
            raise InvalidRequestError("expected a SubmodelElement JSON object")
        self._edit(submodel_id, path, lambda element: {**element, **data})

    def patch_element_metadata(self, submodel_id: str, path: IdShortPath, data: Any) -> None:
        if not isinstance(data, dict):
            raise InvalidRequestError("expected a metadata JSON object")
        if "value" in data:
            raise InvalidRequestError("$metadata cannot carry a value", path="value")
        self._edit(submodel_id, path, lambda element: {**element, **data})

    def patch_element_value(self, submodel_id: str, path: IdShortPath, value: Any) -> None:
        """Set the element's value; an element mirroring a device is written to the device first (see
        :data:`ValueWriter`) and stored with the value the device reports back."""
        where = format_path(path)
        device = self._value_writers.get((submodel_id, where))
        if device is not None:
            self._require_internal_caller(submodel_id, path)

        def change(element: JSON) -> JSON:
            requested = value_only.apply_value(element, _unwrap(element, value, where), where)
            return device(codec.validate_element(requested)) if device else requested

        self._edit(submodel_id, path, change)

    def _require_internal_caller(self, submodel_id: str, path: IdShortPath) -> None:
        """Devices are written for callers of internal ports only (an element hidden from the caller stays a 404)."""
        caller = current_caller()
        if caller is not None and not caller.internal:
            self.element(submodel_id, path)
            raise ForbiddenError("this element mirrors a device; its value is written through an internal port only",
                                 path=format_path(path))

    def _refuse_device_values(self, submodel_id: str, id_short: str) -> None:
        """A submodel's ``$value`` PATCH cannot carry device values: each device write has its own verdict."""
        for sm_id, path in self._value_writers:
            if sm_id == submodel_id and (path == id_short or path.startswith((f"{id_short}.", f"{id_short}["))):
                self._require_internal_caller(submodel_id, parse_path(path))
                raise UnsupportedError(f"{path} mirrors a device: PATCH its own .../submodel-elements/{path}/$value",
                                       path=id_short)

    def delete_element(self, submodel_id: str, path: IdShortPath) -> None:
        top, element = self.top_and_element(submodel_id, path)
        if len(path) == 1:
            self.store.delete_element(submodel_id, path[0])
        else:
            self.store.update_element(submodel_id, _top(path), lambda t: tree.replace(t, path, None))
        for sub_path, sub in tree.walk(element, path):
            if sub.get("modelType") in ("File", "Blob"):
                self.store.delete_attachments(attachment_key(submodel_id, sub_path))

    def _edit(self, submodel_id: str, path: IdShortPath, edit: Any) -> None:
        def change(top: JSON) -> JSON:
            before = tree.find(top, path)
            after = edit(before)
            if after.get("idShort") != before.get("idShort") or after.get("modelType") != before.get("modelType"):
                raise InvalidRequestError("idShort and modelType cannot be changed by PATCH", path=format_path(path))
            return codec.validate_element(tree.replace(top, path, after))

        self.store.update_element(submodel_id, _top(path), change)

    # -- attachments of File elements ---------------------------------------------------------------------

    def attachment(self, submodel_id: str, path: IdShortPath) -> Attachment:
        """The content of the File at ``path``. :raises NotFoundError: none, or none for its current value"""
        element = self.element(submodel_id, path)
        _require_file(element, path)
        return current_attachment(self.store, submodel_id, path, element)

    def put_attachment(self, submodel_id: str, path: IdShortPath, attachment: Attachment) -> None:
        """Store the file and point the File element at it (its value becomes the file name)."""
        _require_file(self.element(submodel_id, path), path)
        self.store.put_attachment(attachment_key(submodel_id, path), attachment)
        self._edit(
            submodel_id, path,
            lambda element: {**element, "value": attachment.filename, "contentType": attachment.content_type},
        )

    def delete_attachment(self, submodel_id: str, path: IdShortPath) -> None:
        self.attachment(submodel_id, path)  # 404 when there is none
        self.store.delete_attachments(attachment_key(submodel_id, path))
        self._edit(submodel_id, path, lambda element: {k: v for k, v in element.items() if k != "value"})


def current_attachment(store: Store, submodel_id: str, path: IdShortPath, element: JSON) -> Attachment:
    """The stored content of a File element, if it is the content of the element's current value.

    An upload sets the value to the uploaded file's name; after a PUT, PATCH or import that changes the value,
    the bytes kept under the element's path belong to a file the element no longer names.

    :raises NotFoundError:
    """
    found = store.get_attachment(attachment_key(submodel_id, path))
    if found.filename != element.get("value"):
        raise NotFoundError("no file content stored for this File's value", path=format_path(path))
    return found


def _top(path: IdShortPath) -> str:
    if not isinstance(path[0], str):
        raise InvalidRequestError("an idShortPath starts with an idShort", path=format_path(path))
    return path[0]


def _validate_submodel(data: Any) -> JSON:
    submodel = codec.validate("submodel", data)
    for i, element in enumerate(submodel.get("submodelElements", [])):
        if "idShort" not in element:
            raise InvalidRequestError("a submodel element needs an idShort", path=f"submodelElements[{i}]")
    return submodel


def _require_file(element: JSON, path: IdShortPath) -> None:
    if element.get("modelType") != "File":
        raise InvalidRequestError(
            f"attachments belong to File elements, this is a {element.get('modelType')}", path=format_path(path)
        )


def _unwrap(element: JSON, value: Any, where: str) -> Any:
    """Accept the ValueOnly of one element both bare and wrapped as ``{idShort: value}`` (the form GET returns;
    a list item has no idShort, so GET names it by its idShortPath, e.g. ``{"Intervals[1]": 200}``)."""
    name = element.get("idShort") or where
    if isinstance(value, dict) and len(value) == 1 and name in value:
        if element.get("modelType") != "SubmodelElementCollection" or not any(
            c.get("idShort") == name for c in tree.children(element)
        ):
            return value[name]
    return value


def _with_value(top: JSON, value: Any, id_short: str) -> JSON:
    return codec.validate_element(value_only.apply_value(top, value, id_short))
