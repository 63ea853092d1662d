"""Latency of a DP release (``PrivacyEngine.release``) of a 1,000-record Time Series segment: served again from
its stored record (cached) and computed fresh (a new data version: claim, charge, OpenDP, finalize), beside the
baseline every release pays in the same run -- reading the records out of the element and hashing them.

Run: python -m bench.privacy [--releases 200] [--store mongo|embedded]
"""
from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable

from aas_server.ports import privacy
from aas_server.security.caller import Caller
from aas_server.store import opened_store
from bench.fixtures import STORES, store_settings
from tests.integration.test_privacy import segments

CALLER = Caller(port="external", internal=False, bpn="BPNL0000000BENCH")
SPEC = privacy.parse_spec({"statistic": "mean", "epsilon": 0.01, "bounds": [0, 100],
                           "source": {"kind": "series", "variable": "Temp"}})


def median_ms(run: Callable[[int], object], n: int) -> float:
    times = []
    for i in range(n):
        start = time.perf_counter()
        run(i)
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1000


def measure(engine: privacy.PrivacyEngine, data: list[dict], releases: int) -> tuple[float, float, float]:
    """Median milliseconds of the baseline, a cached release and a fresh release."""
    engine.release(CALLER, "urn:bench:ts", "Segments", data[0], SPEC)
    baseline = median_ms(lambda i: privacy._release_key(
        CALLER.partner, SPEC, "series", privacy.series_values(data[0], SPEC.source)), releases)
    cached = median_ms(lambda i: engine.release(CALLER, "urn:bench:ts", "Segments", data[0], SPEC), releases)
    fresh = median_ms(lambda i: engine.release(CALLER, "urn:bench:ts", "Segments", data[i + 1], SPEC), releases)
    return baseline, cached, fresh


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--releases", type=int, default=200)
    parser.add_argument("--store", choices=STORES, action="append")
    args = parser.parse_args()
    data = [segments([20.0 + (i * 7 + v) % 13 for i in range(1000)]) for v in range(args.releases + 1)]
    print(f"# median of {args.releases} releases, 1,000-record segment, mean over one variable")
    for kind in args.store or STORES:
        with store_settings(kind) as settings, opened_store(settings) as store:
            budget = args.releases * SPEC.epsilon + 1
            baseline, cached, fresh = measure(privacy.PrivacyEngine(store, budget), data, args.releases)
        print(f"baseline: read + hash the records [{kind}]   {baseline:8.2f} ms")
        print(f"cached release (stored record) [{kind}]      {cached:8.2f} ms")
        print(f"fresh release (charge + OpenDP) [{kind}]     {fresh:8.2f} ms")


if __name__ == "__main__":
    main()
