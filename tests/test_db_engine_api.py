"""Public functions the Spark engine calls: pure conversions, normalization, bulk upserts."""
from __future__ import annotations

import io

import numpy as np
from bson import ObjectId

from db_support import db, make_seis, make_ts  # noqa: F401 - fixture
from spark_seis.db import (build_lookup, bulk_upsert, derived_id, document_to_object,
                           finalize_saved, normalize, object_to_documents, upsert_bundles)


def test_object_to_documents_then_document_to_object_without_database():
    ts = make_ts(1, source_id=ObjectId(), source_lat=3.0)
    ts.elog.log("stage", "note")
    wf_id = derived_id("event", "NZ.BFZ.10.HHZ", "i01", "s00")
    bundle = object_to_documents(ts, wf_id=wf_id, data_tag="syn")
    assert bundle.wf_doc["_id"] == wf_id == derived_id("event", "NZ.BFZ.10.HHZ", "i01", "s00")
    assert "source_lat" not in bundle.wf_doc and bundle.wf_doc["data_tag"] == "syn"
    assert bundle.elog_docs[0]["wf_TimeSeries_id"] == wf_id
    assert len(bundle.samples) == 800
    # a writer puts the bytes somewhere; a reader hands back bytes or an open file
    doc = dict(bundle.wf_doc, dir="d", dfile="f.bin", foff=16)
    back = document_to_object(doc, bundle.samples)
    assert back.live and np.array_equal(back.data, ts.data)
    fh = io.BytesIO(b"\0" * 16 + bundle.samples)
    assert np.array_equal(document_to_object(doc, fh).data, ts.data)
    short = document_to_object(doc, io.BytesIO(b"\0" * 100))
    assert not short.live and "f.bin" in short.elog[-1].message


def test_seismogram_bundle_roundtrip():
    s = make_seis(3)
    bundle = object_to_documents(s)
    back = document_to_object(bundle.wf_doc, bundle.samples, collection="wf_Seismogram")
    assert np.array_equal(back.data, s.data) and np.allclose(back.tmatrix, s.tmatrix)


def test_normalize_from_broadcast_lookups():
    src_id = ObjectId()
    lookups = {"source": build_lookup([{"_id": src_id, "lat": 1.0, "lon": 2.0, "depth": 3.0}])}
    ts = make_ts(2, source_id=src_id)
    ts.metadata.clear_modified()
    assert normalize(ts, lookups, ["source"])
    assert (ts["source_lat"], ts["source_depth"]) == (1.0, 3.0)
    assert ts.metadata.modified() == set()
    orphan = make_ts(3, source_id=ObjectId())
    assert not normalize(orphan, lookups, ["source"]) and not orphan.live


def test_bulk_upsert_is_idempotent(db):
    docs = [{"_id": derived_id("k", i), "v": i} for i in range(50)]
    assert bulk_upsert(db["out"], docs) == 50
    changed = [dict(d, v=-d["v"]) for d in docs[:10]] + [{"_id": derived_id("k", 99), "v": 99}]
    bulk_upsert(db["out"], changed)
    assert db["out"].count_documents({}) == 51
    assert db["out"].find_one({"_id": derived_id("k", 3)})["v"] == -3
    bulk_upsert(db["keyed"], [{"evt": "e", "sta": "A", "m": 1}], key_fields=("evt", "sta"))
    bulk_upsert(db["keyed"], [{"evt": "e", "sta": "A", "m": 2}], key_fields=("evt", "sta"))
    assert [d["m"] for d in db["keyed"].find({})] == [2]


def test_partition_writer_rerun_leaves_same_database(db):
    """What a per-partition writer does: bundles -> samples in GridFS/file -> bulk upsert."""
    from spark_seis.db import sample_io

    def run():
        objs = [make_ts(i) for i in range(5)]
        objs[2].kill("window", "no windows")
        bundles = [object_to_documents(o, wf_id=derived_id("job", i)) for i, o in enumerate(objs)]
        for b in bundles:
            if b.live:
                b.wf_doc["gridfs_id"] = sample_io.gridfs_put(
                    db.db, b.samples, file_id=derived_id(b.wf_id, "gridfs"))
                b.wf_doc["storage_mode"] = "gridfs"
        upsert_bundles(db.db, bundles)
        for o, b in zip(objs, bundles):
            finalize_saved(o, b)
        return objs

    run()
    snapshot = sorted(map(str, db.wf_TimeSeries.find({})))
    objs = run()
    assert sorted(map(str, db.wf_TimeSeries.find({}))) == snapshot
    assert db.wf_TimeSeries.count_documents({}) == 4 and db.elog.count_documents({}) == 1
    assert db["fs.files"].count_documents({}) == 4
    back = db.read_data(objs[0]["_id"])
    assert np.array_equal(back.data, make_ts(0).data)
