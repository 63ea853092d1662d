"""Latency from a value's OPC UA source timestamp to the value being readable through the API (HTTP GET of the
element through gunicorn), while N nodes change every interval; beside it, the latency with which a bare asyncua
client subscribed to the same nodes receives them (the OPC UA part alone: server sampling, publishing, transport).

Pollers GET a sample of the mapped elements in a loop; the first response carrying a new ``OpcUa.SourceTimestamp``
qualifier counts (its latency includes up to one GET of polling delay). Target: p99 <= 1 s.

Run: python -m bench.opcua_latency [--nodes 5000] [--interval 0.1] [--seconds 30] [--watch 10] [--stores embedded,mongo]
"""
from __future__ import annotations

import datetime
import statistics
import threading
import time
from pathlib import Path

import requests

from aas_server.model.ids import encode_id
from adapters.opcua.plc_sim import bench_node_names
from bench import opcua_rig
from bench.fixtures import serve, store_settings


def percentiles(values: list[float]) -> str:
    if len(values) < 2:
        return "no samples"
    cuts = statistics.quantiles(values, n=100)
    return f"p50 {cuts[49] * 1000:7.0f} ms   p99 {cuts[98] * 1000:7.0f} ms   ({len(values)} values)"


def poll(url: str, stop: threading.Event, latencies: list[float]) -> None:
    seen = None
    with requests.Session() as http:
        while not stop.is_set():
            response = http.get(url, timeout=10)
            arrived = time.time()
            if response.status_code != 200:
                continue
            marks = {q["type"]: q["value"] for q in response.json().get("qualifiers") or []}
            stamp = marks.get("OpcUa.SourceTimestamp")
            if stamp and stamp != seen:
                if seen is not None:  # the first one read may have been stored long ago
                    latencies.append(arrived - datetime.datetime.fromisoformat(stamp).timestamp())
                seen = stamp


def run(kind: str, nodes: int, interval_s: float, seconds: float, watch: int) -> None:
    layout = opcua_rig.Layout(nodes)
    names = bench_node_names(nodes)
    watched = list(range(0, nodes, max(1, nodes // watch)))[:watch]
    with store_settings(kind) as settings:
        folder = Path(settings.data_dir)
        with opcua_rig.plc(folder, nodes, interval_s) as url, serve(settings, workers=2) as api:
            mapping = opcua_rig.mapping_file(folder, url, layout)
            urls = []
            for index in watched:
                machine, path = layout.path(index)
                urls.append(f"{api.url}/api/v3.1/submodels/{encode_id(layout.submodel_id(machine))}"
                            f"/submodel-elements/{path}")
            watched_ids = {names[i] for i in watched}
            with opcua_rig.gateway(folder, mapping, settings), \
                    opcua_rig.BareSubscriber(url, nodes, watched_ids) as bare:
                deadline = time.monotonic() + 300
                while any(requests.get(u, timeout=10).status_code != 200 for u in urls):
                    if time.monotonic() > deadline:
                        raise RuntimeError(f"no values in the API: {(folder / 'gateway.log').read_text()[-3000:]}")
                    time.sleep(0.5)
                stop, api_latencies = threading.Event(), []
                pollers = [threading.Thread(target=poll, args=(u, stop, api_latencies), daemon=True) for u in urls]
                bare.latencies.clear()
                for poller in pollers:
                    poller.start()
                time.sleep(seconds)
                stop.set()
                for poller in pollers:
                    poller.join(15)
                bare_latencies = list(bare.latencies)
    print(f"{kind:<9} bare client (OPC UA only)   {percentiles(bare_latencies)}")
    print(f"{kind:<9} gateway -> store -> API GET {percentiles(api_latencies)}   (target p99 <= 1000 ms)")


def main() -> None:
    parser = opcua_rig.arguments()
    parser.add_argument("--watch", type=int, default=10, help="elements polled through the API")
    args = parser.parse_args()
    print(f"# source timestamp -> readable, {args.nodes} nodes changing every {args.interval * 1000:.0f} ms, "
          f"{args.watch} elements watched for {args.seconds:g} s")
    for kind in args.stores.split(","):
        run(kind, args.nodes, args.interval, args.seconds, args.watch)


if __name__ == "__main__":
    main()
