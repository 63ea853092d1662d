"""The MongoDB store: the production target is MongoDB 6+; FerretDB 1.24 (SQLite backend) serves the tests.

Layout (see ``documents``): one collection per kind of identifiable with ``_id`` = id, the canonical JSON as a
string field ``json`` (reads return it without object mapping; no BSON key restrictions; NaN survives) and the
index fields of ``model.index``. Lists are keyset-paginated in the database: ``{"_id": {"$gt": after}}`` sorted
by ``_id`` with ``limit + 1``; elements likewise on their ``pos``.

Submodels are a header document plus one document per top-level element, tagged with the header's
``generation``. Without multi-document transactions (FerretDB has none) :meth:`MongoStore.replace` stays
crash-safe: it writes the new elements under a fresh generation, switches the header to it with a
compare-and-set on the old generation, then deletes the old generation. Readers only read the header's
current generation, so a crash in between leaves unreferenced garbage, never a half-replaced submodel; garbage
older than :data:`GARBAGE_AGE` is swept by later replaces and deletes. A generation is a fresh ``ObjectId``
rather than a counter, so two concurrent replaces, or a replace after a crashed one, never collide in the unique
indexes.

Single-element, header and record writes (``update_element``, ``update_header``, ``update_record``) are
optimistic compare-and-set on a per-document ``version``: ``update_one({_id, version}, {$set, $inc: {version: 1}})``, re-reading and re-applying
``change`` when a concurrent write won, at most :data:`MAX_ATTEMPTS` times, then :class:`ConflictError`.
MongoDB makes each such ``update_one`` atomic, so concurrent writers never lose an update. **FerretDB 1.24 does
not**: two concurrent compare-and-sets on one document can both report a match, and one change is lost (measured:
8 threads each applying 25 increments to one element through ``update_element`` left it at 31, not 200).
Writes to *different* documents
(e.g. different elements of one submodel) are independent on both.

Attachments are GridFS files named by their key (bucket ``attachments``); a put uploads a new file and then
deletes older files of that key. ``delete_attachments`` matches names with an anchored ``$regex`` *string* of
``re.escape(prefix)``: FerretDB rejects the BSON regex values pymongo sends for compiled patterns.

Every driver error is raised as :class:`StoreUnavailableError` (:class:`PayloadTooLargeError` for a document
over the 16 MB BSON limit), chained to the driver's exception.
"""

from __future__ import annotations

import datetime
import functools
import itertools
import json
import logging
import random
import re
import threading
import time
import urllib.parse
import uuid
from collections.abc import Callable, Iterable
from typing import Any, ParamSpec, TypeVar

import gridfs
import mongoengine
from bson import ObjectId
from pymongo import ASCENDING, DESCENDING, MongoClient, UpdateOne
from pymongo.collection import Collection
from pymongo.errors import (
    BulkWriteError,
    ConfigurationError,
    DocumentTooLarge,
    DuplicateKeyError,
    OperationFailure,
    PyMongoError,
)

from ...errors import (
    AASError,
    ConflictError,
    InvalidRequestError,
    NotFoundError,
    PayloadTooLargeError,
    StoreUnavailableError,
)
from ...model.index import index_fields
from ...settings import Settings
from ..base import JSON, KINDS, Attachment, Page, PageRequest, Query
from .documents import (
    IDENTIFIABLE_DOCUMENTS,
    TERM_SEPARATOR,
    ElementDocument,
    MongoDoc,
    RecordDocument,
    bind,
)

logger = logging.getLogger(__name__)

P = ParamSpec("P")
R = TypeVar("R")

#: compare-and-set attempts before a write gives up with ConflictError
MAX_ATTEMPTS = 20
#: longest random sleep between two compare-and-set attempts of ``update_record`` (exponential up to it)
BACK_OFF_CAP_S = 0.05
#: element generations not referenced by their header and older than this are garbage of a crashed write
GARBAGE_AGE = datetime.timedelta(hours=1)
#: default server selection timeout unless the URI sets one (pymongo's 30 s is too long for a web request)
SERVER_SELECTION_TIMEOUT_MS = 5000
#: default write concern unless the URI sets ``w``; FerretDB 1.24 accepts it too
DEFAULT_WRITE_CONCERN: str | int | None = "majority"
#: GridFS bucket of the attachments
ATTACHMENT_BUCKET = "attachments"

_aliases = itertools.count()
_DUPLICATE_KEY = 11000
_LABELS = {"shell": "shell", "submodel": "submodel", "concept_description": "concept description"}


def _unique_violation(error: OperationFailure) -> bool:
    """A unique index refused the write: DuplicateKeyError on MongoDB; FerretDB 1.24 reports it from updates
    as a generic OperationFailure (code 1) naming the SQLite UNIQUE constraint."""
    return isinstance(error, DuplicateKeyError) or "UNIQUE constraint failed" in str(error)


def _guarded(method: Callable[P, R]) -> Callable[P, R]:
    """Raise driver errors as store errors; our own errors pass."""

    @functools.wraps(method)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return method(*args, **kwargs)
        except AASError:
            raise
        except DocumentTooLarge as e:
            raise PayloadTooLargeError(f"too large for the store: {e}") from e
        except (PyMongoError, mongoengine.connection.ConnectionFailure) as e:
            logger.warning("MongoDB store error in %s: %s", method.__name__, e)
            raise StoreUnavailableError(f"store unavailable: {e}") from e

    return wrapper


class MongoStore:
    """Store on a MongoDB (or FerretDB) database.

    :param uri: MongoDB connection URI; options in it (``w``, ``readPreference``, ``serverSelectionTimeoutMS``, ...)
        win over ours (majority writes, primary reads)
    :param database: database name (wins over a database in the URI path, which then only authenticates)
    :param write_concern: ``w`` of every write unless the URI sets one; ``None`` leaves the server's default
    :raises StoreUnavailableError: the server cannot be reached (indexes are created here)
    :raises InvalidRequestError: the URI is malformed
    """

    def __init__(self, uri: str, database: str, *, write_concern: str | int | None = DEFAULT_WRITE_CONCERN) -> None:
        uri_options = {name.lower() for name in urllib.parse.parse_qs(urllib.parse.urlsplit(uri).query)}
        options: dict[str, Any] = {"uuidRepresentation": "standard"}
        if "serverselectiontimeoutms" not in uri_options:
            options["serverSelectionTimeoutMS"] = SERVER_SELECTION_TIMEOUT_MS
        if write_concern is not None and "w" not in uri_options:
            options["w"] = write_concern
        if "readpreference" not in uri_options:
            # replicas are stateless and unsticky: a client that wrote through one replica and reads through
            # another must see its write, so reads go to the primary (secondaries lag behind it)
            options["readPreference"] = "primary"
        # a unique alias per store: mongoengine keys connections by alias (clients with equal settings are shared)
        self._alias = f"aas-store-{next(_aliases)}-{uuid.uuid4().hex[:8]}"
        self._lock = threading.Lock()
        self._closed = False
        try:
            try:
                mongoengine.connect(db=database, alias=self._alias, host=uri, **options)
            except ConfigurationError as e:
                raise InvalidRequestError(f"invalid MongoDB URI: {e}", path="mongodb_uri") from e
            client: MongoClient[MongoDoc] = mongoengine.get_connection(self._alias)
            self._db = client.get_database(database)
            self._identifiables = {kind: bind(doc, self._db) for kind, doc in IDENTIFIABLE_DOCUMENTS.items()}
            self._elements = bind(ElementDocument, self._db)
            self._records = bind(RecordDocument, self._db)
            self._bucket = gridfs.GridFSBucket(self._db, bucket_name=ATTACHMENT_BUCKET)
            self._files = self._db.get_collection(f"{ATTACHMENT_BUCKET}.files")
            # the indexes GridFS would create on the first upload into an empty bucket, up front
            self._files.create_index([("filename", ASCENDING), ("uploadDate", ASCENDING)])
            self._db.get_collection(f"{ATTACHMENT_BUCKET}.chunks").create_index(
                [("files_id", ASCENDING), ("n", ASCENDING)], unique=True
            )
        except (PyMongoError, mongoengine.connection.ConnectionFailure) as e:
            mongoengine.disconnect(self._alias)
            raise StoreUnavailableError(f"cannot open MongoDB store: {e}") from e

    @classmethod
    def from_settings(cls, settings: Settings) -> MongoStore:
        return cls(settings.mongodb_uri, settings.mongodb_database)

    @_guarded
    def ping(self) -> None:
        self._db.command("ping")

    def close(self) -> None:
        with self._lock:
            if not self._closed:
                self._closed = True
                mongoengine.disconnect(self._alias)

    @_guarded
    def drop(self) -> None:
        """Drop the whole database (tests)."""
        self._db.client.drop_database(self._db.name)

    # -- identifiables ------------------------------------------------------------------------------------

    @_guarded
    def get(self, kind: str, identifier: str) -> JSON:
        collection = self._collection(kind)
        if kind != "submodel":
            doc = collection.find_one({"_id": identifier}, {"json": 1})
            if doc is None:
                raise _not_found(kind, identifier)
            return _loads(doc["json"])
        for _ in range(MAX_ATTEMPTS):
            header = collection.find_one({"_id": identifier}, {"json": 1, "generation": 1})
            if header is None:
                raise _not_found(kind, identifier)
            submodel = _loads(header["json"])
            elements = self._elements.find(
                {"submodel_id": identifier, "generation": header["generation"]}, {"json": 1}
            ).sort("pos", ASCENDING)
            _attach_elements(submodel, _loads_all(elements))
            if self._generations([identifier]).get(identifier) == header["generation"]:
                return submodel
        raise ConflictError("submodel keeps changing while read", path=identifier)

    @_guarded
    def find(self, kind: str, query: Query, page: PageRequest) -> Page[JSON]:
        collection = self._collection(kind)
        filter_: MongoDoc = {}
        if page.after is not None:
            filter_["_id"] = {"$gt": page.after}
        if query.id_short is not None:
            filter_["id_short"] = query.id_short
        if query.semantic_id is not None:
            filter_["semantic_id"] = query.semantic_id
        if query.terms:
            filter_["terms"] = {"$all": sorted({_term(field, value) for field, value in query.terms})}
        projection = {"json": 1, "generation": 1} if kind == "submodel" else {"json": 1}
        docs = list(collection.find(filter_, projection).sort("_id", ASCENDING).limit(page.limit + 1))
        more = len(docs) > page.limit
        docs = docs[: page.limit]
        items = [_loads(d["json"]) for d in docs]
        if kind == "submodel" and docs:
            self._attach_all(docs, items)
        return Page(items, docs[-1]["_id"] if more else None)

    def _attach_all(self, headers: list[MongoDoc], items: list[JSON]) -> None:
        """Attach the current elements to a page of submodels; re-read any replaced meanwhile."""
        elements: dict[str, list[MongoDoc]] = {}
        # one $in and the generation checked here: FerretDB evaluates a 100-clause $or per document, far slower
        current = {h["_id"]: h["generation"] for h in headers}
        cursor = self._elements.find(
            {"submodel_id": {"$in": list(current)}}, {"submodel_id": 1, "generation": 1, "pos": 1, "json": 1}
        )
        for e in cursor:
            if current[e["submodel_id"]] == e["generation"]:
                elements.setdefault(e["submodel_id"], []).append(e)
        now = self._generations([h["_id"] for h in headers])
        for i, header in enumerate(headers):
            if now.get(header["_id"]) != header["generation"]:
                try:
                    items[i] = self.get("submodel", header["_id"])
                except NotFoundError:
                    pass  # deleted after the page was read; keep what the page saw, without elements
                continue
            own = sorted(elements.get(header["_id"], []), key=lambda e: e["pos"])
            _attach_elements(items[i], _loads_all(own))

    @_guarded
    def create(self, kind: str, obj: JSON) -> None:
        collection = self._collection(kind)
        identifier = obj["id"]
        if kind != "submodel":
            try:
                collection.insert_one({"_id": identifier, **_identifiable_fields(obj), "version": 0})
            except DuplicateKeyError as e:
                raise _exists(kind, identifier) from e
            return
        if collection.find_one({"_id": identifier}, {"_id": 1}) is not None:
            raise _exists(kind, identifier)
        header, elements = _split(obj)
        generation = self._insert_generation(identifier, elements)
        try:
            collection.insert_one(
                {"_id": identifier, **_identifiable_fields(header), "generation": generation, "version": 0}
            )
        except DuplicateKeyError as e:
            self._discard(identifier, generation)
            raise _exists(kind, identifier) from e
        # on another error the header may have been written after all: keep the elements (else garbage, swept)

    @_guarded
    def replace(self, kind: str, obj: JSON) -> None:
        collection = self._collection(kind)
        identifier = obj["id"]
        if kind != "submodel":
            result = collection.update_one(
                {"_id": identifier}, {"$set": _identifiable_fields(obj), "$inc": {"version": 1}}
            )
            if result.matched_count == 0:
                raise _not_found(kind, identifier)
            return
        current = collection.find_one({"_id": identifier}, {"generation": 1})
        if current is None:
            raise _not_found(kind, identifier)
        header, elements = _split(obj)
        generation = self._insert_generation(identifier, elements)
        # on a driver error below the switch may or may not have happened: the new generation then stays,
        # referenced or swept later as garbage
        for _ in range(MAX_ATTEMPTS):
            result = collection.update_one(
                {"_id": identifier, "generation": current["generation"]},
                {"$set": {**_identifiable_fields(header), "generation": generation}, "$inc": {"version": 1}},
            )
            if result.matched_count:
                break
            # a concurrent replace switched first: last writer wins, against its generation
            current = collection.find_one({"_id": identifier}, {"generation": 1})
            if current is None:
                self._discard(identifier, generation)
                raise _not_found(kind, identifier)
        else:
            self._discard(identifier, generation)
            raise ConflictError("submodel changed concurrently too often", path=identifier)
        self._elements.delete_many({"submodel_id": identifier, "generation": current["generation"]})
        self._sweep(identifier)

    @_guarded
    def delete(self, kind: str, identifier: str) -> None:
        collection = self._collection(kind)
        if kind != "submodel":
            if collection.delete_one({"_id": identifier}).deleted_count == 0:
                raise _not_found(kind, identifier)
            return
        for _ in range(MAX_ATTEMPTS):
            current = collection.find_one({"_id": identifier}, {"generation": 1})
            if current is None:
                raise _not_found(kind, identifier)
            if collection.delete_one({"_id": identifier, "generation": current["generation"]}).deleted_count:
                self._elements.delete_many({"submodel_id": identifier, "generation": current["generation"]})
                self._sweep(identifier)
                return
        raise ConflictError("submodel changed concurrently too often", path=identifier)

    @_guarded
    def update_header(self, submodel_id: str, change: Callable[[JSON], JSON]) -> JSON:
        collection = self._identifiables["submodel"]
        for _ in range(MAX_ATTEMPTS):
            doc = collection.find_one({"_id": submodel_id}, {"json": 1, "version": 1})
            if doc is None:
                raise _not_found("submodel", submodel_id)
            header = change(_loads(doc["json"]))
            header.pop("submodelElements", None)
            result = collection.update_one(
                {"_id": submodel_id, "version": doc["version"]},
                {"$set": _identifiable_fields(header), "$inc": {"version": 1}},
            )
            if result.matched_count:
                return header
            logger.debug("update_header of %s lost a race, retrying", submodel_id)
        raise ConflictError("submodel changed concurrently too often", path=submodel_id)

    def _collection(self, kind: str) -> Collection[MongoDoc]:
        try:
            return self._identifiables[kind]
        except KeyError:
            raise InvalidRequestError(f"unknown kind {kind!r}, expected one of {KINDS}") from None

    def _generations(self, submodel_ids: list[str]) -> dict[str, ObjectId]:
        cursor = self._identifiables["submodel"].find({"_id": {"$in": submodel_ids}}, {"generation": 1})
        return {d["_id"]: d["generation"] for d in cursor}

    def _generation(self, submodel_id: str) -> ObjectId:
        doc = self._identifiables["submodel"].find_one({"_id": submodel_id}, {"generation": 1})
        if doc is None:
            raise _not_found("submodel", submodel_id)
        generation: ObjectId = doc["generation"]
        return generation

    def _insert_generation(self, submodel_id: str, elements: list[JSON]) -> ObjectId:
        """Write ``elements`` under a fresh generation (not yet referenced by the header); returns it."""
        generation = ObjectId()
        if not elements:
            return generation
        docs = [
            {
                "submodel_id": submodel_id,
                "generation": generation,
                "pos": pos,
                "id_short": element["idShort"],
                "json": _dumps(element),
                "version": 0,
            }
            for pos, element in enumerate(elements)
        ]
        try:
            self._elements.insert_many(docs, ordered=True)
        except BulkWriteError as e:
            self._discard(submodel_id, generation)
            if _is_duplicate(e):
                raise ConflictError("two submodel elements have the same idShort", path=submodel_id) from e
            raise
        except BaseException:
            self._discard(submodel_id, generation)
            raise
        return generation

    def _discard(self, submodel_id: str, generation: ObjectId) -> None:
        """Best-effort removal of an unreferenced generation after a failed write (else swept later)."""
        try:
            self._elements.delete_many({"submodel_id": submodel_id, "generation": generation})
        except PyMongoError as e:
            logger.warning("cannot discard elements of a failed write to %s: %s", submodel_id, e)

    def _sweep(self, submodel_id: str) -> None:
        """After a replace or delete: drop generations of failed writes, old enough not to be in progress.

        The current generation, if any, was just written, so it is younger than :data:`GARBAGE_AGE`.
        """
        threshold = ObjectId.from_datetime(datetime.datetime.now(datetime.UTC) - GARBAGE_AGE)
        self._elements.delete_many({"submodel_id": submodel_id, "generation": {"$lt": threshold}})

    # -- submodel elements --------------------------------------------------------------------------------

    @_guarded
    def find_elements(self, submodel_id: str, page: PageRequest) -> Page[JSON]:
        after = _position(page.after)
        generation = self._generation(submodel_id)
        docs = list(
            self._elements.find(
                {"submodel_id": submodel_id, "generation": generation, "pos": {"$gt": after}}, {"pos": 1, "json": 1}
            )
            .sort("pos", ASCENDING)
            .limit(page.limit + 1)
        )
        more = len(docs) > page.limit
        docs = docs[: page.limit]
        return Page(_loads_all(docs), str(docs[-1]["pos"]) if more else None)

    @_guarded
    def get_element(self, submodel_id: str, id_short: str) -> JSON:
        generation = self._generation(submodel_id)
        doc = self._elements.find_one(
            {"submodel_id": submodel_id, "generation": generation, "id_short": id_short}, {"json": 1}
        )
        if doc is None:
            raise NotFoundError("submodel element not found", path=id_short)
        return _loads(doc["json"])

    @_guarded
    def add_element(self, submodel_id: str, element: JSON) -> None:
        generation = self._generation(submodel_id)
        id_short = element["idShort"]
        key = {"submodel_id": submodel_id, "generation": generation}
        for _ in range(MAX_ATTEMPTS):
            last = self._elements.find_one(key, {"pos": 1}, sort=[("pos", DESCENDING)])
            pos = last["pos"] + 1 if last is not None else 0
            try:
                self._elements.insert_one(
                    {**key, "pos": pos, "id_short": id_short, "json": _dumps(element), "version": 0}
                )
                return
            except DuplicateKeyError as e:
                if self._elements.find_one({**key, "id_short": id_short}, {"_id": 1}) is not None:
                    raise ConflictError("a submodel element with this idShort exists", path=id_short) from e
                logger.debug("add_element to %s lost the race for position %d, retrying", submodel_id, pos)
        raise ConflictError("submodel changed concurrently too often", path=submodel_id)

    @_guarded
    def update_element(self, submodel_id: str, id_short: str, change: Callable[[JSON], JSON]) -> JSON:
        generation = self._generation(submodel_id)
        for _ in range(MAX_ATTEMPTS):
            doc = self._elements.find_one(
                {"submodel_id": submodel_id, "generation": generation, "id_short": id_short},
                {"json": 1, "version": 1},
            )
            if doc is None:
                raise NotFoundError("submodel element not found", path=id_short)
            new = change(_loads(doc["json"]))
            try:
                result = self._elements.update_one(
                    {"_id": doc["_id"], "version": doc["version"]},
                    {"$set": {"json": _dumps(new), "id_short": new["idShort"]}, "$inc": {"version": 1}},
                )
            except OperationFailure as e:
                if not _unique_violation(e):
                    raise
                raise ConflictError("a submodel element with this idShort exists", path=new["idShort"]) from e
            if result.matched_count:
                return new
            logger.debug("update_element %s of %s lost a race, retrying", id_short, submodel_id)
        raise ConflictError("submodel element changed concurrently too often", path=id_short)

    @_guarded
    def delete_element(self, submodel_id: str, id_short: str) -> None:
        generation = self._generation(submodel_id)
        result = self._elements.delete_one({"submodel_id": submodel_id, "generation": generation, "id_short": id_short})
        if result.deleted_count == 0:
            raise NotFoundError("submodel element not found", path=id_short)

    # -- attachments --------------------------------------------------------------------------------------

    @_guarded
    def put_attachment(self, key: str, attachment: Attachment) -> None:
        file_id = self._bucket.upload_from_stream(
            key, attachment.data, metadata={"contentType": attachment.content_type, "filename": attachment.filename}
        )
        # older uploads of this key (ObjectIds grow with time); a concurrent newer put keeps its own file
        self._delete_files(self._files.find({"filename": key, "_id": {"$lt": file_id}}, {"_id": 1}))

    @_guarded
    def get_attachment(self, key: str) -> Attachment:
        for _ in range(MAX_ATTEMPTS):
            doc = self._files.find_one({"filename": key}, {"metadata": 1}, sort=[("_id", DESCENDING)])
            if doc is None:
                break
            try:
                data = self._bucket.open_download_stream(doc["_id"]).read()
            except (gridfs.errors.NoFile, gridfs.errors.CorruptGridFile):
                continue  # replaced or deleted while read
            metadata = doc.get("metadata") or {}
            return Attachment(metadata.get("contentType", ""), metadata.get("filename", ""), data)
        raise NotFoundError("no file content stored for this element")

    @_guarded
    def delete_attachments(self, prefix: str) -> None:
        self._delete_files(self._files.find({"filename": {"$regex": "^" + re.escape(prefix)}}, {"_id": 1}))

    def _delete_files(self, docs: Iterable[MongoDoc]) -> None:
        for doc in list(docs):
            try:
                self._bucket.delete(doc["_id"])
            except gridfs.errors.NoFile:
                pass  # deleted concurrently

    # -- records ------------------------------------------------------------------------------------------

    @_guarded
    def put_record(self, collection: str, key: str, doc: JSON) -> None:
        record = {"$set": {"collection": collection, "key": key, "json": _dumps(doc)}, "$inc": {"version": 1}}
        try:
            self._records.update_one({"_id": _record_id(collection, key)}, record, upsert=True)
        except DuplicateKeyError:
            # two upserts of a new key raced; the other one inserted it, now this one replaces it
            self._records.update_one({"_id": _record_id(collection, key)}, record, upsert=True)

    @_guarded
    def put_records(self, collection: str, items: list[tuple[str, JSON]]) -> None:
        if not items:
            return
        updates = [UpdateOne({"_id": _record_id(collection, key)},
                             {"$set": {"collection": collection, "key": key, "json": _dumps(doc)}, "$inc": {"version": 1}},
                             upsert=True) for key, doc in items]
        try:
            self._records.bulk_write(updates, ordered=False)
        except BulkWriteError as e:
            # upserts of new keys that raced with another writer; the others are stored, these are replaced now
            failed = {error["index"] for error in e.details.get("writeErrors", [])}
            if any(error.get("code") != _DUPLICATE_KEY for error in e.details.get("writeErrors", [])):
                raise
            for index in sorted(failed):
                self.put_record(collection, *items[index])

    @_guarded
    def get_record(self, collection: str, key: str) -> JSON:
        doc = self._records.find_one({"_id": _record_id(collection, key)}, {"json": 1})
        if doc is None:
            raise NotFoundError(f"{collection} record not found", path=key)
        return _loads(doc["json"])

    @_guarded
    def delete_record(self, collection: str, key: str) -> None:
        if self._records.delete_one({"_id": _record_id(collection, key)}).deleted_count == 0:
            raise NotFoundError(f"{collection} record not found", path=key)

    @_guarded
    def update_record(self, collection: str, key: str, change: Callable[[JSON | None], JSON | None]) -> JSON | None:
        record_id = _record_id(collection, key)
        for attempt in range(MAX_ATTEMPTS):
            doc = self._records.find_one({"_id": record_id}, {"json": 1, "version": 1})
            new = change(_loads(doc["json"]) if doc is not None else None)
            if doc is None:
                if new is None:
                    return None
                try:
                    self._records.insert_one(
                        {"_id": record_id, "collection": collection, "key": key, "json": _dumps(new), "version": 0}
                    )
                    return new
                except DuplicateKeyError:
                    pass  # a concurrent writer created it first: re-apply to its record
            else:
                # a record written before records had versions has none; {"version": None} matches it
                guard = {"_id": record_id, "version": doc.get("version")}
                if new is None:
                    if self._records.delete_one(guard).deleted_count:
                        return None
                else:
                    write = {"$set": {"json": _dumps(new)}, "$inc": {"version": 1}}
                    if self._records.update_one(guard, write).matched_count:
                        return new
            logger.debug("update_record %s/%s lost a race, retrying", collection, key)
            _back_off(attempt)
        raise ConflictError(f"{collection} record changed concurrently too often", path=key)

    def find_records(self, collection: str, page: PageRequest) -> Page[JSON]:
        items = self.find_record_items(collection, page)
        return Page([doc for _, doc in items.items], items.next_after)

    @_guarded
    def find_record_items(self, collection: str, page: PageRequest) -> Page[tuple[str, JSON]]:
        filter_: MongoDoc = {"collection": collection}
        if page.after is not None:
            filter_["key"] = {"$gt": page.after}
        docs = list(self._records.find(filter_, {"key": 1, "json": 1}).sort("key", ASCENDING).limit(page.limit + 1))
        more = len(docs) > page.limit
        docs = docs[: page.limit]
        return Page([(d["key"], _loads(d["json"])) for d in docs], docs[-1]["key"] if more else None)

    @_guarded
    def record_collections(self) -> list[str]:
        return sorted(self._records.distinct("collection"))

    @_guarded
    def attachment_keys(self) -> list[str]:
        return sorted(self._files.distinct("filename"))


def _back_off(attempt: int) -> None:
    """A short random sleep after a lost compare-and-set, so that many writers of one hot record (a shared
    counter, a privacy budget) spread out instead of colliding again in lock step."""
    time.sleep(random.uniform(0, min(BACK_OFF_CAP_S, 0.001 * 2**attempt)))


def _dumps(obj: JSON) -> str:
    return json.dumps(obj, separators=(",", ":"))


def _loads(text: str) -> JSON:
    obj: JSON = json.loads(text)
    return obj


def _loads_all(docs: Iterable[MongoDoc]) -> list[JSON]:
    """The ``json`` of many documents, decoded in one call (far cheaper than one ``json.loads`` per document)."""
    elements: list[JSON] = json.loads(f"[{','.join(d['json'] for d in docs)}]")
    return elements


def _term(field: str, value: str) -> str:
    return field + TERM_SEPARATOR + value


def _identifiable_fields(obj: JSON) -> MongoDoc:
    fields = index_fields(obj)
    return {
        "json": _dumps(obj),
        "id_short": fields.id_short,
        "semantic_id": fields.semantic_id,
        "terms": sorted(_term(field, value) for field, value in fields.terms),
    }


def _split(submodel: JSON) -> tuple[JSON, list[JSON]]:
    header = {k: v for k, v in submodel.items() if k != "submodelElements"}
    return header, list(submodel.get("submodelElements") or [])


def _attach_elements(submodel: JSON, elements: list[JSON]) -> None:
    if elements:
        submodel["submodelElements"] = elements


def _record_id(collection: str, key: str) -> str:
    return json.dumps([collection, key], separators=(",", ":"))


def _not_found(kind: str, identifier: str) -> NotFoundError:
    return NotFoundError(f"{_LABELS.get(kind, kind)} not found", path=identifier)


def _exists(kind: str, identifier: str) -> ConflictError:
    return ConflictError(f"{_LABELS.get(kind, kind)} exists already", path=identifier)


def _is_duplicate(error: BulkWriteError) -> bool:
    return any(e.get("code") == _DUPLICATE_KEY for e in error.details.get("writeErrors", []))


def _position(after: str | None) -> int:
    try:
        return int(after) if after is not None else -1
    except ValueError as e:
        raise InvalidRequestError("invalid cursor", path=after) from e
