"""Backup and restore of everything a store holds: identifiables, registry entries, attachments and records
(lineage, ingest runs, audit, privacy budgets and releases, token vault, leases, operation results...).

A backup is a ZIP of the stored JSON exactly as stored (no re-serialisation through the SDK, so a restore is
byte-for-byte what was backed up), written page by page so memory stays flat:

    manifest.json                    format version, time, counts per part
    identifiables/<kind>.jsonl       one stored object per line (submodels whole, with their elements)
    records/<collection>.jsonl       one ``[key, record]`` per line
    attachments/index.jsonl          ``{key, contentType, filename, member}`` per attachment
    attachments/<n>                  the bytes

For a portable copy that other AAS tools read, use ``aas-server export --format aasx`` beside it.
"""
from __future__ import annotations

import dataclasses
import datetime
import json
import zipfile
from collections.abc import Callable, Iterator
from typing import IO, Any

from ..errors import ConflictError, InvalidRequestError
from ..store.base import JSON, KINDS, REGISTRY_KINDS, Attachment, PageRequest, Query, Store, iterate

FORMAT = "aas-server-backup/1"
#: restored first: the registry decorator of the store derives descriptors from shells and submodels, and the
#: backed-up registry entries then overwrite what it derived
ORDER = (*KINDS, *REGISTRY_KINDS)


@dataclasses.dataclass
class BackupSummary:
    identifiables: dict[str, int] = dataclasses.field(default_factory=dict)
    records: dict[str, int] = dataclasses.field(default_factory=dict)
    attachments: int = 0

    def as_json(self) -> JSON:
        return dataclasses.asdict(self)


def backup(store: Store, out: IO[bytes]) -> BackupSummary:
    summary = BackupSummary()
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for kind in ORDER:
            summary.identifiables[kind] = _write_lines(
                archive, f"identifiables/{kind}.jsonl", iterate(lambda page, k=kind: store.find(k, Query(), page)))
        for collection in store.record_collections():
            summary.records[collection] = _write_lines(
                archive, f"records/{collection}.jsonl",
                ([key, doc] for key, doc in iterate(lambda page, c=collection: store.find_record_items(c, page))))
        index = []
        for n, key in enumerate(store.attachment_keys()):
            attachment = store.get_attachment(key)
            archive.writestr(f"attachments/{n}", attachment.data)
            index.append({"key": key, "contentType": attachment.content_type, "filename": attachment.filename,
                          "member": f"attachments/{n}"})
        summary.attachments = _write_lines(archive, "attachments/index.jsonl", iter(index))
        manifest = {"format": FORMAT, "created": datetime.datetime.now(datetime.UTC).isoformat(),
                    **summary.as_json()}
        archive.writestr("manifest.json", json.dumps(manifest, indent=2))
    return summary


def restore(store: Store, source: IO[bytes], progress: Callable[[int], None] = lambda n: None) -> BackupSummary:
    """Restore a backup into an empty store; every part is checked before the first write.

    :raises ConflictError: the store is not empty (a restore never merges into live data)
    :raises InvalidRequestError: not a backup of this format
    """
    _require_empty(store)
    summary = BackupSummary()
    try:
        archive = zipfile.ZipFile(source)
    except zipfile.BadZipFile as e:
        raise InvalidRequestError(f"not a backup: {e}") from e
    with archive:
        manifest = _manifest(archive)
        parts = [f"identifiables/{kind}.jsonl" for kind in ORDER]
        parts += [f"records/{collection}.jsonl" for collection in manifest.get("records", {})]
        for part in [*parts, "attachments/index.jsonl"]:
            for _ in _read_lines(archive, part):  # a corrupt part is found before anything is written
                pass
        for kind in ORDER:
            summary.identifiables[kind] = 0
            for obj in _read_lines(archive, f"identifiables/{kind}.jsonl"):
                _upsert(store, kind, obj)
                summary.identifiables[kind] += 1
                progress(1)
        for collection in manifest.get("records", {}):
            summary.records[collection] = 0
            for key, doc in _read_lines(archive, f"records/{collection}.jsonl"):
                store.put_record(collection, key, doc)
                summary.records[collection] += 1
        for entry in _read_lines(archive, "attachments/index.jsonl"):
            store.put_attachment(entry["key"], Attachment(entry["contentType"], entry["filename"],
                                                          archive.read(entry["member"])))
            summary.attachments += 1
    return summary


def _write_lines(archive: zipfile.ZipFile, name: str, items: Iterator[Any]) -> int:
    count = 0
    with archive.open(name, "w") as member:
        for item in items:
            member.write(json.dumps(item, separators=(",", ":"), ensure_ascii=False).encode() + b"\n")
            count += 1
    return count


def _read_lines(archive: zipfile.ZipFile, name: str) -> Iterator[Any]:
    try:
        member = archive.open(name)
    except KeyError:
        raise InvalidRequestError("backup lacks a part", path=name) from None
    with member:
        for number, line in enumerate(member, 1):
            try:
                yield json.loads(line)
            except ValueError as e:
                raise InvalidRequestError(f"corrupt backup line: {e}", path=f"{name}:{number}") from e


def _manifest(archive: zipfile.ZipFile) -> JSON:
    try:
        manifest: JSON = json.loads(archive.read("manifest.json"))
    except (KeyError, ValueError) as e:
        raise InvalidRequestError("not a backup: manifest.json missing or corrupt", path="manifest.json") from e
    if manifest.get("format") != FORMAT:
        raise InvalidRequestError(f"unsupported backup format {manifest.get('format')!r}, expected {FORMAT}",
                                  path="manifest.json")
    return manifest


def _require_empty(store: Store) -> None:
    if any(store.find(kind, Query(), PageRequest(1)).items for kind in KINDS) or store.record_collections():
        raise ConflictError("restore needs an empty store; this one holds data")


def _upsert(store: Store, kind: str, obj: JSON) -> None:
    try:
        store.create(kind, obj)
    except ConflictError:
        store.replace(kind, obj)  # a registry entry the store derived from a restored shell
