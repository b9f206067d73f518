"""An evaluation's outputs as a whole (issue 16, items 8, 9, 10 and the writer part of 12).

Stale SPECFEM files go, --resume refuses a changed Config and redoes what is
missing from the outputs, and a full disk while writing ends in one line naming
the file, with no temporary file left.
"""
from __future__ import annotations

import errno
import os
from pathlib import Path

import numpy as np
import pytest

from engine_support import build_database, job_for
from spark_seis.engine.misfit_job import build_plan, load_tables, run_misfit_job
from spark_seis.engine.misfit_pipeline import ExecutorOptions, compute_partition, write_event
from spark_seis.engine.resume import ConfigChangedError
from spark_seis.io import specfem
from spark_seis.io.errors import OutputWriteError, output_error_line

EVENT = "2018p130600"


def _adj_files(job) -> list[str]:
    return sorted(p.name for p in (job.output_dir / "adjoint" / EVENT / "i01s00").iterdir())


def _leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.rglob("*") if p.name.endswith((".tmp", ".inprogress")))


@pytest.fixture()
def ran(spark, tmp_path):
    db, job = build_database(tmp_path, n_generated=1)
    assert run_misfit_job(spark, job, db=db, progress=False).ok == 2
    return db, job


def test_rerun_removes_adj_files_of_a_station_without_adjoint_sources(spark, ran):
    db, job = ran
    assert _adj_files(job) == [f"NZ.{s}.BX{c}.adj" for s in ("BFZ", "G000") for c in "ENZ"]
    # G000 loses its observed data: still planned (synthetics), no adjoint source now
    db.db["wf_TimeSeries"].update_many({"sta": "G000", "data_tag": "observed"},
                                       {"$set": {"data_tag": "withdrawn"}})
    again = run_misfit_job(spark, job, db=db, progress=False)
    assert again.stations == 2 and again.ok == 1
    assert _adj_files(job) == [f"NZ.BFZ.BX{c}.adj" for c in "ENZ"]


def test_resume_refuses_a_changed_config_and_names_the_key(spark, ran, tmp_path):
    db, job = ran
    changed = job_for(tmp_path, misfit={"event_id": None, "min_period": 12.0,
                                        "max_period": 100.0})
    with pytest.raises(ConfigChangedError) as info:
        run_misfit_job(spark, changed, db=db, progress=False, resume=True)
    text = str(info.value)
    assert "min_period: 10.0 -> 12.0" in text and f"{EVENT}.h5" in text
    assert "max_period" not in text and "--resume-with-changed-config" in text
    # the same Config resumes; the explicit flag lets the changed one through
    assert run_misfit_job(spark, job, db=db, progress=False, resume=True).skipped == 2
    assert run_misfit_job(spark, changed, db=db, progress=False, resume=True,
                          resume_with_changed_config=True).skipped == 2


def test_resume_redoes_stations_missing_from_the_outputs(spark, ran):
    db, job = ran
    final = job.output_dir / f"{EVENT}.h5"
    final.unlink()
    resumed = run_misfit_job(spark, job, db=db, progress=False, resume=True)
    assert resumed.skipped == 0 and resumed.stations == 2 and resumed.ok == 2
    assert final.exists()
    import h5py

    with h5py.File(final, "r") as h5:
        assert sorted(h5["Waveforms"]) == ["NZ.BFZ", "NZ.G000"]
        assert len(h5["AuxiliaryData/MisfitWindows/i01/s00"]) == \
            db.db["misfit_windows"].count_documents({})
    # a station's SPECFEM file is gone: that station alone is redone
    (job.output_dir / "adjoint" / EVENT / "i01s00" / "NZ.G000.BXN.adj").unlink()
    resumed = run_misfit_job(spark, job, db=db, progress=False, resume=True)
    assert resumed.skipped == 1 and resumed.stations == 1
    assert "NZ.G000.BXN.adj" in _adj_files(job)


def test_disk_full_writing_an_adj_file_is_one_line_and_leaves_no_temporary(tmp_path,
                                                                          monkeypatch):
    real = Path.write_text

    def full_after_half(self, text, *args, **kwargs):
        real(self, text[: len(text) // 2])  # the file system took part, then ran out
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(Path, "write_text", full_after_half)
    adj = {"network": "NZ", "station": "BFZ", "component": "BXZ", "dt": 0.01,
           "adjoint_source": np.ones(100)}
    with pytest.raises(OutputWriteError) as info:
        specfem.write_adjoint_source(tmp_path, adj, 0.0)
    line = str(info.value)
    assert "\n" not in line and str(tmp_path / "NZ.BFZ.BXZ.adj") in line
    assert "No space left on device" in line
    assert list(tmp_path.iterdir()) == []


def _writer_inputs(db, job):
    plan, _ = build_plan(db, job, resume=False)
    tables = load_tables(db, plan)
    options = ExecutorOptions(config=job.misfit.to_dict(), storage_root=str(db.storage_root),
                              output_dir=str(job.output_dir), database=job.database_config(),
                              specfem_dir=None, collection=db.wf_collection)
    (event_id, tasks), = plan.items()
    options.staging_dir = str(job.output_dir / ".staging-test")
    records = [record for _key, record in compute_partition(tasks, tables, options)]
    return event_id, records, tables, options


def test_disk_full_writing_the_asdf_file_is_one_line_and_keeps_the_committed_file(
        ran, monkeypatch):
    from spark_seis.io.asdf_writer import EventFileWriter

    db, job = ran
    final = job.output_dir / f"{EVENT}.h5"
    before = final.read_bytes()
    event_id, records, tables, options = _writer_inputs(db, job)

    def full(self, *args):  # what h5py raises when the disk is full
        raise OSError(f"Can't write data (file write failed: time = Mon Nov 23, filename = "
                      f"'{final}', file descriptor = 7, errno = 28, error message = "
                      "'No space left on device', buf = 0x1, total write size = 80000)")

    monkeypatch.setattr(EventFileWriter, "write_config", full)
    with pytest.raises(OutputWriteError) as info:
        write_event(event_id, records, tables, options)
    line = str(info.value)
    assert "\n" not in line and f"cannot write {final}: No space left on device" in line
    assert output_error_line(f"py4j...\nTraceback\n  OutputWriteError: {line}\n") == line
    assert final.read_bytes() == before
    assert [p.name for p in job.output_dir.glob(".*.inprogress")] == []
