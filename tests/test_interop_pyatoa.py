"""Interoperability with the real Pyatoa 0.4.2, run as a subprocess in its own venv.

Needs SPARK_SEIS_PYATOA_PYTHON (built by scripts/pyatoa_env.sh; `make test` and
.ci/run build and export it). Without it these tests fail, they do not skip.
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import obspy
import pytest
from obspy import Stream, Trace, UTCDateTime

from conftest import NZ_DATA
from project_support import ingested_project, scaled_semd
from pyatoa_support import run_pyatoa
from spark_seis.cli import main as cli
from spark_seis.cli.init_cmd import init_project
from spark_seis.cli.run import run_job
from spark_seis.io import asdf_store
from spark_seis.processing.station import process_station
from spark_seis.workflow.job_config import JobConfig

EVENT = "2018p130600"
SEMD32 = NZ_DATA.parent / "specfem_float32_BFZ"  # time column in single precision, as SPECFEM writes it


def _read_npz_stream(path: Path) -> Stream:
    with np.load(path, allow_pickle=False) as npz:
        meta = json.loads(str(npz["meta"]))
        traces = []
        for i, m in enumerate(meta):
            net, sta, loc, cha = m["id"].split(".")
            traces.append(Trace(npz[f"data{i}"], header={
                "network": net, "station": sta, "location": loc, "channel": cha,
                "delta": m["delta"], "starttime": UTCDateTime(m["starttime"])}))
    return Stream(traces)


def test_semd_float32_time_column_job_equals_pyatoa_reader(inversion, tmp_path):
    """The job on .semd-ingested synthetics = process_station on pysep's read_sem traces."""
    job_path, snapshots, _models = inversion
    event = obspy.read_events(str(NZ_DATA / "test_catalog_2018p130600.xml"))[0]
    files = sorted(str(p) for p in SEMD32.glob("*.semd"))
    ref = run_pyatoa("read_sem.py", {"files": files, "out": str(tmp_path / "syn.npz"),
                                     "origintime": str(event.preferred_origin().time)})
    assert {m["delta"] for m in ref["meta"]} == {0.0125}
    st_syn = _read_npz_stream(tmp_path / "syn.npz")
    st_obs = obspy.read(str(NZ_DATA / "mseed" / "*"))
    inv = obspy.read_inventory(str(NZ_DATA / "test_dataless_NZ_BFZ.xml"))
    job = JobConfig.load(job_path)
    job.misfit = job.misfit.copy(iteration=1, step_count=0)  # the first run's evaluation
    expected = process_station(st_obs, st_syn, inv, event, job.misfit)
    assert expected.ok and expected.nwin >= 2

    import pyasdf
    ds = pyasdf.ASDFDataSet(str(snapshots[(1, 0)]), mode="r")
    try:
        windows = asdf_store.read_windows(ds, "NZ", "BFZ", job.misfit.aux_path)
        adjs = asdf_store.read_adjoint_sources(ds, "NZ", "BFZ", job.misfit.aux_path)
        delta = ds.waveforms["NZ.BFZ"][job.misfit.synthetic_tag][0].stats.delta
    finally:
        del ds
    assert delta == 0.0125  # not 0.0124999995 / 0.0125000002 from the mean spacing
    # Pyatoa loads the job's file with no warning: its Config names the event
    loaded = _pyatoa_ok(run_pyatoa("pyatoa_side.py", {"tasks": [
        {"do": "load", "file": str(snapshots[(1, 0)]), "code": "NZ.BFZ",
         "path": job.misfit.aux_path}]})["results"][0])
    assert loaded["config"]["event_id"] == EVENT
    assert loaded["stored"]["windows"] == _windows_of(windows)
    assert loaded["stored"]["misfits"] == {c: a["misfit"] for c, a in adjs.items()}
    got = {c: [(w["left_index"], w["right_index"]) for w in ws] for c, ws in windows.items()}
    want = {c: [(w["left_index"], w["right_index"]) for w in ws]
            for c, ws in expected.windows.items()}
    assert got == want
    for comp, misfit in expected.misfit.items():
        assert adjs[comp]["misfit"] == pytest.approx(misfit, rel=1e-9)
        np.testing.assert_allclose(adjs[comp]["adjoint_source"],
                                   expected.adjoint_sources[comp]["adjoint_source"],
                                   rtol=1e-9, atol=1e-12 * np.abs(adjs[comp]["adjoint_source"]).max())


# --------------------------------------------------------------------------------------
# Files written by spark_seis, read and re-measured by Pyatoa 0.4.2
# --------------------------------------------------------------------------------------
# several evaluations, custom pyflex / pyadjoint parameters, multitaper
OUR_EVALUATIONS = [
    dict(iteration=1, step_count=0, min_period=10.0, max_period=30.0,
         pyflex_parameters={"cc_acceptance_level": 0.95}),
    dict(iteration=1, step_count=1, min_period=10.0, max_period=30.0,
         pyflex_parameters={"cc_acceptance_level": 0.95}, adj_src_type="multitaper",
         pyadjoint_parameters={"mt_nw": 3.5, "num_taper": 4}),
    dict(iteration=2, step_count=0, min_period=10.0, max_period=100.0,
         pyadjoint_parameters={"taper_percentage": 0.25}),
]


def _windows_of(windows) -> dict[str, list[list[int]]]:
    out = {}
    for comp, ws in windows.items():
        out[comp] = [[int(w["left_index"]), int(w["right_index"])] if isinstance(w, dict)
                     else [int(w.left), int(w.right)] for w in ws]
    return out


def _pyatoa_ok(result: dict, allow_warnings: bool = False) -> dict:
    assert result["ok"], result.get("error")
    if not allow_warnings:
        assert result["warnings"] == [], result["warnings"]
    return next(v for k, v in result.items() if k.startswith("do_"))


@pytest.fixture(scope="module")
def ours_written(tmp_path_factory):
    """An event file with three evaluations written by spark_seis's Manager."""
    import pyasdf

    from _nz_data import nz_bfz
    from spark_seis import Config, Manager

    folder = tmp_path_factory.mktemp("ours")
    path = folder / f"{EVENT}.h5"
    results = {}
    with pyasdf.ASDFDataSet(str(path), mode="a") as ds:
        for kwargs in OUR_EVALUATIONS:
            inv, event, st_obs, st_syn = nz_bfz()
            cfg = Config(event_id=EVENT, **kwargs)
            mgmt = Manager(ds=ds, config=cfg, inv=inv, event=event, st_obs=st_obs, st_syn=st_syn)
            mgmt.write()
            mgmt.flow(raise_errors=True)
            results[cfg.aux_path] = (cfg, mgmt)
    return path, results


def test_pyatoa_reads_and_remeasures_files_written_by_spark_seis(ours_written):
    path, results = ours_written
    tasks = [{"do": "load", "file": str(path), "code": "NZ.BFZ", "path": aux, "remeasure": True}
             for aux in results]
    tasks.append({"do": "inspect", "dir": str(path.parent)})
    out = run_pyatoa("pyatoa_side.py", {"tasks": tasks})["results"]
    for (aux, (cfg, mgmt)), res in zip(results.items(), out):
        got = _pyatoa_ok(res)
        # every parameter read back, none replaced by Pyatoa's defaults
        assert got["config"]["event_id"] == EVENT
        assert got["config"]["synthetic_tag"] == cfg.synthetic_tag
        assert got["config"]["adj_src_type"] == cfg.adj_src_type
        assert got["config"]["pyflex"]["cc_acceptance_level"] == cfg.pyflex_config().cc_acceptance_level
        for key, value in cfg.pyadjoint_parameters.items():
            assert got["config"]["pyadjoint"][key] == value
        assert got["config"]["max_period"] == cfg.max_period
        ours_windows = _windows_of(mgmt.windows)
        assert mgmt.nwin > 0
        assert got["stored"]["windows"] == ours_windows
        assert got["remeasured"]["windows"] == ours_windows
        for comp, adj in mgmt.adjsrcs.items():
            assert got["stored"]["misfits"][comp] == adj["misfit"]
            assert got["remeasured"]["misfits"][comp] == pytest.approx(adj["misfit"], rel=1e-9)
            assert got["stored"]["adjsrc_types"][comp] == cfg.adj_src_type
    insp = _pyatoa_ok(out[-1])
    by_eval = {(r["iteration"], r["step"]): r for r in insp["event"]}
    for aux, (cfg, mgmt) in results.items():
        row = by_eval[(cfg.iter_tag, cfg.step_tag)]
        assert row["nwin"] == mgmt.nwin
        assert row["misfit"] == pytest.approx(mgmt.misfit / (2 * mgmt.nwin), rel=1e-9)


# --------------------------------------------------------------------------------------
# Files written by Pyatoa 0.4.2, read and re-measured by spark_seis
# --------------------------------------------------------------------------------------
CASES = [("inversion.h5", "i01/s00", 0), ("inversion.h5", "i01/s01", 1),
         ("default.h5", "default", 2), ("seisflows.h5", "i01/s00", 3)]


@pytest.fixture(scope="module")
def pyatoa_written(tmp_path_factory):
    """Pyatoa writes: i01/s00 (10-30 s, custom pyflex, _synthetic_tag), i01/s01 with
    fixed windows, a 'default' path, and a SeisFlows-style file whose observed data
    are already corrected (Pyatoa's default: no response removal)."""
    folder = tmp_path_factory.mktemp("pyatoa")
    inv = obspy.read_inventory(str(NZ_DATA / "test_dataless_NZ_BFZ.xml"))
    raw_obs = obspy.read(str(NZ_DATA / "test_obs_data_NZ_BFZ_2018p130600.ascii"))
    corrected = raw_obs.copy().remove_response(inventory=inv, output="DISP", water_level=60)
    for tr in corrected:
        tr.data = tr.data.astype(np.float64)
    corrected.write(str(folder / "corrected.mseed"), format="MSEED", encoding="FLOAT64")
    files = {"obs": str(NZ_DATA / "test_obs_data_NZ_BFZ_2018p130600.ascii"),
             "syn": str(NZ_DATA / "test_syn_data_NZ_BFZ_2018p130600.ascii"),
             "inv": str(NZ_DATA / "test_dataless_NZ_BFZ.xml"),
             "event": str(NZ_DATA / "test_catalog_2018p130600.xml")}
    inversion = str(folder / "inversion.h5")
    band = {"event_id": EVENT, "min_period": 10, "max_period": 30,
            "pyflex_parameters": {"cc_acceptance_level": 0.95}}
    tasks = [
        {"do": "write", "file": inversion, "remove_response": True, **files,
         "config": {**band, "iteration": 1, "step_count": 0, "synthetic_tag": "synthetic_run1"}},
        {"do": "write", "file": inversion, "remove_response": True, **files,
         "fix_windows": [1, 0],
         "config": {**band, "iteration": 1, "step_count": 1, "synthetic_tag": "synthetic_run1"}},
        {"do": "write", "file": str(folder / "default.h5"), "remove_response": True, **files,
         "config": {"event_id": EVENT, "adj_src_type": "multitaper",
                    "pyadjoint_parameters": {"mt_nw": 3.5}}},
        {"do": "write", "file": str(folder / "seisflows.h5"), "remove_response": False,
         **{**files, "obs": str(folder / "corrected.mseed")},
         "config": {"event_id": EVENT, "iteration": 1, "step_count": 0}},
    ]
    out = run_pyatoa("pyatoa_side.py", {"tasks": tasks})["results"]
    # Pyatoa's own writer warns that observed data are already in the file
    written = [_pyatoa_ok(r, allow_warnings=True) for r in out]
    # Pyatoa re-measures what it loads from its files (fresh and fixed windows)
    loads = [{"do": "load", "file": str(folder / name), "code": "NZ.BFZ", "path": aux,
              "remeasure": True, "fix": fix}
             for name, aux, _i in CASES for fix in ((False, True) if aux != "default" else (False,))]
    again = run_pyatoa("pyatoa_side.py", {"tasks": loads})["results"]
    remeasured = {}
    for task, res in zip(loads, again):
        assert res["ok"], (task, res.get("error"))
        remeasured[(Path(task["file"]).name, task["path"], task["fix"])] = res["do_load"]["remeasured"]
    return folder, written, remeasured


@pytest.mark.parametrize("name,aux,index", CASES)
def test_spark_seis_reads_and_remeasures_files_written_by_pyatoa(pyatoa_written, name, aux, index):
    import pyasdf

    from spark_seis import Manager

    folder, written, remeasured = pyatoa_written
    expected = written[index]
    assert expected["total"] is not None and expected["windows"]
    with pyasdf.ASDFDataSet(str(folder / name), mode="r") as ds:
        mgmt = Manager(ds=ds).load("NZ.BFZ", path=aux)
        cfg = mgmt.config
        # Pyatoa's stored parameters, and its default for what it does not store
        assert cfg.remove_response is False
        assert any("remove_response=False" in e["message"] for e in mgmt.elog.to_list())
        if name == "inversion.h5":
            assert cfg.synthetic_tag == "synthetic_run1" and cfg.max_period == 30
            assert cfg.pyflex_config().cc_acceptance_level == 0.95
        if name == "default.h5":
            assert cfg.adj_src_type == "multitaper"
            assert cfg.pyadjoint_config().mt_nw == 3.5
        # stored windows and adjoint sources read back as Pyatoa wrote them
        stored = asdf_store.read_windows(ds, "NZ", "BFZ", aux)
        assert _windows_of(stored) == expected["windows"]
        adjs = asdf_store.read_adjoint_sources(ds, "NZ", "BFZ", aux)
        assert {c: a["misfit"] for c, a in adjs.items()} == expected["misfits"]
        assert {a["adjsrc_type"] for a in adjs.values()} == {cfg.adj_src_type}
        # re-measured from the stored (processed) waveforms with the stored Config,
        # fresh windows and the stored (fixed) windows: the numbers Pyatoa gets
        for fixed in ((False, True) if aux != "default" else (False,)):
            want = remeasured[(name, aux, fixed)]
            again = Manager(ds=ds, config=cfg, event=mgmt.event, inv=mgmt.inv,
                            st_obs=mgmt.st_obs, st_syn=mgmt.st_syn)
            again.standardize().preprocess()
            if fixed:
                it, step = (int(p[1:]) for p in aux.split("/"))
                again.window(fix_windows=True, iteration=it, step_count=step, save=False)
            else:
                again.window(save=False)
            again.measure(save=False)
            assert _windows_of(again.windows) == want["windows"]
            assert set(again.adjsrcs) == set(want["misfits"])
            for comp, misfit in want["misfits"].items():
                assert again.adjsrcs[comp]["misfit"] == pytest.approx(misfit, rel=1e-9)


# --------------------------------------------------------------------------------------
# An inversion through `spark-seis run`: i01/s00 -> i01/s01 (fixed windows) -> i02/s00
# --------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def inversion(spark, tmp_path_factory):
    """`spark-seis run` (fix_windows ITER; plain runs, no --resume: a run of one
    evaluation keeps the others in the event file) over i01/s00 -> i01/s01 -> i02/s00,
    each with its own SPECFEM synthetics."""
    import shutil

    tmp_path = tmp_path_factory.mktemp("inversion")
    models = {"synthetic_i01s00": SEMD32,
              "synthetic_i01s01": scaled_semd(SEMD32, tmp_path / "s01", 1.15, 24),
              "synthetic_i02s00": scaled_semd(SEMD32, tmp_path / "i02", 0.9, -16)}
    job_path = ingested_project(tmp_path, SEMD32)
    for tag in ("synthetic_i01s01", "synthetic_i02s00"):
        assert cli.main(["ingest", "-c", str(job_path), "--no-progress", "--event", EVENT,
                         "--tag", tag, str(models[tag])]) == 0
    job = JobConfig.load(job_path)
    snapshots = {}
    for it, step in ((1, 0), (1, 1), (2, 0)):
        text = job_path.read_text()
        for key, value in (("iteration", it), ("step_count", step)):
            text = "\n".join(f"{key}: {value}" if line.startswith(f"{key}:") else line
                             for line in text.splitlines()) + "\n"
        job_path.write_text(text)
        summary = run_job(job_path, spark=spark, progress=False, fix_windows="ITER")
        assert summary.ok == 1
        # Pyatoa's fixed-window step reads i01/s00 windows from this state of the file
        snapshots[(it, step)] = shutil.copy(job.asdf_path(EVENT), tmp_path / f"i{it}s{step}.h5")
    return job_path, snapshots, models


def test_inversion_sequence_with_fixed_windows_equals_pyatoa(inversion, tmp_path):
    import shutil

    from spark_seis.db.client import get_database
    from spark_seis.engine.output_docs import MISFITS, WINDOWS

    job_path, snapshots, models = inversion
    job = JobConfig.load(job_path)
    event = obspy.read_events(str(NZ_DATA / "test_catalog_2018p130600.xml"))[0]
    db = get_database(job.database_config())
    ours = {}
    for doc in db.db[WINDOWS].find({}):
        ours.setdefault(doc["eval_tag"], {}).setdefault(doc["component"], []).append(
            (doc["window_index"], [doc["left_index"], doc["right_index"]]))
    windows = {e: {c: [w for _i, w in sorted(ws)] for c, ws in comps.items()}
               for e, comps in ours.items()}
    misfits = {}
    for doc in db.db[MISFITS].find({}):
        if doc.get("misfit") is not None:
            misfits.setdefault(doc["eval_tag"], {})[doc["component"]] = doc["misfit"]
    assert set(windows) == {"i01s00", "i01s01", "i02s00"}
    assert windows["i01s01"] == windows["i01s00"]  # fixed, not re-picked
    logs = [e["message"] for d in db.db["elog"].find({"eval_tag": "i01s01"})
            for e in d["logdata"]]
    assert any("windows fixed from i01s00" in m for m in logs), logs

    tasks, origin = [], str(event.preferred_origin().time)
    for tag, folder in models.items():
        run_pyatoa("read_sem.py", {"files": sorted(str(p) for p in folder.glob("*.semd")),
                                   "out": str(tmp_path / f"{tag}.npz"), "origintime": origin})
    for (it, step), snapshot in snapshots.items():
        tasks.append({"do": "write", "write": False, "file": str(snapshot),
                      "remove_response": True, "obs": str(NZ_DATA / "mseed" / "*"),
                      "syn": str(tmp_path / f"synthetic_i{it:02d}s{step:02d}.npz"),
                      "inv": str(NZ_DATA / "test_dataless_NZ_BFZ.xml"),
                      "event": str(NZ_DATA / "test_catalog_2018p130600.xml"),
                      "fix_windows": [1, 0] if (it, step) == (1, 1) else None,
                      "config": {"event_id": EVENT, "iteration": it, "step_count": step}})
    final = tmp_path / "final"
    final.mkdir()
    shutil.copy(job.asdf_path(EVENT), final / f"{EVENT}.h5")
    tasks.append({"do": "inspect", "dir": str(final)})
    out = run_pyatoa("pyatoa_side.py", {"tasks": tasks})["results"]
    # every evaluation stays in the event file, and Pyatoa's Inspector
    # reports the station and step misfits our Inspector reports (same definitions)
    from spark_seis.workflow.inspector import Inspector

    insp = _pyatoa_ok(out.pop())
    ours_insp = Inspector(db)
    stations = ours_insp.station_table()
    assert len(insp["station"]) == 3 and len(insp["step"]) == 3
    for row in insp["station"]:
        mine = stations[(stations["iteration"] == int(row["iteration"][1:]))
                        & (stations["step_count"] == int(row["step"][1:]))].iloc[0]
        assert mine["nwin"] == row["nwin"]
        assert mine["unscaled_misfit"] == pytest.approx(row["unscaled_misfit"], rel=1e-9)
        assert mine["misfit"] == pytest.approx(row["misfit"], rel=1e-9)
    steps = ours_insp.evaluation_table()
    for row in insp["step"]:
        mine = steps[steps["eval_tag"] == row["iteration"] + row["step"]].iloc[0]
        assert mine["misfit"] == pytest.approx(row["misfit"], rel=1e-9)
    for (it, step), res in zip(snapshots, out):
        assert res["ok"], res.get("error")
        want = res["do_write"]
        tag = f"i{it:02d}s{step:02d}"
        assert windows[tag] == want["windows"], tag
        assert set(misfits[tag]) == set(want["misfits"])
        for comp, value in want["misfits"].items():
            assert misfits[tag][comp] == pytest.approx(value, rel=1e-9), (tag, comp)


def test_ingest_of_a_pyatoa_file_keeps_its_misfit_history(pyatoa_written, tmp_path, capsys):
    from spark_seis.db.client import get_database
    from spark_seis.workflow.inspector import Inspector

    folder, written, _remeasured = pyatoa_written
    project = tmp_path / "proj"
    init_project(project)
    job_path = project / "conf" / "job.yaml"
    counts = []
    for _ in range(2):  # idempotent
        assert cli.main(["ingest", "-c", str(job_path), "--no-progress",
                         str(folder / "inversion.h5")]) == 0
        db = get_database(JobConfig.load(job_path).database_config())
        counts.append({c: db.db[c].count_documents({})
                       for c in ("misfit_windows", "misfit", "misfit_station", "wf_TimeSeries")})
    assert "2 evaluation(s)" in capsys.readouterr().out
    assert counts[0] == counts[1] and counts[0]["misfit_station"] == 2
    insp = Inspector(db)
    windows = insp.window_table()
    for (name, aux, index) in CASES[:2]:
        tag = aux.replace("/", "")
        want = written[index]
        got = windows[windows["eval_tag"] == tag]
        per_comp = {}
        for _, row in got.iterrows():
            per_comp.setdefault(row["component"], []).append(
                [int(row["left_index"]), int(row["right_index"])])
        assert per_comp == want["windows"]
        comps = insp.component_table()
        comps = comps[(comps["iteration"] == 1) & (comps["step_count"] == int(aux[-1]))]
        assert {r["component"]: r["misfit"] for _, r in comps.iterrows()
                if r["misfit"] is not None and r["misfit"] == r["misfit"]} == want["misfits"]
