"""/description: the service profiles this server really serves."""
from __future__ import annotations

from flask import Blueprint, Response, request

from .common import json_response

bp = Blueprint("description", __name__)

_PREFIX = "https://admin-shell.io/aas/API/3/{minor}/{spec}/{profile}"
#: full profiles (SSP-001), and the read profiles (SSP-002) they include, which read-only clients look for
_SPECS = (
    ("AssetAdministrationShellRepositoryServiceSpecification", ("SSP-001", "SSP-002")),
    ("SubmodelRepositoryServiceSpecification", ("SSP-001", "SSP-002")),
    ("ConceptDescriptionRepositoryServiceSpecification", ("SSP-001",)),
    ("AasxFileServerServiceSpecification", ("SSP-001",)),
    ("AssetAdministrationShellRegistryServiceSpecification", ("SSP-001", "SSP-002")),
    ("SubmodelRegistryServiceSpecification", ("SSP-001", "SSP-002")),
    ("DiscoveryServiceSpecification", ("SSP-001",)),
)
#: profiles that 3.1 added: the registries' bulk profiles, the AAS Registry's minimal read profile and the
#: discovery read profile (shellsByAssetLink); not the query profiles (SSP-004), which are not served
_SPECS_SINCE_3_1 = (
    ("AssetAdministrationShellRegistryServiceSpecification", ("SSP-003", "SSP-005")),
    ("SubmodelRegistryServiceSpecification", ("SSP-003",)),
    ("DiscoveryServiceSpecification", ("SSP-002",)),
)


def profiles(minor: int) -> list[str]:
    specs = _SPECS + (_SPECS_SINCE_3_1 if minor >= 1 else ())
    return [_PREFIX.format(minor=minor, spec=spec, profile=p) for spec, ids in specs for p in ids]


@bp.get("/description")
def describe() -> Response:
    minor = 0 if "/api/v3.0" in request.path else 1
    return json_response({"profiles": profiles(minor)})
