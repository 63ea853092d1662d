"""AAS Registry (/shell-descriptors), Submodel Registry (/submodel-descriptors) and their bulk routes (/bulk).

IDTA-01002 AssetAdministrationShellRegistryServiceSpecification and SubmodelRegistryServiceSpecification,
profiles SSP-001 (full), SSP-002 (read) and SSP-003 (bulk). Endpoint hrefs of this server's own descriptors are
resolved against the public root of the port the request came through (:func:`endpoint_style`).
"""
from __future__ import annotations

from flask import Blueprint, Response, request, url_for

from ..errors import InvalidRequestError, NotFoundError
from ..model.ids import decode_id
from ..ports import current_port
from ..registry import outbox
from ..registry.descriptors import ASSET_KINDS, EndpointStyle
from ..store.base import JSON, Page
from .common import (
    body,
    created,
    id_arg,
    json_response,
    no_content,
    page_request,
    paged,
    services,
    url_for_id,
)

bp = Blueprint("registry", __name__)
internal_bp = Blueprint("registry_internal", __name__, url_prefix="/internal/registry")

_SHELLS, _SUBMODELS = "shell_descriptor", "submodel_descriptor"


def endpoint_style() -> EndpointStyle:
    """Relative hrefs resolve against the port's ``public_base_url``, else the server's ``public_base_url`` (else the
    request's host) plus the port's path."""
    settings = services().settings
    api_root = url_for(f"{request.blueprints[-1]}.description.describe").rsplit("/description", 1)[0]
    port_path = api_root.rsplit("/api/", 1)[0]
    origin = settings.public_base_url.rstrip("/") or request.host_url.rstrip("/")
    port = current_port()
    base = port.public_base_url.rstrip("/") if port and port.public_base_url else origin + port_path
    return EndpointStyle(base, settings.registry_subprotocol, settings.registry_subprotocol_body,
                         settings.registry_subprotocol_body_encoding)


def _shown(descriptor: JSON) -> JSON:
    return services().registry.shown(descriptor, endpoint_style())


def _listed(page: Page[JSON]) -> Response:
    style = endpoint_style()
    return paged(page, lambda d: services().registry.shown(d, style))


def _asset_kind() -> str | None:
    value = request.args.get("assetKind")
    if value is not None and value not in ASSET_KINDS:
        raise InvalidRequestError(f"assetKind must be one of {', '.join(ASSET_KINDS)}", path="assetKind")
    return value


# -- shell descriptors ---------------------------------------------------------------------------------------------


@bp.get("/shell-descriptors")
def list_shell_descriptors() -> Response:
    page = services().registry.find(_SHELLS, page_request(), _asset_kind(), id_arg("assetType"))
    return _listed(page)


@bp.post("/shell-descriptors")
def create_shell_descriptor() -> Response:
    descriptor = services().registry.create(_SHELLS, body())
    return created(_shown(descriptor), url_for_id(request.path.rstrip("/"), descriptor["id"]))


@bp.get("/shell-descriptors/<aas_id>")
def get_shell_descriptor(aas_id: str) -> Response:
    return json_response(_shown(services().registry.get(_SHELLS, decode_id(aas_id))))


@bp.put("/shell-descriptors/<aas_id>")
def put_shell_descriptor(aas_id: str) -> Response:
    identifier = decode_id(aas_id)
    if services().registry.put(_SHELLS, identifier, body()):
        return created(_shown(services().registry.get(_SHELLS, identifier)), request.path)
    return no_content()


@bp.delete("/shell-descriptors/<aas_id>")
def delete_shell_descriptor(aas_id: str) -> Response:
    services().registry.delete(_SHELLS, decode_id(aas_id))
    return no_content()


# -- submodel descriptors of a shell descriptor ------------------------------------------------------------------


@bp.get("/shell-descriptors/<aas_id>/submodel-descriptors")
def list_shell_submodel_descriptors(aas_id: str) -> Response:
    items = services().registry.shell_submodels(decode_id(aas_id))
    page = page_request()
    start = 0
    if page.after is not None:
        start = next((i + 1 for i, d in enumerate(items) if d["id"] == page.after), -1)
        if start < 0:
            raise InvalidRequestError("invalid cursor", path="cursor")
    chosen = items[start : start + page.limit]
    more = start + page.limit < len(items)
    return _listed(Page(chosen, chosen[-1]["id"] if more else None))


@bp.post("/shell-descriptors/<aas_id>/submodel-descriptors")
def create_shell_submodel_descriptor(aas_id: str) -> Response:
    identifier = decode_id(aas_id)
    data = body()
    services().registry.put_shell_submodel(identifier, data)
    descriptor = services().registry.shell_submodels(identifier)[-1]
    return created(_shown(descriptor), url_for_id(request.path.rstrip("/"), descriptor["id"]))


@bp.get("/shell-descriptors/<aas_id>/submodel-descriptors/<submodel_id>")
def get_shell_submodel_descriptor(aas_id: str, submodel_id: str) -> Response:
    return json_response(_shown(services().registry.shell_submodel(decode_id(aas_id), decode_id(submodel_id))))


@bp.put("/shell-descriptors/<aas_id>/submodel-descriptors/<submodel_id>")
def put_shell_submodel_descriptor(aas_id: str, submodel_id: str) -> Response:
    shell_id, identifier = decode_id(aas_id), decode_id(submodel_id)
    if services().registry.put_shell_submodel(shell_id, body(), identifier):
        return created(_shown(services().registry.shell_submodel(shell_id, identifier)), request.path)
    return no_content()


@bp.delete("/shell-descriptors/<aas_id>/submodel-descriptors/<submodel_id>")
def delete_shell_submodel_descriptor(aas_id: str, submodel_id: str) -> Response:
    services().registry.delete_shell_submodel(decode_id(aas_id), decode_id(submodel_id))
    return no_content()


# -- submodel descriptors ----------------------------------------------------------------------------------------


@bp.get("/submodel-descriptors")
def list_submodel_descriptors() -> Response:
    return _listed(services().registry.find(_SUBMODELS, page_request()))


@bp.post("/submodel-descriptors")
def create_submodel_descriptor() -> Response:
    descriptor = services().registry.create(_SUBMODELS, body())
    return created(_shown(descriptor), url_for_id(request.path.rstrip("/"), descriptor["id"]))


@bp.get("/submodel-descriptors/<submodel_id>")
def get_submodel_descriptor(submodel_id: str) -> Response:
    return json_response(_shown(services().registry.get(_SUBMODELS, decode_id(submodel_id))))


@bp.put("/submodel-descriptors/<submodel_id>")
def put_submodel_descriptor(submodel_id: str) -> Response:
    identifier = decode_id(submodel_id)
    if services().registry.put(_SUBMODELS, identifier, body()):
        return created(_shown(services().registry.get(_SUBMODELS, identifier)), request.path)
    return no_content()


@bp.delete("/submodel-descriptors/<submodel_id>")
def delete_submodel_descriptor(submodel_id: str) -> Response:
    services().registry.delete(_SUBMODELS, decode_id(submodel_id))
    return no_content()


# -- bulk (SSP-003) ----------------------------------------------------------------------------------------------


@bp.route("/bulk/shell-descriptors", methods=["POST", "PUT", "DELETE"])
def bulk_shell_descriptors() -> Response:
    return _bulk(_SHELLS)


@bp.route("/bulk/submodel-descriptors", methods=["POST", "PUT", "DELETE"])
def bulk_submodel_descriptors() -> Response:
    return _bulk(_SUBMODELS)


def _bulk(kind: str) -> Response:
    handle = services().registry.bulk(kind, request.method, body())
    base = request.script_root + request.path.rsplit("/bulk/", 1)[0]  # the port's prefix: the same port answers
    return Response(status=202, headers={"Location": f"{base}/bulk/status/{handle}"})


@bp.get("/bulk/status/<handle>")
def bulk_status(handle: str) -> Response:
    services().registry.bulk_outcome(handle)  # 404 when unknown; bulk requests finish before their 202
    return Response(status=302, headers={
        "Location": request.script_root + request.path.replace("/bulk/status/", "/bulk/result/")})


@bp.get("/bulk/result/<handle>")
def bulk_result(handle: str) -> Response:
    outcome = services().registry.bulk_outcome(handle)
    if not outcome["success"]:
        raise InvalidRequestError(f"the bulk request was rolled back: {outcome['error']}")
    return no_content()


# -- /internal/registry: the push outbox ---------------------------------------------------------------------------


@internal_bp.get("/outbox")
def outbox_status() -> Response:
    """Pending and failing pushes to the external registry (``registry_push_url``)."""
    if not services().settings.registry_push_url:
        raise NotFoundError("no external registry configured (AAS_REGISTRY_PUSH_URL)")
    return json_response(outbox.status(services().store))
