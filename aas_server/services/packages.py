"""AASX File Server: packages are kept as uploaded and their contents imported into the repository.

Deleting a package removes the file, not the shells and submodels it brought: those are repository content now.
"""
from __future__ import annotations

import uuid

from ..errors import InvalidRequestError, NotFoundError
from ..store.base import JSON, Attachment, Page, PageRequest, Store
from . import environment

RECORDS = "packages"


def package_key(package_id: str) -> str:
    return f"package\n{package_id}\n"


class PackageService:
    def __init__(self, store: Store) -> None:
        self.store = store

    def find(self, page: PageRequest, shell_id: str | None) -> Page[JSON]:
        """Package descriptions, optionally of packages that hold ``shell_id`` (filtered page by page)."""
        result = self.store.find_records(RECORDS, page)
        if shell_id is not None:
            result.items = [r for r in result.items if shell_id in r.get("aasIds", [])]
        return Page([_description(r) for r in result.items], result.next_after)

    def get(self, package_id: str) -> Attachment:
        self.store.get_record(RECORDS, package_id)
        return self.store.get_attachment(package_key(package_id))

    def put(self, package: Attachment, package_id: str | None = None) -> JSON:
        """Import the package's contents, then keep the file; returns its PackageDescription."""
        if environment.detect_format(package.filename, package.data[:4]) != "aasx":
            raise InvalidRequestError("a package must be an AASX file", path=package.filename)
        env = environment.read_environment(package.data, package.filename)
        environment.import_environment(self.store, env)
        package_id = package_id or uuid.uuid4().hex
        record = {
            "packageId": package_id,
            "fileName": package.filename,
            "aasIds": [shell["id"] for shell in env.objects["shell"]],
        }
        self.store.put_attachment(package_key(package_id), package)
        self.store.put_record(RECORDS, package_id, record)
        return _description(record)

    def exists(self, package_id: str) -> bool:
        try:
            self.store.get_record(RECORDS, package_id)
            return True
        except NotFoundError:
            return False

    def delete(self, package_id: str) -> None:
        self.store.delete_record(RECORDS, package_id)
        self.store.delete_attachments(package_key(package_id))


def _description(record: JSON) -> JSON:
    description = {"packageId": record["packageId"]}
    if record.get("aasIds"):
        description["aasIds"] = record["aasIds"]
    return description
