"""Misfit windows with pyflex; travel times from the event's TauP tables.

Windows are pyflex ``Window`` objects while processing and plain dicts
(pyflex's JSON content with times as ISO strings) when stored or shipped.
"""
from __future__ import annotations

import warnings
from typing import Any

import numpy as np
from obspy import Inventory, Stream, UTCDateTime
from obspy.core.event import Event
from pyflex import PyflexError
from pyflex import Station as PyflexStation
from pyflex.window import Window

from spark_seis.core.errorlog import ErrorLog
from spark_seis.processing._pyflex_compat import (StationWindowSelector,
                                                  fast_travel_times,
                                                  pyflex_event)
from spark_seis.processing.errors import StageError
from spark_seis.processing.preprocess import station_coordinates
from spark_seis.processing.config import Config

ALGORITHM = "spark_seis.processing.window"


def _select(st: Stream, comp: str):
    sel = st.select(component=comp)
    return sel[0] if len(sel) else None


def station_geometry(event: Event | None, inv: Inventory | None, network: str,
                     station: str, earth_model: str = "ak135"):
    """(pyflex Event, pyflex Station, arrivals) once per station.

    The arrivals come from TauP tables built once per event (source depth)
    per worker; see :mod:`spark_seis.processing.traveltimes`.
    """
    if event is None or inv is None:
        return None, None, None
    ev = pyflex_event(event)
    lat, lon = station_coordinates(inv, network, station)
    sta = PyflexStation(latitude=lat, longitude=lon)
    return ev, sta, fast_travel_times(ev, sta, earth_model)


def reject_on_global_amplitude_ratio(data: np.ndarray, windows: list,
                                     ratio: float) -> tuple[list, list]:
    """Drop windows whose peak |obs| is below ``ratio`` x the trace peak."""
    thresh = ratio * np.abs(data).max()
    keep, rej = [], []
    for w in windows:
        (keep if np.abs(data[w.left:w.right + 1]).max() >= thresh
         else rej).append(w)
    return keep, rej


def select_windows(st_obs: Stream, st_syn: Stream, config: Config,
                   event: Event | None = None, inv: Inventory | None = None,
                   elog: ErrorLog | None = None,
                   geometry: tuple | None = None) -> dict[str, list[Window]]:
    """Pick windows per component; StageError("no_windows") if none at all.

    A missing component or a pyflex failure on one component is logged and
    the other components go on.
    """
    elog = elog if elog is not None else ErrorLog()
    if config.pyflex_preset is None:
        return {}
    if not st_obs or not st_syn:
        raise StageError("window", "no waveforms to window", "failed:no_data")
    net, sta = st_obs[0].stats.network, st_obs[0].stats.station
    pf_config = config.pyflex_config()
    if geometry is None:
        try:
            geometry = station_geometry(event, inv, net, sta,
                                        pf_config.earth_model)
        except StageError as exc:
            elog.log(ALGORITHM, f"{exc.message}; windows picked without travel "
                     "times", "Suspect")
            geometry = (None, None, None)
    ev, station, ttimes = geometry

    windows: dict[str, list[Window]] = {}
    for comp in config.component_list:
        obs, syn = _select(st_obs, comp), _select(st_syn, comp)
        if obs is None or syn is None:
            which = "observed" if obs is None else "synthetic"
            elog.log(ALGORITHM, f"{net}.{sta}: component {comp} missing in "
                     f"{which} data, not windowed", "Complaint")
            continue
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                ws = StationWindowSelector(obs, syn, pf_config, event=ev,
                                           station=station, ttimes=ttimes)
                wins = ws.select_windows()
        except (PyflexError, IndexError, ValueError) as exc:
            span = syn.stats.npts * syn.stats.delta
            elog.log(ALGORITHM, f"{net}.{sta}.{comp}: pyflex failed ({exc}) on "
                     f"{syn.stats.npts} samples ({span:.1f} s); the traces may "
                     "be shorter than the windows need, or the source-receiver "
                     "distance too small for the minimum period", "Invalid")
            continue
        if config.win_amp_ratio > 0:
            wins, _rej = reject_on_global_amplitude_ratio(
                np.asarray(obs.data), wins, config.win_amp_ratio)
        if wins:
            windows[comp] = wins
    if not windows:
        raise StageError("window", f"{net}.{sta}: no window passed the "
                         "selection criteria", "no_windows")
    return windows


def fix_windows(windows: dict[str, list], st_obs: Stream, st_syn: Stream,
                config: Config | None = None, revalidate: bool = False,
                elog: ErrorLog | None = None) -> dict[str, list[Window]]:
    """Re-use stored windows; re-evaluate cc, time shift and dlnA on new data.

    With ``revalidate`` windows that now fail the Config's acceptance levels
    (cc, |shift|, |dlnA|) are dropped, as pyflex would.
    """
    elog = elog if elog is not None else ErrorLog()
    out: dict[str, list[Window]] = {}
    pf = config.pyflex_config() if (revalidate and config) else None
    for comp, wins in windows.items():
        obs, syn = _select(st_obs, comp), _select(st_syn, comp)
        if obs is None or syn is None:
            elog.log(ALGORITHM, f"component {comp}: stored windows but no data",
                     "Complaint")
            continue
        d, s = np.asarray(obs.data), np.asarray(syn.data)
        kept = []
        for w in wins:
            w = window_from_dict(w) if isinstance(w, dict) else w
            if w.right >= len(d):
                elog.log(ALGORITHM, f"window {w.left}-{w.right} beyond data "
                         f"({len(d)} samples), dropped", "Complaint")
                continue
            w._calc_criteria(d, s)
            if pf is not None and not _passes(w, pf, obs.stats.delta):
                elog.log(ALGORITHM, f"{comp} window {w.left}-{w.right} fails "
                         f"criteria on current data (cc={w.max_cc_value:.2f}, "
                         f"shift={w.cc_shift_in_seconds:.2f}s, "
                         f"dlnA={w.dlnA:.2f})", "Informational")
                continue
            kept.append(w)
        if kept:
            out[comp] = kept
    if not out:
        raise StageError("window", "no fixed window left to measure",
                         "no_windows")
    return out


def _passes(w: Window, pf, delta: float) -> bool:
    def level(x):
        return float(np.asarray(x).flat[min(w.center, np.asarray(x).size - 1)])
    shift = w.cc_shift * delta
    return (abs(shift - pf.tshift_reference) < level(pf.tshift_acceptance_level)
            and abs(w.dlnA - pf.dlna_reference) < level(pf.dlna_acceptance_level)
            and w.max_cc_value >= level(pf.cc_acceptance_level))


def _py(value: Any) -> Any:
    if isinstance(value, UTCDateTime):
        return str(value)
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, list):
        return [_py(v) for v in value]
    if isinstance(value, dict):
        return {k: _py(v) for k, v in value.items()}
    return value


def window_to_dict(win: Window) -> dict[str, Any]:
    """Plain, JSON-able dict (pyflex's JSON layout, times as ISO strings)."""
    return _py(win._get_json_content())


def window_from_dict(doc: dict[str, Any]) -> Window:
    """Window back from ``window_to_dict`` output or a Pyatoa ASDF record."""
    win = Window(left=int(doc["left_index"]), right=int(doc["right_index"]),
                 center=int(doc["center_index"]),
                 time_of_first_sample=UTCDateTime(doc["time_of_first_sample"]),
                 dt=float(doc["dt"]), min_period=float(doc["min_period"]),
                 channel_id=str(doc["channel_id"]))
    win.max_cc_value = doc.get("max_cc_value")
    win.cc_shift = doc.get("cc_shift_in_samples")
    win.dlnA = doc.get("dlnA")
    win.phase_arrivals = list(doc.get("phase_arrivals", []))
    return win


def windows_to_dicts(windows: dict[str, list[Window]]
                     ) -> dict[str, list[dict[str, Any]]]:
    return {c: [w if isinstance(w, dict) else window_to_dict(w) for w in ws]
            for c, ws in windows.items()}
