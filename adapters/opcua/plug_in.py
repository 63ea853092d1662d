"""Plugs an OPC UA mapping into the API process: write-back for its nodes, its methods as Operation handlers.

``create_app`` calls :func:`install` when the setting ``opcua_mapping`` names a mapping (the same file the
gateway runs). Every node binding gets a value writer (writable ones write to the PLC, the others refuse: read-only
by default), every method binding an invocation handler. The API never subscribes: live values reach the store
through the gateway.
"""
from __future__ import annotations

from collections.abc import Iterable

from aas_server.model.paths import format_path, parse_path
from aas_server.services.registry import Services

from . import mapping as opcua_mapping
from .methods import PlcMethodHandler
from .plc_link import PlcLink
from .writeback import PlcValueWriter


def install(path: str, services: Iterable[Services]) -> dict[str, PlcLink]:
    """Register the mapping's writers and handlers on each of ``services`` (one per port); returns the links.

    :raises MappingError: the mapping is invalid (the API does not start with a broken mapping)
    """
    mapping = opcua_mapping.load(path)
    links = {spec.name: PlcLink(spec) for spec in mapping.sources}
    writers = [(b, PlcValueWriter(b, links[b.source])) for b in mapping.nodes]
    handlers = [(m, PlcMethodHandler(m, links[m.source])) for m in mapping.methods]
    for service in {id(s): s for s in services}.values():
        for binding, writer in writers:
            service.submodels.register_value_writer(writer, submodel_id=binding.submodel_id,
                                                    path=format_path(parse_path(binding.id_short_path)))
        for method, handler in handlers:
            service.operations.register(handler, submodel_id=method.submodel_id,
                                        path=parse_path(method.operation_path))
    return links
