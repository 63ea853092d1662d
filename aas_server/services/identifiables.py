"""Shells and concept descriptions: whole-object writes, validated through the SDK."""
from __future__ import annotations

from typing import Any, Callable

from ..errors import ConflictError, InvalidRequestError, NotFoundError
from ..model import codec
from ..store.base import JSON, Attachment, Page, PageRequest, Query, Store


class IdentifiableService:
    """CRUD for one kind of identifiable (``shell`` or ``concept_description``)."""

    def __init__(self, store: Store, kind: str) -> None:
        self.store = store
        self.kind = kind

    def get(self, identifier: str) -> JSON:
        return self.store.get(self.kind, identifier)

    def find(self, query: Query, page: PageRequest) -> Page[JSON]:
        return self.store.find(self.kind, query, page)

    def create(self, data: Any) -> JSON:
        obj = codec.validate(self.kind, data)
        self.store.create(self.kind, obj)
        return obj

    def put(self, identifier: str, data: Any) -> bool:
        """Replace, or create when absent (PUT is an upsert in Part 2). Returns whether it was created."""
        obj = codec.validate(self.kind, data)
        _require_same_id(identifier, obj)
        try:
            self.store.replace(self.kind, obj)
            return False
        except NotFoundError:
            self.store.create(self.kind, obj)
            return True

    def delete(self, identifier: str) -> None:
        self.store.delete(self.kind, identifier)

    def change(self, identifier: str, edit: Callable[[JSON], JSON]) -> JSON:
        """Validate and store ``edit`` applied to the current object."""
        obj = codec.validate(self.kind, edit(self.get(identifier)))
        _require_same_id(identifier, obj)
        self.store.replace(self.kind, obj)
        return obj


class ShellService(IdentifiableService):
    """The shell-specific parts of the AAS Repository: asset information and submodel references."""

    def __init__(self, store: Store) -> None:
        super().__init__(store, "shell")

    def create(self, data: Any) -> JSON:
        return super().create(_require_submodel_refs(data))

    def put(self, identifier: str, data: Any) -> bool:
        return super().put(identifier, _require_submodel_refs(data))

    def put_asset_information(self, shell_id: str, data: Any) -> None:
        info = codec.validate_in_shell("assetInformation", data, "AssetInformation")
        self.change(shell_id, lambda shell: {**shell, "assetInformation": info})

    def thumbnail(self, shell_id: str) -> Attachment:
        """:raises NotFoundError: no shell, or no stored image for its defaultThumbnail"""
        return current_thumbnail(self.store, self.get(shell_id))

    def submodel_refs(self, shell_id: str) -> list[JSON]:
        refs: list[JSON] = self.get(shell_id).get("submodels", [])
        return refs

    def add_submodel_ref(self, shell_id: str, data: Any) -> JSON:
        ref = codec.validate_in_shell("submodels", data, "Reference")
        _require_submodel_refs({"submodels": [ref]})

        def add(shell: JSON) -> JSON:
            refs = shell.get("submodels", [])
            if any(r == ref for r in refs):
                raise ConflictError("the shell references this submodel already")
            return {**shell, "submodels": [*refs, ref]}

        self.change(shell_id, add)
        return ref

    def remove_submodel_ref(self, shell_id: str, submodel_id: str) -> None:
        def remove(shell: JSON) -> JSON:
            refs = shell.get("submodels", [])
            kept = [r for r in refs if referenced_submodel(r) != submodel_id]
            if len(kept) == len(refs):
                raise NotFoundError("the shell does not reference this submodel", path=submodel_id)
            return {**shell, "submodels": kept}

        self.change(shell_id, remove)

    def require_submodel_ref(self, shell_id: str, submodel_id: str) -> None:
        """:raises NotFoundError: the shell is missing or does not reference the submodel"""
        if not any(referenced_submodel(r) == submodel_id for r in self.submodel_refs(shell_id)):
            raise NotFoundError("the shell does not reference this submodel", path=submodel_id)


def thumbnail_key(shell_id: str) -> str:
    """Attachment key of a shell's default thumbnail."""
    return f"shell-thumbnail\n{shell_id}\n"


def current_thumbnail(store: Store, shell: JSON) -> Attachment:
    """The stored thumbnail of ``shell``, if it is the file its defaultThumbnail names now.

    An upload sets defaultThumbnail to the uploaded file's name; once asset information names another file (or
    none), the kept bytes are not the shell's thumbnail any more.

    :raises NotFoundError:
    """
    path = shell.get("assetInformation", {}).get("defaultThumbnail", {}).get("path")
    found = store.get_attachment(thumbnail_key(shell["id"]))
    if path is None or found.filename != path:
        raise NotFoundError("no thumbnail stored for this shell's defaultThumbnail", path=shell["id"])
    return found


def referenced_submodel(reference: JSON) -> str | None:
    """The submodel id a shell's submodel reference points at."""
    keys = reference.get("keys") or []
    return keys[-1].get("value") if keys and keys[-1].get("type") == "Submodel" else None


def _require_submodel_refs(shell: Any) -> Any:
    """A shell's submodel references end in a Submodel key; the SDK only logs a warning for others.

    :raises InvalidRequestError:
    """
    refs = shell.get("submodels") if isinstance(shell, dict) else None
    for i, ref in enumerate(refs if isinstance(refs, list) else []):
        if isinstance(ref, dict) and referenced_submodel(ref) is None:
            raise InvalidRequestError("a submodel reference must be a ModelReference whose last key is a Submodel",
                                      path=f"submodels[{i}]")
    return shell


def _require_same_id(identifier: str, obj: JSON) -> None:
    if obj["id"] != identifier:
        raise InvalidRequestError("the id in the body differs from the id in the path", path="id")
