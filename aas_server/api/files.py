"""File uploads (multipart ``file`` + ``fileName``) and downloads of stored attachments."""
from __future__ import annotations

from flask import Response, request

from ..errors import InvalidRequestError
from ..store.base import Attachment


def read_upload() -> Attachment:
    """The uploaded file of a multipart/form-data request, as Part 2 sends it.

    :raises InvalidRequestError: no ``file`` part
    """
    upload = request.files.get("file")
    if upload is None:
        raise InvalidRequestError("expected multipart/form-data with a 'file' part", path="file")
    filename = request.form.get("fileName") or upload.filename or "file"
    content_type = upload.mimetype or "application/octet-stream"
    return Attachment(content_type, filename, upload.read())


def send_attachment(attachment: Attachment) -> Response:
    safe_name = attachment.filename.rsplit("/", 1)[-1].replace('"', "")
    return Response(
        attachment.data,
        mimetype=attachment.content_type,
        headers={"Content-Disposition": f'attachment; filename="{safe_name}"'},
    )
