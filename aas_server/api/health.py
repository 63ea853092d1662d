"""Liveness, readiness, gateway health and metrics: for probes and operators, outside the Part 2 API.

``/health/live`` answers as long as the process serves requests. ``/health/ready`` answers 200 only when the store
is reachable and every port's policy is loaded; a load balancer takes a replica without its store out of rotation. ``/health/gateway`` lists the
per-source records the OPC UA gateways keep in the store (connected, stale elements, last value time).
"""
from __future__ import annotations

from flask import Blueprint, Response, current_app

from ..errors import StoreUnavailableError
from ..observability import metrics
from ..observability.store_metrics import GATEWAY_HEALTH, store_collector
from ..store.base import iterate
from .common import json_response, services

bp = Blueprint("health", __name__)


@bp.get("/health/live")
def live() -> Response:
    return json_response({"status": "UP"})


@bp.get("/health/ready")
def ready() -> Response:
    checks = {"store": _store_check(), "ports": _ports_check()}
    up = all(check["status"] == "UP" for check in checks.values())
    return json_response({"status": "UP" if up else "DOWN", "checks": checks}, 200 if up else 503)


@bp.get("/health/gateway")
def gateway() -> Response:
    store = services().store
    sources = list(iterate(lambda page: store.find_records(GATEWAY_HEALTH, page)))
    return json_response({"sources": sources})


@bp.get("/metrics")
def metrics_exposition() -> Response:
    body, content_type = metrics.exposition([store_collector(services().store)])
    return Response(body, mimetype=None, content_type=content_type)


def _store_check() -> dict[str, str]:
    try:
        services().store.ping()
    except StoreUnavailableError as e:
        return {"status": "DOWN", "reason": str(e)}
    return {"status": "UP"}


def _ports_check() -> dict[str, object]:
    """Every port's policy (rules, masking) is built when the app starts, or the app does not start; the rule
    files are re-read when they change, keeping the last good rules. So a started app has every port ready."""
    ports = sorted(current_app.extensions.get("aas_ports", {}))
    return {"status": "UP" if ports else "DOWN", "ports": ports}
