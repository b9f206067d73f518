"""Contract tests of the Database CRUD rules, run against every backend."""
from __future__ import annotations

import numpy as np
import pytest
from bson import ObjectId

from db_support import db, dbs, make_seis, make_ts  # noqa: F401 - fixtures
from spark_seis.core import SeismogramEnsemble, TimeSeriesEnsemble
from spark_seis.db import UnknownCollectionError
from spark_seis.db.sample_io import StoragePathError


# --- create / read -----------------------------------------------------------------
def test_save_read_timeseries_file_roundtrip(db):
    ts = make_ts(1, extra=3, data_tag_source="x")
    db.save_data(ts, data_tag="raw")
    doc = db.wf_TimeSeries.find_one({"_id": ts["_id"]})
    assert doc["npts"] == 100 and doc["delta"] == 0.01 and doc["data_tag"] == "raw"
    assert doc["format"] == "binary" and doc["nbytes"] == 800 and doc["foff"] == 0
    back = db.read_data(ts["_id"])
    assert back.live and np.array_equal(back.data, ts.data)
    assert back.t0 == ts.t0 and back.dt == ts.dt and back["extra"] == 3
    assert back.metadata.modified() == set()
    # read by document gives the same object
    assert np.array_equal(db.read_data(doc).data, ts.data)


def test_save_read_seismogram_gridfs_roundtrip(dbs):
    s = make_seis(2)
    dbs.save_data(s, storage_mode="gridfs")
    doc = dbs.wf_Seismogram.find_one({"_id": s["_id"]})
    assert doc["storage_mode"] == "gridfs" and "dfile" not in doc
    assert dbs["fs.files"].find_one({"_id": doc["gridfs_id"]})["length"] == 3 * 50 * 8
    back = dbs.read_data(s["_id"])
    assert back.live and np.array_equal(back.data, s.data)
    assert np.allclose(back.tmatrix, s.tmatrix) and back.components == ("R", "T", "Z")


def test_elog_and_history_saved_and_linked(db):
    ts = make_ts(3)
    ts.elog.log("my_filter", "ringing near the edges", "Complaint")
    ts.enable_history("job1")
    ts.record("bandpass", {"fmin": 0.01})
    db.save_data(ts, save_history=True)
    elog = db.elog.find_one({"wf_TimeSeries_id": ts["_id"]})
    assert elog["logdata"][0]["algorithm"] == "my_filter"
    hist = db.history.find_one({"wf_TimeSeries_id": ts["_id"]})
    assert [r["algorithm"] for r in hist["records"]] == ["ORIGIN", "bandpass"]
    assert ts.history.is_origin()
    assert ts.history.records[0].parameters["wf_id"] == str(ts["_id"])


def test_dead_datum_saved_as_tombstone_without_samples(db):
    ts = make_ts(4)
    ts.kill("qc", "clipped")
    db.save_data(ts)
    assert db.wf_TimeSeries.count_documents({}) == 0
    tomb = db.elog.find_one({"tombstone": {"$exists": True}})
    assert tomb["tombstone"]["sta"] == "S004"
    assert tomb["logdata"][0]["message"] == "clipped"
    assert ts.npts == 0


def test_normalized_attributes_not_saved(db):
    ts = make_ts(5, source_lat=-39.9, source_id=ObjectId())
    db.save_data(ts)
    doc = db.wf_TimeSeries.find_one({"_id": ts["_id"]})
    assert "source_lat" not in doc and "source_id" in doc


@pytest.mark.parametrize("mode,value,live,stored", [
    ("promiscuous", "2.5", True, "2.5"),
    ("cautious", "2.5", True, 2.5),
    ("pedantic", "2.5", False, None),
    ("cautious", "xyz", False, None),
    ("promiscuous", "xyz", True, "xyz"),
])
def test_read_modes(db, mode, value, live, stored):
    ts = make_ts(6)
    db.save_data(ts)
    db.wf_TimeSeries.update_one({"_id": ts["_id"]}, {"$set": {"calib": value, "dt": 7}})
    back = db.read_data(ts["_id"], mode=mode)
    assert back.live is live
    if live:
        assert back["calib"] == stored
        if mode == "cautious":
            assert back.elog.worst_severity().name == "Complaint"
    else:
        assert "calib" in back.elog[-1].message


def test_save_modes_convert_or_kill(db):
    ok = make_ts(7, foff_extra=1, calib="3")
    db.save_data(ok, mode="cautious")
    assert db.wf_TimeSeries.find_one({"_id": ok["_id"]})["calib"] == 3.0
    bad = make_ts(8, calib=[1, 2])
    db.save_data(bad, mode="cautious")
    assert not bad.live and db.wf_TimeSeries.count_documents({}) == 1
    assert db.elog.count_documents({"tombstone.sta": "S008"}) == 1


def test_exclude_keys_and_unknown_collection(db):
    ts = make_ts(9, secret=1)
    db.save_data(ts)
    back = db.read_data(ts["_id"], exclude_keys=["secret"])
    assert "secret" not in back.metadata and back["sta"] == "S009"
    with pytest.raises(UnknownCollectionError, match="wf_Bogus"):
        db.read_data(ts["_id"], collection="wf_Bogus")
    with pytest.raises(UnknownCollectionError, match="bogus"):
        db.read_data(ts["_id"], normalize=["bogus"])


def test_normalization_required_ids(db):
    src = db.source.insert_one({"lat": -39.9, "lon": 176.3, "depth": 20.0, "time": 1.5e9,
                                "magnitude": 5.2, "event_id": "e1"}).inserted_id
    with_id, without = make_ts(10, source_id=src), make_ts(11)
    db.save_data(with_id)
    db.save_data(without)
    back = db.read_data(with_id["_id"], normalize=["source"])
    assert back["source_lat"] == -39.9 and back["source_magnitude"] == 5.2
    assert db.read_data(without["_id"], normalize=["source"]) is None
    ens = db.read_ensemble_data([with_id["_id"], without["_id"]], normalize=["source"])
    assert len(ens) == 1 and ens[0]["source_event_id"] == "e1"
    # a dangling id kills the datum, naming the id
    db.wf_TimeSeries.update_one({"_id": with_id["_id"]}, {"$set": {"source_id": ObjectId()}})
    dead = db.read_data(with_id["_id"], normalize=["source"])
    assert not dead.live and "not found in collection 'source'" in dead.elog[-1].message


# --- update --------------------------------------------------------------------------
def test_update_metadata_rules(db):
    src = db.source.insert_one({"lat": 1.0, "event_id": "e"}).inserted_id
    ts = make_ts(12, source_id=src, event_id="E1", gone=1)
    db.save_data(ts)
    ts = db.read_data(ts["_id"], normalize=["source"])
    ts["pick"] = 12.5
    ts["event_id"] = "E2"          # read-only
    ts["source_lat"] = 99.0        # normalized
    del ts["gone"]
    db.update_metadata(ts, data_tag="picked")
    doc = db.wf_TimeSeries.find_one({"_id": ts["_id"]})
    assert doc["pick"] == 12.5 and doc["data_tag"] == "picked" and "gone" not in doc
    assert doc["event_id"] == "E1" and doc["READONLYERROR_event_id"] == "E2"
    assert "source_lat" not in doc
    messages = [e["message"] for d in db.elog.find({"wf_TimeSeries_id": ts["_id"]})
                for e in d["logdata"]]
    assert any("READONLYERROR_event_id" in m for m in messages)
    assert not any("source_lat" in m for m in messages)  # silently ignored (Update section)
    assert ts.metadata.modified() == set()


def test_update_only_changed_keys_unless_told(db):
    ts = make_ts(13, a=1)
    db.save_data(ts)
    ts = db.read_data(ts["_id"])
    db.wf_TimeSeries.update_one({"_id": ts["_id"]}, {"$set": {"a": 2}})  # someone else
    ts["b"] = 5
    db.update_metadata(ts)
    assert db.wf_TimeSeries.find_one({"_id": ts["_id"]})["a"] == 2  # untouched
    db.update_metadata(ts, ignore_metadata_changed_test=True, exclude_keys=["b"])
    doc = db.wf_TimeSeries.find_one({"_id": ts["_id"]})
    assert doc["a"] == 1 and doc["b"] == 5


def test_changed_xref_id_kills_and_goes_to_graveyard(db):
    ts = make_ts(14, site_id=ObjectId())
    db.save_data(ts)
    ts = db.read_data(ts["_id"])
    new = ObjectId()
    ts["site_id"] = new
    db.update_metadata(ts)
    assert not ts.live
    grave = db.graveyard.find_one({"wf_id": ts["_id"]})
    assert grave["metadata"]["site_id"] == new and "site_id" in grave["reason"]
    assert db.wf_TimeSeries.find_one({"_id": ts["_id"]})["site_id"] != new
    # same rule on save of a changed object
    ts2 = make_ts(15, site_id=ObjectId())
    db.save_data(ts2)
    ts2 = db.read_data(ts2["_id"])
    ts2["site_id"] = ObjectId()
    db.save_data(ts2)
    assert not ts2.live and db.graveyard.count_documents({}) == 2


def test_update_cautious_pedantic(db):
    ts = make_ts(16)
    db.save_data(ts)
    ts = db.read_data(ts["_id"])
    ts["foff"] = "12"
    db.update_metadata(ts, mode="cautious", exclude_keys=[])
    assert db.wf_TimeSeries.find_one({"_id": ts["_id"]})["foff"] == 12
    ts["npts"] = "many"
    db.update_metadata(ts, mode="pedantic")
    assert not ts.live and db.wf_TimeSeries.find_one({"_id": ts["_id"]})["npts"] == 100


# --- delete --------------------------------------------------------------------------
def test_delete_gridfs_and_shared_files(db, tmp_path):
    g = make_ts(17)
    db.save_data(g, storage_mode="gridfs")
    gid = db.wf_TimeSeries.find_one({"_id": g["_id"]})["gridfs_id"]
    assert db.delete_data(g["_id"])
    assert db["fs.files"].count_documents({"_id": gid}) == 0
    assert db["fs.chunks"].count_documents({"files_id": gid}) == 0

    a, b = make_ts(18), make_ts(19)
    a.elog.log("x", "note")
    a.enable_history()
    db.save_data(a, dfile="shared.bin", save_history=True)
    db.save_data(b, dfile="shared.bin")
    path = tmp_path / "wf" / "wf_TimeSeries" / "shared.bin"
    assert path.stat().st_size == 1600
    db.delete_data(a["_id"], remove_unreferenced_files=True, clear_elog=True)
    assert path.exists()  # b still references it
    assert db.elog.count_documents({"wf_TimeSeries_id": a["_id"]}) == 0
    assert db.history.count_documents({"wf_TimeSeries_id": a["_id"]}) == 0
    db.delete_data(b["_id"], remove_unreferenced_files=True)
    assert not path.exists()
    with pytest.raises(KeyError, match=str(b["_id"])):  # unknown id: a clear error
        db.delete_data(b["_id"])


# --- ensembles -----------------------------------------------------------------------
def test_save_ensemble_copies_ensemble_metadata(db):
    ens = TimeSeriesEnsemble([make_ts(i, evid="member") for i in range(3)],
                             metadata={"evid": "E9", "stack": 1})
    db.save_ensemble_data(ens, data_tag="ens")
    docs = list(db.wf_TimeSeries.find({"data_tag": "ens"}))
    assert len(docs) == 3 and {d["evid"] for d in docs} == {"E9"}


def test_ensemble_binary_file_and_group_read(dbs, tmp_path):
    ens = SeismogramEnsemble([make_seis(i) for i in range(4)], metadata={"evid": "E1"})
    ens[2].kill("qc", "bad")
    dbs.save_ensemble_data_binary_file(ens, dir="ev", dfile="E1.bin")
    docs = list(dbs.wf_Seismogram.find({}).sort("foff", 1))
    assert len(docs) == 3 and {d["dfile"] for d in docs} == {"E1.bin"}
    assert [d["foff"] for d in docs] == [0, 1200, 2400]
    assert (tmp_path / "wf" / "ev" / "E1.bin").stat().st_size == 3600
    assert dbs.elog.count_documents({"tombstone": {"$exists": True}}) == 1
    back = dbs.read_ensemble_data_group(dbs.wf_Seismogram.find({}).sort("sta", -1))
    assert [m["sta"] for m in back] == ["S003", "S001", "S000"]
    assert all(np.array_equal(m.data, ens[int(m["sta"][1:])].data) for m in back)
    plain = dbs.read_ensemble_data([d["_id"] for d in docs])
    assert [m["sta"] for m in plain] == ["S000", "S001", "S003"]


def test_read_to_dataframe_and_arrow(db):
    from spark_seis.db import read_to_arrow, read_to_dataframe

    for i in range(3):
        db.save_data(make_ts(i, source_id=ObjectId()))
    df = read_to_dataframe(db, {"sta": {"$in": ["S000", "S002"]}})
    assert len(df) == 2 and isinstance(df["_id"][0], str) and isinstance(df["source_id"][0], str)
    assert set(df["sta"]) == {"S000", "S002"}
    table = read_to_arrow(db, db.wf_TimeSeries.find({}), exclude_keys=["dir"])
    assert table.num_rows == 3 and "dir" not in table.column_names
    assert table.column("npts").to_pylist() == [100, 100, 100]


# --- bad input -----------------------------------------------------------------------
def test_missing_and_truncated_files_kill_only_that_datum(db, tmp_path):
    a, b, c = make_ts(20), make_ts(21), make_ts(22)
    db.save_data(a, dfile="a.bin")
    db.save_data(b, dfile="b.bin")
    db.save_data(c, dfile="c.bin")
    (tmp_path / "wf" / "wf_TimeSeries" / "a.bin").unlink()
    with open(tmp_path / "wf" / "wf_TimeSeries" / "b.bin", "r+b") as fh:
        fh.truncate(300)
    ens = db.read_ensemble_data_group([a["_id"], b["_id"], c["_id"]])
    assert [m.live for m in ens] == [False, False, True]
    assert "a.bin" in ens[0].elog[-1].message
    assert "truncated" in ens[1].elog[-1].message and "b.bin" in ens[1].elog[-1].message
    single = db.read_data(a["_id"])
    assert not single.live and "not found" in single.elog[-1].message
    assert "a.bin" in single.elog[-1].message


def test_storage_root_escape_refused(db):
    ts = make_ts(23)
    with pytest.raises(StoragePathError, match="outside the storage root"):
        db.save_data(ts, dir="../../etc", dfile="x.bin")
    db.save_data(ts)
    db.wf_TimeSeries.update_one({"_id": ts["_id"]}, {"$set": {"dir": "/etc", "dfile": "passwd"}})
    back = db.read_data(ts["_id"])
    assert not back.live and "outside the storage root" in back.elog[-1].message


def test_missing_time_base_gives_dead_object(db):
    ts = make_ts(24)
    db.save_data(ts)
    db.wf_TimeSeries.update_one({"_id": ts["_id"]}, {"$unset": {"delta": ""}})
    back = db.read_data(ts["_id"])
    assert not back.live and str(ts["_id"]) in back.elog[-1].message


# --- clean / verify ------------------------------------------------------------------
def test_verify_reports_clean_fixes(db, tmp_path):
    good, odd, gone = make_ts(25), make_ts(26), make_ts(27)
    for t in (good, odd, gone):
        db.save_data(t, dfile=f"{t['sta']}.bin")
    db.wf_TimeSeries.update_one({"_id": odd["_id"]},
                                {"$set": {"calib": "1.5", "foff": "0", "units": ["m"]}})
    (tmp_path / "wf" / "wf_TimeSeries" / "S027.bin").unlink()
    before = list(db.wf_TimeSeries.find({}))
    report = db.verify()
    assert list(db.wf_TimeSeries.find({})) == before  # verify changes nothing
    assert set(report) == {str(odd["_id"]), str(gone["_id"])}
    assert any("calib" in p and "convertible" in p for p in report[str(odd["_id"])])
    assert any("not found" in p for p in report[str(gone["_id"])])
    fixed = db.clean()
    doc = db.wf_TimeSeries.find_one({"_id": odd["_id"]})
    assert doc["calib"] == 1.5 and doc["foff"] == 0 and doc["units"] == ["m"]
    assert fixed["fixed"] == 1 and "units" in fixed["unfixable"][str(odd["_id"])][0]
    db.clean(unset_unconvertible=True)
    assert "units" not in db.wf_TimeSeries.find_one({"_id": odd["_id"]})


def test_read_unknown_id_and_load_history(db):
    assert db.read_data(ObjectId()) is None
    ts = make_ts(28)
    db.save_data(ts)
    back = db.read_data(ts["_id"], load_history=True)
    assert back.history.is_origin()
    assert back.history.records[0].parameters["wf_id"] == str(ts["_id"])
