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
from pyatoa_support import run_pyatoa
from spark_seis.cli import main as cli
from spark_seis.cli.init_cmd import init_project
from spark_seis.cli.run import run_job
from spark_seis.io import asdf_store
from spark_seis.processing.station import process_station
from spark_seis.workflow.job_config import JobConfig

EVENT = "2018p130600"
SEMD32 = NZ_DATA / "specfem_float32"  # time column in single precision, as SPECFEM writes it


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


def _project(tmp_path: Path, synthetics: Path, tag: str = "synthetic_i01s00") -> Path:
    project = tmp_path / "proj"
    init_project(project)
    job = project / "conf" / "job.yaml"
    assert cli.main(["ingest", "-c", str(job), "--no-progress",
                     str(NZ_DATA / "test_catalog_2018p130600.xml"),
                     str(NZ_DATA / "test_dataless_NZ_BFZ.xml"), str(NZ_DATA / "mseed")]) == 0
    assert cli.main(["ingest", "-c", str(job), "--no-progress", "--event", EVENT,
                     "--tag", tag, str(synthetics)]) == 0
    return job


def test_semd_float32_time_column_job_equals_pyatoa_reader(spark, tmp_path, capsys):
    """The job on .semd-ingested synthetics = process_station on pysep's read_sem traces."""
    job_path = _project(tmp_path, SEMD32)
    summary = run_job(job_path, spark=spark, progress=False)
    assert summary.ok == 1
    capsys.readouterr()

    event = obspy.read_events(str(NZ_DATA / "test_catalog_2018p130600.xml"))[0]
    files = sorted(str(p) for p in SEMD32.glob("*.semd"))
    ref = run_pyatoa("read_sem.py", {"files": files, "out": str(tmp_path / "syn.npz"),
                                     "origintime": str(event.preferred_origin().time)})
    assert {m["delta"] for m in ref["meta"]} == {0.0125}
    st_syn = _read_npz_stream(tmp_path / "syn.npz")
    st_obs = obspy.read(str(NZ_DATA / "mseed" / "*"))
    inv = obspy.read_inventory(str(NZ_DATA / "test_dataless_NZ_BFZ.xml"))
    job = JobConfig.load(job_path)
    expected = process_station(st_obs, st_syn, inv, event, job.misfit)
    assert expected.ok and expected.nwin >= 2

    import pyasdf
    ds = pyasdf.ASDFDataSet(str(job.asdf_path(EVENT)), mode="r")
    try:
        windows = asdf_store.read_windows(ds, "NZ", "BFZ", job.misfit.aux_path)
        adjs = asdf_store.read_adjoint_sources(ds, "NZ", "BFZ", job.misfit.aux_path)
        delta = ds.waveforms["NZ.BFZ"][job.misfit.synthetic_tag][0].stats.delta
    finally:
        del ds
    assert delta == 0.0125  # not 0.0124999995 / 0.0125000002 from the mean spacing
    got = {c: [(w["left_index"], w["right_index"]) for w in ws] for c, ws in windows.items()}
    want = {c: [(w["left_index"], w["right_index"]) for w in ws]
            for c, ws in expected.windows.items()}
    assert got == want
    for comp, misfit in expected.misfit.items():
        assert adjs[comp]["misfit"] == pytest.approx(misfit, rel=1e-9)
        np.testing.assert_allclose(adjs[comp]["adjoint_source"],
                                   expected.adjoint_sources[comp]["adjoint_source"],
                                   rtol=1e-9, atol=1e-12 * np.abs(adjs[comp]["adjoint_source"]).max())
