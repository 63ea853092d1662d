"""PATCH $value of one element in a 10,000-element submodel vs in a 10-element one (target: at most 2x slower).

Run: python -m bench.patch_scaling [--repeat 300] [--store mongo|embedded]
"""
from __future__ import annotations

import argparse
import statistics

import requests

from aas_server.model.ids import encode_id
from aas_server.store import opened_store
from bench.fixtures import STORES, serve, store_settings, submodel
from bench.load import summary, timed


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=300)
    parser.add_argument("--store", choices=STORES, action="append")
    args = parser.parse_args()
    print(f"# sequential PATCH $value of one xs:int Property over HTTP, gunicorn, {args.repeat} requests")
    for kind in args.store or STORES:
        _measure(kind, args.repeat)


def _measure(kind: str, repeat: int) -> None:
    sizes = {"small": ("urn:bench:sm:patch10", 10), "large": ("urn:bench:sm:patch10000", 10_000)}
    with store_settings(kind) as settings:
        with opened_store(settings) as store:
            for sm_id, size in sizes.values():
                store.create("submodel", submodel(sm_id, size))
        with serve(settings, workers=2) as server, requests.Session() as http:
            results = {}
            for label, (sm_id, size) in sizes.items():
                url = f"{server.url}/api/v3.1/submodels/{encode_id(sm_id)}/submodel-elements/P{size // 2 + 1}/$value"
                counter = iter(range(10**9))

                def patch() -> None:
                    response = http.patch(url, json=next(counter))
                    response.raise_for_status()

                timed(patch, 20)  # warm-up
                results[label] = timed(patch, repeat)
    print(f"{'10-element submodel':<24} [{kind}] {summary(results['small'])}")
    print(f"{'10,000-element submodel':<24} [{kind}] {summary(results['large'])}")
    ratio = statistics.median(results["large"]) / statistics.median(results["small"])
    print(f"ratio of medians [{kind}]: {ratio:.2f} (target <= 2.0)")


if __name__ == "__main__":
    main()
