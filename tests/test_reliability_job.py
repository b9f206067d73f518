"""The misfit job under bad inputs, faults and concurrency (shared `local[2,3]` session).

Already covered elsewhere and not repeated here (see docs/reliability.md):
test_engine_misfit.py (fault after a partial upsert / after the ASDF was staged,
rerun, resume with a new station, truncated sample file) and test_engine_commit.py
(killed writer process, second writer refused).
"""
from __future__ import annotations

import copy
import errno
import os
import subprocess
import threading
from pathlib import Path

import numpy as np
import obspy
import pyasdf
import pytest

from engine_support import NZ, SYN_TAG, add_stations, build_database
from spark_seis.engine.misfit_job import run_misfit_job
from spark_seis.engine.misfit_pipeline import FaultInjection

OUTPUT_COLLECTIONS = ("misfit_station", "misfit", "misfit_windows")
EVENT_A, EVENT_B = "2018p130600", "2018p130601"


# --- helpers -------------------------------------------------------------------------
def _nz():
    inv = obspy.read_inventory(str(NZ / "test_dataless_NZ_BFZ.xml"))
    obs = obspy.read(str(NZ / "mseed" / "*"))
    syn = obspy.read(str(NZ / "test_syn_data_NZ_BFZ_2018p130600.ascii"))
    return inv, obs, syn


def _two_event_database(work: Path):
    """Event A (real) and event B (same origin, another id), 2 stations each."""
    db, job = build_database(work, n_generated=1)
    cat = obspy.read_events(str(NZ / "test_catalog_2018p130600.xml"))
    cat[0].resource_id = obspy.core.event.ResourceIdentifier(f"smi:nz.org.geonet/{EVENT_B}")
    db.save_catalog(cat)
    source_b = db.db["source"].find_one({"event_id": EVENT_B})
    inv, obs, syn = _nz()
    add_stations(db, inv, source_b["_id"], [("BFZ", obs, syn), ("G000", obs.copy(), syn.copy())])
    return db, job


def _outputs(db):
    """Output documents without run-dependent fields, sorted by id."""
    out = {}
    for collection in OUTPUT_COLLECTIONS:
        docs = sorted((dict(d) for d in db.db[collection].find({})), key=lambda d: str(d["_id"]))
        out[collection] = [{k: v for k, v in d.items()
                            if k not in ("asdf_file", "timings", "source_id")} for d in docs]
    return out


def _asdf_contents(path: Path):
    with pyasdf.ASDFDataSet(str(path), mode="r") as ds:
        windows = sorted(ds.auxiliary_data.MisfitWindows.i01.s00.list())
        adjoint = sorted(ds.auxiliary_data.AdjointSources.i01.s00.list())
        return sorted(ds.waveforms.list()), windows, adjoint, len(ds.events)


def _staging_left(output_dir: Path):
    return sorted(p.name for p in output_dir.rglob("*.inprogress"))


@pytest.fixture(scope="module")
def clean(spark, tmp_path_factory):
    db, job = _two_event_database(tmp_path_factory.mktemp("clean2"))
    summary = run_misfit_job(spark, job, db=db, progress=False, npartitions=2)
    assert summary.ok == summary.stations == 4 and summary.events == 2
    return db, job, _outputs(db), {e: _asdf_contents(job.output_dir / f"{e}.h5")
                                   for e in (EVENT_A, EVENT_B)}


def _assert_same_as_clean(clean, db, job):
    _db, _job, docs, files = clean
    assert _outputs(db) == docs
    for event, contents in files.items():
        assert _asdf_contents(job.output_dir / f"{event}.h5") == contents
    assert _staging_left(job.output_dir) == []


# --- faults that Spark retries -------------------------------------------------------
class KillWorker(FaultInjection):
    """The Python worker process dies (os._exit) on the first attempt: a killed task."""

    marker: str = ""

    def maybe_fail(self, point):
        from pyspark import TaskContext

        ctx = TaskContext.get()
        if ctx is not None and point == self.point and ctx.attemptNumber() == 0 \
                and ctx.partitionId() == self.partition:
            Path(self.marker).write_text(point)  # proof that the fault fired
            if self.point == "after_commit":
                raise RuntimeError(f"injected fault at {point}")
            os._exit(17)


def test_task_killed_mid_write_is_retried_exactly_once(spark, clean, tmp_path):
    db, job = _two_event_database(tmp_path)
    marker = tmp_path / "fired"
    summary = run_misfit_job(spark, job, db=db, progress=False, npartitions=2,
                             fault=_fault(KillWorker, 0, "after_asdf_staged", marker=str(marker)))
    assert summary.ok == 4 and marker.read_text() == "after_asdf_staged"
    _assert_same_as_clean(clean, db, job)


def test_worker_raising_in_the_middle_of_a_partition(spark, clean, tmp_path):
    # one partition holds both events: the first is committed, then the task fails
    db, job = _two_event_database(tmp_path)
    marker = tmp_path / "fired"
    summary = run_misfit_job(spark, job, db=db, progress=False, npartitions=1,
                             fault=_fault(KillWorker, 0, "after_commit", marker=str(marker)))
    assert summary.ok == 4 and summary.events == 2 and marker.read_text() == "after_commit"
    _assert_same_as_clean(clean, db, job)


class AlwaysFail(FaultInjection):
    """Every attempt of one partition fails: the job dies (an interrupted run)."""

    error: str = "runtime"

    def maybe_fail(self, point):
        from pyspark import TaskContext

        ctx = TaskContext.get()
        if ctx is not None and point == self.point and ctx.partitionId() == self.partition:
            if self.error == "runtime":
                raise RuntimeError(f"injected permanent fault at {point}")
            code = getattr(errno, self.error)
            raise OSError(code, os.strerror(code), str(self.path))

    path: str = ""


def _fault(cls, partition, point, **attrs):
    fault = cls(partition=partition, point=point)
    for key, value in attrs.items():
        setattr(fault, key, value)
    return fault


@pytest.mark.parametrize("point", ["after_asdf_staged", "after_commit"])
def test_interrupted_job_then_resume_equals_a_clean_run(spark, clean, tmp_path, point):
    db, job = _two_event_database(tmp_path)
    with pytest.raises(Exception, match="injected permanent fault"):
        run_misfit_job(spark, job, db=db, progress=False, npartitions=2,
                       fault=_fault(AlwaysFail, 1, point))
    done = {d["source_id"] for d in db.db["misfit_station"].find({})}
    assert len(done) == 1  # one event finished, the other did not
    resumed = run_misfit_job(spark, job, db=db, progress=False, npartitions=2, resume=True)
    assert resumed.skipped == 2 and resumed.ok == 2
    _assert_same_as_clean(clean, db, job)


@pytest.mark.parametrize("error", ["ENOSPC", "EROFS"])
def test_disk_full_or_read_only_leaves_no_corrupt_asdf(spark, clean, tmp_path, error):
    db, job = _two_event_database(tmp_path)
    first = run_misfit_job(spark, job, db=db, progress=False, npartitions=2)
    assert first.ok == 4
    files = {e: job.output_dir / f"{e}.h5" for e in (EVENT_A, EVENT_B)}
    before = {e: f.read_bytes() for e, f in files.items()}
    before_docs = _outputs(db)
    # the rerun fails while writing one event (write partition 1) on every attempt
    with pytest.raises(Exception) as info:
        run_misfit_job(spark, job, db=db, progress=False, npartitions=2,
                       fault=_fault(AlwaysFail, 1, "after_asdf_staged", error=error,
                                    path=str(files[EVENT_B])))
    assert os.strerror(getattr(errno, error)) in str(info.value)
    # the failing event's committed file is untouched (the other one was rewritten
    # by its own, successful task: same contents, checked below)
    failed = [e for e, f in files.items() if f"cannot write {f}:" in str(info.value)]
    assert len(failed) == 1
    assert files[failed[0]].read_bytes() == before[failed[0]]
    assert _staging_left(job.output_dir) == []
    assert _outputs(db) == before_docs
    _assert_same_as_clean(clean, db, job)


def _read_only(path: Path):
    if os.geteuid() != 0:
        path.chmod(0o555)
        return lambda: path.chmod(0o755)
    if subprocess.run(["chattr", "+i", str(path)], capture_output=True).returncode != 0:
        pytest.skip("cannot make a read-only folder here (root without chattr)")
    return lambda: subprocess.run(["chattr", "-i", str(path)], check=True)


def test_read_only_output_folder_fails_without_outputs(spark, tmp_path):
    db, job = build_database(tmp_path, n_generated=0)
    job.output_dir.mkdir(parents=True)
    undo = _read_only(job.output_dir)
    try:
        with pytest.raises(Exception) as info:
            run_misfit_job(spark, job, db=db, progress=False)
        assert str(job.output_dir) in str(info.value)
        assert list(job.output_dir.iterdir()) == []
    finally:
        undo()
    assert db.db["misfit_station"].count_documents({}) == 0


def test_read_only_output_folder_is_a_clear_error_before_spark(spark, tmp_path):
    db, job = build_database(tmp_path, n_generated=0)
    job.output_dir.mkdir(parents=True)
    undo = _read_only(job.output_dir)
    try:
        with pytest.raises(OSError) as info:
            run_misfit_job(spark, job, db=db, progress=False)
        first_line = str(info.value).splitlines()[0]
        assert str(job.output_dir) in first_line and "writ" in first_line.lower()
    finally:
        undo()


# --- two jobs writing the same event ------------------------------------------------------
def test_two_jobs_on_the_same_event_are_refused_or_serialized(spark, tmp_path):
    db, job = build_database(tmp_path, n_generated=2)
    results, errors = [], []

    def run():
        try:
            # each job opens its own database client, as two driver processes would
            results.append(run_misfit_job(spark, job, progress=False))
        except Exception as exc:  # noqa: BLE001 - the refused job
            errors.append(str(exc))

    threads = [threading.Thread(target=run) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(300)
    assert len(results) >= 1 and len(results) + len(errors) == 2
    for text in errors:
        assert "being written by another process" in text
    names, windows, adjoint, nevents = _asdf_contents(job.output_dir / "2018p130600.h5")
    assert names == ["NZ.BFZ", "NZ.G000", "NZ.G001"] and nevents == 1
    assert len(windows) == db.db["misfit_windows"].count_documents({})
    assert db.db["misfit_station"].count_documents({}) == 3
    assert _staging_left(job.output_dir) == []


# --- the bad-input corpus through the whole job ---------------------------------------------
def _patch_samples(db, query, index, value):
    doc = db.db["wf_TimeSeries"].find_one(query)
    path = Path(db.storage_root) / doc["dir"] / doc["dfile"]
    with open(path, "r+b") as fh:
        fh.seek(doc["foff"] + 8 * index)
        fh.write(np.array([value], dtype="<f8").tobytes())


def _bad_station_inventory(inv, code, mutate):
    out = copy.deepcopy(inv)
    for sta in out[0]:
        sta.code = code
        for cha in sta:
            mutate(cha)
    return out


BAD_STATIONS = {
    # code: (what is wrong, expected status prefix, text the elog must contain)
    # NAN/INF: the bad trace is a dead datum; the station goes on with its other two
    # components (status ok, no window or measurement on the dead component)
    "NAN": ("NaN samples in observed HHZ", "ok", "(NZ.NAN.10.HHZ): file observed/NAN.bin"),
    "INF": ("inf sample in synthetic BXN", "ok", "(NZ.INF..BXN): file synthetic_i01s00/INF.bin"),
    "ZERO": ("zero-length observed traces", "failed", "NZ.ZERO.10.HHE"),
    "RATE": ("observed HHN resampled to 50 Hz", "failed", "NZ.RATE"),
    "GAP": ("observed HHZ in two pieces with a gap", "failed", "NZ.GAP.10.HHZ"),
    "DUP": ("two different observed HHZ traces", "failed", "NZ.DUP.10.HHZ"),
    "SHORT": ("synthetics 20 s long, shorter than any window", "no_windows", "NZ.SHORT"),
    "UNITS": ("response input units Pa", "failed:response", "NZ.UNITS.10.HH"),
    "NORSP": ("StationXML without response", "failed:response", "NZ.NORSP.10.HH"),
    "GARB": ("observed samples are garbage bytes declared MiniSEED", "failed", "GARB"),
    "NOINV": ("no StationXML at all", "failed", "NOINV"),
}


@pytest.fixture(scope="module")
def corpus_run(spark, tmp_path_factory):
    work = tmp_path_factory.mktemp("corpus")
    db, job = build_database(work, n_generated=1)  # BFZ and G000 are good
    source_id = db.db["source"].find_one({})["_id"]
    inv, obs, syn = _nz()

    def plain(code, o=None, s=None, station_inv=None):
        station_inv = station_inv or _bad_station_inventory(inv, code, lambda c: None)
        add_stations(db, station_inv, source_id, [(code, o or obs.copy(), s or syn.copy())])

    for code in ("NAN", "INF", "GARB"):
        plain(code)
    _patch_samples(db, {"sta": "NAN", "chan": "HHZ", "data_tag": "observed"}, 500, np.nan)
    _patch_samples(db, {"sta": "INF", "chan": "BXN", "data_tag": SYN_TAG}, 10, np.inf)
    garbage = Path(db.storage_root) / "observed" / "GARB.mseed"
    garbage.write_bytes(np.random.default_rng(1).bytes(4096))
    db.db["wf_TimeSeries"].update_many({"sta": "GARB", "data_tag": "observed"}, {"$set": {
        "dfile": "GARB.mseed", "format": "mseed", "foff": 0, "nbytes": 4096}})
    zero = obs.copy()
    for tr in zero:
        tr.data = tr.data[:0]
    plain("ZERO", o=zero)
    rate = obs.copy()
    rate.select(channel="HHN").resample(50.0)
    plain("RATE", o=rate)
    gap = obs.copy()
    z = gap.select(channel="HHZ")[0]
    gap.remove(z)
    gap += z.slice(z.stats.starttime, z.stats.starttime + 60)
    gap += z.slice(z.stats.starttime + 90, z.stats.endtime)
    plain("GAP", o=gap)
    dup = obs.copy()
    other = dup.select(channel="HHZ")[0].copy()
    other.data = other.data * -1.0
    dup += other
    plain("DUP", o=dup)
    short = syn.copy()
    for tr in short:
        tr.trim(tr.stats.starttime, tr.stats.starttime + 20)
    plain("SHORT", s=short)

    def pascal(cha):
        cha.response.response_stages[0].input_units = "PA"
        cha.response.instrument_sensitivity.input_units = "PA"

    plain("UNITS", station_inv=_bad_station_inventory(inv, "UNITS", pascal))
    plain("NORSP", station_inv=_bad_station_inventory(
        inv, "NORSP", lambda cha: setattr(cha, "response", None)))
    for tag, stream in (("observed", obs), (SYN_TAG, syn)):  # data, but no inventory
        from spark_seis.core.obspy_convert import trace_to_timeseries
        for tr in stream:
            ts = trace_to_timeseries(tr)
            ts["sta"], ts["source_id"] = "NOINV", source_id
            ts.metadata.pop("mseed", None)
            db.save_data(ts, data_tag=tag, dir=tag, dfile="NOINV.bin")
    summary = run_misfit_job(spark, job, db=db, progress=False)
    return db, job, summary


def test_bad_inputs_end_dead_with_a_named_elog_entry(corpus_run):
    db, _job, summary = corpus_run
    assert summary.stations == 2 + len(BAD_STATIONS)
    for code, (what, status, named) in BAD_STATIONS.items():
        doc = db.db["misfit_station"].find_one({"sta": code})
        assert doc is not None, f"{code} ({what}) has no output document"
        assert doc["status"].startswith(status), (code, what, doc["status"])
        elog = db.db["elog"].find_one({"sta": code, "stage": "misfit"})
        messages = " | ".join(e["message"] for e in elog["logdata"])
        assert named in messages, (code, what, messages)
        if status == "ok":
            assert "non-finite" in messages
            dead_comp = {"NAN": "Z", "INF": "N"}[code]
            comps = {d["component"] for d in db.db["misfit_windows"].find({"sta": code})}
            assert dead_comp not in comps and len(comps) == 2, comps
        else:
            assert any(code in key for key in summary.dead_reasons), summary.dead_reasons


def test_good_stations_complete_despite_bad_neighbours(corpus_run):
    db, job, summary = corpus_run
    assert summary.ok == 2 + 2  # BFZ, G000 and the two stations with one dead component
    assert summary.dead == len(BAD_STATIONS) - 2
    # the two stations that lost a component are ok, but the summary says so
    assert sorted(k.split("/")[1] for k in summary.partial) == ["NZ.INF", "NZ.NAN"]
    lines = "\n".join(summary.lines())
    assert "2 ok station(s) lost some of their data" in lines and "NZ.NAN.10.HHZ" in lines
    bfz = db.db["misfit_station"].find_one({"sta": "BFZ"})
    assert bfz["status"] == "ok" and bfz["nwin"] == 3
    assert bfz["total_misfit"] == pytest.approx(2.1653, abs=1e-3)
    assert db.db["misfit_station"].find_one({"sta": "G000"})["status"] == "ok"
    names, windows, adjoint, nevents = _asdf_contents(job.output_dir / "2018p130600.h5")
    assert {"NZ.BFZ", "NZ.G000"} <= set(names)
    assert {w.split("_")[1] for w in windows} == {"BFZ", "G000", "NAN", "INF"}
    assert {a.split("_")[1] for a in adjoint} == {"BFZ", "G000", "NAN", "INF"}
    assert len(windows) == db.db["misfit_windows"].count_documents({})
    assert _staging_left(job.output_dir) == []


def test_path_escape_in_a_distributed_write_is_refused(spark, tmp_path):
    from spark_seis.core import TimeSeries
    from spark_seis.engine.write import write_distributed_data

    database = {"work_dir": str(tmp_path)}
    rdd = spark.sparkContext.parallelize(
        [TimeSeries(np.ones(5), dt=1.0, metadata={"sta": "X"})], 1)
    with pytest.raises(Exception, match="outside the storage root"):
        write_distributed_data(rdd, database, data_tag="t", dir="../../escaped")
    assert not list(tmp_path.parent.rglob("escaped"))
