"""The embedded store itself: exact round trips, MongoDB's unique/duplicate rules,
index-backed queries that agree with MongoDB semantics, damage and full disks
reported naming the file."""
from __future__ import annotations

import datetime as dt
import math
import sqlite3

import pytest
from bson import ObjectId
from bson.binary import Binary
from pymongo import InsertOne, ReplaceOne, UpdateOne
from pymongo.errors import BulkWriteError, DuplicateKeyError

from spark_seis.db import get_client
from spark_seis.db.embedded import EmbeddedStoreError


@pytest.fixture
def coll(tmp_path):
    return get_client(path=tmp_path / "store")["t"]["c"]


def test_bson_types_round_trip_exactly_and_id_comes_first(coll):
    oid = ObjectId()
    doc = {"a": 1, "_id": oid, "when": dt.datetime(2018, 2, 18, 7, 43, 48, 123000),
           "raw": b"\x00\xff\x10", "bin": Binary(b"abc", 5), "nan": math.nan,
           "inf": -math.inf, "nested": {"ids": [ObjectId(), ObjectId()]}, "t": (1, 2),
           "big": 2 ** 62, "f": 0.1 + 0.2, "s": "Ω \"q\" \\ {\"$oid\": 1}"}
    coll.insert_one(dict(doc))
    back = coll.find_one({"_id": oid})
    assert list(back)[0] == "_id"
    assert back["when"] == doc["when"] and back["raw"] == doc["raw"]
    assert back["bin"] == Binary(b"abc", 5) and back["bin"].subtype == 5
    assert math.isnan(back["nan"]) and back["inf"] == -math.inf
    assert back["nested"] == doc["nested"] and back["t"] == [1, 2]
    assert back["big"] == 2 ** 62 and back["f"] == doc["f"] and back["s"] == doc["s"]


def test_unique_index_treats_missing_keys_as_equal_like_mongodb(coll):
    coll.create_index([("k", 1)], unique=True)
    coll.insert_one({"x": 1})
    with pytest.raises(DuplicateKeyError) as info:
        coll.insert_one({"x": 2})  # k missing twice: MongoDB refuses the second
    assert info.value.code == 11000 and "E11000" in str(info.value)
    with pytest.raises(DuplicateKeyError):
        coll.insert_one({"k": None})  # null and missing are the same key
    coll.insert_one({"k": ObjectId()})
    coll.create_index([("s", 1)], unique=True, sparse=True, name="sparse_s")
    coll.insert_many([{"k": 1}, {"k": 2}])  # sparse: documents without s do not collide


def test_bulk_errors_are_pymongo_errors_with_code_11000(coll):
    coll.create_index([("k", 1)], unique=True)
    coll.insert_many([{"_id": 1, "k": "a"}, {"_id": 2, "k": "b"}])
    with pytest.raises(BulkWriteError) as info:
        coll.insert_many([{"_id": 3, "k": "c"}, {"_id": 1, "k": "z"}, {"_id": 4, "k": "b"},
                          {"_id": 5, "k": "e"}], ordered=False)
    errors = info.value.details["writeErrors"]
    assert [(e["index"], e["code"]) for e in errors] == [(1, 11000), (2, 11000)]
    assert sorted(d["_id"] for d in coll.find({})) == [1, 2, 3, 5]
    with pytest.raises(BulkWriteError) as info:
        coll.bulk_write([ReplaceOne({"_id": 9}, {"k": "f"}, upsert=True),
                         UpdateOne({"_id": 3}, {"$set": {"k": "a"}}),
                         InsertOne({"_id": 10, "k": "g"})], ordered=True)
    assert [(e["index"], e["code"]) for e in info.value.details["writeErrors"]] == [(1, 11000)]
    assert coll.find_one({"_id": 9})["k"] == "f" and coll.find_one({"_id": 10}) is None
    res = coll.bulk_write([ReplaceOne({"_id": 9}, {"k": "h"}, upsert=True),
                           ReplaceOne({"_id": 11}, {"k": "i"}, upsert=True)])
    assert (res.matched_count, res.upserted_count) == (1, 1)
    with pytest.raises(BulkWriteError) as info:  # the executors' batch shape, one clash
        coll.bulk_write([ReplaceOne({"_id": 20}, {"k": "new"}, upsert=True),
                         ReplaceOne({"_id": 21}, {"k": "a"}, upsert=True)], ordered=False)
    assert [(e["index"], e["code"]) for e in info.value.details["writeErrors"]] == [(1, 11000)]
    assert coll.find_one({"_id": 20})["k"] == "new" and coll.find_one({"_id": 21}) is None


def test_indexed_queries_follow_mongodb_semantics(coll):
    coll.create_index("v")
    coll.create_index([("sid", 1)])
    sid = ObjectId()
    coll.insert_many([{"v": 1, "sid": sid}, {"v": "x", "sid": sid}, {"v": "1"},
                      {"v": 2.5}, {"v": None}, {"w": 0}, {"v": dt.datetime(2020, 1, 1)}])

    def vals(flt):
        return sorted(repr(d.get("v", "missing")) for d in coll.find(flt))

    assert vals({"v": 1}) == ["1"]                      # not "1"
    assert vals({"v": None}) == ["'missing'", "None"]   # missing and null
    assert vals({"v": {"$gte": 1}}) == ["1", "2.5"]     # numbers only
    assert vals({"v": {"$gte": "1"}}) == ["'1'", "'x'"]  # strings only
    assert vals({"v": {"$in": ["1", 2.5]}}) == ["'1'", "2.5"]
    assert vals({"v": {"$exists": False}}) == ["'missing'"]
    assert coll.count_documents({"sid": sid}) == 2
    assert coll.count_documents({"v": {"$ne": 1}}) == 6
    assert sorted(map(repr, coll.distinct("v", {"sid": sid}))) == ["'x'", "1"]
    assert [d["v"] for d in coll.find({"v": {"$in": [1, 2.5]}}, {"v": 1}).sort("v", -1)] \
        == [2.5, 1]
    groups = {repr(g["_id"]): g["n"] for g in coll.aggregate(
        [{"$match": {}}, {"$group": {"_id": "$sid", "n": {"$sum": 1}}}])}
    assert groups == {repr(sid): 2, "None": 5}  # missing and null group together


def test_updates_and_find_one_and_update(coll):
    coll.insert_one({"_id": "a", "n": 1, "tags": ["x"]})
    coll.update_one({"_id": "a"}, {"$inc": {"n": 2}, "$push": {"tags": "y"},
                                   "$addToSet": {"tags": "x"}, "$set": {"d.e": 1}})
    assert coll.find_one({"_id": "a"}) == {"_id": "a", "n": 3, "tags": ["x", "y"],
                                           "d": {"e": 1}}
    before = coll.find_one_and_update({"_id": "a"}, {"$unset": {"d": ""}})
    assert before["d"] == {"e": 1} and "d" not in coll.find_one({"_id": "a"})
    res = coll.update_one({"k": 5}, {"$set": {"m": 1}, "$setOnInsert": {"new": True}},
                          upsert=True)
    assert coll.find_one({"_id": res.upserted_id}) == {"_id": res.upserted_id, "k": 5,
                                                       "m": 1, "new": True}
    assert coll.update_many({}, {"$set": {"all": 1}}).modified_count == 2
    assert coll.delete_many({"all": 1}).deleted_count == 2


def _store_file(tmp_path):
    return tmp_path / "store" / "t.sqlite3"


def test_altered_document_is_reported_naming_the_store(tmp_path):
    client = get_client(path=tmp_path / "store")
    client["t"]["c"].insert_many([{"sta": "BFZXQ", "n": i} for i in range(5)])
    client.close()  # checkpoints the WAL into the file
    path = _store_file(tmp_path)
    raw = path.read_bytes()
    assert raw.count(b"BFZXQ") == 5
    path.write_bytes(raw.replace(b"BFZXQ", b"BFZXR", 1))  # one flipped bit, still valid JSON
    with pytest.raises(EmbeddedStoreError, match=rf"{path}.*checksum"):
        list(get_client(path=tmp_path / "store")["t"]["c"].find({}))


def test_file_that_is_not_a_store_is_reported_naming_it(tmp_path):
    (tmp_path / "store").mkdir()
    _store_file(tmp_path).write_bytes(b"not a database" * 100)
    with pytest.raises(EmbeddedStoreError, match=rf"{_store_file(tmp_path)}.*damaged"):
        get_client(path=tmp_path / "store")["t"]["c"].find_one({})


def test_full_disk_is_reported_naming_the_store_and_keeps_committed_data(tmp_path):
    coll = get_client(path=tmp_path / "store")["t"]["c"]
    coll.insert_one({"_id": "kept"})
    con = coll._store._connect()
    pages = con.execute("PRAGMA page_count").fetchone()[0]
    con.execute(f"PRAGMA max_page_count = {pages + 2}")  # what a full disk looks like to SQLite
    with pytest.raises(EmbeddedStoreError, match=rf"{_store_file(tmp_path)}.*disk is full"):
        coll.insert_many([{"pad": "x" * 4000} for _ in range(50)])
    assert [d["_id"] for d in coll.find({})] == ["kept"]  # nothing half-written


def test_store_is_sqlite_in_wal_mode_with_expression_indexes(tmp_path):
    coll = get_client(path=tmp_path / "store")["t"]["c"]
    coll.create_index([("source_id", 1)])
    coll.insert_one({"source_id": ObjectId()})
    con = sqlite3.connect(_store_file(tmp_path))
    assert con.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    plan = " ".join(r[-1] for r in con.execute(
        "EXPLAIN QUERY PLAN SELECT doc FROM c WHERE "
        "ifnull(json_extract(doc, '$.source_id'), x'00') = ?", ("x",)))
    assert "USING INDEX" in plan


def test_store_of_the_previous_engine_is_refused_not_read_as_empty(tmp_path):
    (tmp_path / "store" / "t").mkdir(parents=True)  # litemongo kept a folder per database
    with pytest.raises(EmbeddedStoreError, match=r"store/t .*litemongo.*new embedded_path"):
        get_client(path=tmp_path / "store")["t"]["c"].count_documents({})


def test_upsert_batches_report_and_store_as_mongodb_does(coll):
    """The executors' batch (ReplaceOne by _id, upsert) goes in with one INSERT when every
    _id is new; a batch that meets existing or repeated ids must still give MongoDB's
    counts and final documents (the later of two ops on one _id wins)."""
    oid = ObjectId()
    res = coll.bulk_write([ReplaceOne({"_id": oid}, {"_id": oid, "k": 1}, upsert=True),
                           ReplaceOne({"_id": 2}, {"k": 2, "_id": 2}, upsert=True),
                           ReplaceOne({"_id": 3}, {"k": 3}, upsert=True)])
    assert (res.upserted_count, res.matched_count) == (3, 0)
    assert res.upserted_ids == {0: oid, 1: 2, 2: 3}
    assert [list(d) for d in coll.find({}, sort=[("k", 1)])] == [["_id", "k"]] * 3
    assert coll.find_one({"k": 3})["_id"] == 3
    res = coll.bulk_write([ReplaceOne({"_id": 4}, {"k": 4}, upsert=True),
                           ReplaceOne({"_id": 2}, {"k": 20}, upsert=True),
                           ReplaceOne({"_id": 4}, {"k": 40}, upsert=True)], ordered=False)
    assert (res.upserted_count, res.matched_count, res.modified_count) == (1, 2, 2)
    assert res.upserted_ids == {0: 4}
    assert {d["_id"]: d["k"] for d in coll.find({})} == {oid: 1, 2: 20, 3: 3, 4: 40}
    again = coll.bulk_write([ReplaceOne({"_id": 2}, {"k": 20}, upsert=True),  # a re-run
                             ReplaceOne({"_id": 3}, {"k": 30}, upsert=True)])
    assert (again.matched_count, again.modified_count, again.upserted_count) == (2, 1, 0)
    assert {d["_id"]: d["k"] for d in coll.find({})} == {oid: 1, 2: 20, 3: 30, 4: 40}


def test_fast_and_fallback_encodings_decode_to_the_same_values():
    """Documents are written by orjson, with the stdlib encoder as fallback (and by the
    stdlib alone in stores of earlier versions): every spelling must read back alike,
    and ``_id`` keys must be spelled one way whatever wrote them."""
    import json

    from spark_seis.db.store.codec import _stdlib_encode, decode, encode, encode_id

    aware = dt.datetime(2018, 2, 18, 20, 43, 48, 123000, tzinfo=dt.timezone(dt.timedelta(hours=13)))
    cases = [
        {"_id": ObjectId(), "tiny": 1.5e-7, "neg": -9.456011395225814e-07, "huge": 1e300,
         "none": None, "s": "nullable é \u2028", "when": aware, "ids": (ObjectId(), 3)},
        {"nan": math.nan, "deep": {"inf": [math.inf, None]}},       # orjson would write null
        {"big": 2 ** 70, "k": {1: "int key"}},                       # orjson refuses these
        {"none": None, "zero": -0.0},
    ]
    for doc in cases:
        fast, slow = encode(doc), _stdlib_encode(doc)
        assert json.dumps(decode(fast), default=str, sort_keys=True) == \
            json.dumps(decode(slow), default=str, sort_keys=True), doc
        assert decode(fast).keys() == decode(slow).keys()
    assert "NaN" not in encode(cases[1]) and decode(encode(cases[1]))["deep"]["inf"][1] is None
    assert math.isinf(decode(encode(cases[1]))["deep"]["inf"][0])
    assert decode(encode(cases[0]))["when"] == aware.astimezone(dt.timezone.utc).replace(tzinfo=None)
    oid = ObjectId()
    assert encode_id(oid) == _stdlib_encode(oid) == encode(oid)
    assert encode_id({"a": 1e-5}) == _stdlib_encode({"a": 1e-5})
    with pytest.raises(Exception, match="cannot encode object"):
        encode({"bad": object()})


def test_failed_first_batch_of_a_new_collection_is_redone_in_a_new_transaction(tmp_path):
    """The one-statement batch has no savepoint: when it fails, its transaction is rolled
    back (with the collection's table, if that transaction created it) and redone."""
    db = get_client(path=tmp_path / "store")["t"]
    res = db["fresh"].bulk_write([ReplaceOne({"_id": 1}, {"k": 1}, upsert=True),
                                  ReplaceOne({"_id": 1}, {"k": 2}, upsert=True)])
    assert (res.upserted_count, res.matched_count) == (1, 1)
    assert list(db["fresh"].find({})) == [{"_id": 1, "k": 2}]
    with pytest.raises(BulkWriteError) as info:
        db["other"].insert_many([{"_id": 5}, {"_id": 6}, {"_id": 5}, {"_id": 7}])
    assert [e["index"] for e in info.value.details["writeErrors"]] == [2]
    assert [d["_id"] for d in db["other"].find({})] == [5, 6]
    assert sorted(db.list_collection_names()) == ["fresh", "other"]


def _write_batches(coll, batches: int = 20, per: int = 500) -> None:
    for k in range(batches):
        coll.bulk_write([ReplaceOne({"_id": f"{k}-{i}"}, {"pad": "x" * 500, "k": k}, upsert=True)
                         for i in range(per)])


def test_wal_is_copied_into_the_store_by_a_background_checkpoint(tmp_path, monkeypatch):
    """Writers do not checkpoint in their commit (it halved bulk upserts at 1M
    documents): a thread does, beside them, once the WAL passes a threshold."""
    from spark_seis.db import wal_checkpoint

    monkeypatch.setattr(wal_checkpoint, "BACKGROUND_AT_BYTES", 256 * 1024)
    coll = get_client(path=tmp_path / "store")["t"]["c"]
    coll.insert_one({"_id": "first"})
    store_file = tmp_path / "store" / "t.sqlite3"
    before = store_file.stat().st_size
    _write_batches(coll)
    background = wal_checkpoint.checkpointer(store_file, 1.0)
    background.wait(60)
    background.after_commit()  # one that started early may have copied only the first batches
    background.wait(60)
    # the writer's connection is still open: only the background thread wrote the file
    assert store_file.stat().st_size > before + 2_000_000
    assert coll.count_documents({}) == 10_001 and coll.find_one({"_id": "19-499"})["k"] == 19


def test_process_ending_during_background_checkpoints_keeps_every_commit(tmp_path):
    import subprocess
    import sys

    script = (
        "import sys; from pymongo import ReplaceOne\n"
        "from spark_seis.db import wal_checkpoint; from spark_seis.db.client import get_client\n"
        "wal_checkpoint.BACKGROUND_AT_BYTES = 64 * 1024\n"
        "coll = get_client(path=sys.argv[1])['t']['c']\n"
        "for k in range(30):\n"
        "    coll.bulk_write([ReplaceOne({'_id': f'{k}-{i}'}, {'pad': 'x' * 500}, upsert=True)"
        " for i in range(500)])\n")
    subprocess.run([sys.executable, "-c", script, str(tmp_path / "store")], check=True,
                   timeout=600)
    with sqlite3.connect(tmp_path / "store" / "t.sqlite3") as con:
        assert con.execute("PRAGMA quick_check").fetchone()[0] == "ok"
    assert get_client(path=tmp_path / "store")["t"]["c"].count_documents({}) == 15_000
