"""AASX File Server: /packages (SSP-001)."""
from __future__ import annotations

import dataclasses

from flask import Blueprint, Response, request

from ..model.ids import decode_id, encode_id
from .common import created, id_arg, no_content, page_request, paged, services
from .files import read_upload, send_attachment

bp = Blueprint("packages", __name__, url_prefix="/packages")

AASX_MEDIA_TYPE = "application/asset-administration-shell-package"


@bp.get("")
def list_packages() -> Response:
    return paged(services().packages.find(page_request(), id_arg("aasId")))


@bp.post("")
def upload_package() -> Response:
    description = services().packages.put(read_upload())
    return created(description, f"{request.path.rstrip('/')}/{encode_id(description['packageId'])}")


@bp.get("/<package_id>")
def get_package(package_id: str) -> Response:
    """The AASX as uploaded, with the media type of the AASX file server's OpenAPI (packages are checked to be AASX)."""
    package = services().packages.get(decode_id(package_id, "packageId"))
    return send_attachment(dataclasses.replace(package, content_type=AASX_MEDIA_TYPE))


@bp.put("/<package_id>")
def put_package(package_id: str) -> Response:
    identifier = decode_id(package_id, "packageId")
    existed = services().packages.exists(identifier)
    description = services().packages.put(read_upload(), identifier)
    return no_content() if existed else created(description, request.path)


@bp.delete("/<package_id>")
def delete_package(package_id: str) -> Response:
    services().packages.delete(decode_id(package_id, "packageId"))
    return no_content()
