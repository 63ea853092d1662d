"""/description: the service profiles this server really serves."""
from __future__ import annotations

from flask import Blueprint, Response, request

from .common import json_response

bp = Blueprint("description", __name__)

_PREFIX = "https://admin-shell.io/aas/API/3/{minor}/{spec}/SSP-001"
_SPECS = (
    "AssetAdministrationShellRepositoryServiceSpecification",
    "SubmodelRepositoryServiceSpecification",
    "ConceptDescriptionRepositoryServiceSpecification",
    "AasxFileServerServiceSpecification",
)


def profiles(minor: int) -> list[str]:
    return [_PREFIX.format(minor=minor, spec=spec) for spec in _SPECS]


@bp.get("/description")
def describe() -> Response:
    minor = 0 if "/api/v3.0" in request.path else 1
    return json_response({"profiles": profiles(minor)})
