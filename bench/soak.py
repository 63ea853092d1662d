"""Soak: a mixed read/write load at a fraction (default 80%) of the measured maximum for a long time (default
10 minutes); reports errors (target 0) and the growth of each gunicorn worker's resident memory from the end of
the warm-up minute to the end (target under 10%).

The maximum is measured first in the same run (closed loop, same mix). The load then runs open loop: each client
process sends on a fixed schedule, so a slow server shows up as latency and errors, not as a lower offered rate.

Run: python -m bench.soak [--minutes 10] [--fraction 0.8] [--store embedded|mongo] [--workers 4]
"""
from __future__ import annotations

import argparse
import json
import threading
import time
from pathlib import Path

from aas_server.model.ids import encode_id
from aas_server.store import opened_store
from bench.fixtures import STORES, serve, store_settings, submodel
from bench.load import LoadResult, run_load

SUBMODEL_ID = "urn:bench:sm:soak"
CLIENTS = 4


def _requests(base: str) -> list[tuple[str, str, bytes | None]]:
    """The mix, one entry per client process: reads of the whole submodel and its $value, a list, a write."""
    submodel_url = f"{base}/api/v3.1/submodels/{encode_id(SUBMODEL_ID)}"
    return [
        (submodel_url, "GET", None),
        (f"{submodel_url}/$value", "GET", None),
        (f"{base}/api/v3.1/submodels?limit=10", "GET", None),
        (f"{submodel_url}/submodel-elements/P1/$value", "PATCH", json.dumps("42").encode()),
    ]


def _run_mix(base: str, seconds: float, rate: float | None) -> list[LoadResult]:
    mix = _requests(base)
    results: list[LoadResult | None] = [None] * len(mix)

    def load(index: int) -> None:
        url, method, body = mix[index]
        results[index] = run_load(url, method=method, body=body, seconds=seconds, concurrency=1, rate=rate)

    threads = [threading.Thread(target=load, args=(i,)) for i in range(len(mix))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return [r for r in results if r is not None]


def _worker_rss_kb(arbiter: int) -> dict[int, int]:
    children = Path(f"/proc/{arbiter}/task/{arbiter}/children").read_text().split()
    rss = {}
    for pid in map(int, children):
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                rss[pid] = int(line.split()[1])
    return rss


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--minutes", type=float, default=10)
    parser.add_argument("--fraction", type=float, default=0.8)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--store", choices=STORES, default="embedded")
    args = parser.parse_args()
    with store_settings(args.store) as settings:
        with opened_store(settings) as store:
            store.create("submodel", submodel(SUBMODEL_ID, 100))
        # no worker recycling during the soak: the point is to see whether a worker's memory grows
        with serve(settings, workers=args.workers, extra_env={"AAS_MAX_REQUESTS": "0"}) as server:
            peak = _run_mix(server.url, 10, None)
            maximum = sum(r.rps for r in peak)
            rate = maximum * args.fraction / CLIENTS
            print(f"# maximum of the mix (closed loop, 10 s): {maximum:.0f} req/s; soak at {args.fraction:.0%} = "
                  f"{rate * CLIENTS:.0f} req/s for {args.minutes:g} min, {args.workers} workers, store {args.store}")
            samples: list[tuple[float, dict[int, int]]] = []
            done = threading.Event()

            def sample() -> None:
                while not done.wait(30):
                    samples.append((time.monotonic(), _worker_rss_kb(server.pid)))

            sampler = threading.Thread(target=sample)
            sampler.start()
            started = time.monotonic()
            soak = _run_mix(server.url, args.minutes * 60, rate)
            done.set()
            sampler.join()
            samples.append((time.monotonic(), _worker_rss_kb(server.pid)))
    requests = sum(r.requests for r in soak)
    errors = sum(r.errors for r in soak)
    print(f"requests {requests}, errors {errors} ({errors / max(requests, 1):.4%}), "
          f"offered {rate * CLIENTS:.0f} req/s, served {requests / (args.minutes * 60):.0f} req/s")
    for result, (url, method, _) in zip(soak, _requests("")):
        print(result.line(f"{method} {url.replace(encode_id(SUBMODEL_ID), '{id}')}"))
    warm = next((rss for at, rss in samples if at - started >= 60), samples[0][1])
    end = samples[-1][1]
    for pid in sorted(end):
        if pid in warm:
            growth = (end[pid] - warm[pid]) / warm[pid]
            print(f"worker {pid}: RSS after warm-up {warm[pid] / 1024:.1f} MB, at the end {end[pid] / 1024:.1f} MB, "
                  f"growth {growth:+.1%} (target < 10%)")
        else:
            print(f"worker {pid}: started during the soak (a worker was replaced), {end[pid] / 1024:.1f} MB")


if __name__ == "__main__":
    main()
