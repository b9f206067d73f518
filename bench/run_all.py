"""Run every benchmark in one go and print all tables (ratios side by side).

    bash bench/setup_env.sh /work/bench-venv          # once: ours + Pyatoa venvs
    /work/bench-venv/bin/python bench/run_all.py [--quick] [--only misfit,spark]

Writes bench/results/<name>.json per benchmark and bench/results/run_all.md
(git-ignored); copy the tables into bench/RESULTS.md with the command.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

ORDER = ["misfit", "pickle", "writers", "reads", "spark"]


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--only", default=",".join(ORDER))
    args = ap.parse_args(argv)
    import importlib
    out, status = [], 0
    cmd = "python bench/run_all.py" + (" --quick" if args.quick else "")
    for name in [n for n in ORDER if n in args.only.split(",")]:
        mod = importlib.import_module(f"bench_{name}")
        t = time.perf_counter()
        print(f"== {name} ==", flush=True)
        try:
            rc = mod.main(["--quick"] if args.quick else [])
        except Exception as exc:  # report and go on with the others
            print(f"{name} FAILED: {type(exc).__name__}: {exc}")
            rc = 1
        status |= rc or 0
        out.append(f"{name}: {time.perf_counter() - t:.0f} s, exit {rc}")
    print("\n".join([f"== done ({cmd}) =="] + out))
    return status


if __name__ == "__main__":
    sys.exit(main())
