"""Misfit and adjoint sources with pyadjoint (pinned 0.2.3).

Pyatoa conventions: per-window cc-traveltime misfit 0.5*(dT/sigma_dt)^2,
station misfit = sum over components, event misfit = sum / (2 * nwin).
"""
from __future__ import annotations

from typing import Any, Iterable

import numpy as np
import pyadjoint
from obspy import Stream

from spark_seis.core.errorlog import ErrorLog
from spark_seis.processing.errors import StageError
from spark_seis.processing.misfit_definitions import event_misfit  # noqa: F401 (re-export)
from spark_seis.processing.config import Config

ALGORITHM = "spark_seis.processing.measure"


def band_code(dt: float) -> str:
    """SEED band code for a sample interval (SPECFEM names, e.g. 'BXN')."""
    sr = 1.0 / dt
    for limit, code in ((1000, "F"), (250, "C"), (80, "H"), (10, "B"),
                        (1.0001, "M"), (0.9999, "L")):
        if sr >= limit:
            return code
    return "V"


def _window_seconds(wins: Iterable, dt: float) -> list[list[float]]:
    out = []
    for w in wins:
        left = w["left_index"] if isinstance(w, dict) else w.left
        right = w["right_index"] if isinstance(w, dict) else w.right
        out.append([left * dt, right * dt])
    return out


def measure(st_obs: Stream, st_syn: Stream, windows: dict[str, list],
            config: Config, elog: ErrorLog | None = None
            ) -> dict[str, pyadjoint.AdjointSource]:
    """Adjoint source per windowed component (component renamed '<B>X<c>')."""
    elog = elog if elog is not None else ErrorLog()
    if config.adj_src_type is None:
        return {}
    if not windows:
        raise StageError("measure", "no windows to measure", "no_windows")
    pa_config = config.pyadjoint_config()
    out: dict[str, pyadjoint.AdjointSource] = {}
    for comp, wins in windows.items():
        obs, syn = st_obs.select(component=comp), st_syn.select(component=comp)
        if not obs or not syn:
            elog.log(ALGORITHM, f"component {comp}: windows but no data, not "
                     "measured", "Complaint")
            continue
        dt = obs[0].stats.delta
        try:
            adj = pyadjoint.calculate_adjoint_source(
                observed=obs[0], synthetic=syn[0], config=pa_config,
                windows=_window_seconds(wins, dt), plot=False)
        except Exception as exc:  # pyadjoint raises many types on bad data
            elog.log(ALGORITHM, f"component {comp}: pyadjoint failed: {exc}",
                     "Invalid")
            continue
        adj.component = f"{band_code(adj.dt)}X{comp}"
        out[comp] = adj
    if not out:
        raise StageError("measure", "no adjoint source could be computed")
    return out


def _py(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, dict):
        return {k: _py(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_py(v) for v in value]
    return value


def adjsrc_to_dict(adj: pyadjoint.AdjointSource) -> dict[str, Any]:
    """Plain dict: samples as pyadjoint gives them (time-reversed) + metadata."""
    return {
        "adjoint_source": np.asarray(adj.adjoint_source, dtype=np.float64),
        "adjsrc_type": adj.adjsrc_type,
        "misfit": float(adj.misfit),
        "dt": float(adj.dt),
        "component": adj.component,
        "min_period": float(adj.min_period),
        "max_period": float(adj.max_period),
        "network": adj.network,
        "station": adj.station,
        "location": adj.location,
        "starttime": str(adj.starttime),
        "windows": _py(adj.windows),
        "window_stats": _py(adj.window_stats or []),
    }


def station_misfit(adjsrcs: dict[str, Any]) -> float:
    """Sum of component misfits (Pyatoa's station misfit)."""
    return float(sum((a["misfit"] if isinstance(a, dict) else a.misfit)
                     for a in adjsrcs.values()))


