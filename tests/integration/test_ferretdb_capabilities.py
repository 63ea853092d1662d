"""What our MongoDB store relies on, checked against the FerretDB test server.

The first part checks the operations the store uses. They must keep working
when FerretDB (deploy/ferretdb/go.mod) is upgraded. Every test runs twice:
against FerretDB directly and through the harness' ``serialize_writes`` proxy
(which must be transparent, and makes single-document updates atomic).

``TestKnownGaps`` asserts that some known FerretDB 1.24 (SQLite backend)
limitations still exist. When one of those tests fails after an upgrade, the
gap was fixed: drop the workaround in the store and turn the test into a
capability check.
"""

from __future__ import annotations

import re
import threading
import uuid

import bson
import gridfs
import pymongo
import pymongo.errors
import pytest
from pymongo import ASCENDING, DESCENDING, ReturnDocument, UpdateOne

from tests.harness.ferretdb import FerretDB

pytestmark = pytest.mark.integration

MB = 1024 * 1024


@pytest.fixture(scope="module", params=["direct", "serialized"])
def ferretdb(request, tmp_path_factory):
    serialized = request.param == "serialized"
    with FerretDB(tmp_path_factory.mktemp(f"ferretdb-{request.param}"), serialize_writes=serialized) as server:
        yield server


@pytest.fixture(scope="module")
def client(ferretdb):
    c = pymongo.MongoClient(ferretdb.uri, serverSelectionTimeoutMS=10_000)
    yield c
    c.close()


@pytest.fixture(scope="module")
def db(client):
    # FerretDB database names must match ^[a-zA-Z0-9_-]{1,63}$ (one SQLite file each).
    return client["capabilities"]


@pytest.fixture
def coll(db, request):
    """A fresh collection named after the test."""
    name = re.sub(r"[^A-Za-z0-9_]", "_", request.node.name)[:100]
    db.drop_collection(name)
    yield db[name]
    db.drop_collection(name)


# --------------------------------------------------------------------------
# Capabilities the store relies on
# --------------------------------------------------------------------------


def test_ping_and_limits(client):
    assert client.admin.command("ping")["ok"] == 1.0
    hello = client.admin.command("hello")
    assert hello["isWritablePrimary"] is True
    assert hello["maxBsonObjectSize"] == 16 * MB


def test_insert_one_and_insert_many(coll):
    res = coll.insert_one({"_id": "urn:a", "n": 1})
    assert res.inserted_id == "urn:a"
    res = coll.insert_many([{"_id": f"urn:b{i}", "n": i} for i in range(5)])
    assert res.inserted_ids == [f"urn:b{i}" for i in range(5)]
    oid = coll.insert_one({"n": 99}).inserted_id
    assert isinstance(oid, bson.ObjectId)
    assert coll.find_one({"_id": oid})["n"] == 99
    assert coll.count_documents({}) == 7


def test_keyset_paging_by_id(coll):
    ids = [f"urn:example:{i:04d}" for i in range(25)]
    coll.insert_many([{"_id": i, "v": 1} for i in reversed(ids)])

    seen: list[str] = []
    cursor_key = ""
    while True:
        page = list(coll.find({"_id": {"$gt": cursor_key}}).sort("_id", ASCENDING).limit(10))
        if not page:
            break
        assert len(page) <= 10
        seen.extend(d["_id"] for d in page)
        cursor_key = page[-1]["_id"]
    assert seen == ids

    desc = [d["_id"] for d in coll.find({"_id": {"$lt": ids[10]}}).sort("_id", DESCENDING).limit(3)]
    assert desc == [ids[9], ids[8], ids[7]]


def test_compound_unique_index_is_enforced(coll):
    name = coll.create_index([("kind", ASCENDING), ("ident", DESCENDING)], unique=True)
    info = coll.index_information()
    assert info[name]["unique"] is True
    assert info[name]["key"] == [("kind", 1), ("ident", -1)]
    # Creating the same index again is a no-op.
    assert coll.create_index([("kind", ASCENDING), ("ident", DESCENDING)], unique=True) == name

    coll.insert_one({"kind": "shell", "ident": "urn:1"})
    coll.insert_one({"kind": "submodel", "ident": "urn:1"})
    with pytest.raises(pymongo.errors.DuplicateKeyError) as exc_info:
        coll.insert_one({"kind": "shell", "ident": "urn:1"})
    assert exc_info.value.code == 11000

    # An upsert that would create a duplicate is rejected the same way.
    with pytest.raises(pymongo.errors.DuplicateKeyError):
        coll.update_one({"_id": "new"}, {"$set": {"kind": "shell", "ident": "urn:1"}}, upsert=True)

    # Unordered insert_many: the duplicate fails, the others are inserted.
    with pytest.raises(pymongo.errors.BulkWriteError) as exc_info:
        coll.insert_many(
            [{"kind": "shell", "ident": "urn:1"}, {"kind": "shell", "ident": "urn:2"}],
            ordered=False,
        )
    details = exc_info.value.details
    assert [e["code"] for e in details["writeErrors"]] == [11000]
    assert details["nInserted"] == 1
    assert coll.count_documents({}) == 3

    # A duplicate _id is a DuplicateKeyError too.
    coll.insert_one({"_id": "x"})
    with pytest.raises(pymongo.errors.DuplicateKeyError):
        coll.insert_one({"_id": "x"})


def test_in_query(coll):
    coll.insert_many([{"_id": f"k{i}", "n": i} for i in range(10)])
    got = sorted(d["_id"] for d in coll.find({"_id": {"$in": ["k1", "k3", "nope"]}}))
    assert got == ["k1", "k3"]
    assert coll.count_documents({"n": {"$in": [2, 4, 6]}}) == 3
    assert coll.count_documents({"n": {"$nin": [2, 4, 6]}}) == 7


def test_regex_string_queries(coll):
    coll.insert_many(
        [
            {"_id": 1, "id_short": "Nameplate"},
            {"_id": 2, "id_short": "TechnicalData"},
            {"_id": 3, "id_short": "nameplate_v2"},
            {"_id": 4, "id_short": "a.b"},
        ]
    )
    ids = lambda q: sorted(d["_id"] for d in coll.find(q))  # noqa: E731
    assert ids({"id_short": {"$regex": "^Name"}}) == [1]
    assert ids({"id_short": {"$regex": "^name", "$options": "i"}}) == [1, 3]
    assert ids({"id_short": {"$regex": re.escape("a.b")}}) == [4]
    assert ids({"id_short": {"$regex": "Data$"}}) == [2]
    # bson.Regex (no flags) works too; compiled re.Pattern does not, see TestKnownGaps.
    assert ids({"id_short": bson.Regex("^Tech")}) == [2]


def test_update_one_compare_and_set(coll):
    coll.insert_one({"_id": "urn:shell", "version": 1, "payload": "v1"})

    res = coll.update_one(
        {"_id": "urn:shell", "version": 1},
        {"$set": {"payload": "v2"}, "$inc": {"version": 1}},
    )
    assert (res.matched_count, res.modified_count) == (1, 1)
    assert coll.find_one({"_id": "urn:shell"}) == {"_id": "urn:shell", "version": 2, "payload": "v2"}

    stale = coll.update_one(
        {"_id": "urn:shell", "version": 1},
        {"$set": {"payload": "lost"}, "$inc": {"version": 1}},
    )
    assert (stale.matched_count, stale.modified_count) == (0, 0)
    assert coll.find_one({"_id": "urn:shell"})["payload"] == "v2"


def test_find_one_and_update_counter_with_upsert(coll):
    def next_value(name: str) -> int:
        doc = coll.find_one_and_update(
            {"_id": name},
            {"$inc": {"value": 1}},
            upsert=True,
            return_document=ReturnDocument.AFTER,
        )
        return doc["value"]

    assert [next_value("seq") for _ in range(3)] == [1, 2, 3]
    assert next_value("other") == 1
    before = coll.find_one_and_update(
        {"_id": "seq"}, {"$inc": {"value": 1}}, return_document=ReturnDocument.BEFORE
    )
    assert before["value"] == 3
    assert coll.find_one_and_update({"_id": "missing"}, {"$inc": {"value": 1}}) is None


def test_delete_many(coll):
    coll.insert_many([{"_id": i, "group": "a" if i % 2 else "b"} for i in range(10)])
    assert coll.delete_many({"group": "a"}).deleted_count == 5
    assert coll.delete_many({"group": "a"}).deleted_count == 0
    assert coll.count_documents({}) == 5
    assert coll.delete_one({"_id": 0}).deleted_count == 1


def test_bulk_write_unordered_upserts(coll):
    coll.insert_one({"_id": "e0", "value": "old"})
    ops = [
        UpdateOne({"_id": f"e{i}"}, {"$set": {"value": f"new{i}"}}, upsert=True) for i in range(20)
    ]
    res = coll.bulk_write(ops, ordered=False)
    assert res.upserted_count == 19
    assert res.matched_count == 1
    assert res.modified_count == 1
    # The upserted _ids are right; their op indexes are not (see TestKnownGaps).
    assert sorted(res.upserted_ids.values()) == sorted(f"e{i}" for i in range(1, 20))
    assert coll.count_documents({}) == 20
    assert coll.find_one({"_id": "e0"})["value"] == "new0"


def test_count_documents_with_filter(coll):
    coll.insert_many([{"_id": i, "kind": "shell" if i < 7 else "submodel"} for i in range(10)])
    assert coll.count_documents({"kind": "shell"}) == 7
    assert coll.count_documents({"kind": "shell", "_id": {"$gte": 5}}) == 2
    assert coll.count_documents({}, limit=3) == 3
    assert coll.estimated_document_count() == 10


def test_large_string_and_binary_fields(coll):
    text = "x" * (5 * MB)
    blob = bytes(range(256)) * (5 * MB // 256)
    coll.insert_one({"_id": "str", "s": text})
    coll.insert_one({"_id": "bin", "b": bson.Binary(blob)})

    assert coll.find_one({"_id": "str"})["s"] == text
    got = coll.find_one({"_id": "bin"})["b"]
    assert isinstance(got, bytes)  # subtype 0 comes back as bytes
    assert got == blob


def test_gridfs_round_trip(db):
    fs = gridfs.GridFS(db, collection=f"fs_{uuid.uuid4().hex[:8]}")
    data = bytes(range(256)) * (3 * MB // 256)
    file_id = fs.put(data, filename="aasx.zip", content_type="application/zip")
    assert fs.exists(file_id)
    out = fs.get(file_id)
    assert out.read() == data
    assert out.length == len(data)
    assert out.filename == "aasx.zip"
    fs.delete(file_id)
    assert not fs.exists(file_id)
    with pytest.raises(gridfs.errors.NoFile):
        fs.get(file_id)


def test_array_field_query_with_multikey_index(coll):
    name = coll.create_index("asset_ids")
    assert coll.index_information()[name]["key"] == [("asset_ids", 1)]
    coll.insert_many(
        [
            {"_id": 1, "asset_ids": ["a=b", "globalAssetId=urn:x"]},
            {"_id": 2, "asset_ids": ["c=d"]},
            {"_id": 3, "asset_ids": ["a=b"]},
            {"_id": 4, "asset_ids": []},
        ]
    )
    assert sorted(d["_id"] for d in coll.find({"asset_ids": "a=b"})) == [1, 3]
    assert [d["_id"] for d in coll.find({"asset_ids": {"$all": ["a=b", "globalAssetId=urn:x"]}})] == [1]
    assert sorted(d["_id"] for d in coll.find({"asset_ids": {"$in": ["c=d", "a=b"]}})) == [1, 2, 3]
    assert coll.count_documents({"asset_ids": "nope"}) == 0


def test_projection(coll):
    coll.insert_one({"_id": "s", "id_short": "Shell", "version": 3, "big": "x" * 1000, "nested": {"a": 1, "b": 2}})
    assert coll.find_one({"_id": "s"}, {"version": 1}) == {"_id": "s", "version": 3}
    assert coll.find_one({"_id": "s"}, {"version": 1, "_id": 0}) == {"version": 3}
    assert coll.find_one({"_id": "s"}, {"big": 0, "nested": 0}) == {"_id": "s", "id_short": "Shell", "version": 3}
    assert coll.find_one({"_id": "s"}, {"nested.a": 1, "_id": 0}) == {"nested": {"a": 1}}
    assert [d for d in coll.find({}, {"_id": 1})] == [{"_id": "s"}]


def test_mongoengine_document(ferretdb):
    mongoengine = pytest.importorskip("mongoengine")
    alias = f"t_{uuid.uuid4().hex[:8]}"
    mongoengine.connect(host=ferretdb.uri, db="me_capabilities", alias=alias, uuidRepresentation="standard")
    try:

        class Shell(mongoengine.Document):
            ident = mongoengine.StringField(required=True)
            id_short = mongoengine.StringField()
            asset_ids = mongoengine.ListField(mongoengine.StringField())
            version = mongoengine.IntField(default=1)
            payload = mongoengine.BinaryField()
            meta = {
                "db_alias": alias,
                "collection": "shells",
                "indexes": [
                    {"fields": ["ident"], "unique": True},
                    ("id_short", "-version"),
                    "asset_ids",
                ],
            }

        Shell.drop_collection()
        Shell.ensure_indexes()
        info = Shell._get_collection().index_information()
        assert info["ident_1"]["unique"] is True
        assert info["id_short_1_version_-1"]["key"] == [("id_short", 1), ("version", -1)]
        assert "asset_ids_1" in info

        Shell(ident="urn:1", id_short="Nameplate", asset_ids=["a=b"], payload=b"\x00\x01").save()
        Shell(ident="urn:2", id_short="Other", asset_ids=["c=d"]).save()
        with pytest.raises(mongoengine.NotUniqueError):
            Shell(ident="urn:1").save()

        assert [s.ident for s in Shell.objects(asset_ids="a=b")] == ["urn:1"]
        rows = list(
            Shell.objects(ident__in=["urn:1", "urn:2"]).order_by("ident").only("ident", "version").as_pymongo()
        )
        assert [(r["ident"], r["version"]) for r in rows] == [("urn:1", 1), ("urn:2", 1)]
        assert Shell.objects(ident="urn:1").first().payload == b"\x00\x01"

        # compare-and-set through the queryset API
        assert Shell.objects(ident="urn:1", version=1).update_one(set__id_short="N2", inc__version=1) == 1
        assert Shell.objects(ident="urn:1", version=1).update_one(set__id_short="N3", inc__version=1) == 0
        assert Shell.objects(ident="urn:1").as_pymongo().first()["id_short"] == "N2"

        assert Shell.objects(ident="urn:3").upsert_one(set__version=5).ident == "urn:3"
        assert Shell.objects(ident="urn:3").modify(inc__version=1, new=True).version == 6
        assert Shell.objects(ident="urn:3").delete() == 1
        assert Shell.objects.count() == 2
        Shell.drop_collection()
    finally:
        mongoengine.disconnect(alias=alias)


# --------------------------------------------------------------------------
# Known gaps of FerretDB 1.24 (SQLite backend): these assert the gap exists.
# --------------------------------------------------------------------------


class TestKnownGaps:
    def test_compiled_python_regex_is_rejected(self, coll):
        # Python str patterns always carry re.UNICODE, which bson encodes as
        # the "u" flag; FerretDB rejects it. Use {"$regex": "..."} instead.
        # This also breaks mongoengine's __startswith/__contains/__iexact/...
        coll.insert_one({"s": "abc"})
        with pytest.raises(pymongo.errors.OperationFailure) as exc_info:
            coll.count_documents({"s": re.compile("^a")})
        assert exc_info.value.code == 51108
        assert "invalid flag in regex options: u" in str(exc_info.value)
        # re.ASCII drops the flag and works.
        assert coll.count_documents({"s": re.compile("^a", re.ASCII)}) == 1

    def test_mongoengine_string_operators_use_compiled_regex(self, ferretdb):
        mongoengine = pytest.importorskip("mongoengine")
        alias = f"t_{uuid.uuid4().hex[:8]}"
        mongoengine.connect(host=ferretdb.uri, db="me_gaps", alias=alias, uuidRepresentation="standard")
        try:

            class Item(mongoengine.Document):
                name = mongoengine.StringField()
                meta = {"db_alias": alias, "collection": "items"}

            Item.drop_collection()
            Item(name="Nameplate").save()
            for query in ({"name__startswith": "Name"}, {"name__icontains": "plate"}, {"name__iexact": "nameplate"}):
                with pytest.raises(pymongo.errors.OperationFailure, match="invalid flag in regex options: u"):
                    Item.objects(**query).count()
            # the workaround: a raw $regex
            assert Item.objects(__raw__={"name": {"$regex": "^Name"}}).count() == 1
            Item.drop_collection()
        finally:
            mongoengine.disconnect(alias=alias)

    def test_unique_violation_by_update_is_internal_error_not_duplicate_key(self, coll):
        coll.create_index([("kind", 1), ("ident", 1)], unique=True)
        coll.insert_many([{"_id": 1, "kind": "s", "ident": "a"}, {"_id": 2, "kind": "s", "ident": "b"}])
        with pytest.raises(pymongo.errors.OperationFailure) as exc_info:
            coll.update_one({"_id": 2}, {"$set": {"ident": "a"}})
        assert not isinstance(exc_info.value, pymongo.errors.DuplicateKeyError)
        assert exc_info.value.code == 1  # InternalError; mongod: 11000
        assert "UNIQUE constraint failed" in str(exc_info.value)
        with pytest.raises(pymongo.errors.OperationFailure) as exc_info:
            coll.replace_one({"_id": 2}, {"kind": "s", "ident": "a"})
        assert exc_info.value.code == 1
        assert coll.find_one({"_id": 2})["ident"] == "b"  # but it is enforced

    def test_unordered_update_batch_stops_at_first_error(self, db, coll):
        coll.create_index([("k", 1)], unique=True)
        coll.insert_one({"_id": "taken", "k": 1})
        res = db.command(
            {
                "update": coll.name,
                "ordered": False,
                "updates": [
                    {"q": {"_id": "a"}, "u": {"$set": {"k": 1}}, "upsert": True},  # duplicate
                    {"q": {"_id": "b"}, "u": {"$set": {"k": 2}}, "upsert": True},  # fine
                ],
            }
        )
        assert [e["code"] for e in res["writeErrors"]] == [11000]
        # mongod would still apply the second upsert; FerretDB stops and also
        # omits "n"/"nModified" (pymongo's bulk_write then raises KeyError).
        assert coll.find_one({"_id": "b"}) is None
        assert "nModified" not in res

    def test_upserted_op_indexes_are_wrong(self, coll):
        # "upserted[].index" counts upserts instead of naming the op's index
        # in the batch, so pymongo's BulkWriteResult.upserted_ids is keyed wrongly.
        coll.insert_one({"_id": "e0"})
        ops = [UpdateOne({"_id": f"e{i}"}, {"$set": {"v": i}}, upsert=True) for i in range(4)]
        res = coll.bulk_write(ops, ordered=False)
        assert res.upserted_ids == {0: "e1", 1: "e2", 2: "e3"}  # mongod: {1: "e1", 2: "e2", 3: "e3"}

    def test_unique_index_ignores_missing_fields_and_array_elements(self, coll):
        coll.create_index("k", unique=True)
        coll.insert_one({"_id": 1})
        coll.insert_one({"_id": 2})  # mongod: duplicate key (both k: null)
        coll.insert_one({"_id": 3, "k": ["a", "b"]})
        coll.insert_one({"_id": 4, "k": ["b", "c"]})  # mongod: duplicate key on "b"
        assert coll.count_documents({}) == 4

    def test_index_options_not_implemented(self, coll):
        for kwargs in ({"expireAfterSeconds": 60}, {"partialFilterExpression": {"k": {"$exists": True}}}):
            with pytest.raises(pymongo.errors.OperationFailure) as exc_info:
                coll.create_index("k", **kwargs)
            assert exc_info.value.code == 238  # NotImplemented
            assert f'Index option "{next(iter(kwargs))}" is not implemented yet' in str(exc_info.value)

    def test_only_sole_id_equality_is_pushed_down(self, coll):
        # Secondary indexes enforce uniqueness but are never used for queries:
        # everything except {"_id": <str|ObjectId>} is a full scan filtered in Go.
        coll.create_index("n")
        coll.insert_many([{"_id": f"k{i}", "n": i} for i in range(10)])
        assert coll.find({"_id": "k1"}).explain()["filterPushdown"] is True
        assert coll.find({"n": 1}).explain()["filterPushdown"] is False
        explain = coll.find({"_id": {"$gt": "k1"}}).sort("_id", 1).limit(2).explain()
        assert (explain["filterPushdown"], explain["sortPushdown"], explain["limitPushdown"]) == (False, False, False)

    def test_transactions_not_supported(self, client, coll):
        with client.start_session() as session:
            with pytest.raises(pymongo.errors.OperationFailure, match='unknown field "startTransaction"'):
                session.with_transaction(lambda s: coll.insert_one({"_id": 1}, session=s))
        assert coll.count_documents({}) == 0

    def test_decimal128_closes_the_connection(self, ferretdb, coll):
        c = pymongo.MongoClient(ferretdb.uri, retryWrites=False)
        try:
            with pytest.raises(pymongo.errors.AutoReconnect):
                c[coll.database.name][coll.name].insert_one({"d": bson.Decimal128("1.5")})
        finally:
            c.close()


# --------------------------------------------------------------------------
# Behaviour that differs between direct FerretDB and the serializing proxy
# --------------------------------------------------------------------------


def _concurrent_cas(uri: str, per_thread: int = 200) -> tuple[int, int]:
    """Two threads each win ``per_thread`` compare-and-set increments of one
    document's version. Returns (successful CAS updates, final version)."""
    c = pymongo.MongoClient(uri)
    try:
        coll = c["capabilities"]["atomicity"]
        coll.drop()
        coll.insert_one({"_id": "doc", "version": 0})
        wins = [0, 0]

        def cas(i: int) -> None:
            while wins[i] < per_thread:
                current = coll.find_one({"_id": "doc"})["version"]
                res = coll.update_one(
                    {"_id": "doc", "version": current},
                    {"$inc": {"version": 1}, "$set": {"by": i}},
                )
                wins[i] += res.matched_count

        threads = [threading.Thread(target=cas, args=(i,)) for i in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        final = coll.find_one({"_id": "doc"})["version"]
        coll.drop()
        return sum(wins), final
    finally:
        c.close()


def _concurrent_counter(uri: str, per_thread: int = 200) -> list[int]:
    """Two threads each draw ``per_thread`` values from one find_one_and_update counter."""
    c = pymongo.MongoClient(uri)
    try:
        coll = c["capabilities"]["counter"]
        coll.drop()
        coll.insert_one({"_id": "seq", "value": 0})
        drawn: list[list[int]] = [[], []]

        def draw(i: int) -> None:
            for _ in range(per_thread):
                doc = coll.find_one_and_update(
                    {"_id": "seq"}, {"$inc": {"value": 1}}, return_document=ReturnDocument.AFTER
                )
                drawn[i].append(doc["value"])

        threads = [threading.Thread(target=draw, args=(i,)) for i in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        coll.drop()
        return drawn[0] + drawn[1]
    finally:
        c.close()


def test_concurrent_single_document_updates(ferretdb):
    if ferretdb.serialize_writes:
        assert _concurrent_cas(ferretdb.uri) == (400, 400)
        assert sorted(_concurrent_counter(ferretdb.uri)) == list(range(1, 401))
        return
    # Known gap: FerretDB reads the matching document, applies the update in
    # Go and writes it back by _id without a transaction around read and
    # write, so concurrent updates of one document lose writes: two CAS
    # updates on the same version both match, counters hand out a value twice.
    # (Retried: a single run could in theory miss the race.)
    for _attempt in range(3):
        applied, final = _concurrent_cas(ferretdb.uri)
        values = _concurrent_counter(ferretdb.uri)
        if final < applied and len(set(values)) < len(values):
            break
    assert final < applied, "no CAS update lost: are FerretDB updates atomic now?"
    assert len(set(values)) < len(values), "no counter value handed out twice: atomic now?"


def test_unacknowledged_write(ferretdb):
    c = pymongo.MongoClient(ferretdb.uri, maxPoolSize=1, w=0)
    try:
        coll = c["capabilities"]["w0"]
        coll.insert_one({"_id": "w0"})
        if ferretdb.serialize_writes:
            # the proxy sends it acknowledged and drops the reply
            assert coll.find_one({"_id": "w0"}) == {"_id": "w0"}
            coll.drop()
            return
        # Known gap: FerretDB replies to a moreToCome (w=0) message anyway, so
        # the next operation on that connection reads the stale reply.
        with pytest.raises(pymongo.errors.ProtocolError, match="Got response id"):
            coll.find_one({"_id": "w0"})
        c.close()
        c = pymongo.MongoClient(ferretdb.uri)
        c["capabilities"].drop_collection("w0")
    finally:
        c.close()
