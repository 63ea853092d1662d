"""Concept Description Repository: /concept-descriptions (SSP-001)."""
from __future__ import annotations

from flask import Blueprint, Response, request

from ..model.ids import decode_id
from ..model.index import DATA_SPECIFICATION, IS_CASE_OF
from ..store.base import Query
from .common import body, created, id_arg, json_response, no_content, page_request, paged, services, url_for_id

bp = Blueprint("concept_descriptions", __name__, url_prefix="/concept-descriptions")


def _query() -> Query:
    """``isCaseOf`` and ``dataSpecificationRef`` are base64url-encoded key values, like ``semanticId``."""
    terms = [(field, value) for field, value in
             ((IS_CASE_OF, id_arg("isCaseOf")), (DATA_SPECIFICATION, id_arg("dataSpecificationRef"))) if value]
    return Query(id_short=request.args.get("idShort") or None, terms=tuple(terms))


@bp.get("")
def list_concept_descriptions() -> Response:
    return paged(services().concept_descriptions.find(_query(), page_request()))


@bp.post("")
def create_concept_description() -> Response:
    cd = services().concept_descriptions.create(body())
    return created(cd, url_for_id(request.path.rstrip("/"), cd["id"]))


@bp.get("/<cd_id>")
def get_concept_description(cd_id: str) -> Response:
    return json_response(services().concept_descriptions.get(decode_id(cd_id)))


@bp.put("/<cd_id>")
def put_concept_description(cd_id: str) -> Response:
    identifier = decode_id(cd_id)
    if services().concept_descriptions.put(identifier, body()):
        return created(services().concept_descriptions.get(identifier), request.path)
    return no_content()


@bp.delete("/<cd_id>")
def delete_concept_description(cd_id: str) -> Response:
    services().concept_descriptions.delete(decode_id(cd_id))
    return no_content()
