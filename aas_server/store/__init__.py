"""Stores keep the canonical JSON of identifiables and submodel elements; see ``base.Store``."""
from __future__ import annotations

import contextlib
from collections.abc import Iterator
from importlib.metadata import entry_points

from ..settings import Settings
from .base import Store


def open_store(settings: Settings) -> Store:
    """The store the settings select, loaded through the ``aas_server.stores`` entry points, wrapped so that
    registry descriptors stay in step with the repository (``registry.sync``)."""
    (entry,) = entry_points(group="aas_server.stores", name=settings.store_kind)
    store: Store = entry.load().from_settings(settings)
    # descriptors and asset links follow every shell and submodel write, whoever writes (API, import, adapter)
    from ..registry.sync import RegistrySyncStore

    synced: Store = RegistrySyncStore(store, push=bool(settings.registry_push_url))  # type: ignore[assignment]
    return synced


@contextlib.contextmanager
def opened_store(settings: Settings) -> Iterator[Store]:
    """``with opened_store(settings) as store:`` the store of a command, closed when it is done."""
    store = open_store(settings)
    try:
        yield store
    finally:
        store.close()
