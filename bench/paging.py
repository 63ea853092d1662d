"""Paging through 100,000 submodels, 100 a page: the last page at most 1.5x the time of the first.

Run: python -m bench.paging [--count 100000] [--store mongo|embedded]
"""
from __future__ import annotations

import argparse
import statistics
import time

import requests
from tqdm import tqdm

from aas_server.store import opened_store
from bench.fixtures import STORES, serve, store_settings, submodel


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--count", type=int, default=100_000)
    parser.add_argument("--page", type=int, default=100)
    parser.add_argument("--store", choices=STORES, action="append")
    args = parser.parse_args()
    for kind in args.store or STORES:
        _measure(kind, args.count, args.page)


def _measure(kind: str, count: int, page_size: int) -> None:
    with store_settings(kind) as settings:
        with opened_store(settings) as store:
            for i in tqdm(range(count), desc=f"loading submodels [{kind}]", unit="sm", mininterval=5):
                store.create("submodel", submodel(f"urn:bench:sm:{i:07d}", 2))
        with serve(settings, workers=2) as server, requests.Session() as http:
            url = f"{server.url}/api/v3.1/submodels?limit={page_size}"
            times, cursor, seen = [], None, 0
            while True:
                start = time.perf_counter()
                response = http.get(url + (f"&cursor={cursor}" if cursor else ""))
                times.append((time.perf_counter() - start) * 1000)
                response.raise_for_status()
                body = response.json()
                seen += len(body["result"])
                cursor = body["paging_metadata"].get("cursor")
                if not cursor:
                    break
    first, last = statistics.mean(times[:5]), statistics.mean(times[-5:])
    print(f"# [{kind}] {seen} submodels in {len(times)} pages of {page_size}, gunicorn")
    print(f"first 5 pages  mean {first:7.2f} ms")
    print(f"median page         {statistics.median(times):7.2f} ms")
    print(f"last 5 pages   mean {last:7.2f} ms")
    print(f"ratio last/first [{kind}]: {last / first:.2f} (target <= 1.5)")


if __name__ == "__main__":
    main()
