"""Helpers shared by the bench_* scripts (stdlib only)."""
from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent


def nz_data_dir() -> Path:
    """The NZ 2018p130600 / NZ.BFZ data: the copy in tests/ (fresh clone) first."""
    for cand in (ROOT / "tests" / "data" / "nz_2018p130600",
                 ROOT.parent / "shared" / "data" / "nz_2018p130600"):
        if (cand / "test_obs_data_NZ_BFZ_2018p130600.ascii").exists():
            return cand
    raise SystemExit("NZ.BFZ data not found (tests/data/nz_2018p130600)")


def pyatoa_python(explicit: str | None = None) -> str | None:
    """Interpreter of the Pyatoa venv made by setup_env.sh (<venv>-pyatoa)."""
    for cand in (explicit, os.environ.get("BENCH_PYATOA_PYTHON"),
                 f"{sys.prefix}-pyatoa/bin/python", str(BENCH / ".bench-venv-pyatoa/bin/python"),
                 "/work/bench-venv-pyatoa/bin/python"):
        if cand and Path(cand).exists():
            return cand
    return None


def run_json(cmd: list[str], timeout: float = 1200) -> dict:
    """Run a side script; its last stdout line is one JSON document."""
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout,
                          cwd=str(ROOT))
    lines = [ln for ln in proc.stdout.splitlines() if ln.strip().startswith("{")]
    if proc.returncode != 0 or not lines:
        raise RuntimeError(f"{' '.join(cmd)} failed ({proc.returncode}):\n"
                           f"{proc.stdout[-2000:]}\n{proc.stderr[-4000:]}")
    return json.loads(lines[-1])


def git_rev() -> str:
    try:
        rev = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT,
                             capture_output=True, text=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"],
                               cwd=ROOT, capture_output=True, text=True).stdout.strip()
        return rev + ("+dirty" if dirty else "")
    except OSError:
        return "unknown"


def machine() -> str:
    return f"{platform.machine()}, {os.cpu_count()} cpu, Python {platform.python_version()}"


def table(headers: list[str], rows: list[list]) -> str:
    """Markdown table."""
    def fmt(v):
        if isinstance(v, float):
            return f"{v:.3g}" if abs(v) < 1000 else f"{v:,.0f}"
        return str(v)
    out = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    out += ["| " + " | ".join(fmt(v) for v in row) + " |" for row in rows]
    return "\n".join(out)


def save(name: str, doc: dict) -> Path:
    """Write bench/results/<name>.json (git-ignored figures of the last run)."""
    out = BENCH / "results"
    out.mkdir(exist_ok=True)
    path = out / f"{name}.json"
    path.write_text(json.dumps(doc, indent=1, default=str))
    return path


def load_nz(data: Path | None = None):
    """(inv, event, st_obs, st_syn) of NZ.BFZ / 2018p130600, as every side reads them."""
    from obspy import read, read_events, read_inventory

    data = data or nz_data_dir()
    inv = read_inventory(str(data / "test_dataless_NZ_BFZ.xml"))
    event = read_events(str(data / "test_catalog_2018p130600.xml"))[0]
    st_obs = read(str(data / "test_obs_data_NZ_BFZ_2018p130600.ascii"))
    st_syn = read(str(data / "test_syn_data_NZ_BFZ_2018p130600.ascii"))
    return inv, event, st_obs, st_syn
