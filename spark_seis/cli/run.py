"""`spark-seis run CONFIG` and jobs/misfit.py: one iteration/step of the misfit job.

Everything that needs no Spark (configuration, database, events, what is left to
do, the master URL, folders) is checked first, in about a second; Spark starts
only when there is work. Exit codes: see ``preflight.EXIT_*`` (README).
"""
from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import shutil
import sys
import time
from pathlib import Path
from typing import Any, Iterator, Sequence

from .errors import UserError
from .preflight import (EXIT_BUSY, EXIT_DONE, EXIT_FAILED, EXIT_NOTHING_TO_DO, EXIT_USAGE,
                        NothingToDo, check_master, preflight_run, read_spark_defaults,
                        resolve_master)
from .run_lock import ProjectBusyError, project_lock

SUMMARY_NAME = "run_summary.json"
_SECRET = re.compile(r"secret|password|token|credential|key$", re.I)


def add_run_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("config", nargs="?", default=None, metavar="CONFIG",
                        help="job configuration (default: ./conf/job.yaml; or --config)")
    parser.add_argument("--config", "-c", dest="config_option", default=None,
                        metavar="JOB_YAML", help="job configuration, as for every subcommand")
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


def _say(text: str, quiet: bool = False) -> None:
    if not quiet:
        print(text, flush=True)


@contextlib.contextmanager
def _jvm_output_to(log_file: Path | None) -> Iterator[None]:
    """Send the JVM's start-up chatter (log4j, JDK warnings) to ``log_file``.

    The JVM inherits file descriptors 1 and 2 when the gateway starts, so both are
    pointed at the log while it starts; Python's own streams are restored after.
    """
    if log_file is None:
        yield
        return
    log_file.parent.mkdir(parents=True, exist_ok=True)
    sys.stdout.flush()
    sys.stderr.flush()
    saved = [os.dup(1), os.dup(2)]
    fd = os.open(log_file, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    try:
        os.dup2(fd, 1)
        os.dup2(fd, 2)
        yield
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        os.dup2(saved[0], 1)
        os.dup2(saved[1], 2)
        for f in (*saved, fd):
            os.close(f)


def start_spark(job, master: str | None, spark_conf: dict[str, str] | None, *,
                quiet: bool = False, verbose: bool = False):
    """Check the master URL, then start Spark saying so; JVM noise goes to a log file
    (shown on the terminal with -v)."""
    from spark_seis.engine.session import DEFAULTS_FILE

    defaults_file = job.spark_defaults_file or DEFAULTS_FILE
    defaults = read_spark_defaults(defaults_file) if defaults_file.exists() else {}
    defaults.update(spark_conf or {})
    resolved = resolve_master(master, job, defaults)
    if resolved is not None:
        setting = ("--master" if master else
                   f"spark.master in {job.source}" if job.spark.get("master") else
                   f"spark.master in {defaults_file}")
        check_master(resolved, setting)
    if shutil.which("java") is None:
        raise UserError("Java was not found; Spark needs Java 17 or newer",
                        "install it, e.g. apt-get install openjdk-17-jre-headless")
    from pyspark import SparkContext

    from spark_seis.engine.session import get_spark_session

    log_file = None if verbose else Path(job.work_dir) / "logs" / "spark.log"
    fresh = SparkContext._active_spark_context is None
    started = time.time()
    if fresh:
        _say(f"starting Spark ({resolved or 'master from spark-submit'})..."
             + (f" [JVM messages: {log_file}]" if log_file else ""), quiet)
    try:
        with _jvm_output_to(log_file if fresh else None):
            spark = get_spark_session(master=resolved,
                                      app_name=job.spark.get("app_name", "spark_seis-misfit"),
                                      conf=spark_conf, defaults_file=defaults_file)
            spark.sparkContext.setLogLevel("WARN" if verbose else "ERROR")
    except Exception as exc:  # noqa: BLE001 - the JVM's reason is in its log
        if log_file is None:
            raise
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        raise UserError(f"Spark did not start ({resolved or 'spark-submit'}): {first}",
                        f"the JVM's messages are in {log_file}; check the spark.* settings "
                        "in conf/spark-defaults.conf and --conf") from exc
    sc = spark.sparkContext
    if fresh:
        _say(f"Spark started in {time.time() - started:.0f} s "
             f"({sc.master}, {sc.defaultParallelism} parallel tasks)", quiet)
    return spark


def run_job(config: str | Path | None, *, master: str | None = None, resume: bool = False,
            events: Sequence[str] = (), spark_conf: dict[str, str] | None = None,
            progress: bool = True, spark=None, verbose: bool = False,
            outcome: dict[str, Any] | None = None, fix_windows: bool | str | None = None):
    """Load and check the job, take the project lock, start (or reuse) Spark, run.

    Raises NothingToDo (before Spark) when there is nothing new to process.
    ``outcome`` (if given) is filled with what is known for the JSON summary.
    """
    from .common import load_job, open_database

    outcome = outcome if outcome is not None else {}
    quiet = not progress
    overrides: dict[str, Any] = {"events": list(events)} if events else {}
    if fix_windows is not None:
        from spark_seis.engine.fixed_windows import parse_mode
        from spark_seis.processing.config import ConfigError

        try:
            overrides["fix_windows"] = parse_mode(fix_windows, "--fix-windows")
        except ConfigError as exc:
            raise UserError(str(exc), "e.g. --fix-windows true") from None
    job = load_job(None if config is None else str(config), overrides or None)
    outcome["job"] = job
    _say(f"spark-seis run: {job.source} ({job.misfit.eval_tag}), checking database...", quiet)
    db = open_database(job, must_exist=True)
    with project_lock(Path(job.work_dir)):
        setting = "--event" if events else f"events in {job.source}"
        work = preflight_run(job, db, resume=resume, events_setting=setting)
        _say(f"to do: {work.stations} station(s) of {work.events} event(s)"
             + (f", {work.already_done} already done (--resume)" if resume else ""), quiet)
        if spark is None:
            spark = start_spark(job, master, spark_conf, quiet=quiet, verbose=verbose)
        outcome["spark"] = {k: v for k, v in sorted(spark.sparkContext.getConf().getAll())
                            if not _SECRET.search(k)}
        from spark_seis.engine.misfit_job import EmptyQueryError, run_misfit_job

        _say(f"misfit job {job.misfit.eval_tag} on Spark {spark.sparkContext.master}", quiet)
        try:
            return run_misfit_job(spark, job, db=db, resume=resume, progress=progress)
        except EmptyQueryError as exc:
            raise UserError(str(exc)) from None


def write_run_summary(job, status: str, code: int, started: float, summary=None,
                      message: str | None = None,
                      spark_settings: dict[str, str] | None = None) -> Path | None:
    """``<output_dir>/run_summary.json``: what a scheduler or script needs to know."""
    if job is None:
        return None
    doc: dict[str, Any] = {
        "status": status, "exit_code": code, "eval_tag": job.misfit.eval_tag,
        "config": str(job.source), "started": _utc(started), "finished": _utc(time.time()),
        "seconds": round(time.time() - started, 3), "output_dir": str(job.output_dir),
        "message": message,
    }
    if summary is not None:
        doc.update(events=summary.events, stations=summary.stations, ok=summary.ok,
                   dead=summary.dead, skipped=summary.skipped,
                   stations_by_status=summary.stations_by_status,
                   dead_reasons=summary.dead_reasons)
    if spark_settings:
        doc["spark"] = spark_settings
    path = Path(job.output_dir) / SUMMARY_NAME
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        tmp.write_text(json.dumps(doc, indent=2, default=str) + "\n")
        os.replace(tmp, path)
    except OSError:
        return None  # an unwritable output folder is already the error being reported
    return path


def _utc(t: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t))


def run_command(args: argparse.Namespace) -> int:
    """`spark-seis run`: exit 0 work done, 1 failed, 2 bad input, 3 nothing to do, 4 busy."""
    if args.config and args.config_option and args.config != args.config_option:
        raise UserError(f"two job configurations given: {args.config} and "
                        f"--config {args.config_option}", "give one")
    config = args.config or args.config_option
    started = time.time()
    outcome: dict[str, Any] = {}
    quiet = getattr(args, "quiet", False)
    try:
        summary = run_job(config, master=args.master, resume=args.resume,
                          events=getattr(args, "event", None) or [],
                          spark_conf=_spark_conf(getattr(args, "conf", None) or []),
                          progress=not quiet, verbose=getattr(args, "verbose", False),
                          outcome=outcome,
                          fix_windows=getattr(args, "fix_windows", None))
    except NothingToDo as exc:
        print(f"spark-seis: {exc}")
        _report(write_run_summary(outcome.get("job"), "nothing_to_do", EXIT_NOTHING_TO_DO,
                                  started, message=str(exc)), quiet)
        return EXIT_NOTHING_TO_DO
    except ProjectBusyError as exc:
        print(f"spark-seis: error: {exc}", file=sys.stderr)
        return EXIT_BUSY  # the running job owns run_summary.json
    except UserError as exc:
        write_run_summary(outcome.get("job"), "failed", EXIT_USAGE, started, message=str(exc))
        raise
    except BaseException as exc:
        write_run_summary(outcome.get("job"), "failed", EXIT_FAILED, started,
                          message=f"{type(exc).__name__}: {exc}".splitlines()[0],
                          spark_settings=outcome.get("spark"))
        raise
    for line in summary.lines():
        print(line)
    code = EXIT_DONE if summary.stations == 0 or summary.ok > 0 else EXIT_FAILED
    status = "done" if code == EXIT_DONE else "failed"
    _report(write_run_summary(outcome["job"], status, code, started, summary,
                              message=None if code == EXIT_DONE else
                              "every station failed; see dead_reasons",
                              spark_settings=outcome.get("spark")), quiet)
    return code


def _report(path: Path | None, quiet: bool) -> None:
    if path is not None:
        _say(f"summary: {path}", quiet)


def main(argv: Sequence[str] | None = None) -> int:
    """spark-submit entry point (jobs/misfit.py): same as `spark-seis run`."""
    from .main import main as cli_main

    args = list(sys.argv[1:] if argv is None else argv)
    flags = [a for a in args if a in ("-v", "--verbose")]
    return cli_main(flags + ["run"] + [a for a in args if a not in flags])
