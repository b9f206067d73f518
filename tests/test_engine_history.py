"""An event file keeps every evaluation: a run replaces exactly its own (issue 11.1).

Snapshots compare every HDF5 dataset's bytes and every attribute (h5py), so
"kept" means byte-for-byte, not "still listed".
"""
from __future__ import annotations

import subprocess
from pathlib import Path

import h5py
import numpy as np
import pytest

from engine_support import NZ, SYN_TAG, build_database, job_for
from spark_seis.engine.misfit_job import run_misfit_job
from spark_seis.engine.misfit_pipeline import FaultInjection
from pyatoa_support import pyatoa_python

EVENT_FILE = "2018p130600.h5"


def snapshot(path: Path) -> dict[str, tuple]:
    """{hdf5 path: (data bytes or None, attributes)} of every object in the file."""
    out: dict[str, tuple] = {}

    def attrs(obj):
        return tuple(sorted((k, np.asarray(v).tobytes(), str(np.asarray(v).dtype))
                            for k, v in obj.attrs.items()))

    def visit(name, obj):
        data = obj[()].tobytes() if isinstance(obj, h5py.Dataset) else None
        out[name] = (data, attrs(obj))

    with h5py.File(path, "r") as h5:
        h5.visititems(visit)
    return out


def of_evaluation(snap: dict, aux_path: str, tag: str) -> dict:
    return {k: v for k, v in snap.items()
            if f"/{aux_path}" in k or k.endswith(f"__{tag}")}


def without(snap: dict, part: dict) -> dict:
    return {k: v for k, v in snap.items() if k not in part}


def step1(work: Path):
    """The next line-search step: its own evaluation, another band, same traces."""
    return job_for(work, step_count=1, synthetic_tag=SYN_TAG,
                   misfit={"event_id": None, "min_period": 12.0, "max_period": 100.0})


def test_next_step_keeps_the_first_and_a_rerun_replaces_it_exactly_once(spark, tmp_path):
    db, job = build_database(tmp_path, n_generated=1)
    assert run_misfit_job(spark, job, db=db, progress=False).ok == 2
    final = job.output_dir / EVENT_FILE
    first = snapshot(final)
    assert run_misfit_job(spark, step1(tmp_path), db=db, progress=False).ok == 2
    both = snapshot(final)
    # everything the first run wrote is still there, byte for byte
    assert {k: both.get(k) for k in first} == first
    s01 = of_evaluation(both, "i01/s01", "synthetic_i01s01")
    assert any("MisfitWindows/i01/s01/NZ_BFZ_" in k for k in s01)
    assert any("AuxiliaryData/Configs/i01/s01" == k for k in s01)
    assert sum(k.endswith("__synthetic_i01s01") for k in s01) == 6
    assert sorted(db.db["misfit_station"].distinct("eval_tag")) == ["i01s00", "i01s01"]
    # rerun i01/s00 with a task that fails once after staging (retried by Spark)
    again = run_misfit_job(spark, job, db=db, progress=False,
                           fault=FaultInjection(partition=0, point="after_asdf_staged"))
    assert again.ok == 2
    rerun = snapshot(final)
    assert without(rerun, of_evaluation(rerun, "i01/s00", SYN_TAG)) == \
        without(both, of_evaluation(both, "i01/s00", SYN_TAG))
    assert of_evaluation(rerun, "i01/s00", SYN_TAG) == of_evaluation(first, "i01/s00", SYN_TAG)
    windows = [k for k in rerun if k.startswith("AuxiliaryData/MisfitWindows/i01/s00/")]
    assert len(windows) == db.db["misfit_windows"].count_documents({"eval_tag": "i01s00"})
    assert not list(job.output_dir.glob(".*inprogress"))


@pytest.fixture(scope="module")
def pyatoa_file(tmp_path_factory) -> Path:
    """An event file written by Pyatoa 0.4.2 itself with i01/s00 and i01/s01."""
    out = tmp_path_factory.mktemp("pyatoa") / EVENT_FILE
    proc = subprocess.run([pyatoa_python(), str(Path(__file__).with_name(
        "pyatoa_write_history.py")), str(NZ), str(out)], capture_output=True, text=True,
        timeout=600)
    assert proc.returncode == 0, proc.stderr[-2000:]
    return out


def test_running_one_evaluation_keeps_a_pyatoa_files_other_evaluation(spark, tmp_path,
                                                                       pyatoa_file):
    db, job = build_database(tmp_path, n_generated=0)
    job.output_dir.mkdir(parents=True)
    final = job.output_dir / EVENT_FILE
    final.write_bytes(pyatoa_file.read_bytes())
    before = snapshot(final)
    assert run_misfit_job(spark, job, db=db, progress=False).ok == 1
    after = snapshot(final)
    theirs = of_evaluation(before, "i01/s01", "synthetic_i01s01")
    assert len(theirs) >= 8 and {k: after.get(k) for k in theirs} == theirs
    # i01/s00 is now ours: exactly the windows the database holds, once
    windows = sorted(k.rsplit("/", 1)[1] for k in after
                     if k.startswith("AuxiliaryData/MisfitWindows/i01/s00/"))
    assert windows == ["NZ_BFZ_E_0", "NZ_BFZ_N_0", "NZ_BFZ_Z_0"]
    assert sum(k.endswith(f"__{SYN_TAG}") for k in after) == 3
