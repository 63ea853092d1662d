"""API throughput with 1, 2 and 4 gunicorn workers (4 threads each), GET of a 100-element submodel, beside the
bare Flask route with the same JSON under the same worker count (the ceiling of this machine for that count).

Run: python -m bench.scaling [--seconds 10] [--concurrency 8] [--store embedded|mongo]
"""
from __future__ import annotations

import argparse

from aas_server.model.ids import encode_id
from aas_server.store import opened_store
from bench.fixtures import STORES, serve, store_settings, submodel
from bench.load import run_load

SUBMODEL_ID = "urn:bench:sm:scaling"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--workers", type=int, action="append")
    parser.add_argument("--store", choices=STORES, default="embedded")
    args = parser.parse_args()
    counts = args.workers or [1, 2, 4]
    print(f"# {args.concurrency} client processes, {args.seconds:g} s per point, store {args.store}")
    with store_settings(args.store) as settings:
        with opened_store(settings) as store:
            store.create("submodel", submodel(SUBMODEL_ID, 100))
        first = None
        for workers in counts:
            with serve(settings, "bench.bare_app:app", workers) as bare:
                ceiling = run_load(f"{bare.url}/bare", seconds=args.seconds, concurrency=args.concurrency)
            with serve(settings, workers=workers) as server:
                result = run_load(f"{server.url}/api/v3.1/submodels/{encode_id(SUBMODEL_ID)}",
                                  seconds=args.seconds, concurrency=args.concurrency)
            first = first or result.rps
            print(ceiling.line(f"bare route, {workers} worker(s) (ceiling)"))
            print(result.line(f"GET /submodels/{{id}}, {workers} worker(s)"))
            print(f"  {workers} worker(s): {result.rps / ceiling.rps:.2f} of the ceiling, "
                  f"{result.rps / first:.2f}x the 1-worker throughput")


if __name__ == "__main__":
    main()
