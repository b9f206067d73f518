"""Read/write misfit results in Pyatoa's ASDF layout (one file per event).

Layout (readable by pyasdf and Pyatoa)::

    ds.events                                   QuakeML
    ds.waveforms.NZ_BFZ.StationXML              station metadata
    ds.waveforms.NZ_BFZ.observed / .synthetic_i01s00
    auxiliary_data/Configs/<path>               flattened Config
    auxiliary_data/MisfitWindows/<path>/NZ_BFZ_E_0   [left, right] + window attrs
    auxiliary_data/AdjointSources/<path>/NZ_BFZ_BXE  (npts, 2) [time, amplitude]

``<path>`` is ``Config.aux_path`` ('i01/s00' or 'default'). Every function
takes an open ``pyasdf.ASDFDataSet`` so the Spark per-event writer can reuse
them; auxiliary records at an existing path are replaced (rerun = same file).
"""
from __future__ import annotations

import json
import warnings
from typing import Any

import numpy as np
from obspy import Inventory, Stream, UTCDateTime
from obspy.core.event import Event

from dataclasses import fields

from spark_seis.processing.config import Config

WINDOWS = "MisfitWindows"
ADJSRCS = "AdjointSources"
CONFIGS = "Configs"


# ------------------------------------------------------------------ helpers
def _aux_exists(ds, data_type: str, path: str) -> bool:
    grp = ds._auxiliary_data_group
    return f"{data_type}/{path}" in grp


def _aux_delete(ds, data_type: str, path: str) -> None:
    if _aux_exists(ds, data_type, path):
        del ds._auxiliary_data_group[f"{data_type}/{path}"]


def _aux_node(ds, data_type: str, path: str):
    node = ds.auxiliary_data[data_type]
    for part in path.split("/"):
        node = node[part]
    return node


def _attr(value: Any) -> Any:
    """HDF5-storable attribute (no None, no UTCDateTime, no nested lists)."""
    if value is None:
        return "None"
    if isinstance(value, UTCDateTime):
        return str(value)
    if isinstance(value, (dict, list, tuple)):
        return json.dumps(value)
    if isinstance(value, np.generic):
        return value.item()
    return value


def _unattr(value: Any) -> Any:
    if isinstance(value, bytes):
        value = value.decode()
    if isinstance(value, str):
        return None if value == "None" else value
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    return value


def station_tag(network: str, station: str) -> str:
    return f"{network}_{station}"


# --------------------------------------------------- event, station, waves
def write_event(ds, event: Event) -> None:
    """Add the event unless an event with the same id is already there."""
    ids = {str(e.resource_id) for e in ds.events}
    if str(event.resource_id) not in ids:
        ds.add_quakeml(event)


def _single_station(inv: Inventory) -> tuple[str, str] | None:
    if len(inv.networks) == 1 and len(inv[0].stations) == 1:
        return inv[0].code, inv[0][0].code
    return None


def write_stationxml(ds, inv: Inventory) -> None:
    """Add station metadata; a one-station inventory new to the file is stored as is.

    pyasdf's ``add_stationxml`` deep-copies and re-merges the whole inventory
    (~30 ms per station with full responses), which is pure waste for a single
    station the file does not hold yet, the writer's usual case. Then its own
    storage step is called directly; anything else takes the public path.
    """
    codes = _single_station(inv)
    group = getattr(ds, "_waveform_group", None)
    if (codes is not None and group is not None and hasattr(ds, "_add_inventory_object")
            and "StationXML" not in group.get(f"{codes[0]}.{codes[1]}", {})):
        ds._add_inventory_object(inv=inv, network_id=codes[0], station_id=codes[1])
    else:
        ds.add_stationxml(inv)


def write_waveforms(ds, st: Stream, tag: str) -> None:
    """Add traces under ``tag``; identical reruns are skipped by pyasdf."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ds.add_waveforms(st, tag=tag)


def read_station(ds, code: str, observed_tag: str = "observed",
                 synthetic_tag: str = "synthetic"
                 ) -> tuple[Inventory | None, Stream | None, Stream | None]:
    """(inventory, observed, synthetic) of 'NET.STA'; None where missing."""
    net, sta = code.split(".")[:2]
    name = f"{net}.{sta}"
    if name not in ds.waveforms.list():
        return None, None, None
    acc = ds.waveforms[name]
    tags = acc.get_waveform_tags()
    inv = acc.StationXML if "StationXML" in acc.list() else None
    obs = acc[observed_tag] if observed_tag in tags else None
    syn = acc[synthetic_tag] if synthetic_tag in tags else None
    return inv, obs, syn


# -------------------------------------------------------------------- Config
def write_config(ds, config: Config, path: str | None = None) -> None:
    """Store the Config at Configs/<aux_path>, flattened as Pyatoa does.

    Our fields are stored under their names (dicts/lists as JSON, component
    list as 'ENZ' so Pyatoa iterates it); the resolved pyflex and pyadjoint
    parameters are added as ``pyflex_config_*`` / ``pyadjoint_config_*``.
    """
    path = path or config.aux_path
    params: dict[str, Any] = {}
    for f in fields(Config):
        value = getattr(config, f.name)
        if f.name == "component_list":
            value = "".join(value)
        params[f.name] = _attr(value)
    params["synthetic_tag"] = config.synthetic_tag
    if config.pyflex_preset is not None:
        for k, v in vars(config.pyflex_config()).items():
            params[f"pyflex_config_{k}"] = "" if v is None else _attr(v)
    if config.adj_src_type is not None:
        for k, v in vars(config.pyadjoint_config()).items():
            params[f"pyadjoint_config_{k}"] = "" if v is None else _attr(v)
    _aux_delete(ds, CONFIGS, path)
    ds.add_auxiliary_data(data=np.array([True]), data_type=CONFIGS,
                          path=path, parameters=params)


def read_config(ds, path: str = "default") -> Config:
    """Config exactly as written by ``write_config`` at ``path``."""
    params = _aux_node(ds, CONFIGS, path).parameters
    doc: dict[str, Any] = {}
    for f in fields(Config):
        if f.name not in params:
            continue
        value = _unattr(params[f.name])
        if f.name in ("pyflex_parameters", "pyadjoint_parameters") and \
                isinstance(value, str):
            value = json.loads(value)
        if f.name == "component_list" and isinstance(value, str):
            value = list(value)
        if f.name in ("zerophase", "remove_response", "rotate_to_rtz",
                      "save_to_ds"):
            value = bool(value)
        if f.name in ("iteration", "step_count", "filter_corners") and \
                value is not None:
            value = int(value)
        doc[f.name] = value
    return Config.from_dict(doc)


# ------------------------------------------------------------------- windows
def _window_dict(win: Any) -> dict[str, Any]:
    if isinstance(win, dict):
        return win
    from spark_seis.processing.window import window_to_dict
    return window_to_dict(win)


def write_windows(ds, windows: dict[str, list], path: str) -> int:
    """MisfitWindows/<path>/NET_STA_<comp>_<i>; returns windows written."""
    n = 0
    for comp, wins in windows.items():
        for i, win in enumerate(wins):
            w = _window_dict(win)
            net, sta, _loc, cha = w["channel_id"].split(".")
            tag = "_".join([net, sta, cha[-1] if cha else comp, str(i)])
            params = {k: _attr(v) for k, v in w.items()
                      if k != "phase_arrivals"}
            for ph in w.get("phase_arrivals", []):  # Pyatoa's flattening
                params[f"phase_arrival_{ph['name']}"] = float(ph["time"])
            params["phase_arrivals"] = json.dumps(w.get("phase_arrivals", []))
            full = f"{path}/{tag}"
            _aux_delete(ds, WINDOWS, full)
            ds.add_auxiliary_data(
                data=np.array([w["left_index"], w["right_index"]]),
                data_type=WINDOWS, path=full, parameters=params)
            n += 1
    return n


def read_windows(ds, network: str, station: str, path: str
                 ) -> dict[str, list[dict[str, Any]]]:
    """Windows of NET.STA at ``path`` as dicts (component -> list, by index)."""
    if not _aux_exists(ds, WINDOWS, path):
        return {}
    node = _aux_node(ds, WINDOWS, path)
    found: dict[str, list[tuple[int, dict]]] = {}
    prefix = f"{network}_{station}_"
    for name in node.list():
        # NET_STA_<comp>_<i>; codes may hold '_' themselves: match this station's
        # prefix and split the rest from the right
        rest = name[len(prefix):].split("_") if name.startswith(prefix) else []
        if len(rest) != 2 or not rest[1].isdigit():
            continue
        comp, idx = rest
        params = {k: _unattr(v) for k, v in node[name].parameters.items()
                  if not k.startswith("phase_arrival_")}
        arrivals = params.get("phase_arrivals")
        params["phase_arrivals"] = json.loads(arrivals) if arrivals else []
        for key in ("left_index", "right_index", "center_index",
                    "cc_shift_in_samples"):
            if params.get(key) is not None:
                params[key] = int(params[key])
        found.setdefault(comp, []).append((int(idx), params))
    return {c: [p for _i, p in sorted(v, key=lambda t: t[0])]
            for c, v in found.items()}


# ----------------------------------------------------------- adjoint sources
def adjoint_source_array(samples: np.ndarray, dt: float,
                         time_offset: float) -> np.ndarray:
    """(npts, 2) [time, amplitude]; pyadjoint's time-reversed samples are
    reversed back (forward time), as Pyatoa and SPECFEM expect."""
    samples = np.asarray(samples, dtype=np.float64)
    out = np.empty((len(samples), 2))
    out[:, 0] = np.arange(len(samples)) * dt + time_offset
    out[:, 1] = samples[::-1]
    return out


def write_adjoint_sources(ds, adjsrcs: dict[str, dict[str, Any]], path: str,
                          time_offset: float) -> int:
    """AdjointSources/<path>/NET_STA_<BXc>; returns sources written."""
    n = 0
    for comp, adj in adjsrcs.items():
        tag = "_".join([adj["network"], adj["station"], adj["component"]])
        params = {k: _attr(adj[k]) for k in (
            "adjsrc_type", "misfit", "dt", "component", "min_period",
            "max_period", "network", "station", "location", "starttime")}
        full = f"{path}/{tag}"
        _aux_delete(ds, ADJSRCS, full)
        ds.add_auxiliary_data(
            data=adjoint_source_array(adj["adjoint_source"], adj["dt"],
                                      time_offset),
            data_type=ADJSRCS, path=full, parameters=params)
        n += 1
    return n


def read_adjoint_sources(ds, network: str, station: str, path: str
                         ) -> dict[str, dict[str, Any]]:
    """Adjoint sources as dicts, samples back in pyadjoint's (reversed) order."""
    if not _aux_exists(ds, ADJSRCS, path):
        return {}
    node = _aux_node(ds, ADJSRCS, path)
    out = {}
    prefix = f"{network}_{station}_"
    for name in node.list():
        # NET_STA_<BXc>: only this station's, not those of a station "STA_X"
        if not name.startswith(prefix) or "_" in name[len(prefix):]:
            continue
        rec = node[name]
        params = {k: _unattr(v) for k, v in rec.parameters.items()}
        data = rec.data[()]
        params["adjoint_source"] = np.ascontiguousarray(data[:, 1][::-1])
        params["time_offset"] = float(data[0, 0])
        out[params["component"][-1]] = params
    return out


# ---------------------------------------------------------------- one shot
def write_station_result(ds, result, config: Config, event: Event | None = None,
                         inv: Inventory | None = None,
                         st_obs: Stream | None = None,
                         st_syn: Stream | None = None) -> None:
    """Everything of one StationResult (+ optional inputs) into ``ds``."""
    if event is not None:
        write_event(ds, event)
    if inv is not None:
        write_stationxml(ds, inv)
    if st_obs is not None:
        write_waveforms(ds, st_obs, config.observed_tag)
    if st_syn is not None:
        write_waveforms(ds, st_syn, config.synthetic_tag)
    if result.windows:
        write_windows(ds, result.windows, config.aux_path)
    if result.adjoint_sources:
        write_adjoint_sources(ds, result.adjoint_sources, config.aux_path,
                              result.time_offset_sec)
