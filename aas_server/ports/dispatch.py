"""Port dispatch: the one place where a request is given its port, its caller and its audit record.

:class:`PortDispatcher` (WSGI middleware) picks the port — by the listener the request arrived on (a port with
``listen`` claims that gunicorn bind), else by the longest path prefix — and moves the prefix into ``SCRIPT_NAME``,
so the same Flask routes (``/api/v3.1/...``) serve every port. The port is chosen from the full request path
(``SCRIPT_NAME`` + ``PATH_INFO``), so a client-sent ``SCRIPT_NAME`` header cannot move a request to another port.

:func:`install` adds the Flask hooks: internal-only routes answer 404 on external ports exactly like a missing
route; the port's :class:`~aas_server.security.authn.Authenticator` turns the headers into the caller that the
policy store reads for the rest of the request; writes on a read-only port are refused before any handler runs;
every response of an external port is audited and carries ``X-Release-Id``.
"""
from __future__ import annotations

import collections
import contextlib
import ipaddress
from collections.abc import Callable, Iterable
from typing import Any

from flask import Flask, Response, g, request
from werkzeug.exceptions import NotFound

from ..errors import ForbiddenError
from ..observability import metrics
from ..security.authn import Authenticator
from ..security.caller import Caller, acting_as
from ..services.registry import Services
from ..settings import Settings
from ..store.base import Store
from . import PORT_ENVIRON_KEY, audit, port_store
from .config import PortSpec, load_ports

#: reachable through internal ports only: lineage, audit, operational endpoints
INTERNAL_ONLY_PREFIXES = ("/internal/", "/health/gateway", "/metrics")
#: liveness and readiness probes answer on every port without credentials
PROBES = ("/health/live", "/health/ready")
#: Operation invocation may write back to devices: never through an external port
INVOKE_SUFFIXES = ("/invoke", "/invoke/$value", "/invoke-async", "/invoke-async/$value")
READ_METHODS = ("GET", "HEAD", "OPTIONS")
#: POST routes that only read (a search with a body): open on read-only ports too
READING_POSTS = ("/lookup/shellsByAssetLink",)

WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


class PortDispatcher:
    """WSGI middleware choosing the port of each request; see the module docstring."""

    def __init__(self, app: WSGIApp, ports: list[PortSpec]) -> None:
        self.app = app
        self.ports = ports
        self._unbound = sorted((p for p in ports if p.listen is None), key=lambda p: -len(p.prefix))

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        path = environ.get("SCRIPT_NAME", "") + environ.get("PATH_INFO", "")
        port = self.select(environ, path)
        environ[PORT_ENVIRON_KEY] = port
        if port is not None:
            environ["SCRIPT_NAME"] = port.prefix
            environ["PATH_INFO"] = path[len(port.prefix):]
        return self.app(environ, start_response)

    def select(self, environ: dict[str, Any], path: str) -> PortSpec | None:
        bound = [p for p in self.ports if p.listen is not None and _arrived_on(p, environ)]
        candidates = sorted(bound, key=lambda p: -len(p.prefix)) if bound else self._unbound
        for port in candidates:
            if path == port.prefix or path.startswith(port.prefix + "/"):
                return port
        return None


def _arrived_on(port: PortSpec, environ: dict[str, Any]) -> bool:
    """gunicorn sets ``SERVER_NAME``/``SERVER_PORT`` from the listening TCP socket, not from the Host header (on a
    unix socket it takes the Host header: never give ``listen`` ports a unix socket)."""
    if str(environ.get("SERVER_PORT")) != port.listen_port:
        return False
    host = port.listen_host or ""
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return True  # a host name: the port number identifies the listener
    return address.is_unspecified or str(environ.get("SERVER_NAME", "")).strip("[]") == host


def install(app: Flask, settings: Settings, inner: Store) -> None:
    """Build every port's services, wrap ``app`` in the dispatcher and register the per-request hooks.

    ``app.extensions["aas"]`` (the services on the raw store) serves the internal port without rules and masking;
    each other port gets services over its policy store (``app.extensions["aas_ports"]``, by port name).

    :raises InvalidRequestError: a malformed ports, rule or masking file, or a missing data plane secret
    """
    specs = load_ports(settings.ports_file)
    system: Services = app.extensions["aas"]
    authenticators = {spec.name: Authenticator(spec.auth, spec) for spec in specs}
    port_services = {}
    for spec in specs:
        store = port_store(spec, inner, settings)
        port_services[spec.name] = system if store is inner else Services.build(settings, store)
    audit_log = audit.AuditLog(inner, settings.audit_batch_size, settings.audit_flush_interval_s)
    app.extensions["aas_ports"] = port_services
    app.extensions["aas_audit"] = audit_log
    app.wsgi_app = PortDispatcher(app.wsgi_app, specs)  # type: ignore[method-assign]

    @app.before_request
    def enter_port() -> None:
        spec: PortSpec | None = request.environ.get(PORT_ENVIRON_KEY)
        scope = g.port_scope = contextlib.ExitStack()
        if spec is None:
            raise NotFound()
        g.port_name = spec.name
        if not spec.internal:
            g.disclosures = scope.enter_context(audit.collecting())
        if not spec.internal and _internal_only(request.path, request.method):
            raise NotFound()
        if request.path in PROBES or request.method == "OPTIONS":
            # probes and CORS preflights carry no credentials (Flask's automatic OPTIONS answer holds no data);
            # they still act as the port's anonymous caller, never as the unrestricted system
            scope.enter_context(acting_as(Caller(port=spec.name, internal=spec.internal)))
            return
        caller = authenticators[spec.name].authenticate(request.headers)
        g.caller = caller
        scope.enter_context(acting_as(caller))
        if not spec.internal and not spec.writable and request.method not in READ_METHODS and not (
                request.method == "POST" and request.path.endswith(READING_POSTS)):
            raise ForbiddenError(f"port {spec.name!r} is read-only")

    @app.after_request
    def leave_port(response: Response) -> Response:
        spec: PortSpec | None = request.environ.get(PORT_ENVIRON_KEY)
        if response.status_code == 401:
            error = ', error="invalid_token"' if "Authorization" in request.headers else ""
            response.headers["WWW-Authenticate"] = f'Bearer realm="{spec.name if spec else "aas-server"}"{error}'
        if spec is not None and not spec.internal:
            release_id = audit.new_release_id()
            disclosures = g.get("disclosures") or []
            audit_log.submit(audit.audit_record(release_id, g.get("caller"), spec.name, _request_facts(response),
                                                disclosures))
            for form, count in collections.Counter(form.split(":")[0] for _, _, form in disclosures).items():
                metrics.DISCLOSURES.labels(spec.name, form).inc(count)
            response.headers["X-Release-Id"] = release_id
        return response

    @app.teardown_request
    def exit_port(error: BaseException | None) -> None:
        scope: contextlib.ExitStack | None = g.pop("port_scope", None)
        if scope is not None:
            scope.close()


def _internal_only(path: str, method: str) -> bool:
    if path.startswith(INTERNAL_ONLY_PREFIXES) or path in ("/internal", "/metrics"):
        return True
    return method == "POST" and path.endswith(INVOKE_SUFFIXES)


def _request_facts(response: Response) -> dict[str, Any]:
    return {
        "requestId": g.get("request_id"),
        "method": request.method,
        "path": request.script_root + request.path,
        "query": request.query_string.decode("latin-1"),
        "status": response.status_code,
    }
