"""GET of a 100-element submodel (normal and $value) under gunicorn on the MongoDB-wire store (and the
embedded store), beside a bare Flask route on the same gunicorn settings (target: at least half the ceiling).

Run: python -m bench.api_read [--seconds 10] [--concurrency 4] [--store mongo|embedded]
"""
from __future__ import annotations

from aas_server.model.ids import encode_id
from aas_server.store import opened_store
from bench.fixtures import (
    STORES,
    load_arguments,
    serve,
    store_settings,
    submodel,
)
from bench.load import run_load


def main() -> None:
    args = load_arguments().parse_args()
    sm_id = "urn:bench:sm:read100"
    print(f"# gunicorn {args.workers} workers x 4 threads, {args.concurrency} client processes, {args.seconds:g} s each")
    for kind in args.store or STORES:
        with store_settings(kind) as settings:
            with opened_store(settings) as store:
                store.create("submodel", submodel(sm_id, 100))
            with serve(settings, "bench.bare_app:app", args.workers) as bare:
                ceiling = run_load(f"{bare.url}/bare", seconds=args.seconds, concurrency=args.concurrency)
            with serve(settings, workers=args.workers) as server:
                base = f"{server.url}/api/v3.1/submodels/{encode_id(sm_id)}"
                full = run_load(base, seconds=args.seconds, concurrency=args.concurrency)
                value = run_load(f"{base}/$value", seconds=args.seconds, concurrency=args.concurrency)
        print(ceiling.line("bare Flask route, same JSON (ceiling)"))
        print(full.line(f"GET /submodels/{{id}} 100 elements [{kind}]"))
        print(value.line(f"GET /submodels/{{id}}/$value [{kind}]"))
        print(f"ratio to ceiling [{kind}]: GET {full.rps / ceiling.rps:.2f}, $value {value.rps / ceiling.rps:.2f}"
              " (target >= 0.50)")


if __name__ == "__main__":
    main()
