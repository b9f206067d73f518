"""spark_seis.workflow.ingest on the real NZ data: idempotent, bad files skipped and named,
and the documents are what the misfit job plans from (build_plan, load_streams)."""
from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import obspy
import pytest

from spark_seis.db.client import get_database
from spark_seis.workflow.ingest import IngestOptions, classify, ingest_key, ingest_paths

NZ = Path(__file__).parent / "data" / "nz_2018p130600"
CATALOG = NZ / "test_catalog_2018p130600.xml"
STATIONXML = NZ / "test_dataless_NZ_BFZ.xml"
ORIGIN = 1518939828.1276  # origin time of 2018p130600 (epoch s)
SYN = IngestOptions(synthetic_tag="synthetic_i01s00")


@pytest.fixture
def db(tmp_path):
    return get_database({"work_dir": str(tmp_path / "work")})


def _counts(db):
    return {c: db.db[c].count_documents({}) for c in ("source", "site", "channel",
                                                       "wf_TimeSeries")}


def _ingest_nz(db, **kw):
    return ingest_paths(db, [CATALOG, STATIONXML, NZ / "mseed", NZ / "synthetics_BFZ"],
                        kw.pop("options", SYN), **kw)


def test_ingest_nz_and_twice_adds_nothing(db):
    ticks = []
    first = _ingest_nz(db, progress=lambda done, total, name: ticks.append((done, total)))
    assert ticks[-1] == (8, 8)  # QuakeML, StationXML, 3 MiniSEED, 3 .semd
    assert _counts(db) == {"source": 1, "site": 1, "channel": 3, "wf_TimeSeries": 6}
    assert first.added["wf_TimeSeries"] == 6 and not first.skipped
    src = db.source.find_one({"event_id": "2018p130600"})
    obs = list(db.wf_TimeSeries.find({"data_tag": "observed"}))
    syn = list(db.wf_TimeSeries.find({"data_tag": "synthetic_i01s00"}))
    assert sorted(d["chan"] for d in obs) == ["HHE", "HHN", "HHZ"]
    assert sorted(d["chan"] for d in syn) == ["BXE", "BXN", "BXZ"]
    for doc in obs + syn:
        for key in ("net", "sta", "loc", "chan", "npts", "delta", "starttime"):
            assert key in doc, key
        assert doc["source_id"] == src["_id"]
        assert doc["ingest_key"] == ingest_key(doc["net"], doc["sta"], doc["loc"], doc["chan"],
                                               doc["starttime"], doc["data_tag"], src["_id"])
    # observed MiniSEED copied into the storage root, then indexed there
    assert {d["dir"] for d in obs} == {"mseed"}
    assert (Path(db.storage_root) / "mseed" / "NZ.BFZ.10.HHE.D.2018.049").exists()
    # SPECFEM: absolute time = origin time + first time value (-20 s), float64 binary file
    for doc in syn:  # one binary file for the event's synthetics
        assert doc["starttime"] == pytest.approx(ORIGIN - 20.0, abs=1e-3)
        assert doc["format"] == "binary" and doc["npts"] == 10000
        assert doc["dir"] == "ingest/synthetic_i01s00" and doc["dfile"] == "2018p130600.bin"
    size = (Path(db.storage_root) / syn[0]["dir"] / syn[0]["dfile"]).stat().st_size
    assert size == 3 * 10000 * 8

    again = _ingest_nz(db)
    assert _counts(db) == {"source": 1, "site": 1, "channel": 3, "wf_TimeSeries": 6}
    assert again.total_added == 0
    assert again.existing["wf_TimeSeries"] == 6 and again.existing["channel"] == 3
    assert size == (Path(db.storage_root) / syn[0]["dir"] / syn[0]["dfile"]).stat().st_size


def test_ingested_documents_feed_the_misfit_job_plan(db, tmp_path):
    from spark_seis.engine.misfit_job import build_plan
    from spark_seis.engine.read import load_streams
    from spark_seis.workflow.job_config import JobConfig

    _ingest_nz(db)
    job = JobConfig.from_dict({"misfit": {"iteration": 1, "step_count": 0},
                               "work_dir": str(tmp_path / "work")}, base=tmp_path)
    plan, skipped = build_plan(db, job, resume=False)
    src = db.source.find_one({})
    assert list(plan) == [str(src["_id"])] and skipped == 0
    (task,) = plan[str(src["_id"])]
    assert task.code == "NZ.BFZ" and len(task.observed) == 3 and len(task.synthetic) == 3
    st_obs, st_syn, elog = load_streams(task.observed, task.synthetic, db.storage_root)
    assert len(st_obs) == 3 and len(st_syn) == 3 and not len(elog)
    semd = np.loadtxt(NZ / "synthetics_BFZ" / "NZ.BFZ.BXN.semd")
    (north,) = st_syn.select(channel="BXN")
    np.testing.assert_array_equal(north.data, semd[:, 1])
    assert north.stats.starttime.timestamp == pytest.approx(ORIGIN + semd[0, 0], abs=1e-3)


def test_bad_files_are_skipped_and_named(db, tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    shutil.copy(NZ / "mseed" / "NZ.BFZ.10.HHZ.D.2018.049", data)
    (data / "garbage.mseed").write_bytes(b"\x00" * 700)
    (data / "one_column.semd").write_text("1.0\n2.0\n3.0\n")
    (data / "XX.BAD.BXZ.semd").write_text("0.0 1.0\nnot numbers\n")
    (data / "broken.xml").write_text('<?xml version="1.0"?><q:quakeml xmlns:q="x"><event')
    (data / "notes.txt").write_text("hello")
    shutil.copy(CATALOG, data)
    summary = ingest_paths(db, [data], SYN)
    skipped = dict(summary.skipped)
    names = {Path(what.split(" [")[0]).name for what in skipped}
    assert {"garbage.mseed", "one_column.semd", "XX.BAD.BXZ.semd", "broken.xml",
            "notes.txt"} <= names
    assert all(reason for reason in skipped.values())
    assert db.wf_TimeSeries.count_documents({}) == 1  # the good file still went in
    assert db.source.count_documents({}) == 1
    text = "\n".join(summary.lines())
    assert "garbage.mseed" in text and "skipped" in text


def test_waveform_without_event_is_skipped_with_reason(db, tmp_path):
    summary = ingest_paths(db, [NZ / "mseed"], SYN)
    assert db.wf_TimeSeries.count_documents({}) == 0
    assert len(summary.skipped) == 3
    assert all("no source" in why and "--event" in why for _w, why in summary.skipped)
    ingest_paths(db, [CATALOG])
    unknown = ingest_paths(db, [NZ / "mseed"], IngestOptions(event="nope"))
    assert all("'nope'" in why for _w, why in unknown.skipped)
    named = ingest_paths(db, [NZ / "mseed"], IngestOptions(event="2018p130600"))
    assert named.added["wf_TimeSeries"] == 3
    # without --event: the origin time (20 s after the first sample) is within the trace
    db.wf_TimeSeries.delete_many({})
    by_time = ingest_paths(db, [NZ / "mseed"], IngestOptions(window_minutes=0))
    assert by_time.added["wf_TimeSeries"] == 3
    assert {d["source_id"] for d in db.wf_TimeSeries.find({})} == {
        db.source.find_one({})["_id"]}


def test_same_data_under_another_name_is_not_added_again(db, tmp_path):
    ingest_paths(db, [CATALOG, NZ / "mseed" / "NZ.BFZ.10.HHZ.D.2018.049"])
    other = tmp_path / "copy.mseed"
    shutil.copy(NZ / "mseed" / "NZ.BFZ.10.HHZ.D.2018.049", other)
    summary = ingest_paths(db, [other])
    assert summary.added["wf_TimeSeries"] == 0 and summary.existing["wf_TimeSeries"] == 1
    assert db.wf_TimeSeries.count_documents({}) == 1


def test_sac_and_asdf(db, tmp_path):
    import pyasdf

    st = obspy.read(str(NZ / "mseed" / "NZ.BFZ.10.HHZ.D.2018.049"))
    sac = tmp_path / "sac" / "NZ.BFZ.10.HHZ.sac"
    sac.parent.mkdir()
    st.write(str(sac), format="SAC")
    assert classify(sac) == "sac"
    ingest_paths(db, [CATALOG])
    first = ingest_paths(db, [sac])
    doc = db.wf_TimeSeries.find_one({"chan": "HHZ"})
    assert first.added["wf_TimeSeries"] == 1 and doc["data_tag"] == "observed"
    assert doc["format"] == "binary" and doc["npts"] == st[0].stats.npts
    assert ingest_paths(db, [sac]).total_added == 0

    h5 = tmp_path / "asdf" / "event.h5"
    h5.parent.mkdir()
    ds = pyasdf.ASDFDataSet(str(h5), mode="w", compression=None)
    ds.add_quakeml(obspy.read_events(str(CATALOG)))
    ds.add_stationxml(obspy.read_inventory(str(STATIONXML)))
    syn = obspy.read(str(NZ / "test_syn_data_NZ_BFZ_2018p130600.ascii"))
    ds.add_waveforms(syn, tag="synthetic_i01s00")
    del ds
    assert classify(h5) == "asdf"
    summary = ingest_paths(db, [h5])
    assert summary.added["wf_TimeSeries"] == len(syn) == 3 and not summary.skipped
    assert summary.added["channel"] == 3  # StationXML of the ASDF file
    src = db.source.find_one({})
    assert db.wf_TimeSeries.count_documents({"data_tag": "synthetic_i01s00",
                                             "source_id": src["_id"]}) == 3
    assert ingest_paths(db, [h5]).total_added == 0
    renamed = ingest_paths(db, [h5], IngestOptions(tag="synthetic_i01s01",
                                                   asdf_tags=["synthetic_i01s00"]))
    assert renamed.added["wf_TimeSeries"] == 3
    assert db.wf_TimeSeries.count_documents({"data_tag": "synthetic_i01s01"}) == 3
