"""MsPASS CRUD fidelity of the Spark readers and writers (issue 12).

Each test cites the rule of shared/seeds/mspass_crud_operations.txt it checks or,
where the document is silent, MsPASS's released read_distributed_data /
write_distributed_data. Embedded store; the real-MongoDB contract run covers
pymongo's own GridFS (tests/test_db_contract.py).
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from bson import ObjectId

from spark_seis.core import TimeSeries
from spark_seis.db.client import get_database
from spark_seis.engine.read import read_distributed_data
from spark_seis.engine.write import write_distributed_data


@pytest.fixture
def db(tmp_path):
    return get_database({"work_dir": str(tmp_path)})


def _series(n, seed=0, **md):
    rng = np.random.default_rng(seed)
    return [TimeSeries(rng.normal(size=300), dt=0.05, t0=1.6e9 + i,
                       metadata={"net": "XX", "sta": f"S{i:02d}", "loc": "", "chan": "BHZ",
                                 **md}) for i in range(n)]


def _by_sta(objects):
    return {o["sta"]: o for o in objects}


def test_gridfs_samples_read_on_executors(spark, db):
    """Read item 3: "The use of storage in MongoDB's gridfs in combination with
    SPARK ... are known to help reduce io bottlenecks"; read_files "read[s] the
    stored data from a file or in gridfs". GridFS data come back live, with the
    saved samples; a datum whose GridFS file is gone is dead, naming it, and the
    others are unaffected."""
    series = _series(6, source_id=ObjectId())
    for ts in series:
        db.save_data(ts, storage_mode="gridfs", data_tag="raw")
    gone = db.db["wf_TimeSeries"].find_one({"sta": "S03"})["gridfs_id"]
    db.db["fs.chunks"].delete_many({"files_id": gone})
    db.db["fs.files"].delete_one({"_id": gone})
    objects = _by_sta(read_distributed_data(spark, db, {"data_tag": "raw"}).collect())
    assert len(objects) == 6
    for ts in series:
        got = objects[ts["sta"]]
        if ts["sta"] == "S03":
            assert got.dead and str(gone) in got.elog[-1].message
        else:
            assert got.live
            np.testing.assert_array_equal(got.data, ts.data)


def test_write_distributed_gridfs_exactly_once_and_rereadable(spark, db):
    """Create item 5: write_distributed_data is the parallel save_data, which
    stores samples in files or gridfs; a rerun replaces (deterministic ids)."""
    series = _series(8, seed=1)
    rdd = spark.sparkContext.parallelize(series, 2)
    frame = write_distributed_data(rdd, db, data_tag="proc", storage_mode="gridfs")
    write_distributed_data(rdd, db, data_tag="proc", storage_mode="gridfs")
    wf = db.db["wf_TimeSeries"]
    assert wf.count_documents({"data_tag": "proc", "storage_mode": "gridfs"}) == 8
    assert db.db["fs.files"].count_documents({}) == 8
    assert not list(Path(db.storage_root).glob("**/*.bin"))  # no sample files
    back = _by_sta(read_distributed_data(spark, db, frame).collect())
    for ts in series:
        np.testing.assert_array_equal(back[ts["sta"]].data, ts.data)
        assert back[ts["sta"]]["storage_mode"] == "gridfs"


def test_read_distributed_skips_missing_required_normalization_id(spark, db):
    """Read concepts 2: "for all normalized collections defined as required, if the
    cross-referencing key is not defined a reader will ignore that datum ...
    read_ensemble_data and read_distributed_data normally silently skip such data"."""
    sid = db.db["source"].insert_one({"lat": -41.0, "lon": 174.0, "depth": 10.0,
                                      "time": 1.6e9, "event_id": "ev"}).inserted_id
    linked, unlinked = _series(3, seed=2), _series(2, seed=3)
    for ts in linked:
        ts["source_id"] = sid
        db.save_data(ts)
    for ts in unlinked:
        ts["sta"] = "U" + ts["sta"]
        db.save_data(ts)
    objects = read_distributed_data(spark, db, {}, normalize_with=["source"]).collect()
    assert sorted(o["sta"] for o in objects) == ["S00", "S01", "S02"]
    assert all(o.live and o["source_event_id"] == "ev" for o in objects)


def test_read_distributed_exclude_keys_load_history_data_tag(spark, db):
    """MsPASS read_distributed_data(..., load_history=, exclude_keys=, data_tag=)
    passes them to read_data: excluded keys are not loaded, history starts at an
    ORIGIN pointing at the document, and documents of another tag are not read."""
    for ts in _series(3, seed=4, secret="x"):
        db.save_data(ts, data_tag="raw")
    for ts in _series(2, seed=5):
        db.save_data(ts, data_tag="other")
    frame = db.read_to_dataframe({})
    objects = read_distributed_data(spark, db, frame, data_tag="raw", exclude_keys=["secret"],
                                    load_history=True).collect()
    assert len(objects) == 3 and all(o["data_tag"] == "raw" for o in objects)
    assert all("secret" not in o.metadata for o in objects)
    assert all(o.history.is_origin() and o.history.records[0].parameters["wf_id"] == str(o["_id"])
               for o in objects)
    assert len(read_distributed_data(spark, db, {}, data_tag="other").collect()) == 2


def test_write_distributed_returns_dataframe_of_saved_metadata(spark, db):
    """Create item 5: "the output is a dataframe of metadata ... The return value
    can be used as input for read_distributed_data". Samples stay on the
    executors: the frame holds documents only; counts ride along in attrs."""
    series = _series(5, seed=6)
    series[2].kill("qc", "clipped")
    frame = write_distributed_data(spark.sparkContext.parallelize(series, 2), db,
                                   data_tag="out")
    assert isinstance(frame, pd.DataFrame) and len(frame) == 4
    assert set(frame["sta"]) == {"S00", "S01", "S03", "S04"}
    assert {"npts", "dfile", "foff", "_id"} <= set(frame.columns)
    assert not any(isinstance(v, (bytes, np.ndarray)) for v in frame.to_numpy().ravel())
    assert frame.attrs["counts"]["saved"] == 4 and frame.attrs["counts"]["dead"] == 1
    back = _by_sta(read_distributed_data(spark, db, frame).collect())
    assert set(back) == {"S00", "S01", "S03", "S04"}
    np.testing.assert_array_equal(back["S04"].data, series[4].data)


def _link(ts, sid):
    ts["source_id"] = sid
    return ts


def test_linking_through_spark_write_saves_and_altering_kills(spark, db):
    """Update Rule 2 on the parallel writer: data read without an id and linked in
    the workflow are saved with the link (as an ObjectId, joinable); data read with
    an id that the workflow alters are killed and go to the graveyard."""
    for ts in _series(3, seed=7):
        db.save_data(ts, data_tag="raw")
    sid = db.db["source"].insert_one({"event_id": "ev"}).inserted_id
    linked = read_distributed_data(spark, db, {"data_tag": "raw"}).map(
        lambda ts: _link(ts, sid))
    frame = write_distributed_data(linked, db, data_tag="linked")
    assert frame.attrs["counts"]["saved"] == 3
    assert db.db["wf_TimeSeries"].count_documents({"data_tag": "linked", "source_id": sid}) == 3
    other = ObjectId()
    altered = read_distributed_data(spark, db, {"data_tag": "linked"}).map(
        lambda ts: _link(ts, other))
    frame = write_distributed_data(altered, db, data_tag="altered")
    assert frame.attrs["counts"]["dead"] == 3 and len(frame) == 0
    assert db.db["graveyard"].count_documents({}) == 3


def test_worker_config_reopens_the_same_embedded_store(db, tmp_path, monkeypatch):
    """Item 3's mechanism: executors open their own client from a pickleable
    configuration that names the driver's store, even if their environment names
    another database."""
    import pickle

    from spark_seis.db import Database, get_client
    from spark_seis.db.client import database_session

    handle = Database(get_client(path=tmp_path / "other_store"), "fidelity",
                      storage_root=tmp_path / "wf")
    handle.db["wf_TimeSeries"].insert_one({"sta": "ONLY_HERE"})
    config = pickle.loads(pickle.dumps(handle.worker_config()))
    monkeypatch.setenv("SPARK_SEIS_MONGO_URI", "mongodb://unreachable.invalid:1")
    with database_session(config) as worker_db:
        assert worker_db.db["wf_TimeSeries"].find_one({})["sta"] == "ONLY_HERE"
        assert worker_db.storage_root == handle.storage_root
