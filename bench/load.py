"""A small closed-loop HTTP load generator: N processes with keep-alive connections, fixed duration.

The same generator measures the server and its baseline in one run, so both carry the same client overhead.
"""
from __future__ import annotations

import dataclasses
import http.client
import multiprocessing
import statistics
import time
from urllib.parse import urlsplit


@dataclasses.dataclass
class LoadResult:
    requests: int
    errors: int
    seconds: float
    latencies_ms: list[float]

    @property
    def rps(self) -> float:
        return self.requests / self.seconds

    def percentile(self, p: float) -> float:
        ordered = sorted(self.latencies_ms)
        return ordered[min(len(ordered) - 1, int(len(ordered) * p / 100))] if ordered else float("nan")

    def line(self, label: str) -> str:
        return (f"{label:<46} {self.rps:9.0f} req/s   p50 {self.percentile(50):7.2f} ms   "
                f"p99 {self.percentile(99):7.2f} ms   errors {self.errors}")


def _worker(url: str, method: str, body: bytes | None, seconds: float, queue: "multiprocessing.Queue[object]",
            rate: float | None = None, extra_headers: dict[str, str] | None = None) -> None:
    parts = urlsplit(url)
    path = parts.path + (f"?{parts.query}" if parts.query else "")
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
    headers = {"Content-Type": "application/json"} if body is not None else {}
    headers.update(extra_headers or {})
    latencies, errors = [], 0
    end = time.perf_counter() + seconds
    next_at = time.perf_counter()
    while time.perf_counter() < end:
        if rate:  # open loop: requests on a fixed schedule, whatever the server's speed
            next_at += 1 / rate
            time.sleep(max(0.0, next_at - time.perf_counter()))
        start = time.perf_counter()
        try:
            conn.request(method, path, body=body, headers=headers)
            response = conn.getresponse()
            response.read()
            if response.status >= 400:
                errors += 1
        except (OSError, http.client.HTTPException):
            errors += 1
            conn.close()
            conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
        latencies.append((time.perf_counter() - start) * 1000)
    queue.put((latencies, errors))


def run_load(url: str, *, seconds: float = 10, concurrency: int = 4, method: str = "GET",
             body: bytes | None = None, rate: float | None = None,
             headers: dict[str, str] | None = None) -> LoadResult:
    """Load ``url`` from ``concurrency`` processes; with ``rate``, each sends that many requests per second."""
    queue: "multiprocessing.Queue[object]" = multiprocessing.Queue()
    procs = [multiprocessing.Process(target=_worker, args=(url, method, body, seconds, queue, rate, headers))
             for _ in range(concurrency)]
    started = time.perf_counter()
    for p in procs:
        p.start()
    results = [queue.get() for _ in procs]
    for p in procs:
        p.join()
    elapsed = time.perf_counter() - started
    latencies = [lat for lats, _ in results for lat in lats]  # type: ignore[misc]
    errors = sum(err for _, err in results)  # type: ignore[misc]
    return LoadResult(len(latencies), errors, elapsed, latencies)


def timed(fn, repeat: int) -> list[float]:  # type: ignore[no-untyped-def]
    """Milliseconds of ``repeat`` sequential calls of ``fn``."""
    out = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        out.append((time.perf_counter() - start) * 1000)
    return out


def summary(ms: list[float]) -> str:
    ordered = sorted(ms)
    return (f"median {statistics.median(ordered):7.2f} ms   p99 {ordered[min(len(ordered) - 1, int(len(ordered) * .99))]:7.2f} ms"
            f"   n={len(ordered)}")
