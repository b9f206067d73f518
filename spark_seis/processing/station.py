"""One station through standardize -> preprocess -> window -> measure.

``process_station`` is the single pure entry point the Spark engine maps over
stations. It never raises for bad data: every failure ends as a status and
an elog entry on the returned, pickleable ``StationResult``.
"""
from __future__ import annotations

import time
import traceback
from dataclasses import dataclass, field
from typing import Any

from obspy import Inventory, Stream
from obspy.core.event import Event

from spark_seis.core.errorlog import ErrorLog
from spark_seis.processing.errors import StageError
from spark_seis.processing.measure import (adjsrc_to_dict, measure,
                                           station_misfit)
from spark_seis.processing.preprocess import distance_and_baz, preprocess
from spark_seis.processing.standardize import standardize, time_offset
from spark_seis.processing.window import (fix_windows, select_windows,
                                          station_geometry, windows_to_dicts)
from spark_seis.processing.config import Config

ALGORITHM = "spark_seis.processing.station"


@dataclass
class StationResult:
    """Outcome of the misfit workflow for one station (plain, pickleable).

    ``status``: "ok", "no_windows", or "failed:<stage or reason>".
    ``windows``: component -> list of window dicts (pyflex JSON layout).
    ``adjoint_sources``: component -> dict with 'adjoint_source' (float64
    samples exactly as pyadjoint 0.2.3 returns them, i.e. time-reversed
    w.r.t. the synthetics; writers reverse them back for SPECFEM) and
    pyadjoint metadata.
    """

    code: str
    status: str = "ok"
    windows: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    adjoint_sources: dict[str, dict[str, Any]] = field(default_factory=dict)
    misfit: dict[str, float] = field(default_factory=dict)
    total_misfit: float | None = None
    nwin: int = 0
    time_offset_sec: float = 0.0
    distance_km: float | None = None
    baz: float | None = None
    st_obs: Stream | None = None
    st_syn: Stream | None = None
    timings: dict[str, float] = field(default_factory=dict)
    elog: ErrorLog = field(default_factory=ErrorLog)

    @property
    def ok(self) -> bool:
        return self.status == "ok"


def station_code(st_obs: Stream | None, st_syn: Stream | None,
                 inv: Inventory | None) -> str:
    """'NET.STA' from whichever input has it."""
    for st in (st_obs, st_syn):
        if st:
            return f"{st[0].stats.network}.{st[0].stats.station}"
    try:
        return f"{inv[0].code}.{inv[0][0].code}"
    except Exception:
        return "unknown"


def process_station(st_obs: Stream, st_syn: Stream, inv: Inventory | None,
                    event: Event | None, config: Config,
                    fixed_windows: dict[str, list] | None = None,
                    keep_streams: bool = False) -> StationResult:
    """Run the whole misfit workflow for one station; never raises on data.

    ``fixed_windows`` (component -> window dicts or pyflex Windows) re-uses
    stored windows with criteria re-evaluated instead of picking new ones.
    """
    res = StationResult(code=station_code(st_obs, st_syn, inv))
    stage = "standardize"
    clock = time.perf_counter()

    def lap(name: str) -> None:
        nonlocal clock
        now = time.perf_counter()
        res.timings[name] = now - clock
        clock = now

    try:
        obs, syn = standardize(st_obs, st_syn, config.standardize_to)
        res.time_offset_sec = time_offset(syn, event)
        lap("standardize")

        stage = "geometry"
        net, sta = res.code.split(".")[:2]
        geometry = (None, None, None)
        if event is not None and inv is not None:
            try:
                res.distance_km, res.baz = distance_and_baz(event, inv, net,
                                                            sta)
                geometry = station_geometry(
                    event, inv, net, sta, config.pyflex_config().earth_model)
            except StageError as exc:
                res.elog.log(ALGORITHM, exc.message, "Suspect")
        else:
            res.elog.log(ALGORITHM, f"{res.code}: no event or inventory: no "
                         "travel-time checks in window selection", "Complaint")
        lap("geometry")

        stage = "preprocess"
        obs = preprocess(obs, config, inv, "obs", res.baz)
        syn = preprocess(syn, config, inv, "syn", res.baz)
        lap("preprocess")
        if keep_streams:
            res.st_obs, res.st_syn = obs, syn

        stage = "window"
        if fixed_windows is not None:
            wins = fix_windows(fixed_windows, obs, syn, config, elog=res.elog)
        else:
            wins = select_windows(obs, syn, config, event, inv, res.elog,
                                  geometry=geometry)
        res.windows = windows_to_dicts(wins)
        res.nwin = sum(len(w) for w in wins.values())
        lap("window")

        stage = "measure"
        adjs = measure(obs, syn, wins, config, res.elog)
        res.adjoint_sources = {c: adjsrc_to_dict(a) for c, a in adjs.items()}
        res.misfit = {c: a["misfit"] for c, a in res.adjoint_sources.items()}
        res.total_misfit = station_misfit(res.adjoint_sources)
        lap("measure")
    except StageError as exc:
        res.status = exc.status
        severity = "Suspect" if exc.status == "no_windows" else "Invalid"
        res.elog.log(f"spark_seis.processing.{exc.stage}", exc.message,
                     severity)
    except MemoryError:
        raise
    except Exception as exc:  # bad data must not kill a Spark task
        res.status = f"failed:{stage}"
        tb = traceback.format_exception_only(type(exc), exc)[-1].strip()
        res.elog.log(f"spark_seis.processing.{stage}",
                     f"{res.code}: unexpected error: {tb}", "Invalid")
    return res
