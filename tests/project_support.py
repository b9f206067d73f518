"""A project as a user sets it up: `spark-seis init`, then the NZ event's data ingested."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from conftest import NZ_DATA
from spark_seis.cli import main as cli
from spark_seis.cli.init_cmd import init_project

EVENT = "2018p130600"


def ingested_project(tmp_path: Path, synthetics: Path, tag: str = "synthetic_i01s00") -> Path:
    """``tmp_path/proj`` with the NZ QuakeML, StationXML and MiniSEED ingested and the
    ``.semd`` files of ``synthetics`` under ``tag``; returns its conf/job.yaml."""
    project = tmp_path / "proj"
    init_project(project)
    job = project / "conf" / "job.yaml"
    assert cli.main(["ingest", "-c", str(job), "--no-progress",
                     str(NZ_DATA / "test_catalog_2018p130600.xml"),
                     str(NZ_DATA / "test_dataless_NZ_BFZ.xml"), str(NZ_DATA / "mseed")]) == 0
    assert cli.main(["ingest", "-c", str(job), "--no-progress", "--event", EVENT,
                     "--tag", tag, str(synthetics)]) == 0
    return job


def scaled_semd(src: Path, dst: Path, factor: float, shift: int) -> Path:
    """SPECFEM-format .semd copies with scaled, shifted amplitudes (the next model's
    synthetics, so that picking anew would not simply reproduce the last windows)."""
    dst.mkdir(parents=True, exist_ok=True)
    for f in sorted(src.glob("*.semd")):
        lines = f.read_text().splitlines()
        amps = np.roll(np.array([float(line.split()[1]) for line in lines]), shift) * factor
        dst.joinpath(f.name).write_text("".join(
            f"{line.split()[0]:>17} {np.float32(a):17.8E}\n" for line, a in zip(lines, amps)))
    return dst
