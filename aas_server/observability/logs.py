"""Logging setup: plain text for people at a terminal, JSON lines (python-json-logger) for log collectors.

Every record carries the id of the request it belongs to (``X-Request-Id``, or one made up per request), so a
line in the log, an audit record and a lineage entry of the same request can be joined.
"""
from __future__ import annotations

import contextvars
import logging
import sys

from pythonjsonlogger.json import JsonFormatter

#: the id of the request being served; ``None`` outside requests
REQUEST_ID: contextvars.ContextVar[str | None] = contextvars.ContextVar("aas_request_id", default=None)

#: loggers of this project; gunicorn's own loggers are configured by gunicorn
LOGGERS = ("aas_server", "adapters")
TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"
JSON_FIELDS = "%(asctime)s %(levelname)s %(name)s %(message)s %(request_id)s"


class _RequestIdFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = REQUEST_ID.get() or "-"
        return True


def configure(level: str, log_format: str) -> None:
    """Send the project's loggers to stderr in ``log_format`` (``text`` or ``json``); idempotent."""
    handler = logging.StreamHandler(sys.stderr)
    handler.addFilter(_RequestIdFilter())
    if log_format == "json":
        handler.setFormatter(JsonFormatter(JSON_FIELDS, rename_fields={"asctime": "time", "levelname": "level",
                                                                       "name": "logger"}))
    else:
        handler.setFormatter(logging.Formatter(TEXT_FORMAT))
    for name in LOGGERS:
        logger = logging.getLogger(name)
        logger.handlers = [handler]
        logger.setLevel(level.upper())
        logger.propagate = False
