"""Per-request observability: the request id, request metrics and (in JSON mode) one structured access line.

Installed once by ``create_app``; handlers know nothing of it.
"""
from __future__ import annotations

import logging
import time
import uuid

from flask import Flask, Response, g, request

from ..settings import Settings
from . import logs, metrics

access_log = logging.getLogger("aas_server.access")


def install(app: Flask, settings: Settings) -> None:
    logs.configure(settings.log_level, settings.log_format)
    json_access_log = settings.log_format == "json"

    @app.before_request
    def start_request() -> None:
        g.request_id = request.headers.get("X-Request-Id") or uuid.uuid4().hex
        g.request_token = logs.REQUEST_ID.set(g.request_id)
        g.request_started = time.perf_counter()

    @app.after_request
    def finish_request(response: Response) -> Response:
        started = g.get("request_started")
        if started is None:  # a failure before start_request
            return response
        seconds = time.perf_counter() - started
        route = request.url_rule.rule if request.url_rule is not None else "<unmatched>"
        port = _port_name()
        metrics.REQUESTS.labels(port, request.method, route, str(response.status_code)).inc()
        metrics.REQUEST_SECONDS.labels(port, request.method, route).observe(seconds)
        response.headers["X-Request-Id"] = g.request_id
        if json_access_log:
            access_log.info("request", extra={
                "method": request.method, "path": request.path, "route": route, "status": response.status_code,
                "seconds": round(seconds, 6), "port": port, "remote": request.remote_addr,
            })
        return response

    @app.teardown_request
    def end_request(_: BaseException | None) -> None:
        token = g.pop("request_token", None)
        if token is not None:
            logs.REQUEST_ID.reset(token)


def _port_name() -> str:
    return str(g.get("port_name", "internal"))
