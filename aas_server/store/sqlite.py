"""The embedded store: SQLite in a local folder, for running without a database server.

WAL mode with ``synchronous=FULL``: an acknowledged write survives a crash of the process or the machine.
Each thread has its own connection; read-modify-write runs in ``BEGIN IMMEDIATE`` transactions, so concurrent
gunicorn workers and threads serialise their writes and never lose one.
"""
from __future__ import annotations

import json
import sqlite3
import threading
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Callable, Iterator

from ..errors import ConflictError, InvalidRequestError, NotFoundError, StoreUnavailableError
from ..model.index import index_fields
from ..settings import Settings
from .base import JSON, Attachment, Page, PageRequest, Query

_SCHEMA = """
CREATE TABLE IF NOT EXISTS identifiables (
    kind TEXT NOT NULL, id TEXT NOT NULL, json TEXT NOT NULL, id_short TEXT, semantic_id TEXT,
    PRIMARY KEY (kind, id)) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS identifiables_id_short ON identifiables (kind, id_short, id);
CREATE INDEX IF NOT EXISTS identifiables_semantic_id ON identifiables (kind, semantic_id, id);
CREATE TABLE IF NOT EXISTS terms (
    kind TEXT NOT NULL, field TEXT NOT NULL, value TEXT NOT NULL, id TEXT NOT NULL,
    PRIMARY KEY (kind, field, value, id)) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS terms_owner ON terms (kind, id);
CREATE TABLE IF NOT EXISTS elements (
    submodel_id TEXT NOT NULL, pos INTEGER NOT NULL, id_short TEXT NOT NULL, json TEXT NOT NULL,
    PRIMARY KEY (submodel_id, pos), UNIQUE (submodel_id, id_short));
CREATE TABLE IF NOT EXISTS attachments (
    key TEXT PRIMARY KEY, content_type TEXT NOT NULL, filename TEXT NOT NULL, data BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS records (
    collection TEXT NOT NULL, key TEXT NOT NULL, json TEXT NOT NULL, PRIMARY KEY (collection, key)) WITHOUT ROWID;
"""


class SqliteStore:
    """Store in ``<data_dir>/aas.sqlite3``."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._path = path
        self._local = threading.local()
        self._connection().executescript(_SCHEMA)

    @classmethod
    def from_settings(cls, settings: Settings) -> "SqliteStore":
        return cls(Path(settings.data_dir) / "aas.sqlite3")

    # -- connection handling ------------------------------------------------------------------------------

    def _connection(self) -> sqlite3.Connection:
        db = getattr(self._local, "db", None)
        if db is None:
            try:
                db = sqlite3.connect(self._path, timeout=30, isolation_level=None, check_same_thread=False)
                _enable_wal(db)
                db.execute("PRAGMA synchronous=FULL")
            except sqlite3.Error as e:
                raise StoreUnavailableError(f"cannot open embedded store: {e}", path=str(self._path)) from e
            self._local.db = db
        return db

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        db = self._connection()
        db.execute("BEGIN IMMEDIATE")
        try:
            yield db
        except BaseException:
            db.execute("ROLLBACK")
            raise
        db.execute("COMMIT")

    def ping(self) -> None:
        try:
            self._connection().execute("SELECT 1").fetchone()
        except sqlite3.Error as e:
            raise StoreUnavailableError(f"embedded store unavailable: {e}") from e

    def close(self) -> None:
        db = getattr(self._local, "db", None)
        if db is not None:
            db.close()
            self._local.db = None

    # -- identifiables ------------------------------------------------------------------------------------

    def get(self, kind: str, identifier: str) -> JSON:
        db = self._connection()
        row = db.execute("SELECT json FROM identifiables WHERE kind=? AND id=?", (kind, identifier)).fetchone()
        if row is None:
            raise NotFoundError(f"{kind.replace('_', ' ')} not found", path=identifier)
        obj: JSON = json.loads(row[0])
        if kind == "submodel":
            _attach_elements(obj, self._elements_of(db, [identifier]).get(identifier, []))
        return obj

    def find(self, kind: str, query: Query, page: PageRequest) -> Page[JSON]:
        sql = "SELECT id, json FROM identifiables WHERE kind=?"
        args: list[Any] = [kind]
        if page.after is not None:
            sql += " AND id>?"
            args.append(page.after)
        if query.id_short is not None:
            sql += " AND id_short=?"
            args.append(query.id_short)
        if query.semantic_id is not None:
            sql += " AND semantic_id=?"
            args.append(query.semantic_id)
        for field, value in query.terms:
            sql += " AND id IN (SELECT id FROM terms WHERE kind=? AND field=? AND value=?)"
            args += [kind, field, value]
        sql += " ORDER BY id LIMIT ?"
        args.append(page.limit + 1)
        db = self._connection()
        rows = db.execute(sql, args).fetchall()
        more = len(rows) > page.limit
        rows = rows[: page.limit]
        items = [json.loads(r[1]) for r in rows]
        if kind == "submodel" and items:
            elements = self._elements_of(db, [r[0] for r in rows])
            for item in items:
                _attach_elements(item, elements.get(item["id"], []))
        return Page(items, rows[-1][0] if more else None)

    def create(self, kind: str, obj: JSON) -> None:
        with self._transaction() as db:
            if _exists(db, kind, obj["id"]):
                raise ConflictError(f"{kind.replace('_', ' ')} exists already", path=obj["id"])
            self._write(db, kind, obj)

    def replace(self, kind: str, obj: JSON) -> None:
        with self._transaction() as db:
            if not _exists(db, kind, obj["id"]):
                raise NotFoundError(f"{kind.replace('_', ' ')} not found", path=obj["id"])
            self._remove(db, kind, obj["id"])
            self._write(db, kind, obj)

    def delete(self, kind: str, identifier: str) -> None:
        with self._transaction() as db:
            if not _exists(db, kind, identifier):
                raise NotFoundError(f"{kind.replace('_', ' ')} not found", path=identifier)
            self._remove(db, kind, identifier)

    def update_header(self, submodel_id: str, change: Callable[[JSON], JSON]) -> JSON:
        with self._transaction() as db:
            row = db.execute("SELECT json FROM identifiables WHERE kind='submodel' AND id=?", (submodel_id,)).fetchone()
            if row is None:
                raise NotFoundError("submodel not found", path=submodel_id)
            header = change(json.loads(row[0]))
            self._write_identifiable(db, "submodel", header)
            return header

    @staticmethod
    def _write(db: sqlite3.Connection, kind: str, obj: JSON) -> None:
        header = obj
        if kind == "submodel":
            header = {k: v for k, v in obj.items() if k != "submodelElements"}
            db.executemany(
                "INSERT INTO elements (submodel_id, pos, id_short, json) VALUES (?,?,?,?)",
                [(obj["id"], pos, e["idShort"], json.dumps(e)) for pos, e in enumerate(obj.get("submodelElements", []))],
            )
        SqliteStore._write_identifiable(db, kind, header)

    @staticmethod
    def _write_identifiable(db: sqlite3.Connection, kind: str, obj: JSON) -> None:
        fields = index_fields(obj)
        db.execute(
            "INSERT OR REPLACE INTO identifiables (kind, id, json, id_short, semantic_id) VALUES (?,?,?,?,?)",
            (kind, obj["id"], json.dumps(obj), fields.id_short, fields.semantic_id),
        )
        db.execute("DELETE FROM terms WHERE kind=? AND id=?", (kind, obj["id"]))
        db.executemany(
            "INSERT INTO terms (kind, field, value, id) VALUES (?,?,?,?)",
            [(kind, field, value, obj["id"]) for field, value in fields.terms],
        )

    @staticmethod
    def _remove(db: sqlite3.Connection, kind: str, identifier: str) -> None:
        db.execute("DELETE FROM identifiables WHERE kind=? AND id=?", (kind, identifier))
        db.execute("DELETE FROM terms WHERE kind=? AND id=?", (kind, identifier))
        if kind == "submodel":
            db.execute("DELETE FROM elements WHERE submodel_id=?", (identifier,))

    @staticmethod
    def _elements_of(db: sqlite3.Connection, submodel_ids: list[str]) -> dict[str, list[JSON]]:
        marks = ",".join("?" * len(submodel_ids))
        rows = db.execute(
            f"SELECT submodel_id, json FROM elements WHERE submodel_id IN ({marks}) ORDER BY submodel_id, pos",  # noqa: S608
            submodel_ids,
        )
        texts: dict[str, list[str]] = {}
        for submodel_id, text in rows:
            texts.setdefault(submodel_id, []).append(text)
        # one decode per submodel: far cheaper than one json.loads call per element
        return {submodel_id: json.loads(f"[{','.join(parts)}]") for submodel_id, parts in texts.items()}

    # -- submodel elements --------------------------------------------------------------------------------

    def find_elements(self, submodel_id: str, page: PageRequest) -> Page[JSON]:
        db = self._connection()
        _require_submodel(db, submodel_id)
        after = _position(page.after)
        rows = db.execute(
            "SELECT pos, json FROM elements WHERE submodel_id=? AND pos>? ORDER BY pos LIMIT ?",
            (submodel_id, after, page.limit + 1),
        ).fetchall()
        more = len(rows) > page.limit
        rows = rows[: page.limit]
        return Page([json.loads(r[1]) for r in rows], str(rows[-1][0]) if more else None)

    def get_element(self, submodel_id: str, id_short: str) -> JSON:
        db = self._connection()
        row = db.execute(
            "SELECT json FROM elements WHERE submodel_id=? AND id_short=?", (submodel_id, id_short)
        ).fetchone()
        if row is None:
            _require_submodel(db, submodel_id)
            raise NotFoundError("submodel element not found", path=id_short)
        element: JSON = json.loads(row[0])
        return element

    def add_element(self, submodel_id: str, element: JSON) -> None:
        with self._transaction() as db:
            _require_submodel(db, submodel_id)
            try:
                db.execute(
                    "INSERT INTO elements (submodel_id, pos, id_short, json) VALUES "
                    "(?, (SELECT COALESCE(MAX(pos), -1) + 1 FROM elements WHERE submodel_id=?), ?, ?)",
                    (submodel_id, submodel_id, element["idShort"], json.dumps(element)),
                )
            except sqlite3.IntegrityError as e:
                raise ConflictError("a submodel element with this idShort exists", path=element["idShort"]) from e

    def update_element(self, submodel_id: str, id_short: str, change: Callable[[JSON], JSON]) -> JSON:
        with self._transaction() as db:
            current = self.get_element(submodel_id, id_short)
            new = change(current)
            try:
                db.execute(
                    "UPDATE elements SET json=?, id_short=? WHERE submodel_id=? AND id_short=?",
                    (json.dumps(new), new["idShort"], submodel_id, id_short),
                )
            except sqlite3.IntegrityError as e:
                raise ConflictError("a submodel element with this idShort exists", path=new["idShort"]) from e
            return new

    def delete_element(self, submodel_id: str, id_short: str) -> None:
        with self._transaction() as db:
            cursor = db.execute("DELETE FROM elements WHERE submodel_id=? AND id_short=?", (submodel_id, id_short))
            if cursor.rowcount == 0:
                _require_submodel(db, submodel_id)
                raise NotFoundError("submodel element not found", path=id_short)

    # -- attachments and records --------------------------------------------------------------------------

    def put_attachment(self, key: str, attachment: Attachment) -> None:
        with self._transaction() as db:
            db.execute(
                "INSERT OR REPLACE INTO attachments (key, content_type, filename, data) VALUES (?,?,?,?)",
                (key, attachment.content_type, attachment.filename, attachment.data),
            )

    def get_attachment(self, key: str) -> Attachment:
        row = self._connection().execute(
            "SELECT content_type, filename, data FROM attachments WHERE key=?", (key,)
        ).fetchone()
        if row is None:
            raise NotFoundError("no file content stored for this element")
        return Attachment(row[0], row[1], bytes(row[2]))

    def delete_attachments(self, prefix: str) -> None:
        with self._transaction() as db:
            db.execute("DELETE FROM attachments WHERE substr(key, 1, ?) = ?", (len(prefix), prefix))

    def put_record(self, collection: str, key: str, doc: JSON) -> None:
        self.put_records(collection, [(key, doc)])

    def put_records(self, collection: str, items: list[tuple[str, JSON]]) -> None:
        with self._transaction() as db:
            db.executemany("INSERT OR REPLACE INTO records (collection, key, json) VALUES (?,?,?)",
                           [(collection, key, json.dumps(doc)) for key, doc in items])

    def get_record(self, collection: str, key: str) -> JSON:
        row = self._connection().execute(
            "SELECT json FROM records WHERE collection=? AND key=?", (collection, key)
        ).fetchone()
        if row is None:
            raise NotFoundError(f"{collection} record not found", path=key)
        doc: JSON = json.loads(row[0])
        return doc

    def delete_record(self, collection: str, key: str) -> None:
        with self._transaction() as db:
            if db.execute("DELETE FROM records WHERE collection=? AND key=?", (collection, key)).rowcount == 0:
                raise NotFoundError(f"{collection} record not found", path=key)

    def update_record(self, collection: str, key: str, change: Callable[[JSON | None], JSON | None]) -> JSON | None:
        with self._transaction() as db:
            row = db.execute("SELECT json FROM records WHERE collection=? AND key=?", (collection, key)).fetchone()
            new = change(json.loads(row[0]) if row is not None else None)
            if new is not None:
                db.execute(
                    "INSERT OR REPLACE INTO records (collection, key, json) VALUES (?,?,?)",
                    (collection, key, json.dumps(new)),
                )
            elif row is not None:
                db.execute("DELETE FROM records WHERE collection=? AND key=?", (collection, key))
            return new

    def find_records(self, collection: str, page: PageRequest) -> Page[JSON]:
        items = self.find_record_items(collection, page)
        return Page([doc for _, doc in items.items], items.next_after)

    def find_record_items(self, collection: str, page: PageRequest) -> Page[tuple[str, JSON]]:
        rows = self._connection().execute(
            "SELECT key, json FROM records WHERE collection=? AND key>? ORDER BY key LIMIT ?",
            (collection, page.after or "", page.limit + 1),
        ).fetchall()
        more = len(rows) > page.limit
        rows = rows[: page.limit]
        return Page([(r[0], json.loads(r[1])) for r in rows], rows[-1][0] if more else None)

    def record_collections(self) -> list[str]:
        rows = self._connection().execute("SELECT DISTINCT collection FROM records ORDER BY collection").fetchall()
        return [r[0] for r in rows]

    def attachment_keys(self) -> list[str]:
        return [r[0] for r in self._connection().execute("SELECT key FROM attachments ORDER BY key")]


def _enable_wal(db: sqlite3.Connection, attempts: int = 100) -> None:
    """Switch to WAL. Processes opening a new file at the same moment (gunicorn workers on a fresh data folder)
    can get "database is locked" here without SQLite's busy handler ever waiting, so this waits and retries."""
    for attempt in range(attempts):
        try:
            db.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as e:
            if "locked" not in str(e) or attempt == attempts - 1:
                raise
            time.sleep(0.05)


def _exists(db: sqlite3.Connection, kind: str, identifier: str) -> bool:
    return db.execute("SELECT 1 FROM identifiables WHERE kind=? AND id=?", (kind, identifier)).fetchone() is not None


def _require_submodel(db: sqlite3.Connection, submodel_id: str) -> None:
    if not _exists(db, "submodel", submodel_id):
        raise NotFoundError("submodel not found", path=submodel_id)


def _attach_elements(submodel: JSON, elements: list[JSON]) -> None:
    if elements:
        submodel["submodelElements"] = elements


def _position(after: str | None) -> int:
    try:
        return int(after) if after is not None else -1
    except ValueError as e:
        raise InvalidRequestError("invalid cursor", path=after) from e
