"""`spark-seis run CONFIG` and jobs/misfit.py: one iteration/step of the misfit job."""
from __future__ import annotations

import argparse
import os
import shutil
import sys
from pathlib import Path
from typing import Sequence

from .errors import UserError


def add_run_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("config", help="job configuration (conf/job.yaml)")
    parser.add_argument("--master", default=None,
                        help="Spark master (local[*], spark://host:7077, yarn, ...); "
                             "default: the config's spark.master, or spark-submit's")
    parser.add_argument("--resume", action="store_true",
                        help="skip stations already finished for this iteration/step")
    parser.add_argument("--event", action="append", default=[],
                        help="process only this event (repeatable)")
    parser.add_argument("--conf", action="append", default=[], metavar="KEY=VALUE",
                        help="extra Spark setting (repeatable)")
    parser.add_argument("--quiet", action="store_true", help="no progress lines")
    parser.add_argument("--fix-windows", default=None, metavar="MODE",
                        help="re-use stored windows: true (previous evaluation), ITER "
                             "(within an iteration), ONCE (first evaluation), false; "
                             "overrides the config's fix_windows")


def _spark_conf(pairs: Sequence[str]) -> dict[str, str]:
    out = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise UserError(f"--conf {pair!r}: expected KEY=VALUE",
                            "e.g. --conf spark.executor.memory=4g")
        out[key.strip()] = value.strip()
    return out


def run_job(config: str | Path, *, master: str | None = None, resume: bool = False,
            events: Sequence[str] = (), spark_conf: dict[str, str] | None = None,
            progress: bool = True, spark=None, fix_windows: bool | str | None = None):
    """Load the job config, start (or reuse) Spark and run the misfit job."""
    from spark_seis.engine.misfit_job import EmptyQueryError, run_misfit_job
    from spark_seis.engine.session import get_spark_session

    from .common import load_job, open_database

    overrides: dict = {"events": list(events)} if events else {}
    if fix_windows is not None:
        from spark_seis.engine.fixed_windows import parse_mode
        from spark_seis.processing.config import ConfigError

        try:
            overrides["fix_windows"] = parse_mode(fix_windows, "--fix-windows")
        except ConfigError as exc:
            raise UserError(str(exc), "e.g. --fix-windows true") from None
    job = load_job(str(config), overrides or None)
    db = open_database(job, must_exist=True)
    if spark is None:
        if shutil.which("java") is None:
            raise UserError("Java was not found; Spark needs Java 17 or newer",
                            "install it, e.g. apt-get install openjdk-17-jre-headless")
        if master is None and not os.environ.get("PYSPARK_GATEWAY_PORT"):
            master = job.spark.get("master")  # under spark-submit, its --master decides
        spark = get_spark_session(master=master,
                                  app_name=job.spark.get("app_name", "spark_seis-misfit"),
                                  conf=spark_conf)
        spark.sparkContext.setLogLevel("WARN")
    if progress:
        print(f"misfit job {job.misfit.eval_tag} on Spark {spark.sparkContext.master}", flush=True)
    try:
        return run_misfit_job(spark, job, db=db, resume=resume, progress=progress)
    except EmptyQueryError as exc:
        raise UserError(str(exc)) from None


def run_command(args: argparse.Namespace) -> int:
    summary = run_job(args.config, master=args.master, resume=args.resume,
                      events=getattr(args, "event", None) or [],
                      spark_conf=_spark_conf(getattr(args, "conf", None) or []),
                      progress=not getattr(args, "quiet", False),
                      fix_windows=getattr(args, "fix_windows", None))
    for line in summary.lines():
        print(line)
    return 0 if summary.stations == 0 or summary.ok > 0 else 1


def main(argv: Sequence[str] | None = None) -> int:
    """spark-submit entry point (jobs/misfit.py): same as `spark-seis run`."""
    from .main import main as cli_main

    args = list(sys.argv[1:] if argv is None else argv)
    flags = [a for a in args if a in ("-v", "--verbose")]
    return cli_main(flags + ["run"] + [a for a in args if a not in flags])
