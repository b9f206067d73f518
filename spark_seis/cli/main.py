"""Entry point of the `spark-seis` command (argparse: stdlib, nothing to install)."""
from __future__ import annotations

import argparse
import shutil
import sys
import traceback
from typing import Callable, Sequence

from .errors import UserError


def _require_java() -> None:
    if shutil.which("java") is None:
        raise UserError("Java was not found; Spark needs Java 17 or newer",
                        "install it, e.g. apt-get install openjdk-17-jre-headless")


def _cmd_demo(args: argparse.Namespace) -> int:
    _require_java()
    from .demo import run_demo

    return run_demo(workdir=args.workdir, master=args.master)


def _not_yet(name: str) -> Callable[[argparse.Namespace], int]:
    def handler(args: argparse.Namespace) -> int:
        raise NotImplementedError(f"'spark-seis {name}' is not implemented yet")
    return handler


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="spark-seis",
        description="Seismic misfit and bulk processing on Spark (MsPASS-style database, "
                    "Pyatoa-style ASDF output).")
    parser.add_argument("--verbose", "-v", action="store_true",
                        help="show full tracebacks on errors")
    sub = parser.add_subparsers(dest="command", required=True)

    demo = sub.add_parser("demo", help="run the pipeline on the bundled NZ data")
    demo.add_argument("--workdir", default="demo_output", help="where outputs go")
    demo.add_argument("--master", default="local[*]", help="Spark master URL")
    demo.set_defaults(handler=_cmd_demo)

    for name, text in [("init", "create a project folder with a commented conf/"),
                       ("ingest", "load QuakeML/StationXML/waveforms into the database"),
                       ("run", "run the misfit job for one iteration/step"),
                       ("inspect", "misfit tables per event/station/component"),
                       ("plot", "waveform/window/adjoint-source and summary figures")]:
        sub.add_parser(name, help=text).set_defaults(handler=_not_yet(name))
    return parser


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
        print(f"spark-seis: error: {exc}", file=sys.stderr)
        return 2
    except Exception as exc:  # system errors: still one line unless --verbose
        if args.verbose:
            traceback.print_exc()
        else:
            print(f"spark-seis: unexpected {type(exc).__name__}: {exc} "
                  "(rerun with --verbose for the traceback)", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
