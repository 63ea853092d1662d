"""aas-server: an Asset Administration Shell server (IDTA-01002 Part 2 API v3.1) on MongoDB."""
from __future__ import annotations

from flask import Flask

from .settings import Settings
from .store.base import Store

__all__ = ["create_app"]


def create_app(settings: Settings | None = None, store: Store | None = None) -> Flask:
    """The WSGI app. Without ``store``, the one the settings select is opened."""
    from . import api
    from .observability import http as observability
    from .observability.metrics import InstrumentedStore
    from .ports import dispatch as ports
    from .services.registry import Services
    from .store import open_store

    settings = settings or Settings.load()
    app = Flask(__name__)
    app.config["MAX_CONTENT_LENGTH"] = settings.max_body_bytes
    app.json.sort_keys = False  # type: ignore[attr-defined]
    app.url_map.strict_slashes = False
    app.extensions["aas"] = Services.build(settings, InstrumentedStore(store or open_store(settings)))
    observability.install(app, settings)
    ports.install(app, settings, app.extensions["aas"].store)  # after observability: its request id comes first
    if settings.opcua_mapping:  # OPC UA write-back and methods, on every port's services (README "Write-back")
        from adapters.opcua import plug_in

        app.extensions["aas_plc_links"] = plug_in.install(
            settings.opcua_mapping, [app.extensions["aas"], *app.extensions["aas_ports"].values()])

    if settings.cors_origin_list:
        from flask_cors import CORS

        CORS(app, origins=settings.cors_origin_list, expose_headers=["Location", "X-Request-Id", "X-Release-Id"])
    api.register(app)
    return app
