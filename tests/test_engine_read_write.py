"""read_distributed_data / write_distributed_data on local[2]."""
from __future__ import annotations

import numpy as np
import pytest

from spark_seis.core import TimeSeries
from spark_seis.db.client import get_database
from spark_seis.engine.read import read_distributed_data
from spark_seis.engine.write import write_distributed_data


def _series(n_events=3, per_event=8):
    out = []
    for e in range(n_events):
        for k in range(per_event):
            rng = np.random.default_rng(100 * e + k)
            out.append(TimeSeries(rng.normal(size=500), dt=0.05, t0=1.6e9 + 3600 * e,
                                  metadata={"net": "XX", "sta": f"S{k:02d}", "loc": "",
                                            "chan": "BHZ"}))
    return out


@pytest.fixture
def db(tmp_path):
    database = get_database({"work_dir": str(tmp_path)})
    database.config_for_workers = {"work_dir": str(tmp_path)}
    return database


def _save_with_sources(db, series, per_event=8):
    ids = []
    for e in range(len(series) // per_event):
        ids.append(db.db["source"].insert_one(
            {"lat": -40.0 - e, "lon": 176.0, "depth": 10.0, "time": 1.6e9 + 3600 * e,
             "event_id": f"ev{e}"}).inserted_id)
    for i, ts in enumerate(series):
        ts["source_id"] = ids[i // per_event]
        # one file per event: grouped dir/dfile access on read
        db.save_data(ts, data_tag="raw", dir="raw", dfile=f"ev{i // per_event}.bin")
    return ids


def test_read_distributed_groups_by_event_and_normalizes(spark, db):
    series = _series()
    _save_with_sources(db, series)
    rdd = read_distributed_data(spark, db, {"data_tag": "raw"}, normalize_with=["source"])
    partitions = rdd.map(lambda ts: str(ts["source_id"])).glom().collect()
    for part in partitions:  # all traces of one event in one partition
        for other in partitions:
            if other is not part:
                assert not set(part) & set(other)
    objects = sorted(rdd.collect(), key=lambda ts: (ts.t0, ts["sta"]))
    expected = sorted(series, key=lambda ts: (ts.t0, ts["sta"]))
    assert len(objects) == 24
    for got, want in zip(objects, expected):
        np.testing.assert_array_equal(got.data, want.data)
        assert got.live and got["sta"] == want["sta"] and got.dt == want.dt
        assert got["source_event_id"] == f"ev{int((got.t0 - 1.6e9) // 3600)}"
        assert got["source_lat"] == pytest.approx(-40.0 - int((got.t0 - 1.6e9) // 3600))


def test_read_distributed_from_dataframe_equals_read_data(spark, db):
    series = _series(n_events=1, per_event=5)
    _save_with_sources(db, series, per_event=5)
    frame = db.read_to_dataframe({"data_tag": "raw"})
    from_frame = sorted(read_distributed_data(spark, db, frame).collect(), key=lambda t: t["sta"])
    one_by_one = sorted((db.read_data(d["_id"]) for d in db.db["wf_TimeSeries"].find({})),
                        key=lambda t: t["sta"])
    assert [t["sta"] for t in from_frame] == [t["sta"] for t in one_by_one]
    for a, b in zip(from_frame, one_by_one):
        np.testing.assert_array_equal(a.data, b.data)
        assert (a.t0, a.dt, a.npts) == (b.t0, b.dt, b.npts)


def test_missing_file_gives_dead_object_not_failed_job(spark, db, tmp_path):
    series = _series(n_events=2, per_event=4)
    _save_with_sources(db, series, per_event=4)
    (tmp_path / "wf_data" / "raw" / "ev1.bin").unlink()
    objects = read_distributed_data(spark, db, {"data_tag": "raw"}).collect()
    dead = [o for o in objects if o.dead]
    assert len(objects) == 8 and len(dead) == 4
    assert all("ev1.bin" in o.elog[-1].message for o in dead)


def test_write_distributed_data_exactly_once_and_rereadable(spark, db, tmp_path):
    series = _series(n_events=2, per_event=10)
    series[3].kill("test", "bad trace")
    rdd = spark.sparkContext.parallelize(series, 4)
    cfg = db.config_for_workers
    first = write_distributed_data(rdd, cfg, data_tag="processed").attrs["counts"]
    assert first["saved"] == 19 and first["dead"] == 1 and first["partitions"] == 4
    again = write_distributed_data(rdd, cfg, data_tag="processed")  # rerun: same keys
    assert again.attrs["counts"]["saved"] == 19
    wf = db.db["wf_TimeSeries"]
    assert wf.count_documents({"data_tag": "processed"}) == 19
    assert db.db["elog"].count_documents({"tombstone": {"$exists": True}}) == 1
    files = sorted(p.name for p in (tmp_path / "wf_data" / "processed").iterdir()
                   if not p.name.startswith("."))  # hidden: per-file writer locks
    assert files == [f"processed-part-{i:05d}.bin" for i in range(4)]
    back = db.read_ensemble_data_group(wf.find({"data_tag": "processed"}))
    by_key = {(m["sta"], m.t0): m for m in back}
    for ts in series:
        if ts.live:
            np.testing.assert_array_equal(by_key[(ts["sta"], ts.t0)].data, ts.data)


def test_gridfs_samples_without_a_database_are_dead_with_the_reason(db):
    from spark_seis.db.crud_read import plain_document
    from spark_seis.engine.read import read_group

    db.save_data(TimeSeries(np.ones(10), dt=1.0, metadata={"sta": "G"}), storage_mode="gridfs")
    db.save_data(TimeSeries(np.ones(10), dt=1.0, metadata={"sta": "F"}))
    docs = sorted((plain_document(d) for d in db.db["wf_TimeSeries"].find({})),
                  key=lambda d: d["sta"])
    in_file, in_gridfs = read_group(docs, db.storage_root)
    assert in_file.live and in_file.npts == 10
    assert in_gridfs.dead and [e.message for e in in_gridfs.elog] == [
        f"document {docs[1]['_id']} (.G..): GridFS file {docs[1]['gridfs_id']}: samples are "
        "in GridFS but the reader was given no database configuration to fetch them"]
