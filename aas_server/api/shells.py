"""AAS Repository: /shells (IDTA-01002 AssetAdministrationShellRepositoryServiceSpecification SSP-001)."""
from __future__ import annotations

from flask import Blueprint, Response, request

from ..errors import InvalidRequestError
from ..model import views
from ..model.ids import decode_id
from ..model.index import ASSET_ID, asset_id_term
from ..services.identifiables import thumbnail_key
from ..store.base import Page, Query
from .common import asset_id_args, body, created, json_response, no_content, page_request, paged, services, url_for_id
from .files import read_upload, send_attachment

bp = Blueprint("shells", __name__, url_prefix="/shells")


def _query() -> Query:
    terms = tuple((ASSET_ID, asset_id_term(name, value)) for name, value in asset_id_args())
    return Query(id_short=request.args.get("idShort") or None, terms=terms)


@bp.get("")
def list_shells() -> Response:
    return paged(services().shells.find(_query(), page_request()))


@bp.post("")
def create_shell() -> Response:
    shell = services().shells.create(body())
    return created(shell, url_for_id(request.path.rstrip("/"), shell["id"]))


@bp.get("/$reference")
def list_shell_references() -> Response:
    return paged(services().shells.find(_query(), page_request()), views.identifiable_reference)


@bp.get("/<shell_id>")
def get_shell(shell_id: str) -> Response:
    return json_response(services().shells.get(decode_id(shell_id)))


@bp.put("/<shell_id>")
def put_shell(shell_id: str) -> Response:
    identifier = decode_id(shell_id)
    if services().shells.put(identifier, body()):
        return created(services().shells.get(identifier), request.path)
    return no_content()


@bp.delete("/<shell_id>")
def delete_shell(shell_id: str) -> Response:
    identifier = decode_id(shell_id)
    services().shells.delete(identifier)
    services().store.delete_attachments(thumbnail_key(identifier))
    return no_content()


@bp.get("/<shell_id>/$reference")
def get_shell_reference(shell_id: str) -> Response:
    return json_response(views.identifiable_reference(services().shells.get(decode_id(shell_id))))


@bp.get("/<shell_id>/asset-information")
def get_asset_information(shell_id: str) -> Response:
    return json_response(services().shells.get(decode_id(shell_id))["assetInformation"])


@bp.put("/<shell_id>/asset-information")
def put_asset_information(shell_id: str) -> Response:
    services().shells.put_asset_information(decode_id(shell_id), body())
    return no_content()


@bp.get("/<shell_id>/asset-information/thumbnail")
def get_thumbnail(shell_id: str) -> Response:
    return send_attachment(services().shells.thumbnail(decode_id(shell_id)))


@bp.put("/<shell_id>/asset-information/thumbnail")
def put_thumbnail(shell_id: str) -> Response:
    identifier = decode_id(shell_id)
    upload = read_upload()
    shells = services().shells

    def set_thumbnail(shell: dict) -> dict:
        info = {**shell["assetInformation"], "defaultThumbnail": {"path": upload.filename, "contentType": upload.content_type}}
        return {**shell, "assetInformation": info}

    shells.change(identifier, set_thumbnail)
    services().store.put_attachment(thumbnail_key(identifier), upload)
    return no_content()


@bp.delete("/<shell_id>/asset-information/thumbnail")
def delete_thumbnail(shell_id: str) -> Response:
    identifier = decode_id(shell_id)
    store = services().store
    store.get_attachment(thumbnail_key(identifier))  # 404 when there is none
    store.delete_attachments(thumbnail_key(identifier))

    def drop_thumbnail(shell: dict) -> dict:
        info = {k: v for k, v in shell["assetInformation"].items() if k != "defaultThumbnail"}
        return {**shell, "assetInformation": info}

    services().shells.change(identifier, drop_thumbnail)
    return no_content()


@bp.get("/<shell_id>/submodel-refs")
def list_submodel_refs(shell_id: str) -> Response:
    refs = services().shells.submodel_refs(decode_id(shell_id))
    page = page_request()
    if page.after is not None and not page.after.isdigit():
        raise InvalidRequestError("invalid cursor", path="cursor")
    start = int(page.after or 0)
    more = start + page.limit < len(refs)
    return paged(Page(refs[start : start + page.limit], str(start + page.limit) if more else None))


@bp.post("/<shell_id>/submodel-refs")
def add_submodel_ref(shell_id: str) -> Response:
    ref = services().shells.add_submodel_ref(decode_id(shell_id), body())
    return created(ref, request.path)


@bp.delete("/<shell_id>/submodel-refs/<submodel_id>")
def delete_submodel_ref(shell_id: str, submodel_id: str) -> Response:
    services().shells.remove_submodel_ref(decode_id(shell_id), decode_id(submodel_id))
    return no_content()
