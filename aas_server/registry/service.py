"""Use cases of the AAS Registry, the Submodel Registry (with bulk) and the Discovery service.

Descriptors and asset links of shells and submodels held in this repository follow them (``sync``); writing them
through the registry or discovery interfaces would be undone by the next change, so it is refused (409) with a
pointer to the repository route. Descriptors of twins held elsewhere are registered and changed freely.
"""
from __future__ import annotations

import functools
import uuid
from collections.abc import Callable, Collection
from typing import Any

from ..errors import AASError, ConflictError, InvalidRequestError, NotFoundError
from ..model.index import ASSET_ID, ASSET_KIND, ASSET_TYPE, asset_id_term
from ..security.caller import current_caller
from ..store.base import JSON, Page, PageRequest, Query, Store
from .descriptors import (
    EndpointStyle,
    link_visible,
    render,
    validate_asset_links,
    validate_shell_descriptor,
    validate_submodel_descriptor,
)
from .sync import upsert

BULK_COLLECTION = "registry_bulk"
#: (descriptor kind, repository kind, validator) per registry
_REGISTRIES: dict[str, tuple[str, Callable[[Any], JSON]]] = {
    "shell_descriptor": ("shell", validate_shell_descriptor),
    "submodel_descriptor": ("submodel", validate_submodel_descriptor),
}


class RegistryService:
    """Shell and submodel descriptors: ``kind`` arguments are ``shell_descriptor`` or ``submodel_descriptor``."""

    def __init__(self, store: Store, public_names: Collection[str]) -> None:
        self.store = store
        self.public_names = public_names

    def shown(self, descriptor: JSON, style: EndpointStyle) -> JSON:
        """The descriptor as the current caller may see it."""
        return render(descriptor, style, current_caller(), self.public_names)

    # -- descriptors --------------------------------------------------------------------------------------------

    def find(self, kind: str, page: PageRequest, asset_kind: str | None = None,
             asset_type: str | None = None) -> Page[JSON]:
        terms = tuple((field, value) for field, value in ((ASSET_KIND, asset_kind), (ASSET_TYPE, asset_type)) if value)
        return self.store.find(kind, Query(terms=terms), page)

    def get(self, kind: str, identifier: str) -> JSON:
        return self.store.get(kind, identifier)

    def create(self, kind: str, data: Any) -> JSON:
        descriptor = self._validate(kind, data)
        self._require_elsewhere(kind, descriptor["id"])
        self.store.create(kind, descriptor)
        return descriptor

    def put(self, kind: str, identifier: str, data: Any) -> bool:
        """Replace or create; returns whether it was created."""
        descriptor = self._validate(kind, data)
        if descriptor["id"] != identifier:
            raise InvalidRequestError("the id in the body differs from the id in the path", path="id")
        self._require_elsewhere(kind, identifier)
        try:
            self.store.replace(kind, descriptor)
            return False
        except NotFoundError:
            self.store.create(kind, descriptor)
            return True

    def delete(self, kind: str, identifier: str) -> None:
        self.store.get(kind, identifier)  # 404 before 409
        self._require_elsewhere(kind, identifier)
        self.store.delete(kind, identifier)

    # -- submodel descriptors inside a shell descriptor ----------------------------------------------------------

    def shell_submodels(self, shell_id: str) -> list[JSON]:
        found: list[JSON] = self.get("shell_descriptor", shell_id).get("submodelDescriptors", [])
        return found

    def shell_submodel(self, shell_id: str, submodel_id: str) -> JSON:
        for descriptor in self.shell_submodels(shell_id):
            if descriptor["id"] == submodel_id:
                return descriptor
        raise NotFoundError("the shell descriptor has no such submodel descriptor", path=submodel_id)

    def put_shell_submodel(self, shell_id: str, data: Any, submodel_id: str | None = None) -> bool:
        """Add (``submodel_id`` None: must be new) or replace one; returns whether it was added."""
        descriptor = validate_submodel_descriptor(data)
        if submodel_id is not None and descriptor["id"] != submodel_id:
            raise InvalidRequestError("the id in the body differs from the id in the path", path="id")
        shell = self.get("shell_descriptor", shell_id)
        self._require_elsewhere("shell_descriptor", shell_id)
        current = shell.get("submodelDescriptors", [])
        added = all(s["id"] != descriptor["id"] for s in current)
        if submodel_id is None and not added:
            raise ConflictError("the shell descriptor has this submodel descriptor already", path=descriptor["id"])
        changed = [*current, descriptor] if added else [descriptor if s["id"] == descriptor["id"] else s for s in current]
        self.store.replace("shell_descriptor", {**shell, "submodelDescriptors": changed})
        return added

    def delete_shell_submodel(self, shell_id: str, submodel_id: str) -> None:
        shell = self.get("shell_descriptor", shell_id)
        self.shell_submodel(shell_id, submodel_id)
        self._require_elsewhere("shell_descriptor", shell_id)
        kept = [s for s in shell["submodelDescriptors"] if s["id"] != submodel_id]
        self.store.replace("shell_descriptor", {k: v for k, v in shell.items() if k != "submodelDescriptors"}
                           | ({"submodelDescriptors": kept} if kept else {}))

    # -- bulk (SSP-003): all or nothing, finished before the 202 -------------------------------------------------

    def bulk(self, kind: str, method: str, data: Any) -> str:
        """Run a bulk request; its outcome is kept under the returned handle.

        :raises InvalidRequestError: the body is not a non-empty array (answered at once, not under a handle)
        """
        if not isinstance(data, list) or not data:
            raise InvalidRequestError("expected a non-empty array")
        handle = uuid.uuid4().hex
        try:
            self._bulk(kind, method, data)
            outcome: JSON = {"executionState": "Completed", "success": True}
        except AASError as e:
            outcome = {"executionState": "Completed", "success": False, "error": str(e)}
        self.store.put_record(BULK_COLLECTION, handle, outcome)
        return handle

    def bulk_outcome(self, handle: str) -> JSON:
        try:
            return self.store.get_record(BULK_COLLECTION, handle)
        except NotFoundError:
            raise NotFoundError("no bulk request with this handle", path=handle) from None

    def _bulk(self, kind: str, method: str, data: list[Any]) -> None:
        if method == "DELETE":
            if not all(isinstance(i, str) for i in data):
                raise InvalidRequestError("expected an array of identifiers")
            ids, descriptors = list(data), []
        else:
            descriptors = [_at(i, functools.partial(self._validate, kind, d)) for i, d in enumerate(data)]
            ids = [d["id"] for d in descriptors]
        if len(set(ids)) < len(ids):
            raise InvalidRequestError("an identifier occurs twice in the bulk request")
        before = {}
        for i, identifier in enumerate(ids):
            _at(i, functools.partial(self._require_elsewhere, kind, identifier))
            before[identifier] = self._get_or_none(kind, identifier)
            if method == "POST" and before[identifier] is not None:
                raise ConflictError("a descriptor with this id exists already", path=f"[{i}]")
            if method == "DELETE" and before[identifier] is None:
                raise NotFoundError("no descriptor with this id", path=f"[{i}]")
        try:
            for identifier, descriptor in zip(ids, descriptors or [None] * len(ids)):
                if descriptor is None:
                    self.store.delete(kind, identifier)
                else:
                    upsert(self.store, kind, descriptor)
        except AASError:
            self._restore(kind, before)
            raise

    def _restore(self, kind: str, before: dict[str, JSON | None]) -> None:
        """Undo a bulk request that failed part way (the store gives no multi-document transaction)."""
        for identifier, previous in before.items():
            if previous is None:
                try:
                    self.store.delete(kind, identifier)
                except NotFoundError:
                    pass
            else:
                upsert(self.store, kind, previous)

    # -- helpers --------------------------------------------------------------------------------------------------

    @staticmethod
    def _validate(kind: str, data: Any) -> JSON:
        return _REGISTRIES[kind][1](data)

    def _get_or_none(self, kind: str, identifier: str) -> JSON | None:
        try:
            return self.store.get(kind, identifier)
        except NotFoundError:
            return None

    def _require_elsewhere(self, kind: str, identifier: str) -> None:
        """:raises ConflictError: the descriptor belongs to a shell or submodel of this repository"""
        repository_kind = _REGISTRIES[kind][0]
        if self._get_or_none(repository_kind, identifier) is not None:
            route = "/shells/{id}" if repository_kind == "shell" else "/submodels/{id}"
            raise ConflictError(f"the {repository_kind} is held in this repository and its descriptor follows it; "
                                f"change it through {route}", path=identifier)


class DiscoveryService:
    """Asset links: which shell ids an asset id leads to, answered from the indexed ``asset_links`` records.

    A lookup returns a shell only when every asked asset id is visible to the caller on that shell, so it never
    confirms an asset id the caller may not see.
    """

    def __init__(self, store: Store, public_names: Collection[str]) -> None:
        self.store = store
        self.public_names = public_names

    def lookup(self, links: list[tuple[str, str]], page: PageRequest) -> Page[str]:
        terms = tuple((ASSET_ID, asset_id_term(name, value)) for name, value in links)
        found = self.store.find("asset_links", Query(terms=terms), page)
        caller = current_caller()
        ids = []
        for record in found.items:
            visible = {(link["name"], link["value"]) for link in record["assetLinks"]
                       if link_visible(link, caller, self.public_names)}
            if visible and all(link in visible for link in links):
                ids.append(record["id"])
        return Page(ids, found.next_after)

    def links(self, shell_id: str) -> list[JSON]:
        """:raises NotFoundError: no links, or none visible to the caller"""
        try:
            record = self.store.get("asset_links", shell_id)
        except NotFoundError:
            raise NotFoundError("no asset links for this shell id", path=shell_id) from None
        caller = current_caller()
        visible = [link for link in record["assetLinks"] if link_visible(link, caller, self.public_names)]
        if not visible:
            raise NotFoundError("no asset links for this shell id", path=shell_id)
        return visible

    def put_links(self, shell_id: str, data: Any) -> list[JSON]:
        links = validate_asset_links(data)
        self._require_elsewhere(shell_id)
        upsert(self.store, "asset_links", {"id": shell_id, "assetLinks": links})
        return links

    def delete_links(self, shell_id: str) -> None:
        self.links(shell_id)
        self._require_elsewhere(shell_id)
        self.store.delete("asset_links", shell_id)

    def _require_elsewhere(self, shell_id: str) -> None:
        try:
            self.store.get("shell", shell_id)
        except NotFoundError:
            return
        raise ConflictError("the shell is held in this repository and its asset links follow its asset information; "
                            "change it through /shells/{id}/asset-information", path=shell_id)


def _at(index: int, run: Callable[[], Any]) -> Any:
    """Run ``run``, prefixing the path of an error with the bulk item's index."""
    try:
        return run()
    except AASError as e:
        e.path = f"[{index}].{e.path}" if e.path else f"[{index}]"
        raise
