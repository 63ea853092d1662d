"""Metrics whose truth is in the store, read at scrape time so that every API replica reports the same figures:
OPC UA gateway state per source, batch ingest totals per adapter, privacy budget spent per partner.

Each reader turns the (few) records of one collection into metric families; collections read here hold one record
per gateway source, per adapter and per partner, never one per value.
"""
from __future__ import annotations

import datetime
from collections.abc import Iterator
from typing import Any

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric

from ..store.base import JSON, Store
from .metrics import StoreCollector

#: collection names, owned by the modules that write them (adapters.opcua.batch, adapters.ingest, ports.privacy)
GATEWAY_HEALTH = "gateway-health"
INGEST_TOTALS = "ingest-totals"
PRIVACY_BUDGETS = "dp-budgets"


def _gateway(records: list[JSON]) -> Iterator[Metric]:
    labels = ["mapping", "source"]
    connected = GaugeMetricFamily("aas_opcua_connected", "1 while the gateway holds a session to the PLC", labels=labels)
    stale = GaugeMetricFamily("aas_opcua_stale_elements", "elements marked stale (PLC unreachable)", labels=labels)
    bad = GaugeMetricFamily("aas_opcua_bad_elements", "elements whose last value had a Bad/Uncertain status",
                            labels=labels)
    last = GaugeMetricFamily("aas_opcua_last_value_timestamp_seconds", "source time of the newest value stored",
                             labels=labels)
    written = CounterMetricFamily("aas_opcua_values_written", "values written to the store", labels=labels)
    reconnects = CounterMetricFamily("aas_opcua_reconnects", "sessions re-established", labels=labels)
    for r in records:
        key = [str(r.get("mapping")), str(r.get("source"))]
        connected.add_metric(key, 1.0 if r.get("connected") else 0.0)
        stale.add_metric(key, len(r.get("staleElements") or []))
        bad.add_metric(key, len(r.get("badElements") or []))
        if r.get("lastValueTime"):
            last.add_metric(key, _epoch(r["lastValueTime"]))
        written.add_metric(key, float(r.get("valuesWritten") or 0))
        reconnects.add_metric(key, float(r.get("reconnects") or 0))
    yield from (connected, stale, bad, last, written, reconnects)


def _ingest(records: list[JSON]) -> Iterator[Metric]:
    family = CounterMetricFamily("aas_ingest_records", "records read by batch ingest runs, by outcome",
                                 labels=["adapter", "outcome"])
    for r in records:
        for outcome in ("loaded", "unchanged", "rejected"):
            family.add_metric([str(r["adapter"]), outcome], float(r.get(outcome, 0)))
    runs = CounterMetricFamily("aas_ingest_runs", "batch ingest runs, by final status", labels=["adapter", "status"])
    for r in records:
        for status, count in (r.get("runs") or {}).items():
            runs.add_metric([str(r["adapter"]), status], float(count))
    yield from (family, runs)


def _privacy(records: list[JSON]) -> Iterator[Metric]:
    family = GaugeMetricFamily("aas_privacy_epsilon_spent", "privacy budget (epsilon) spent per partner",
                               labels=["partner"])
    for r in records:
        family.add_metric([str(r.get("partner", "?"))], float(r.get("spent", 0.0)))
    yield family


def store_collector(store: Store) -> StoreCollector:
    return StoreCollector(store, {GATEWAY_HEALTH: _gateway, INGEST_TOTALS: _ingest, PRIVACY_BUDGETS: _privacy})


def add_ingest_run(store: Store, adapter: str, status: str, counts: dict[str, int]) -> None:
    """Add one finished batch run to its adapter's totals (atomic: several ingest processes may finish at once)."""

    def add(current: JSON | None) -> JSON:
        totals: dict[str, Any] = dict(current or {"adapter": adapter, "runs": {}})
        for outcome, count in counts.items():
            totals[outcome] = totals.get(outcome, 0) + count
        totals["runs"] = {**totals.get("runs", {}), status: totals.get("runs", {}).get(status, 0) + 1}
        return totals

    store.update_record(INGEST_TOTALS, adapter, add)


def _epoch(timestamp: str) -> float:
    return datetime.datetime.fromisoformat(timestamp.replace("Z", "+00:00")).timestamp()
