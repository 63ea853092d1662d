"""Gateway throughput: value changes the gateway stores per second while N OPC UA nodes change every interval,
beside the notifications a bare asyncua client subscribed to the same nodes receives from the same server in the
same window (the ceiling: what the server delivers; the gateway cannot store more changes than it is sent).

Target: the gateway stores at least 95 % of the ceiling. The gateway keeps the latest value per element per flush
(100 ms), so with nodes changing every 100 ms a fully kept-up gateway stores about one change per node per flush.
Stored changes are the gateway's own ``valuesWritten`` counter (its health record in the store), over the span
between two health records; its ``valuesReceived`` (notifications taken from its subscription) is printed too: the
difference is what the gateway coalesced (two changes of one node within one flush) or lost.

Run: python -m bench.opcua_throughput [--nodes 5000] [--interval 0.1] [--seconds 30] [--stores embedded,mongo]
"""
from __future__ import annotations

import datetime
import time
from pathlib import Path

from adapters.opcua.batch import HEALTH
from bench import opcua_rig
from aas_server.store import opened_store
from bench.fixtures import store_settings

HEALTH_KEY = "bench-line/bench"


def health(store: object) -> dict:
    try:
        return store.get_record(HEALTH, HEALTH_KEY)  # type: ignore[attr-defined, no-any-return]
    except Exception:  # noqa: BLE001 - not written yet
        return {}


def counters(record: dict) -> tuple[int, int, float]:
    """(values received, values written, when) of a health record."""
    stamp = record.get("lastWriteTime")
    when = datetime.datetime.fromisoformat(stamp).timestamp() if stamp else 0.0
    return int(record.get("valuesReceived", 0)), int(record.get("valuesWritten", 0)), when


def run(kind: str, nodes: int, interval_s: float, seconds: float) -> None:
    with store_settings(kind) as settings, opened_store(settings) as store:
        folder = Path(settings.data_dir)
        with opcua_rig.plc(folder, nodes, interval_s) as url:
            mapping = opcua_rig.mapping_file(folder, url, opcua_rig.Layout(nodes))
            with opcua_rig.gateway(folder, mapping, settings), opcua_rig.BareSubscriber(url, nodes, set()) as bare:
                deadline = time.monotonic() + 300
                while health(store).get("valuesWritten", 0) < nodes * 2:  # every node stored twice: warmed up
                    if time.monotonic() > deadline:
                        raise RuntimeError(f"the gateway stores nothing: {(folder / 'gateway.log').read_text()[-3000:]}")
                    time.sleep(0.5)
                first = counters(health(store))
                received0, started = bare.received, time.time()
                time.sleep(seconds)
                received1, ended = bare.received, time.time()
                last = counters(health(store))
        ceiling = (received1 - received0) / (ended - started)
        if not ceiling:
            raise RuntimeError("the bare client received nothing in the window")
        span = last[2] - first[2]
        if span <= 0:
            raise RuntimeError("the gateway wrote no health record in the window")
        received, stored = (last[0] - first[0]) / span, (last[1] - first[1]) / span
        print(f"{kind:<9} {nodes} nodes every {interval_s * 1000:.0f} ms (offered {nodes / interval_s:,.0f}/s): "
              f"bare client received {ceiling:,.0f}/s (ceiling); gateway received {received:,.0f}/s "
              f"({received / ceiling:.1%}), stored {stored:,.0f}/s = {stored / ceiling:.1%} of the ceiling "
              "(target >= 95 %)")


def main() -> None:
    args = opcua_rig.arguments().parse_args()
    print(f"# OPC UA gateway throughput, {args.seconds:g} s window; PLC, gateway and bare client run at once")
    for kind in args.stores.split(","):
        run(kind, args.nodes, args.interval, args.seconds)


if __name__ == "__main__":
    main()
