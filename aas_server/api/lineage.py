"""Internal read access to the lineage the batch adapters record (outside /api/v3.x: not a Part 2 route).

``GET /internal/lineage/{smId}`` the submodel's lineage record (every entry and its data quality findings);
``GET /internal/lineage/{smId}/{idShortPath}`` one element's lineage (for a time series record, narrowed to its
source line), with ``current`` telling whether the stored value is still the one the lineage describes.
``smId`` is base64url-encoded as in Part 2; errors are Part 2 ``Result`` bodies. Internal: the full lineage
names local files; partners see the reduced provenance submodel through the standard API instead.
"""
from __future__ import annotations

from flask import Blueprint, Response

from adapters import lineage

from ..errors import NotFoundError
from ..model.ids import decode_id
from ..model.paths import parse_path
from .common import json_response, services

bp = Blueprint("lineage", __name__, url_prefix="/internal/lineage")


@bp.get("/<submodel_id>")
def get_submodel_lineage(submodel_id: str) -> Response:
    identifier = decode_id(submodel_id)
    doc = lineage.load(services().store, identifier)
    if doc is None:
        raise NotFoundError("no lineage recorded for this submodel", path=identifier)
    return json_response(doc)


@bp.get("/<submodel_id>/<path:id_short_path>")
def get_element_lineage(submodel_id: str, id_short_path: str) -> Response:
    parse_path(id_short_path)  # 400 on a malformed path
    return json_response(lineage.lookup(services().store, decode_id(submodel_id), id_short_path))
