"""A Store decorator that keeps descriptors and asset links in step with shells and submodels.

Every write of a shell or submodel header (create, replace, update_header, delete) re-derives the descriptors
it affects right after the write, in the same call: the API, imports and adapters all write through
``open_store``, which installs this decorator. Element writes do not change descriptors and pass through.

Crash safety: a crash between the repository write and the descriptor write leaves a stale descriptor, never a
lost shell; so can two processes writing the same shell at the same moment (each derives from the object it
wrote, and the later descriptor write wins). :func:`resync` re-derives every descriptor from the repository
(``aas-server registry resync``).
"""
from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from ..errors import ConflictError, NotFoundError
from ..model.index import SUBMODEL
from ..services.identifiables import referenced_submodel
from ..store.base import JSON, Query, Store, iterate
from . import outbox
from .descriptors import asset_links, shell_descriptor, submodel_descriptor

logger = logging.getLogger(__name__)


def upsert(store: Store, kind: str, obj: JSON, new: bool = False) -> None:
    """Replace, or create when absent (and replace after all when a concurrent writer created it first).

    :param new: ``obj`` is most likely absent (its shell was just created): try creating first
    """
    if new:
        try:
            store.create(kind, obj)
            return
        except ConflictError:
            pass
    try:
        store.replace(kind, obj)
    except NotFoundError:
        try:
            store.create(kind, obj)
        except ConflictError:
            store.replace(kind, obj)


def delete_quietly(store: Store, kind: str, identifier: str) -> None:
    try:
        store.delete(kind, identifier)
    except NotFoundError:
        pass


class RegistrySyncStore:
    """Wraps ``inner``; every other attribute of the store is passed through unchanged.

    :param push: queue changed shell descriptors for the external registry (``registry_push_url`` set)
    """

    def __init__(self, inner: Store, push: bool = False) -> None:
        self.inner = inner
        self._push = push

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    # -- writes that change descriptors ---------------------------------------------------------------------

    def create(self, kind: str, obj: JSON) -> None:
        self.inner.create(kind, obj)
        self._written(kind, obj, new=True)

    def replace(self, kind: str, obj: JSON) -> None:
        self.inner.replace(kind, obj)
        self._written(kind, obj, new=False)

    def update_header(self, submodel_id: str, change: Callable[[JSON], JSON]) -> JSON:
        header = self.inner.update_header(submodel_id, change)
        self._submodel_written(header)
        return header

    def delete(self, kind: str, identifier: str) -> None:
        self.inner.delete(kind, identifier)
        if kind == "shell":
            delete_quietly(self.inner, "shell_descriptor", identifier)
            delete_quietly(self.inner, "asset_links", identifier)
            self._queue(identifier)
        elif kind == "submodel":
            delete_quietly(self.inner, "submodel_descriptor", identifier)
            self._refresh_shells_of(identifier)
        elif kind == "shell_descriptor":
            delete_quietly(self.inner, "asset_links", identifier)

    def _written(self, kind: str, obj: JSON, new: bool) -> None:
        if kind == "shell":
            self.sync_shell(obj, new)
        elif kind == "submodel":
            self._submodel_written(obj)
        elif kind == "shell_descriptor":
            upsert(self.inner, "asset_links", asset_links(obj), new)

    # -- derivation -----------------------------------------------------------------------------------------

    def sync_shell(self, shell: JSON, new: bool = False) -> None:
        """Write the shell's descriptor (with its submodels' descriptors) and its asset links.

        :param new: the shell was just created, so its descriptor is most likely absent
        """
        submodels = []
        for ref in shell.get("submodels") or []:
            submodel_id = referenced_submodel(ref)
            try:
                submodels.append(self.inner.get("submodel_descriptor", submodel_id or ""))
            except NotFoundError:
                continue  # referenced, not (yet) held here
        descriptor = shell_descriptor(shell, submodels)
        upsert(self.inner, "shell_descriptor", descriptor, new)
        upsert(self.inner, "asset_links", asset_links(descriptor), new)
        self._queue(shell["id"])

    def _submodel_written(self, submodel: JSON) -> None:
        descriptor = submodel_descriptor(submodel)
        try:
            if self.inner.get("submodel_descriptor", submodel["id"]) == descriptor:
                return  # elements changed, the descriptor did not: nothing to propagate
        except NotFoundError:
            pass
        upsert(self.inner, "submodel_descriptor", descriptor)
        self._refresh_shells_of(submodel["id"])

    def _refresh_shells_of(self, submodel_id: str) -> None:
        query = Query(terms=((SUBMODEL, submodel_id),))
        for shell in list(iterate(lambda page: self.inner.find("shell", query, page))):
            self.sync_shell(shell)

    def _queue(self, shell_id: str) -> None:
        if self._push:
            outbox.enqueue(self.inner, shell_id)


def resync(store: RegistrySyncStore) -> int:
    """Re-derive every descriptor and asset link of the repository (after a crash, a lost race between two
    writers of one shell, or an upgrade from a version without registry); returns how many shells were synced.
    Descriptors registered for shells held elsewhere are kept."""
    for submodel in iterate(lambda page: store.inner.find("submodel", Query(), page)):
        upsert(store.inner, "submodel_descriptor", submodel_descriptor(submodel))
    count = 0
    for shell in list(iterate(lambda page: store.inner.find("shell", Query(), page))):
        store.inner.replace("shell", shell)  # re-indexes its submodel references (terms of older versions lack them)
        store.sync_shell(shell)
        count += 1
    logger.info("registry resync: %d shell descriptors derived", count)
    return count
