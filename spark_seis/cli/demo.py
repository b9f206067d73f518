"""`spark-seis demo`: ingest -> run -> inspect -> plot on the bundled real NZ data.

Everything runs on the embedded defaults (Spark local[*], the embedded
database) inside one project folder, exactly as a user would by hand.
"""
from __future__ import annotations

import os
import sys
import time
from pathlib import Path

from .errors import UserError

BUNDLED_DATA = Path(__file__).resolve().parents[2] / "tests" / "data" / "nz_2018p130600"
EVENT = "2018p130600"


def _step(title: str) -> None:
    print(f"\n== {title} " + "=" * max(0, 60 - len(title)), flush=True)


def _cli(argv: list[str]) -> None:
    from .main import dispatch

    dispatch(argv)


def prepare_project(project: Path) -> Path:
    """The demo project's conf/job.yaml: created on the first demo, kept afterwards
    (the demo's last line invites the user to edit it; a rerun must not undo that)."""
    from .init_cmd import init_project

    job = project / "conf" / "job.yaml"
    if job.exists():
        print(f"using the existing configuration in {project / 'conf'} "
              "(delete that folder to start from the defaults)", flush=True)
    else:
        init_project(project, force=True)
    return job


def run_demo(workdir: str, master: str, stop_session: bool = True, spark=None) -> int:
    from .run import run_job

    data = BUNDLED_DATA
    needed = [data / "test_catalog_2018p130600.xml", data / "test_dataless_NZ_BFZ.xml",
              data / "mseed", data / "synthetics_BFZ"]
    missing = [str(p) for p in needed if not p.exists()]
    if missing:
        raise UserError(f"bundled demo data not found: {missing[0]}",
                        "run the demo from a full checkout of the repository")
    started = time.time()
    project = Path(workdir)
    job = prepare_project(project)
    _step(f"ingest: event {EVENT}, NZ.BFZ StationXML, observed MiniSEED, SPECFEM synthetics")
    _cli(["ingest", "-c", str(job), "--no-progress", str(needed[0]), str(needed[1]),
          str(needed[2])])
    _cli(["ingest", "-c", str(job), "--no-progress", "--event", EVENT,
          "--tag", "synthetic_i01s00", str(needed[3])])

    _step(f"run: misfit job on Spark {master}")
    owns_session = spark is None
    if owns_session:
        from .common import load_job
        from .run import start_spark

        spark = start_spark(load_job(str(job)), master, None)
    try:
        summary = run_job(job, spark=spark)
    finally:
        if owns_session and stop_session:
            spark.stop()
    for line in summary.lines():
        print(line)

    tables = project / "work" / "tables"
    _step("inspect: misfit tables")
    _cli(["inspect", "-c", str(job), "--export", str(tables), "--format", "both"])
    figures = project / "work" / "figures"
    _step("plot: station and summary figures")
    _cli(["plot", "-c", str(job), "--out", str(figures), "--no-progress"])

    _step("done")
    print(f"demo finished in {time.time() - started:.0f} s. Outputs in {project.resolve()}:")
    print(f"  ASDF (Pyatoa layout):   {summary.output_dir}/{EVENT}.h5")
    print(f"  SPECFEM adjoint sources: {summary.output_dir}/adjoint/{EVENT}/i01s00/")
    print(f"  misfit tables:          {tables}/")
    print(f"  figures:                {figures}/")
    print(f"  configuration to edit:  {project / 'conf'}/")
    bindir = Path(sys.argv[0]).resolve().parent if sys.argv and sys.argv[0] else None
    if bindir is not None and (bindir / "spark-seis").exists() and \
            str(bindir) not in os.environ.get("PATH", "").split(os.pathsep):
        print(f"next: export PATH=\"{bindir}:$PATH\"  (then 'spark-seis --help'; README: "
              "Using spark-seis)")
    return 0 if summary.ok == summary.stations and summary.stations else 1
