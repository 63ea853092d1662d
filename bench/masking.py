"""Masking a 100-element submodel in process, beside copying it and encoding it as the response would, in one run.

Half of the elements are masked (generalize, redact, hmac, tokenize, drop; tokens hit the embedded store's
vault once, then the process remembers them); the baselines are ``copy.deepcopy`` of the same submodel and
``json.dumps`` of it (what serving it costs anyway). Also measured: a profile whose rules match nothing of the
submodel (what every unmasked submodel of an external port pays), and the half-masked profile read from its file
through a ``ProfileSource`` as ports do (the reload check: a clock read per call, a ``stat`` at most once a second).

Run: python -m bench.masking [--repeat 2000]
"""
from __future__ import annotations

import argparse
import collections
import copy
import json
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from aas_server.ports import audit
from aas_server.ports.masking import Masker
from aas_server.ports.masking_profile import ProfileSource, parse_profile
from aas_server.security.caller import Caller
from aas_server.settings import Settings
from aas_server.store import open_store
from bench.fixtures import submodel


def profile_text() -> str:
    """Rules for every other element of :func:`bench.fixtures.submodel` (P0..P99 cycle through xs:double, xs:int,
    xs:string, xs:boolean): numbers generalized or redacted, texts hashed, tokenized or dropped."""
    groups: dict[str, list[str]] = {"generalize": [], "redact": [], "hmac": [], "tokenize": [], "drop": []}
    for i in range(0, 100, 2):
        if i % 4 == 0:
            groups["generalize" if i % 8 == 0 else "redact"].append(f"P{i}")
        else:
            groups[("hmac", "tokenize", "drop")[i // 4 % 3]].append(f"P{i}")
    rules = "".join(f"  - match: {{path: [{', '.join(paths)}]}}\n    transform: {transform}\n"
                    + ("    generalize: {decimals: -1}\n" if transform == "generalize" else "")
                    for transform, paths in groups.items())
    return ("version: 1\nkeys: {secret_env: AAS_BENCH_MASKING_SECRET}\nrules:\n"
            "  - match: {caller: {internal: true}}\n    transform: keep\n" + rules)


UNRELATED = """\
version: 1
rules:
  - match: {submodel_id: "urn:other:*"}
    transform: redact
  - match: {semantic_id: "urn:nowhere:*"}
    transform: drop
"""
SECRET = {"AAS_BENCH_MASKING_SECRET": "bench-secret-0123456789abcdef0123456789"}
PARTNER = Caller(port="external", internal=False, bpn="BPNL000000000001")


def per_call_us(call: Callable[[], object], repeat: int) -> tuple[float, float]:
    """Median and 90th percentile of ``repeat`` calls, in microseconds (after 50 warm-up calls)."""
    for _ in range(50):
        call()
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        call()
        times.append((time.perf_counter() - start) * 1e6)
    times.sort()
    return statistics.median(times), times[int(len(times) * 0.9)]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=2000)
    args = parser.parse_args()
    sm = submodel("urn:bench:sm:masking", 100)
    folder = Path(tempfile.mkdtemp(prefix="aas-bench-masking-"))
    store = open_store(Settings(data_dir=str(folder)))
    (folder / "bench.yaml").write_text(profile_text())
    try:
        masker = Masker(parse_profile(profile_text(), "bench.yaml", SECRET), store)
        watched = Masker(ProfileSource(folder / "bench.yaml", SECRET), store)
        unrelated = Masker(parse_profile(UNRELATED, "unrelated.yaml"), store)
        with audit.collecting() as disclosed:
            masker.mask_submodel(sm, PARTNER)
        forms = collections.Counter(form for _, _, form in disclosed)
        print(f"# 100-element submodel, {len(disclosed)} elements masked ({dict(forms)}); per call, median / p90, "
              f"{args.repeat} calls")
        figures = {
            "copy.deepcopy (baseline)": per_call_us(lambda: copy.deepcopy(sm), args.repeat),
            "json.dumps (baseline)": per_call_us(lambda: json.dumps(sm), args.repeat),
            "mask_submodel, half masked": per_call_us(lambda: masker.mask_submodel(sm, PARTNER), args.repeat),
            "the same, profile from a ProfileSource": per_call_us(lambda: watched.mask_submodel(sm, PARTNER),
                                                                  args.repeat),
            "mask_submodel, rules match nothing": per_call_us(lambda: unrelated.mask_submodel(sm, PARTNER),
                                                              args.repeat),
        }
    finally:
        store.close()
    base = figures["copy.deepcopy (baseline)"][0]
    for label, (median, p90) in figures.items():
        print(f"{label:<38} {median:9.1f} us   p90 {p90:9.1f} us   {median / base:5.2f}x deepcopy")


if __name__ == "__main__":
    main()
