"""Discovery: /lookup/shells (IDTA-01002 DiscoveryServiceSpecification SSP-001, and 3.1's shellsByAssetLink).

``assetIds`` arguments are base64url-encoded SpecificAssetId objects (or arrays of them); all given must match.
"""
from __future__ import annotations

from flask import Blueprint, Response

from ..errors import InvalidRequestError
from ..model.ids import decode_id
from .common import (
    asset_id_args,
    asset_links,
    body,
    json_response,
    no_content,
    page_request,
    paged,
    services,
)

bp = Blueprint("discovery", __name__, url_prefix="/lookup")


@bp.get("/shells")
def lookup_shells() -> Response:
    return paged(services().discovery.lookup(asset_id_args(), page_request()))


@bp.post("/shellsByAssetLink")
def search_shells_by_asset_link() -> Response:
    data = body()
    if not isinstance(data, list):
        raise InvalidRequestError("expected an array of AssetLink objects")
    links = asset_links(data, "assetLinks")
    return paged(services().discovery.lookup(links, page_request()))


@bp.get("/shells/<aas_id>")
def get_asset_links(aas_id: str) -> Response:
    return json_response(services().discovery.links(decode_id(aas_id)))


@bp.post("/shells/<aas_id>")
def post_asset_links(aas_id: str) -> Response:
    return json_response(services().discovery.put_links(decode_id(aas_id), body()), 201)


@bp.delete("/shells/<aas_id>")
def delete_asset_links(aas_id: str) -> Response:
    services().discovery.delete_links(decode_id(aas_id))
    return no_content()
