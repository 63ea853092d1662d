"""aas-server: an Asset Administration Shell server (IDTA-01002 Part 2 API v3.1) on MongoDB."""
from __future__ import annotations

import logging
import uuid

from flask import Flask, g, request

from .settings import Settings
from .store.base import Store

__all__ = ["create_app"]


def create_app(settings: Settings | None = None, store: Store | None = None) -> Flask:
    """The WSGI app. Without ``store``, the one the settings select is opened."""
    from . import api
    from .services.registry import Services
    from .store import open_store

    settings = settings or Settings.load()
    logging.getLogger("aas_server").setLevel(settings.log_level.upper())
    app = Flask(__name__)
    app.config["MAX_CONTENT_LENGTH"] = settings.max_body_bytes
    app.json.sort_keys = False  # type: ignore[attr-defined]
    app.url_map.strict_slashes = False
    app.extensions["aas"] = Services.build(settings, store or open_store(settings))

    @app.before_request
    def assign_request_id() -> None:
        g.request_id = request.headers.get("X-Request-Id") or uuid.uuid4().hex

    if settings.cors_origin_list:
        from flask_cors import CORS

        CORS(app, origins=settings.cors_origin_list, expose_headers=["Location", "X-Request-Id"])
    api.register(app)
    return app
