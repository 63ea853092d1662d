"""AAS Registry, Submodel Registry and Discovery, kept in step with the repository.

Descriptors and asset links are stored like identifiables (kinds ``shell_descriptor``, ``submodel_descriptor``,
``asset_links``), so filters and lookups are answered from the stores' indexed terms. ``sync.RegistrySyncStore``
wraps the store (``open_store``) and re-derives them on every shell and submodel write, whoever writes: the API,
an import or an adapter.
"""
