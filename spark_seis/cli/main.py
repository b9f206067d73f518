"""Entry point of the `spark-seis` command (argparse: stdlib, nothing to install)."""
from __future__ import annotations

import argparse
import shutil
import sys
import traceback
from typing import Sequence

from .errors import UserError


def _require_java() -> None:
    if shutil.which("java") is None:
        raise UserError("Java was not found; Spark needs Java 17 or newer",
                        "install it, e.g. apt-get install openjdk-17-jre-headless")


def _cmd_demo(args: argparse.Namespace) -> int:
    _require_java()
    from .demo import run_demo

    return run_demo(workdir=args.workdir, master=args.master)


def _cmd_run(args: argparse.Namespace) -> int:
    from .run import run_command

    return run_command(args)


def _cmd_init(args: argparse.Namespace) -> int:
    from .init_cmd import run_init

    return run_init(args)


def _cmd_ingest(args: argparse.Namespace) -> int:
    from .ingest_cmd import run_ingest

    return run_ingest(args)


def _cmd_inspect(args: argparse.Namespace) -> int:
    from .inspect_cmd import run_inspect

    return run_inspect(args)


def _cmd_plot(args: argparse.Namespace) -> int:
    from .plot_cmd import run_plot

    return run_plot(args)


def _add_config(p: argparse.ArgumentParser) -> None:
    p.add_argument("--config", "-c", default=None, metavar="JOB_YAML",
                   help="job configuration (default: ./conf/job.yaml)")


def _add_filters(p: argparse.ArgumentParser) -> None:
    p.add_argument("--event", default=None, help="only this event (event id or source_id)")
    p.add_argument("--station", default=None, metavar="NET.STA", help="only this station")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="spark-seis",
        description="Seismic misfit and bulk processing on Spark (MsPASS-style database, "
                    "Pyatoa-style ASDF output).")
    parser.add_argument("--verbose", "-v", action="store_true",
                        help="show full tracebacks on errors and the JVM's messages")
    sub = parser.add_subparsers(dest="command", required=True)

    demo = sub.add_parser("demo", help="run the pipeline on the bundled NZ data")
    demo.add_argument("--workdir", default="demo_output", help="where outputs go")
    demo.add_argument("--master", default="local[*]", help="Spark master URL")
    demo.set_defaults(handler=_cmd_demo)

    run = sub.add_parser("run", help="run the misfit job for one iteration/step")
    from .run import add_run_arguments

    add_run_arguments(run)
    run.set_defaults(handler=_cmd_run)

    init = sub.add_parser("init", help="create a project folder with a commented conf/")
    init.add_argument("directory", metavar="DIR", help="project folder (created if needed)")
    init.add_argument("--force", action="store_true",
                      help="overwrite the files of an existing, non-empty DIR/conf")
    init.set_defaults(handler=_cmd_init)

    ingest = sub.add_parser(
        "ingest", help="load QuakeML/StationXML/waveforms into the database",
        description="Ingest QuakeML (-> source), StationXML (-> site, channel) and "
                    "MiniSEED, SAC, SPECFEM .semd and ASDF waveforms (-> wf_TimeSeries). "
                    "Files and folders (searched recursively) in any order; running it "
                    "twice adds nothing.")
    ingest.add_argument("paths", nargs="+", metavar="PATH", help="files or folders")
    _add_config(ingest)
    ingest.add_argument("--event", default=None, metavar="EVENT_ID",
                        help="attach every waveform to this event (default: the event whose "
                             "origin time falls within the trace or up to --window-minutes "
                             "before it; for .semd an event id in the path)")
    ingest.add_argument("--cut", nargs=2, type=float, default=None,
                        metavar=("BEFORE", "AFTER"),
                        help="continuous MiniSEED/SAC: save one window per event, from "
                             "BEFORE s before to AFTER s after each origin time inside "
                             "the record")
    ingest.add_argument("--window-minutes", type=float, default=60.0, metavar="N",
                        help="origin may precede a trace by up to N minutes (default 60)")
    ingest.add_argument("--tag", default=None,
                        help="data_tag for every waveform (default: the job's observed_tag "
                             "for MiniSEED/SAC, its synthetic tag for .semd, the file's tags "
                             "for ASDF)")
    ingest.add_argument("--synthetic-tag", default=None,
                        help="data_tag of SPECFEM synthetics (default: the job's, e.g. "
                             "synthetic_i01s00)")
    ingest.add_argument("--asdf-tag", action="append", default=[], metavar="TAG",
                        help="only these ASDF waveform tags (repeatable)")
    how = ingest.add_mutually_exclusive_group()
    how.add_argument("--spark", dest="spark", action="store_true", default=None,
                     help="read the waveform files on Spark: the executors read, identify "
                          "and store them; QuakeML, StationXML and ASDF stay on the driver "
                          "(default from 2000 MiniSEED/SAC/.semd files when the master runs "
                          "4 or more tasks at once, or is a cluster)")
    how.add_argument("--serial", dest="spark", action="store_false",
                     help="read every file in this process, one after the other (default "
                          "otherwise: on 2 cores it is faster than Spark)")
    ingest.add_argument("--master", default=None,
                        help="Spark master for --spark (default: the job's spark.master, "
                             "else conf/spark-defaults.conf's, else local[*]); with the "
                             "embedded store the executors must run on this machine")
    ingest.add_argument("--no-progress", action="store_true", help="no progress bar")
    ingest.set_defaults(handler=_cmd_ingest)

    inspect = sub.add_parser("inspect", help="misfit tables per event/station/component",
                             description="Misfit tables from the misfit job's documents: "
                                         "per evaluation, event, station, component, window, "
                                         "and dead stations with their reasons.")
    _add_config(inspect)
    _add_filters(inspect)
    inspect.add_argument("--iteration", type=int, default=None)
    inspect.add_argument("--step", type=int, default=None, help="step_count")
    inspect.add_argument("--level", choices=["step", "event", "station", "component",
                                             "window", "dead"], default=None,
                         help="print only this table")
    inspect.add_argument("--compare", nargs=2, metavar=("A", "B"), default=None,
                         help="compare two evaluations, e.g. i01s00 i01s01 or 1/0 2/0")
    inspect.add_argument("--export", default=None, metavar="DIR",
                         help="write the tables to DIR as CSV and/or Parquet")
    inspect.add_argument("--format", choices=["csv", "parquet", "both"], default="csv")
    inspect.add_argument("--max-rows", type=int, default=60, help="rows printed per table")
    inspect.set_defaults(handler=_cmd_inspect)

    plot = sub.add_parser("plot", help="waveform/window/adjoint-source and summary figures")
    _add_config(plot)
    _add_filters(plot)
    plot.add_argument("--iteration", type=int, default=None,
                      help="iteration of the station figures (default: the job's)")
    plot.add_argument("--step", type=int, default=None, help="step_count (default: the job's)")
    plot.add_argument("--out", default=None, metavar="DIR",
                      help="figure folder (default: <work_dir>/figures)")
    plot.add_argument("--no-stations", action="store_true", help="summary figures only")
    plot.add_argument("--no-summary", action="store_true", help="station figures only")
    plot.add_argument("--no-progress", action="store_true", help="no progress bar")
    plot.set_defaults(handler=_cmd_plot)

    from .repack_cmd import add_repack_parser

    add_repack_parser(sub)
    return parser


def dispatch(argv: Sequence[str]) -> int:
    """Run one subcommand in-process, letting errors propagate (used by the demo)."""
    args = build_parser().parse_args(list(argv))
    code = int(args.handler(args) or 0)
    if code:
        raise UserError(f"'spark-seis {' '.join(argv[:1])}' failed (exit {code})")
    return code


#: errors raised inside Spark tasks that the user can act on: (class name, exit code)
_TASK_ERRORS = {"OutputBusyError": 4}


def _task_error(exc: BaseException) -> tuple[str, int] | None:
    """The one line of a known error raised in a Spark task (PythonException text)."""
    text = str(exc)
    for line in reversed(text.splitlines()):
        name, sep, message = line.strip().partition(": ")
        short = name.rsplit(".", 1)[-1]
        if sep and short in _TASK_ERRORS:
            return message.strip(), _TASK_ERRORS[short]
    return None


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.handler(args) or 0)
    except KeyboardInterrupt:
        print("spark-seis: interrupted", file=sys.stderr)
        return 130
    except (UserError, NotImplementedError, FileNotFoundError, ValueError) as exc:
        if args.verbose:
            traceback.print_exc()
        print(f"spark-seis: error: {' '.join(str(exc).split())}", file=sys.stderr)
        return 2
    except Exception as exc:  # system errors: still one line unless --verbose
        if args.verbose:
            traceback.print_exc()
        known = _task_error(exc)
        if known:
            print(f"spark-seis: error: {known[0]}", file=sys.stderr)
            return known[1]
        if not args.verbose:
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
            print(f"spark-seis: unexpected {type(exc).__name__}: {first} "
                  "(rerun with --verbose for the traceback)", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
