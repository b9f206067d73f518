"""`spark-seis repack --by station|event|channel`: one sample file per gather."""
from __future__ import annotations

import argparse
import os
import shutil

from .errors import UserError

DESCRIPTION = (
    "Rewrite sample files so that each gather (all traces of one station, one event or "
    "one channel, per data_tag) lives in one file, in order, and point every document "
    "at its new byte range. Reading a gather then opens one file instead of one per "
    "event (or per station). Old files are removed once no document uses them. Runs on "
    "Spark; an interrupted repack is finished by running the same command again. Do not "
    "run it while a job reads the same data.")


def add_repack_parser(sub) -> None:
    p = sub.add_parser("repack", help="one sample file per station/event/channel gather",
                       description=DESCRIPTION)
    p.add_argument("--by", required=True, choices=["station", "event", "channel"],
                   help="the gather that should live in one file")
    p.add_argument("--config", "-c", default=None, metavar="JOB_YAML",
                   help="job configuration (default: ./conf/job.yaml)")
    p.add_argument("--tag", action="append", default=[], metavar="DATA_TAG",
                   help="only documents with this data_tag (repeatable; default: all)")
    p.add_argument("--collection", choices=["wf_TimeSeries", "wf_Seismogram"], default=None,
                   help="wf collection (default: the job's database.db_schema)")
    p.add_argument("--master", default=None,
                   help="Spark master (default: the config's spark.master, or spark-submit's)")
    p.set_defaults(handler=run_repack)


def run_repack(args: argparse.Namespace) -> int:
    from spark_seis.engine.cluster import MasterUnreachableError
    from spark_seis.engine.commit import OutputBusyError
    from spark_seis.engine.repack import repack_sample_files
    from spark_seis.engine.session import get_spark_session

    from .common import load_job, open_database

    job = load_job(args.config)
    open_database(job, must_exist=True).client.close()  # a clear error if it is missing
    if shutil.which("java") is None:
        raise UserError("Java was not found; Spark needs Java 17 or newer",
                        "install it, e.g. apt-get install openjdk-17-jre-headless")
    master = args.master
    if master is None and not os.environ.get("PYSPARK_GATEWAY_PORT"):
        master = job.spark.get("master")
    try:
        spark = get_spark_session(master=master, app_name="spark_seis-repack")
    except MasterUnreachableError as exc:
        raise UserError(str(exc)) from None
    spark.sparkContext.setLogLevel("WARN")
    query = {"data_tag": {"$in": args.tag}} if args.tag else {}
    try:
        report = repack_sample_files(spark, job.database_config(), args.by, query=query,
                                     collection=args.collection)
    except OutputBusyError as exc:
        raise UserError(str(exc)) from None
    for line in report.lines():
        print(line)
    return 1 if report.failed else 0
