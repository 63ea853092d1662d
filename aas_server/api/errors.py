"""The one place where exceptions become HTTP statuses and the Part 2 Result body."""
from __future__ import annotations

import datetime
import logging
import uuid

from flask import Flask, Response, g, json
from werkzeug.exceptions import HTTPException, RequestEntityTooLarge

from .. import errors

logger = logging.getLogger(__name__)

STATUS = {
    errors.NotFoundError: 404,
    errors.ConflictError: 409,
    errors.PayloadTooLargeError: 413,
    errors.InvalidRequestError: 400,
    errors.NotAcceptableError: 406,
    errors.UnsupportedError: 400,
    errors.UnauthenticatedError: 401,
    errors.ForbiddenError: 403,
    errors.OperationError: 500,
    errors.StoreUnavailableError: 503,
    errors.SourceUnavailableError: 503,
    errors.DeviceError: 502,
    errors.DeviceTimeoutError: 504,
}


def result_body(status: int, text: str, message_type: str = "Error") -> Response:
    message = {
        "code": str(status),
        "messageType": message_type,
        "text": text,
        "timestamp": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
        "correlationId": getattr(g, "request_id", None) or uuid.uuid4().hex,
    }
    return Response(json.dumps({"messages": [message]}), status=status, mimetype="application/json")


def _status_of(error: errors.AASError) -> int:
    for cls in type(error).__mro__:
        if cls in STATUS:
            return STATUS[cls]
    return 500


def register(app: Flask) -> None:
    @app.errorhandler(errors.AASError)
    def aas_error(error: errors.AASError) -> Response:
        status = _status_of(error)
        if status >= 500:
            logger.error("request failed: %s", error)
        return result_body(status, str(error))

    @app.errorhandler(RequestEntityTooLarge)
    def too_large(error: RequestEntityTooLarge) -> Response:
        limit = app.config.get("MAX_CONTENT_LENGTH")
        return result_body(413, f"request body exceeds the limit of {limit} bytes")

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException) -> Response:
        return result_body(error.code or 500, error.description or error.name)

    @app.errorhandler(Exception)
    def unexpected(error: Exception) -> Response:
        logger.exception("unexpected error")
        return result_body(500, "internal server error", "Exception")
