"""Prometheus metrics (prometheus-client).

Under gunicorn each worker is a process: with ``PROMETHEUS_MULTIPROC_DIR`` set (``deploy/gunicorn.conf.py`` sets
it) the workers write their samples to files there and :func:`exposition` merges them, so any worker answers
``/metrics`` for all. Figures that live in the store rather than in one process (gateway state, ingest totals,
privacy budgets) are read from the store at scrape time by :class:`StoreCollector`, so every API replica reports
the same values.
"""
from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from typing import Any

from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import Metric
from prometheus_client.registry import Collector

from ..store.base import Store, iterate

REQUESTS = Counter("aas_http_requests", "HTTP requests served", ["port", "method", "route", "status"])
REQUEST_SECONDS = Histogram(
    "aas_http_request_duration_seconds", "time to answer an HTTP request", ["port", "method", "route"],
    buckets=(0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
STORE_SECONDS = Histogram(
    "aas_store_operation_duration_seconds", "time of one store operation", ["operation"],
    buckets=(0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1, 5),
)
DISCLOSURES = Counter("aas_disclosures", "identifiables and elements served by external ports, by form (raw, "
                      "dropped, redacted, hmac, token, generalized, dp, withheld)", ["port", "form"])
PRIVACY_RELEASES = Counter("aas_privacy_releases", "differentially private releases", ["port", "outcome"])


def exposition(extra: list[Collector]) -> tuple[bytes, str]:
    """The text exposition of all metrics, merged across gunicorn workers when multiprocess mode is on, followed
    by the families of ``extra`` collectors (built per scrape, e.g. a :class:`StoreCollector`)."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        base = CollectorRegistry()
        multiprocess.MultiProcessCollector(base)
    else:
        base = REGISTRY
    scrape = CollectorRegistry(auto_describe=True)
    for collector in extra:
        scrape.register(collector)
    return generate_latest(base) + generate_latest(scrape), CONTENT_TYPE_LATEST


class StoreCollector(Collector):
    """Families computed from store records at scrape time, one reader per collection.

    A reader runs on every scrape, so the collections read here must stay small (one record per gateway source,
    per adapter, per partner).
    """

    def __init__(self, store: Store, readers: dict[str, Callable[[list[dict[str, Any]]], Iterator[Metric]]]) -> None:
        self.store = store
        self.readers = readers

    def collect(self) -> Iterator[Metric]:
        for collection, reader in self.readers.items():
            yield from reader(list(iterate(lambda page, c=collection: self.store.find_records(c, page))))


class InstrumentedStore:
    """A Store decorator that times every store call into ``aas_store_operation_duration_seconds``."""

    def __init__(self, inner: Store) -> None:
        self.inner = inner

    def __getattr__(self, name: str) -> Any:
        attribute = getattr(self.inner, name)
        if name.startswith("_") or not callable(attribute):
            return attribute
        histogram = STORE_SECONDS.labels(name)

        def timed(*args: Any, **kwargs: Any) -> Any:
            with histogram.time():
                return attribute(*args, **kwargs)

        setattr(self, name, timed)  # looked up once per method
        return timed
