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
# Keys Pyatoa 0.4.2 stores as they are (``vars(Config)`` minus the pyflex and
# pyadjoint Config objects, which it flattens to pyflex_config_* and
# pyadjoint_config_*). Its synthetic-tag override is stored as ``_synthetic_tag``:
# an attribute named ``synthetic_tag`` makes Pyatoa's Config(ds=, path=) raise.
PYATOA_CONFIG_KEYS = ("iteration", "step_count", "event_id", "min_period",
                      "max_period", "rotate_to_rtz", "unit_output", "observed_tag",
                      "_synthetic_tag", "adj_src_type", "st_obs_type", "st_syn_type",
                      "win_amp_ratio", "component_list")
# Our keys Pyatoa does not store, with the value Pyatoa uses when they are absent
# (Manager.preprocess defaults: no response removal, 2 corners, zero-phase,
# 5 % taper; ObsPy's 60 dB water level; flow() standardizes to the synthetics).
PYATOA_ABSENT_DEFAULTS: dict[str, Any] = {
    "remove_response": False, "filter_corners": 2, "zerophase": True,
    "taper_percentage": 0.05, "water_level": 60.0, "standardize_to": "syn",
    "save_to_ds": True, "pyflex_preset": "default",
}
_PYFLEX_PREFIX, _PYADJOINT_PREFIX = "pyflex_config_", "pyadjoint_config_"


def config_attributes(config: Config) -> dict[str, Any]:
    """Attributes of the Configs/<path> entry, named and typed as Pyatoa 0.4.2
    writes them, plus our processing keys (which Pyatoa reads as plain
    attributes and ignores). Shared by every writer of Configs entries."""
    attrs: dict[str, Any] = {}
    for key in PYATOA_CONFIG_KEYS:
        value = (config.synthetic_tag_override if key == "_synthetic_tag"
                 else getattr(config, key))
        if key == "component_list":
            value = np.array(list(value), dtype=object)  # vlen strings, as Pyatoa
        attrs[key] = "None" if value is None else value
    for key in PYATOA_ABSENT_DEFAULTS:
        attrs[key] = _attr(getattr(config, key))
    if config.pyflex_preset is not None:
        for k, v in vars(config.pyflex_config()).items():
            attrs[f"{_PYFLEX_PREFIX}{k}"] = "" if v is None else _attr(v)
    if config.adj_src_type is not None:
        for k, v in vars(config.pyadjoint_config()).items():
            attrs[f"{_PYADJOINT_PREFIX}{k}"] = "" if v is None else _attr(v)
    return attrs


def _native(value: Any) -> Any:
    """An attribute as Pyatoa reads it back: '' and 'None' -> None."""
    value = _unattr(value)
    if isinstance(value, str) and value in ("", "None"):
        return None
    return value


def _changed(stored: dict[str, Any], defaults: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in stored.items()
            if k not in defaults or defaults[k] != v}


def config_from_attributes(attrs: dict[str, Any], where: str = "Configs",
                           notes: list[str] | None = None) -> Config:
    """Config from a Configs entry written by Pyatoa 0.4.2 or by spark_seis.

    Every pyflex_config_* / pyadjoint_config_* value is kept (as overrides of
    the defaults); ``_synthetic_tag`` (and our old ``synthetic_tag``) is the
    synthetic-tag override. Keys Pyatoa never stores take Pyatoa's defaults
    (``PYATOA_ABSENT_DEFAULTS``, e.g. no response removal) and each one is
    reported in ``notes`` (the caller puts them in an elog, or they are
    raised as a warning) — never silently.
    """
    import pyadjoint
    import pyflex

    from spark_seis.processing.config import PYFLEX_PRESETS

    params = {k: _native(v) for k, v in attrs.items()}
    doc: dict[str, Any] = {}
    for key in ("iteration", "step_count", "event_id", "min_period", "max_period",
                "rotate_to_rtz", "unit_output", "observed_tag", "st_obs_type",
                "st_syn_type", "win_amp_ratio", "component_list"):
        if params.get(key) is not None:
            doc[key] = params[key]
    for key in ("iteration", "step_count"):
        if key in doc:
            doc[key] = int(doc[key])
    if isinstance(doc.get("component_list"), str):
        doc["component_list"] = list(doc["component_list"])
    if "rotate_to_rtz" in doc:
        doc["rotate_to_rtz"] = bool(doc["rotate_to_rtz"])
    override = params.get("_synthetic_tag")
    if override is None and params.get("synthetic_tag") is not None:
        override = params["synthetic_tag"]  # files of spark_seis < 0.2
    doc["synthetic_tag_override"] = override

    absent = []
    for key, default in PYATOA_ABSENT_DEFAULTS.items():
        if key in params:
            doc[key] = params[key]
        else:
            doc[key] = default
            absent.append(f"{key}={default!r}")
    for key in ("remove_response", "zerophase", "save_to_ds"):
        doc[key] = bool(doc[key])
    doc["filter_corners"] = int(doc["filter_corners"])

    pyflex_stored = {k[len(_PYFLEX_PREFIX):]: v for k, v in params.items()
                     if k.startswith(_PYFLEX_PREFIX)}
    preset = doc["pyflex_preset"]
    if pyflex_stored and preset is not None:
        base = vars(pyflex.Config(min_period=doc.get("min_period", 10.0),
                                  max_period=doc.get("max_period", 100.0),
                                  **PYFLEX_PRESETS.get(preset, {})))
        pyflex_stored.pop("min_period", None), pyflex_stored.pop("max_period", None)
        doc["pyflex_parameters"] = _changed(pyflex_stored, base)
        if preset not in PYFLEX_PRESETS:
            doc["pyflex_preset"] = "default"

    pyadjoint_stored = {k[len(_PYADJOINT_PREFIX):]: v for k, v in params.items()
                        if k.startswith(_PYADJOINT_PREFIX)}
    adj_type = pyadjoint_stored.pop("adjsrc_type", None) or params.get("adj_src_type")
    doc["adj_src_type"] = adj_type
    if adj_type is not None and pyadjoint_stored:
        for k in ("min_period", "max_period", "double_difference"):
            pyadjoint_stored.pop(k, None)
        base = vars(pyadjoint.get_config(adjsrc_type=adj_type,
                                         min_period=doc.get("min_period", 10.0),
                                         max_period=doc.get("max_period", 100.0)))
        doc["pyadjoint_parameters"] = _changed(pyadjoint_stored, base)
    if absent:
        message = (f"{where}: keys Pyatoa does not store are absent; using Pyatoa's "
                   f"defaults {', '.join(absent)}")
        if "remove_response=False" in absent:
            message += (" (no instrument response removal, as Pyatoa's preprocess: "
                        "set remove_response: true if the observed data are raw counts)")
        if notes is None:
            warnings.warn(message, UserWarning, stacklevel=2)
        else:
            notes.append(message)
    return Config.from_dict(doc)


def write_config(ds, config: Config, path: str | None = None) -> None:
    """Store the Config at Configs/<aux_path> exactly as Pyatoa 0.4.2 does
    (see ``config_attributes``); an existing entry there is replaced."""
    path = path or config.aux_path
    _aux_delete(ds, CONFIGS, path)
    ds.add_auxiliary_data(data=np.array([True]), data_type=CONFIGS,
                          path=path, parameters=config_attributes(config))


class ConfigNotFoundError(KeyError):
    """No Configs entry at the requested path of an ASDF file."""

    def __str__(self) -> str:
        return str(self.args[0])


def config_paths(ds) -> list[str]:
    """Every Configs/<path> entry of the file ('default', 'i01/s00', ...)."""
    if CONFIGS not in ds._auxiliary_data_group:
        return []
    out: list[str] = []
    ds._auxiliary_data_group[CONFIGS].visititems(
        lambda name, obj: out.append(name) if hasattr(obj, "dtype") else None)
    return sorted(out)


def read_config(ds, path: str = "default", notes: list[str] | None = None) -> Config:
    """Config stored at Configs/<path> by Pyatoa 0.4.2 or spark_seis.

    Raises ConfigNotFoundError naming the file, the path and the paths that
    exist. ``notes`` collects what was assumed for absent keys (else warned).
    """
    if not _aux_exists(ds, CONFIGS, path):
        have = config_paths(ds)
        raise ConfigNotFoundError(
            f"{getattr(ds, 'filename', 'dataset')}: no Config at Configs/{path}; "
            f"stored Config paths: {have or 'none'}")
    params = dict(_aux_node(ds, CONFIGS, path).parameters)
    return config_from_attributes(params, where=f"Configs/{path}", notes=notes)


# ------------------------------------------------------------------- windows
def _window_dict(win: Any) -> dict[str, Any]:
    if isinstance(win, dict):
        return win
    from spark_seis.processing.window import window_to_dict
    return window_to_dict(win)


def window_tag(window: dict[str, Any], component: str, index: int) -> str:
    """'NET_STA_<comp>_<i>', the MisfitWindows entry name Pyatoa uses."""
    net, sta, _loc, cha = window["channel_id"].split(".")
    return "_".join([net, sta, cha[-1] if cha else component, str(index)])


def window_attributes(window: Any) -> dict[str, Any]:
    """Attributes of a MisfitWindows entry as Pyatoa 0.4.2 writes them
    (pyflex's JSON content, times as strings, phase arrivals flattened to
    ``phase_arrival_<name>``), plus ``phase_arrivals`` as JSON so that the
    arrivals' full records survive a round trip (Pyatoa ignores it)."""
    w = _window_dict(window)
    attrs = {k: _attr(v) for k, v in w.items() if k != "phase_arrivals"}
    for ph in w.get("phase_arrivals", []):  # Pyatoa's flattening
        attrs[f"phase_arrival_{ph['name']}"] = float(ph["time"])
    attrs["phase_arrivals"] = json.dumps(w.get("phase_arrivals", []))
    return attrs


def write_windows(ds, windows: dict[str, list], path: str) -> int:
    """MisfitWindows/<path>/NET_STA_<comp>_<i>; returns windows written."""
    n = 0
    for comp, wins in windows.items():
        for i, win in enumerate(wins):
            w = _window_dict(win)
            full = f"{path}/{window_tag(w, comp, i)}"
            _aux_delete(ds, WINDOWS, full)
            ds.add_auxiliary_data(
                data=np.array([w["left_index"], w["right_index"]]),
                data_type=WINDOWS, path=full, parameters=window_attributes(w))
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
        raw = {k: _unattr(v) for k, v in node[name].parameters.items()}
        params = {k: v for k, v in raw.items() if not k.startswith("phase_arrival_")}
        arrivals = params.get("phase_arrivals")
        params["phase_arrivals"] = json.loads(arrivals) if arrivals else [
            {"name": k[len("phase_arrival_"):], "time": float(v)}
            for k, v in raw.items() if k.startswith("phase_arrival_")]
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


def adjoint_source_tag(adj: dict[str, Any]) -> str:
    """'NET_STA_<BXc>', the AdjointSources entry name Pyatoa uses."""
    return "_".join([adj["network"], adj["station"], adj["component"]])


def adjoint_source_attributes(adj: dict[str, Any]) -> dict[str, Any]:
    """Attributes of an AdjointSources entry, named and typed as Pyatoa 0.4.2
    writes them (``adj_src_type``; a missing period is the string 'None')."""
    attrs = {"adj_src_type": adj.get("adj_src_type", adj.get("adjsrc_type"))}
    for key in ("misfit", "dt", "component", "min_period", "max_period",
                "network", "station", "location", "starttime"):
        attrs[key] = _attr(adj[key])
    return attrs


def write_adjoint_sources(ds, adjsrcs: dict[str, dict[str, Any]], path: str,
                          time_offset: float) -> int:
    """AdjointSources/<path>/NET_STA_<BXc>; returns sources written."""
    n = 0
    for comp, adj in adjsrcs.items():
        full = f"{path}/{adjoint_source_tag(adj)}"
        _aux_delete(ds, ADJSRCS, full)
        ds.add_auxiliary_data(
            data=adjoint_source_array(adj["adjoint_source"], adj["dt"],
                                      time_offset),
            data_type=ADJSRCS, path=full, parameters=adjoint_source_attributes(adj))
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
        # Pyatoa writes adj_src_type; spark_seis < 0.2 wrote adjsrc_type
        params["adjsrc_type"] = params.pop("adj_src_type", params.get("adjsrc_type"))
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
