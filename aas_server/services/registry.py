"""The services of one app, built once from settings and a store and handed to the API."""
from __future__ import annotations

import dataclasses

from ..registry.service import DiscoveryService, RegistryService
from ..settings import Settings
from ..store.base import Store
from .identifiables import IdentifiableService, ShellService
from .operations import OperationService
from .packages import PackageService
from .submodels import SubmodelService


@dataclasses.dataclass
class Services:
    settings: Settings
    store: Store
    shells: ShellService
    submodels: SubmodelService
    concept_descriptions: IdentifiableService
    operations: OperationService
    packages: PackageService
    registry: RegistryService
    discovery: DiscoveryService

    @classmethod
    def build(cls, settings: Settings, store: Store) -> "Services":
        submodels = SubmodelService(store)
        return cls(
            settings=settings,
            store=store,
            shells=ShellService(store),
            submodels=submodels,
            concept_descriptions=IdentifiableService(store, "concept_description"),
            operations=OperationService(store, submodels, settings.operation_timeout_s),
            packages=PackageService(store),
            registry=RegistryService(store, settings.public_asset_id_name_set),
            discovery=DiscoveryService(store, settings.public_asset_id_name_set),
        )
