"""A run killed with SIGKILL midway and started again ends in the state of an uninterrupted run: no duplicate
shells, submodels or elements, the same values and lineage (run ids and times aside). Real subprocesses of
``aas-server ingest`` against the MongoDB-wire store (FerretDB)."""
from __future__ import annotations

import datetime
import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

from aas_server.settings import Settings
from aas_server.store import open_store
from aas_server.store.base import Query, iterate
from adapters import lineage
from tests.integration.ingest_support import ROOT, diff_paths, snapshot

pytestmark = pytest.mark.integration

HEADER = "SERNR;MATNR;CHARG;HERDAT;WERKS;KUNNR;KUNDE_NAME;PRUEFER;PRUEFDATUM;DREHMOMENT_NM;GEWICHT_KG;BEMERKUNG"


def erp_export(path: Path, rows: int) -> Path:
    lines = [HEADER]
    for i in range(rows):
        day = "31.02.2025" if i % 17 == 5 else f"{1 + i % 28:02d}.03.2025"
        torque = "n/a" if i % 23 == 7 else f"{40 + i % 9},{i % 10}"
        remark = '"Nacharbeit;\r\nfreigegeben"' if i % 11 == 0 else ""
        lines.append(f"KX{i:04d}-25-{i:06d};{100234 + i % 2};B25-{i // 10:03d};{day};1000;00004{i:05d};"
                     f"Kunde {i} GmbH;Prüfer {i % 5};{day};{torque};{11 + i % 7},{i % 100:02d};{remark}")
    path.write_bytes(("\r\n".join(lines) + "\r\n").encode("iso-8859-1"))
    return path


def bench_readings(path: Path, units: int, rows: int) -> Path:
    start = datetime.datetime(2025, 3, 1, 6, 30, tzinfo=datetime.UTC)
    lines = ["timestamp,serial_number,station,inlet_pressure_bar,outlet_pressure_bar,flow_m3_h,power_kw,"
             "vibration_mm_s,result"]
    for u in range(units):
        for r in range(rows):
            t = (start + datetime.timedelta(minutes=20 * u, seconds=r)).strftime("%Y-%m-%dT%H:%M:%SZ")
            vibration = "" if r % 97 == 3 else f"{1 + (r % 13) / 100:.3f}"
            lines.append(f"{t},KX{u:04d}-25-{u:06d},TB-07,{1 + r % 7 / 100:.3f},6.{r % 100:03d},"
                         f"{37 + r % 5}.{r % 10}0,7.{r % 1000:03d},{vibration},PASS")
    path.write_text("\ufeff" + "\n".join(lines) + "\n", encoding="utf-8")
    return path


CASES = {
    # mapping, kind, input maker, lineage records (one per submodel) at which the runs are killed
    "erp-flat": ("serial_units_export", "erp", lambda p: erp_export(p / "export.csv", 50), (16, 48)),
    "time-series": ("test_bench_timeseries", "csv", lambda p: bench_readings(p / "bench.csv", 12, 120), (3, 8)),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_killed_run_finished_by_a_rerun_equals_an_uninterrupted_run(case, mongo_uri, tmp_path):
    mapping, kind, make, progress = CASES[case]
    data = make(tmp_path)
    reference, interrupted = (Settings(mongodb_uri=mongo_uri, data_dir=str(tmp_path),
                                       mongodb_database=f"aas_test_{uuid.uuid4().hex[:12]}") for _ in range(2))
    command = [sys.executable, "-m", "aas_server.cli", "ingest", kind, "--mapping", mapping, str(data), "-q",
               "--rejects", str(tmp_path / "rejects.csv")]
    stores = [open_store(s) for s in (reference, interrupted)]
    try:
        assert _ingest(command, reference).returncode in (0, 1)

        kills = 0
        for threshold in progress:  # kill twice, at different points of the run
            process = subprocess.Popen(command, env=_env(interrupted), cwd=tmp_path, stdout=subprocess.DEVNULL,
                                       stderr=subprocess.PIPE)
            if _wait_for(stores[1], threshold, process):
                os.kill(process.pid, signal.SIGKILL)
                kills += 1
            process.wait(timeout=120)
            assert process.returncode in (0, 1, -signal.SIGKILL), process.stderr.read() if process.stderr else ""
            if process.stderr:
                process.stderr.close()
        assert kills >= 1, "the run finished before it could be killed; make the input larger"
        finished = _ingest(command, interrupted)
        assert finished.returncode in (0, 1), finished.stderr

        expected, found = snapshot(stores[0]), snapshot(stores[1])
        assert diff_paths(expected, found) == []
        shells = list(iterate(lambda page: stores[1].find("shell", Query(), page)))
        assert len(shells) == len({s["id"] for s in shells}) == len(expected["shells"])
        for submodel in found["submodels"].values():
            id_shorts = [e["idShort"] for e in submodel.get("submodelElements") or []]
            assert len(id_shorts) == len(set(id_shorts)), submodel["id"]
        for shell in shells:
            refs = [r["keys"][0]["value"] for r in shell["submodels"]]
            assert len(refs) == len(set(refs)), shell["id"]
        # and a further run changes nothing
        again = _ingest(command, interrupted)
        assert " loaded" in again.stdout
        assert diff_paths(found, snapshot(stores[1])) == []
    finally:
        for store in stores:
            store.drop()  # type: ignore[attr-defined]
            store.close()


def _env(settings: Settings) -> dict[str, str]:
    env = dict(os.environ)
    env.update(AAS_MONGODB_URI=settings.mongodb_uri, AAS_MONGODB_DATABASE=settings.mongodb_database,
               AAS_DATA_DIR=settings.data_dir, PYTHONPATH=str(ROOT))
    return env


def _ingest(command: list[str], settings: Settings) -> subprocess.CompletedProcess[str]:
    return subprocess.run(command, env=_env(settings), capture_output=True, text=True, timeout=300,
                          cwd=settings.data_dir, check=False)


def _wait_for(store, threshold: int, process: subprocess.Popen[bytes]) -> bool:
    """Wait until the store holds ``threshold`` lineage records (written first for every submodel)."""
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and process.poll() is None:
        count = sum(1 for _ in iterate(lambda page: store.find_records(lineage.COLLECTION, page)))
        if count >= threshold:
            return True
        time.sleep(0.3)
    return False
