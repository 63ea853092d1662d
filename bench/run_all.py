"""Run the benchmarks that take minutes in turn (``make bench``); each prints its figures beside its baseline.

Longer ones run on their own: ``bench.soak`` (10 minutes), ``bench.opcua_throughput`` and ``bench.opcua_latency``
(a simulated PLC with thousands of nodes), ``bench.ingest_csv`` (about 15 minutes).
"""
from bench import (
    access_rules, api_read, lookup, masking, paging, patch_scaling, port_audit, port_masking, privacy, scaling,
)

if __name__ == "__main__":
    for bench in (api_read, patch_scaling, paging, lookup, port_masking, port_audit, masking, access_rules, privacy,
                  scaling):
        print(f"\n== {bench.__name__}")
        bench.main()
