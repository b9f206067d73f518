"""The misfit job on Spark: same results as the serial Manager path, exactly once."""
from __future__ import annotations

import math

import obspy
import pyasdf
import pytest

from engine_support import SYN_TAG, build_database
from spark_seis.engine.misfit_job import run_misfit_job
from spark_seis.engine.misfit_pipeline import FaultInjection
from spark_seis.engine.read import load_streams
from spark_seis.processing.station import process_station

N_GENERATED = 39  # + NZ.BFZ = 40 stations, 240 traces


@pytest.fixture(scope="module")
def clean_run(spark, tmp_path_factory):
    work = tmp_path_factory.mktemp("clean")
    db, job = build_database(work, n_generated=N_GENERATED)
    summary = run_misfit_job(spark, job, db=db, progress=False)
    return db, job, summary


def _docs(db, collection):
    return sorted((dict(d) for d in db.db[collection].find({})), key=lambda d: d["_id"])


def _strip(doc):
    return {k: v for k, v in doc.items() if k not in ("asdf_file", "timings", "source_id")}


def test_pipeline_processes_every_station(clean_run):
    db, job, summary = clean_run
    assert summary.stations == N_GENERATED + 1 and summary.events == 1
    assert summary.ok == summary.stations, summary.dead_reasons
    assert (job.output_dir / "2018p130600.h5").exists()


def test_nz_bfz_matches_the_reference_misfit(clean_run):
    db, _job, _summary = clean_run
    station = db.db["misfit_station"].find_one({"sta": "BFZ"})
    assert station["nwin"] == 3 and station["status"] == "ok"
    assert station["total_misfit"] == pytest.approx(2.1653, abs=1e-3)
    by_comp = {d["component"]: d for d in db.db["misfit"].find({"sta": "BFZ"})}
    assert by_comp["N"]["misfit"] == pytest.approx(1.8432, abs=1e-3)
    assert by_comp["E"]["misfit"] == pytest.approx(0.3221, abs=1e-3)
    windows = {(d["component"], d["left_index"], d["right_index"])
               for d in db.db["misfit_windows"].find({"sta": "BFZ"})}
    assert windows == {("E", 976, 2746), ("N", 907, 3011), ("Z", 833, 1401)}


def test_spark_results_equal_serial_manager_path(clean_run):
    db, job, _summary = clean_run
    from spark_seis.engine.misfit_job import build_plan, load_tables

    source = db.db["source"].find_one({})
    plan, _ = build_plan(db, job, resume=False)
    tables = load_tables(db, plan)
    event = tables.event(str(source["_id"]))
    checked = 0
    for task in plan[str(source["_id"])][:8]:
        net, sta = task.code.split(".")
        st_obs, st_syn, _log = load_streams(task.observed, task.synthetic, db.storage_root)
        serial = process_station(st_obs, st_syn, tables.inventory(net, sta), event, job.misfit)
        stored = {d["component"]: d for d in db.db["misfit"].find({"sta": sta})}
        assert serial.status == "ok"
        assert set(stored) == set(serial.misfit)
        for comp, value in serial.misfit.items():
            assert stored[comp]["misfit"] == pytest.approx(value, rel=1e-12, abs=1e-15)
        spark_windows = sorted((d["component"], d["left_index"], d["right_index"])
                               for d in db.db["misfit_windows"].find({"sta": sta}))
        serial_windows = sorted((c, w["left_index"], w["right_index"])
                                for c, ws in serial.windows.items() for w in ws)
        assert spark_windows == serial_windows
        checked += 1
    assert checked == 8


def test_asdf_file_has_pyatoa_layout(clean_run):
    _db, job, _summary = clean_run
    with pyasdf.ASDFDataSet(str(job.output_dir / "2018p130600.h5"), mode="r") as ds:
        assert len(ds.events) == 1
        assert len(ds.waveforms.list()) == N_GENERATED + 1
        bfz = ds.waveforms.NZ_BFZ
        assert "observed" in bfz.get_waveform_tags() and SYN_TAG in bfz.get_waveform_tags()
        assert len(bfz.StationXML.get_contents()["channels"]) == 3
        windows = ds.auxiliary_data.MisfitWindows.i01.s00
        assert {"NZ_BFZ_E_0", "NZ_BFZ_N_0", "NZ_BFZ_Z_0"} <= set(windows.list())
        adj = ds.auxiliary_data.AdjointSources.i01.s00.NZ_BFZ_BXN
        assert adj.data.shape == (10000, 2)
        assert adj.parameters["misfit"] == pytest.approx(1.8432, abs=1e-3)
        assert "i01/s00" in ds.auxiliary_data.Configs.list() or len(ds.auxiliary_data.Configs)
    adj_dir = job.output_dir / "adjoint" / "2018p130600" / "i01s00"
    assert (adj_dir / "NZ.BFZ.BXN.adj").exists()


def test_injected_failure_then_retry_equals_clean_run(spark, clean_run, tmp_path):
    if not spark.sparkContext.master.startswith("local[2,"):
        pytest.fail("the test session must allow task retries (local[N,F])")
    db_clean, _job, _ = clean_run
    db, job = build_database(tmp_path, n_generated=N_GENERATED)
    summary = run_misfit_job(spark, job, db=db, progress=False,
                             fault=FaultInjection(partition=0, point="after_partial_upsert"))
    assert summary.ok == N_GENERATED + 1
    for collection in ("misfit_station", "misfit", "misfit_windows"):
        clean, retried = _docs(db_clean, collection), _docs(db, collection)
        assert len(retried) == len(clean)
        assert [_strip(d) for d in retried] == [_strip(d) for d in clean]
    assert not list(job.output_dir.glob(".*inprogress"))
    with pyasdf.ASDFDataSet(str(job.output_dir / "2018p130600.h5"), mode="r") as ds:
        assert len(ds.waveforms.list()) == N_GENERATED + 1


def test_failure_after_asdf_staged_leaves_no_partial_file(spark, tmp_path):
    db, job = build_database(tmp_path, n_generated=2)
    summary = run_misfit_job(spark, job, db=db, progress=False,
                             fault=FaultInjection(partition=0, point="after_asdf_staged"))
    assert summary.ok == 3
    assert [p.name for p in job.output_dir.iterdir() if p.suffix == ".h5"] == ["2018p130600.h5"]
    assert not list(job.output_dir.glob(".*inprogress"))
    assert db.db["misfit_station"].count_documents({}) == 3


def test_rerun_changes_nothing_and_resume_processes_only_new(spark, tmp_path):
    db, job = build_database(tmp_path, n_generated=2)
    first = run_misfit_job(spark, job, db=db, progress=False)
    before = {c: _docs(db, c) for c in ("misfit_station", "misfit", "misfit_windows")}
    again = run_misfit_job(spark, job, db=db, progress=False)
    assert again.stations == first.stations == 3
    for collection, docs in before.items():
        assert [_strip(d) for d in _docs(db, collection)] == [_strip(d) for d in docs]
    resumed = run_misfit_job(spark, job, db=db, progress=False, resume=True)
    assert resumed.stations == 0 and resumed.skipped == 3
    # a new station arrives: only it is processed, the ASDF file keeps the others
    from engine_support import add_stations, NZ

    inv = obspy.read_inventory(str(NZ / "test_dataless_NZ_BFZ.xml"))
    obs = obspy.read(str(NZ / "mseed" / "*"))
    syn = obspy.read(str(NZ / "test_syn_data_NZ_BFZ_2018p130600.ascii"))
    source = db.db["source"].find_one({})
    add_stations(db, inv, source["_id"], [("NEW", obs, syn)])
    resumed = run_misfit_job(spark, job, db=db, progress=False, resume=True)
    assert resumed.stations == 1 and resumed.skipped == 3 and resumed.ok == 1
    assert db.db["misfit_station"].count_documents({}) == 4
    with pyasdf.ASDFDataSet(str(job.output_dir / "2018p130600.h5"), mode="r") as ds:
        assert sorted(ds.waveforms.list()) == ["NZ.BFZ", "NZ.G000", "NZ.G001", "NZ.NEW"]


def test_corrupt_data_are_dead_and_logged_rest_written(spark, tmp_path, capsys):
    db, job = build_database(tmp_path, n_generated=3)
    # truncate the sample file of station G001's observed data
    doc = db.db["wf_TimeSeries"].find_one({"sta": "G001", "data_tag": "observed"})
    path = __import__("pathlib").Path(db.storage_root) / doc["dir"] / doc["dfile"]
    path.write_bytes(path.read_bytes()[:1000])
    summary = run_misfit_job(spark, job, db=db, progress=True)
    assert summary.stations == 4 and summary.ok == 3
    progress = capsys.readouterr().err.splitlines()
    assert any(line.startswith("[misfit]") and "processed 4/4 dead 1 written 4" in line
               for line in progress), progress
    assert any("G001" in line and "truncated" in line for line in summary.lines()), summary.lines()
    bad = db.db["misfit_station"].find_one({"sta": "G001"})
    assert bad["status"].startswith("failed")
    elog = db.db["elog"].find_one({"sta": "G001", "stage": "misfit"})
    assert any("truncated" in e["message"] and "G001" in e["message"] for e in elog["logdata"])
    assert all(math.isfinite(d["total_misfit"]) for d in
               db.db["misfit_station"].find({"sta": {"$ne": "G001"}}))


def test_two_events_get_one_asdf_file_each(spark, tmp_path):
    from engine_support import NZ, add_stations

    db, job = build_database(tmp_path, n_generated=1)
    first = db.db["source"].find_one({})
    # a second event: same origin moved by one day, its own QuakeML and id
    cat = obspy.read_events(str(NZ / "test_catalog_2018p130600.xml"))
    cat[0].resource_id = obspy.core.event.ResourceIdentifier("smi:local/second_event")
    for origin in cat[0].origins:
        origin.time += 86400
    db.save_catalog(cat)
    second = db.db["source"].find_one({"event_id": "second_event"})
    inv = obspy.read_inventory(str(NZ / "test_dataless_NZ_BFZ.xml"))
    obs = obspy.read(str(NZ / "mseed" / "*"))
    syn = obspy.read(str(NZ / "test_syn_data_NZ_BFZ_2018p130600.ascii"))
    for st in (obs, syn):
        for tr in st:
            tr.stats.starttime += 86400
    add_stations(db, inv, second["_id"], [("B2A", obs, syn), ("B2B", obs.copy(), syn.copy())])
    summary = run_misfit_job(spark, job, db=db, progress=False, npartitions=3)
    assert summary.events == 2 and summary.stations == 4 and summary.ok == 4
    files = {p.stem: p for p in job.output_dir.glob("*.h5")}
    assert sorted(files) == ["2018p130600", "second_event"]
    with pyasdf.ASDFDataSet(str(files["2018p130600"]), mode="r") as ds:
        assert sorted(ds.waveforms.list()) == ["NZ.BFZ", "NZ.G000"]
    with pyasdf.ASDFDataSet(str(files["second_event"]), mode="r") as ds:
        assert sorted(ds.waveforms.list()) == ["NZ.B2A", "NZ.B2B"]
        assert str(ds.events[0].resource_id) == "smi:local/second_event"
    per_event = {d["event"]: d["sta"] for d in db.db["misfit_station"].find({})}
    assert set(per_event) == {"2018p130600", "second_event"}
    assert db.db["misfit_station"].count_documents({"source_id": second["_id"]}) == 0
    assert db.db["misfit_station"].count_documents({"source_id": str(second["_id"])}) == 2
    assert first["_id"] != second["_id"]
    # the same station data under the second event gives the same misfit as under the first
    a = db.db["misfit_station"].find_one({"sta": "B2A"})["total_misfit"]
    b = db.db["misfit_station"].find_one({"sta": "BFZ"})["total_misfit"]
    assert a == pytest.approx(b, rel=1e-9)


def test_seismogram_collection_gives_the_same_misfit(spark, tmp_path):
    """wf_Seismogram data (3 components per datum) through the same job."""
    from engine_support import NZ, job_for

    from spark_seis.core.obspy_convert import stream_to_seismogram
    from spark_seis.db.client import get_database

    job = job_for(tmp_path, database={"db_schema": "wf_Seismogram"})
    db = get_database(job.database_config())
    assert db.wf_collection == "wf_Seismogram"
    db.save_catalog(str(NZ / "test_catalog_2018p130600.xml"))
    db.save_inventory(str(NZ / "test_dataless_NZ_BFZ.xml"))
    source = db.db["source"].find_one({})
    for tag, path in (("observed", NZ / "mseed" / "*"),
                      (SYN_TAG, NZ / "test_syn_data_NZ_BFZ_2018p130600.ascii")):
        seis = stream_to_seismogram(obspy.read(str(path)))
        assert seis.live, seis.elog.to_list()
        seis["source_id"] = source["_id"]
        seis.metadata.pop("mseed", None)
        db.save_data(seis, data_tag=tag)
    assert db.db["wf_Seismogram"].count_documents({}) == 2
    summary = run_misfit_job(spark, job, db=db, progress=False)
    assert summary.stations == 1 and summary.ok == 1, summary.lines()
    station = db.db["misfit_station"].find_one({"sta": "BFZ"})
    assert station["nwin"] == 3
    assert station["total_misfit"] == pytest.approx(2.1653, abs=1e-3)
