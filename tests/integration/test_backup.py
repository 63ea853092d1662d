"""Backup and restore with the real CLI: everything in the store comes back equal in an empty store."""
from __future__ import annotations

import dataclasses
import os
import subprocess
import sys
import uuid
import zipfile
from pathlib import Path

import pytest

from aas_server.demo import build_demo_plant
from aas_server.services import environment
from aas_server.settings import Settings
from aas_server.store import open_store
from aas_server.store.base import KINDS, REGISTRY_KINDS, Query, Store, iterate
from tests.conftest import server_env
from tests.integration.ingest_support import SERIAL_EXPORT, run

pytestmark = pytest.mark.integration


def _cli(settings: Settings, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "aas_server.cli", *args], env={**os.environ, **server_env(settings)},
                          capture_output=True, text=True, timeout=300)


def _contents(store: Store) -> dict[str, object]:
    """Everything the store holds, in a comparable form."""
    return {
        "identifiables": {kind: list(iterate(lambda page, k=kind: store.find(k, Query(), page)))
                          for kind in (*KINDS, *REGISTRY_KINDS)},
        "records": {c: list(iterate(lambda page, c=c: store.find_record_items(c, page)))
                    for c in store.record_collections()},
        "attachments": {key: store.get_attachment(key) for key in store.attachment_keys()},
    }


def test_backup_then_restore_into_an_empty_store_is_equal(settings: Settings, tmp_path: Path) -> None:
    source = open_store(settings)
    try:
        environment.import_environment(source, environment.from_sdk(*build_demo_plant()))
        run(source, "serial_units_export", SERIAL_EXPORT)  # lineage, provenance and ingest run records
        source.put_record("audit", "0001", {"port": "external", "bpn": "BPNL000000000001", "elements": ["a"]})
        before = _contents(source)
    finally:
        source.close()
    assert before["attachments"] and before["records"]["lineage"] and before["identifiables"]["shell_descriptor"]

    backup_file = tmp_path / "backup.zip"
    saved = _cli(settings, "backup", str(backup_file))
    assert saved.returncode == 0, saved.stderr

    empty = dataclasses.replace(settings, data_dir=str(tmp_path / "restored"),
                                mongodb_database=f"{settings.mongodb_database}_r{uuid.uuid4().hex[:6]}")
    restored = _cli(empty, "restore", str(backup_file))
    assert restored.returncode == 0, restored.stderr
    target = open_store(empty)
    try:
        assert _contents(target) == before
    finally:
        target.close()

    again = _cli(empty, "restore", str(backup_file))
    assert again.returncode == 2 and "empty store" in again.stderr


def test_a_corrupt_backup_is_refused_with_the_part_at_fault(settings: Settings, tmp_path: Path) -> None:
    broken = tmp_path / "broken.zip"
    with zipfile.ZipFile(broken, "w") as archive:
        archive.writestr("manifest.json", '{"format": "aas-server-backup/1", "records": {}}')
        archive.writestr("identifiables/shell.jsonl", '{"id": "x"\n')
    result = _cli(settings, "restore", str(broken))
    assert result.returncode == 2
    assert "identifiables/shell.jsonl:1" in result.stderr
    store = open_store(settings)
    try:
        assert _contents(store) == {"identifiables": {k: [] for k in (*KINDS, *REGISTRY_KINDS)}, "records": {},
                                    "attachments": {}}  # nothing half-restored
    finally:
        store.close()
    not_zip = tmp_path / "plain.txt"
    not_zip.write_text("hello")
    assert "not a backup" in _cli(settings, "restore", str(not_zip)).stderr
