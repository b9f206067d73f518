"""Gather-aware sample files (mspass-team/mspass#660): repack by station/event/channel.

The catalog is written as producers write it: float64 samples in one file per
event holding every station and both data tags (as ingest writes SAC/SPECFEM
data), plus the NZ.BFZ MiniSEED records indexed in place.
"""
from __future__ import annotations

import shutil
from collections import defaultdict
from pathlib import Path

import numpy as np
import pytest
from bson import ObjectId

from conftest import NZ_DATA
from spark_seis.core import TimeSeries, TimeSeriesEnsemble
from spark_seis.db.client import get_database
from spark_seis.db.repack_plan import TARGET_DIR, plan_repack
from spark_seis.engine.commit import staging_path
from spark_seis.engine.repack import (
    JOURNAL, finish_journal, point_documents, record_plan, repack_sample_files, write_gather,
)
from spark_seis.engine.repack import _file_sizes  # the driver's own file check

STATIONS = ("AAA", "BBB", "CCC")
CHANNELS = ("BHE", "BHN", "BHZ")
N_EVENTS = 4


def _config(root: Path) -> dict:
    return {"work_dir": str(root), "embedded_path": str(root / "store"),
            "storage_root": str(root / "wf"), "database_name": "repack"}


def build_catalog(root: Path, npts: int = 300, mseed: bool = True):
    """N_EVENTS per-event files (3 stations x 3 channels x 2 tags) + NZ MiniSEED."""
    cfg = _config(root)
    db = get_database(cfg)
    rng = np.random.default_rng(7)
    for e in range(N_EVENTS):
        sid = db.db["source"].insert_one({"_id": ObjectId(), "event_id": f"ev{e}",
                                          "time": 1.5e9 + 86400.0 * e}).inserted_id
        for tag in ("observed", "synthetic"):
            members = [TimeSeries(rng.standard_normal(npts + 10 * e), dt=0.05,
                                  t0=1.5e9 + 86400.0 * e,
                                  metadata={"net": "XX", "sta": sta, "loc": "", "chan": chan,
                                            "source_id": sid})
                       for sta in STATIONS for chan in CHANNELS]
            db.save_ensemble_data_binary_file(TimeSeriesEnsemble(members), dir="events",
                                              dfile=f"event{e}.bin", data_tag=tag)
    if mseed:
        folder = Path(db.storage_root) / "mseed"
        folder.mkdir(parents=True)
        for path in sorted((NZ_DATA / "mseed").iterdir()):
            shutil.copy(path, folder / path.name)
            db.index_mseed(folder / path.name, data_tag="observed")
    return db, cfg


def samples_by_id(db) -> dict[str, tuple[np.ndarray, float, float]]:
    out = {}
    for doc in db.db["wf_TimeSeries"].find({}):
        obj = db.read_data(doc["_id"])
        assert obj.live, obj.elog.to_list()
        out[str(doc["_id"])] = (obj.data.copy(), obj.dt, obj.t0)
    return out


def assert_same_samples(db, before) -> None:
    after = samples_by_id(db)
    assert after.keys() == before.keys()
    for wf_id, (data, dt, t0) in before.items():
        assert np.array_equal(after[wf_id][0], data), wf_id
        assert after[wf_id][1:] == (dt, t0), wf_id


def files_of(db) -> dict[tuple[str, str], list[dict]]:
    out = defaultdict(list)
    for doc in db.db["wf_TimeSeries"].find({}):
        out[(doc["dir"], doc["dfile"])].append(doc)
    return out


def sample_files(db) -> list[str]:
    root = Path(db.storage_root)
    return sorted(str(p.relative_to(root)) for p in root.rglob("*")
                  if p.is_file() and not p.name.startswith("."))


# --- the plan (pure) -----------------------------------------------------------
def _doc(i, sta, dfile="e.bin", foff=0, nbytes=80, **extra):
    return {"_id": f"id{i}", "net": "XX", "sta": sta, "loc": "", "chan": "BHZ",
            "source_id": f"ev{i}", "starttime": float(i), "data_tag": "observed",
            "dir": "events", "dfile": dfile, "foff": foff, "nbytes": nbytes,
            "storage_mode": "file", **extra}


def test_plan_groups_orders_and_skips_what_cannot_move():
    docs = [_doc(3, "AAA", "e3.bin"), _doc(1, "AAA", "e1.bin"), _doc(2, "BBB", "e2.bin"),
            _doc(4, "AAA", "gone.bin"), _doc(5, "AAA", "e1.bin", foff=50),
            _doc(6, None, "e1.bin"), _doc(7, "AAA", storage_mode="gridfs"),
            _doc(8, "AAA", "e1.bin", nbytes=None)]
    sizes = {("events", "e1.bin"): 100, ("events", "e2.bin"): 80, ("events", "e3.bin"): 80,
             ("events", "gone.bin"): None}
    plan = plan_repack(docs, "station", sizes)
    assert [g.name for g in plan.gathers] == ["observed/XX.AAA", "observed/XX.BBB"]
    aaa = plan.gathers[0]
    assert [m.wf_id for m in aaa.members] == ["id1", "id3"]  # by start time
    assert [m.dst_foff for m in aaa.members] == [0, 80] and aaa.size == 160
    assert aaa.dir == f"{TARGET_DIR}/station/observed" and aaa.dfile.startswith("XX.AAA.")
    assert plan.skipped == {
        "sample file missing or outside the storage root": ["id4"],
        "byte range beyond the end of its file": ["id5"],
        "no sta (cannot tell its station)": ["id6"],
        "samples not in a file (GridFS)": ["id7"], "no valid nbytes": ["id8"]}
    assert plan.sources == [("events", "e1.bin"), ("events", "e2.bin"), ("events", "e3.bin")]
    # planned again: same names (a rerun finds its files); new member: a new name
    again = plan_repack(docs, "station", sizes)
    assert [(g.dir, g.dfile) for g in again.gathers] == [(g.dir, g.dfile) for g in plan.gathers]
    more = plan_repack(docs + [_doc(9, "AAA", "e2.bin")], "station", sizes)
    assert more.gathers[0].dfile != aaa.dfile and more.gathers[1].dfile == plan.gathers[1].dfile
    # documents already in place are recognised
    moved = [{**d, "dir": aaa.dir, "dfile": aaa.dfile, "foff": m.dst_foff}
             for d, m in zip((docs[1], docs[0]), aaa.members)]
    resumed = plan_repack(moved, "station", {(aaa.dir, aaa.dfile): 160})
    assert resumed.gathers[0].done and resumed.pending == [] and resumed.sources == []
    by_event = plan_repack(docs[:3], "event", sizes)
    assert [g.name for g in by_event.gathers] == ["observed/ev1", "observed/ev2", "observed/ev3"]
    with pytest.raises(ValueError, match="expected one of"):
        plan_repack(docs, "network", sizes)


# --- on Spark ---------------------------------------------------------------------
def test_repack_by_station_one_file_per_gather_samples_identical(spark, tmp_path):
    db, cfg = build_catalog(tmp_path)
    before = samples_by_id(db)
    n_docs = len(before)
    assert db.verify() == {}
    assert len({(d["dir"], d["dfile"]) for d in db.db["wf_TimeSeries"].find({})}) == N_EVENTS + 3

    report = repack_sample_files(spark, cfg, "station")
    assert report.moved == n_docs and report.skipped == {} and report.failed == {}
    assert report.written == report.gathers == 2 * len(STATIONS) + 1  # + observed NZ.BFZ
    assert_same_samples(db, before)
    files = files_of(db)
    assert len(files) == report.gathers
    for (dir_, dfile), docs in files.items():
        assert dir_.startswith(f"{TARGET_DIR}/station/")
        assert len({(d["net"], d["sta"], d["data_tag"]) for d in docs}) == 1  # one gather
        docs.sort(key=lambda d: d["foff"])
        assert [d["starttime"] for d in docs] == sorted(d["starttime"] for d in docs)
        ends = np.cumsum([0] + [d["nbytes"] for d in docs])
        assert [d["foff"] for d in docs] == list(ends[:-1])  # contiguous, in order
        assert (Path(db.storage_root) / dir_ / dfile).stat().st_size == ends[-1]
    assert sorted(report.removed) == sorted(
        [f"events/event{e}.bin" for e in range(N_EVENTS)]
        + [f"mseed/{p.name}" for p in (NZ_DATA / "mseed").iterdir()])
    assert sample_files(db) == sorted(f"{d}/{f}" for d, f in files)  # old files gone
    assert db.verify() == {}
    assert db.db[JOURNAL].count_documents({"state": {"$ne": "done"}}) == 0

    # a rerun changes nothing
    again = repack_sample_files(spark, cfg, "station")
    assert (again.written, again.moved, again.removed) == (0, 0, [])
    assert again.in_place == n_docs
    assert_same_samples(db, before)

    # then by event: files regrouped, the station files emptied and removed
    by_event = repack_sample_files(spark, cfg, "event")
    assert by_event.moved == n_docs - 3  # the MiniSEED documents have no source_id
    assert by_event.skipped == {"no source_id (cannot tell its event)": 3}
    assert len(by_event.removed) == 2 * len(STATIONS)
    assert_same_samples(db, before)
    assert db.verify() == {}


def test_old_file_stays_while_another_document_uses_it(spark, tmp_path):
    db, cfg = build_catalog(tmp_path, mseed=False)
    before = samples_by_id(db)
    observed = repack_sample_files(spark, cfg, "channel", query={"data_tag": "observed"})
    # the per-event files also hold the synthetics: nothing may be removed yet
    assert observed.removed == [] and len(observed.kept) == N_EVENTS
    assert all((Path(db.storage_root) / "events" / f"event{e}.bin").exists()
               for e in range(N_EVENTS))
    assert_same_samples(db, before)
    synthetic = repack_sample_files(spark, cfg, "channel", query={"data_tag": "synthetic"})
    assert sorted(synthetic.removed) == [f"events/event{e}.bin" for e in range(N_EVENTS)]
    assert len(files_of(db)) == 2 * len(STATIONS) * len(CHANNELS)
    assert_same_samples(db, before)


def test_interrupted_repack_then_rerun_finishes_it(spark, tmp_path):
    db, cfg = build_catalog(tmp_path)
    before = samples_by_id(db)
    root = db.storage_root
    docs = list(db.db["wf_TimeSeries"].find({}))
    plan = plan_repack(docs, "station", _file_sizes(root, {(d["dir"], d["dfile"])
                                                           for d in docs}))
    # the driver recorded its plan, then died with tasks in every state:
    record_plan(db, plan, "wf_TimeSeries")
    first, second, third = plan.gathers[:3]
    write_gather(first, root)  # finished: file written, documents moved
    assert point_documents(db.db["wf_TimeSeries"], first) == (len(first.members), 0)
    write_gather(second, root)  # killed after the rename, before the documents
    partial = staging_path(Path(root) / third.dir / third.dfile, "s0-p2-a0-t9")
    partial.write_bytes(b"\0" * 100)  # killed while writing its staging file
    # a retried attempt of the finished gather moves nothing twice
    assert point_documents(db.db["wf_TimeSeries"], first) == (0, 0)
    # meanwhile every document still points at a complete byte range
    assert db.verify() == {}
    assert_same_samples(db, before)

    report = repack_sample_files(spark, cfg, "station")
    assert report.in_place == len(first.members)
    assert report.reused == 1 and report.written == len(plan.gathers) - 2
    assert report.moved == len(docs) - len(first.members)
    assert not partial.exists()
    assert_same_samples(db, before)
    assert db.verify() == {}
    assert len(files_of(db)) == len(plan.gathers)
    assert sample_files(db) == sorted(f"{d}/{f}" for d, f in files_of(db))
    assert db.db[JOURNAL].count_documents({"state": {"$ne": "done"}}) == 0


def test_crash_before_cleanup_is_finished_by_the_next_run(spark, tmp_path):
    db, cfg = build_catalog(tmp_path, mseed=False)
    before = samples_by_id(db)
    docs = list(db.db["wf_TimeSeries"].find({}))
    plan = plan_repack(docs, "event", _file_sizes(db.storage_root, {
        (d["dir"], d["dfile"]) for d in docs}))
    record_plan(db, plan, "wf_TimeSeries")
    for gather in plan.gathers:  # every task done; the driver died before removing
        write_gather(gather, db.storage_root)
        point_documents(db.db["wf_TimeSeries"], gather)
    assert len(sample_files(db)) == 3 * N_EVENTS  # old files and two tags x new
    report = repack_sample_files(spark, cfg, "event")
    assert (report.written, report.moved) == (0, 0)
    assert sorted(report.removed) == [f"events/event{e}.bin" for e in range(N_EVENTS)]
    assert finish_journal(db, db.storage_root) == ([], [])
    assert_same_samples(db, before)


def test_cli_repack_of_an_ingested_project(spark, tmp_path, capsys):
    from spark_seis.cli import main as cli
    from spark_seis.cli.init_cmd import init_project
    from spark_seis.workflow.job_config import JobConfig

    project = tmp_path / "proj"
    init_project(project)
    job_yaml = project / "conf" / "job.yaml"
    ingest = ["ingest", "-c", str(job_yaml), "--no-progress",
              str(NZ_DATA / "test_catalog_2018p130600.xml"),
              str(NZ_DATA / "test_dataless_NZ_BFZ.xml"), str(NZ_DATA / "mseed")]
    assert cli.main(ingest) == 0
    assert cli.main(["ingest", "-c", str(job_yaml), "--no-progress", "--event", "2018p130600",
                     "--tag", "synthetic_i01s00", str(NZ_DATA / "synthetics_BFZ")]) == 0
    db = get_database(JobConfig.load(job_yaml).database_config())
    before = samples_by_id(db)
    capsys.readouterr()
    assert cli.main(["repack", "--by", "station", "-c", str(job_yaml)]) == 0
    out = capsys.readouterr().out
    assert "repack by station (wf_TimeSeries)" in out and f"{len(before)} documents moved" in out
    assert_same_samples(db, before)
    assert len(files_of(db)) == 2  # observed and synthetic of NZ.BFZ
    assert db.verify() == {}
    # ingesting the same data again still adds nothing
    assert cli.main(ingest) == 0
    assert db.db["wf_TimeSeries"].count_documents({}) == len(before)
    with pytest.raises(SystemExit):  # argparse: invalid choice, names the choices
        cli.main(["repack", "--by", "planet", "-c", str(job_yaml)])
    assert "invalid choice: 'planet'" in capsys.readouterr().err
