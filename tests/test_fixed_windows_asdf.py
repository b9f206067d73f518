"""fix_windows in the Spark job when the stored windows live only in the event's ASDF
file: a file Pyatoa 0.4.2 wrote for i01/s00, placed in output_dir and never ingested,
so the database holds no misfit windows (issue 11, item 5).

Runs Pyatoa through SPARK_SEIS_PYATOA_PYTHON (tests/pyatoa_support.py); without it
the test fails, it does not skip.
"""
from __future__ import annotations

from pathlib import Path

import obspy
import pyasdf

from conftest import NZ_DATA
from project_support import ingested_project, scaled_semd
from pyatoa_support import run_pyatoa
from spark_seis.cli.run import run_job
from spark_seis.db.client import get_database
from spark_seis.engine.output_docs import WINDOWS
from spark_seis.io import asdf_store
from spark_seis.workflow.job_config import JobConfig

EVENT = "2018p130600"
SEMD32 = NZ_DATA.parent / "specfem_float32_BFZ"  # SPECFEM's single-precision time column


def _set_evaluation(job_path: Path, iteration: int, step: int) -> None:
    lines = job_path.read_text().splitlines()
    for key, value in (("iteration", iteration), ("step_count", step)):
        lines = [f"{key}: {value}" if line.startswith(f"{key}:") else line for line in lines]
    job_path.write_text("\n".join(lines) + "\n")


def _indices(windows: dict[str, list[dict]]) -> dict[str, list[list[int]]]:
    return {c: [[int(w["left_index"]), int(w["right_index"])] for w in ws]
            for c, ws in windows.items()}


def test_fixed_windows_read_from_a_pyatoa_event_file_when_the_database_has_none(
        spark, tmp_path):
    step1 = scaled_semd(SEMD32, tmp_path / "s01", 1.15, 24)
    job_path = ingested_project(tmp_path, step1, "synthetic_i01s01")
    _set_evaluation(job_path, 1, 1)
    job = JobConfig.load(job_path)

    # Pyatoa 0.4.2 measures i01/s00 and writes it into the event file in output_dir
    event = obspy.read_events(str(NZ_DATA / "test_catalog_2018p130600.xml"))[0]
    run_pyatoa("read_sem.py", {"files": sorted(str(p) for p in SEMD32.glob("*.semd")),
                               "out": str(tmp_path / "s00.npz"),
                               "origintime": str(event.preferred_origin().time)})
    event_file = job.asdf_path(EVENT)
    event_file.parent.mkdir(parents=True, exist_ok=True)
    written = run_pyatoa("pyatoa_side.py", {"tasks": [{
        "do": "write", "file": str(event_file), "remove_response": True,
        "obs": str(NZ_DATA / "mseed" / "*"), "syn": str(tmp_path / "s00.npz"),
        "inv": str(NZ_DATA / "test_dataless_NZ_BFZ.xml"),
        "event": str(NZ_DATA / "test_catalog_2018p130600.xml"),
        "config": {"event_id": EVENT, "iteration": 1, "step_count": 0}}]})["results"][0]
    assert written["ok"], written.get("error")
    ds = pyasdf.ASDFDataSet(str(event_file), mode="r")
    try:
        stored = _indices(asdf_store.read_windows(ds, "NZ", "BFZ", "i01/s00"))
    finally:
        del ds
    assert stored and stored == written["do_write"]["windows"]

    db = get_database(job.database_config())
    assert db.db[WINDOWS].count_documents({}) == 0  # the file was never ingested

    summary = run_job(job_path, spark=spark, progress=False, fix_windows="ITER")
    assert summary.ok == 1

    got: dict[str, list[tuple[int, list[int]]]] = {}
    for doc in db.db[WINDOWS].find({"eval_tag": "i01s01"}):
        got.setdefault(doc["component"], []).append(
            (doc["window_index"], [doc["left_index"], doc["right_index"]]))
    assert {c: [w for _i, w in sorted(ws)] for c, ws in got.items()} == stored
    logs = [e["message"] for d in db.db["elog"].find({"eval_tag": "i01s01"})
            for e in d["logdata"]]
    assert any("windows fixed from i01s00 (ASDF file" in m and event_file.name in m
               and "MisfitWindows/i01/s00" in m for m in logs), logs
