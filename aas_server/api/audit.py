"""Internal read access to the disclosure audit of external ports (outside /api/v3.x; internal ports only).

``GET /internal/audit?since=&limit=&cursor=`` lists records oldest first (``since``: an ISO timestamp);
``GET /internal/audit/{releaseId}`` one record — the release id a partner's response carried in ``X-Release-Id``.
"""
from __future__ import annotations

from flask import Blueprint, Response, current_app, request

from ..ports import audit
from ..store.base import PageRequest
from .common import json_response, page_request, paged

bp = Blueprint("audit", __name__, url_prefix="/internal/audit")


def _audit_log() -> audit.AuditLog:
    log: audit.AuditLog = current_app.extensions["aas_audit"]
    return log


@bp.get("")
def list_records() -> Response:
    page = page_request()
    since = request.args.get("since")
    if since and page.after is None:
        page = PageRequest(page.limit, audit.since_key(since))
    return paged(audit.list_records(_audit_log().store, page))


@bp.get("/<release_id>")
def get_record(release_id: str) -> Response:
    return json_response(audit.get_record(_audit_log().store, release_id))

