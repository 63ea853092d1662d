"""HTTP API: one set of blueprints, mounted under /api/v3.1 and (for 3.0 clients) /api/v3.0."""
from __future__ import annotations

from flask import Blueprint, Flask

from . import (
    audit, concept_descriptions, description, discovery, errors, health, lineage, packages, registry, serialization,
    shells, submodels,
)

API_PREFIXES = {"v3_1": "/api/v3.1", "v3_0": "/api/v3.0"}


def _api_blueprint() -> Blueprint:
    api = Blueprint("api", __name__)
    api.register_blueprint(shells.bp)
    api.register_blueprint(submodels.submodels_bp)
    api.register_blueprint(submodels.submodel_bp, url_prefix="/submodels/<submodel_id>", name="submodel")
    # the Submodel Service at a submodel descriptor's href: Catena-X (CX-0002) reads <href>/submodel/$value
    api.register_blueprint(submodels.submodel_bp, url_prefix="/submodels/<submodel_id>/submodel",
                           name="submodel_service")
    api.register_blueprint(
        submodels.submodel_bp, url_prefix="/shells/<shell_id>/submodels/<submodel_id>", name="shell_submodel"
    )
    api.register_blueprint(concept_descriptions.bp)
    api.register_blueprint(description.bp)
    api.register_blueprint(serialization.bp)
    api.register_blueprint(packages.bp)
    api.register_blueprint(registry.bp)
    api.register_blueprint(discovery.bp)
    return api


def register(app: Flask) -> None:
    api = _api_blueprint()
    for name, prefix in API_PREFIXES.items():
        app.register_blueprint(api, url_prefix=prefix, name=name)
    app.register_blueprint(health.bp)  # /health/*, /metrics: probes and operators
    app.register_blueprint(lineage.bp)  # /internal/lineage: batch adapter lineage, outside the Part 2 API
    app.register_blueprint(audit.bp)  # /internal/audit: what external ports disclosed
    app.register_blueprint(registry.internal_bp)  # /internal/registry/outbox: pushes to an external registry
    errors.register(app)
