"""/serialization: the selected environment as JSON, XML or AASX (chosen by the Accept header)."""
from __future__ import annotations

import io

from flask import Blueprint, Response, request

from ..errors import InvalidRequestError, NotAcceptableError
from ..model.ids import decode_id
from ..services import environment
from .common import services

bp = Blueprint("serialization", __name__)


def _format() -> str:
    """JSON without an Accept header; 406 when the header names none of the formats."""
    accept = request.accept_mimetypes
    best = accept.best_match(
        [environment.FORMATS["json"], environment.FORMATS["xml"], environment.FORMATS["aasx"], "application/aasx"],
        default=None if accept else environment.FORMATS["json"],
    )
    if best is None:
        raise NotAcceptableError("serialization is available as application/json, application/xml and AASX")
    return {"application/json": "json", "application/xml": "xml"}.get(best, "aasx")


@bp.get("/serialization")
def serialize() -> Response:
    include = request.args.get("includeConceptDescriptions", "true").lower()
    if include not in ("true", "false"):
        raise InvalidRequestError("includeConceptDescriptions must be true or false", path="includeConceptDescriptions")
    env = environment.collect(
        services().store,
        [decode_id(i, "aasIds") for i in request.args.getlist("aasIds")],
        [decode_id(i, "submodelIds") for i in request.args.getlist("submodelIds")],
        include == "true",
    )
    fmt = _format()
    out = io.BytesIO()
    environment.write_environment(env, fmt, out)
    headers = {"Content-Disposition": 'attachment; filename="environment.aasx"'} if fmt == "aasx" else None
    return Response(out.getvalue(), mimetype=environment.FORMATS[fmt], headers=headers)
