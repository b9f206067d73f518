"""The event writer's ASDF output, written through h5py.

pyasdf spends most of a station's write in per-object bookkeeping (re-reading
the file's StationXML, checking tags, building accessors): ~30 ms per station
where the bytes take ~1 ms. This module writes the same layout directly with
h5py: the same group and dataset names, dtypes, values and attributes, so
pyasdf, Pyatoa and ``spark-seis plot`` read the file as one written by pyasdf
(tests/test_asdf_writer.py checks this against io/asdf_store.py). Only the
storage layout differs: samples and auxiliary arrays are contiguous (pyasdf
chunks them with a checksum, which costs ~half the bandwidth; ASDF does not
require it and nothing resizes them).

The attributes of every auxiliary entry come from ONE function per entry type
(``config_attributes``, ``window_attributes``, ``adjoint_source_attributes``),
so the attribute convention lives in one place.
"""
from __future__ import annotations

import io
import warnings
from typing import Any, Iterable

import numpy as np
from obspy import Inventory, Stream
from obspy.core.event import Event

from spark_seis.io.asdf_store import adjoint_source_array
from spark_seis.processing.config import Config

FORMAT_NAME = "ASDF"
_STR = np.dtype("O", metadata={"vlen": str})  # h5py.string_dtype(), without importing h5py
FORMAT_VERSION = "1.0.3"
WINDOWS = "MisfitWindows"
ADJSRCS = "AdjointSources"
CONFIGS = "Configs"
_TIME_FORMAT = "%Y-%m-%dT%H:%M:%S"


def _ascii(text: str) -> np.bytes_:
    """A zero-terminated ASCII attribute, as pyasdf stores its header strings."""
    return np.bytes_((text + "\x00").encode())


# ------------------------------------------------ attributes: one function per entry
# Pyatoa 0.4.2's attribute names and types live in io.asdf_store (one function per
# entry type); this writer and the pyasdf-based one share them.
from spark_seis.io.asdf_store import (  # noqa: E402
    adjoint_source_attributes, adjoint_source_tag, config_attributes, window_attributes,
    window_tag,
)


# ------------------------------------------------------------- entries
def window_entries(windows: dict[str, list]) -> list[tuple[str, np.ndarray, dict]]:
    """(name, [left, right], attributes) of every window of one station."""
    from spark_seis.io.asdf_store import _window_dict

    out = []
    for comp, wins in windows.items():
        for i, win in enumerate(wins):
            w = _window_dict(win)
            out.append((window_tag(w, comp, i), np.array([w["left_index"], w["right_index"]]),
                        window_attributes(w)))
    return out


def adjoint_source_entries(adjsrcs: dict[str, dict], time_offset: float
                           ) -> list[tuple[str, np.ndarray, dict]]:
    out = []
    for adj in adjsrcs.values():
        out.append((adjoint_source_tag(adj), adjoint_source_array(adj["adjoint_source"], adj["dt"], time_offset),
                    adjoint_source_attributes(adj)))
    return out


def stationxml_bytes(inv: Inventory) -> np.ndarray:
    """StationXML as pyasdf stores it (int8 bytes); any process may call it."""
    nsmap: dict[str, str] = {}
    for obj in [inv, *inv.networks, *(s for n in inv for s in n),
                *(c for n in inv for s in n for c in s)]:
        for k, v in getattr(obj, "extra", {}).items():
            nsmap[k] = v["namespace"]
    with io.BytesIO() as buf:
        inv.write(buf, format="stationxml", nsmap=nsmap)
        return np.frombuffer(buf.getvalue(), dtype=np.dtype("byte"))


def waveform_name(tr, tag: str) -> str:
    """pyasdf's dataset name of a trace: NET.STA.LOC.CHA__start__end__tag."""
    s, e = tr.stats.starttime, tr.stats.endtime
    start, end = s.strftime(_TIME_FORMAT), e.strftime(_TIME_FORMAT)
    if start == end:  # ASDF >= 1.0.2 adds nanoseconds then
        start += "." + "%09i" % (s._ns % int(1e9))
        end += "." + "%09i" % (e._ns % int(1e9))
    st = tr.stats
    return f"{st.network}.{st.station}.{st.location}.{st.channel}__{start}__{end}__{tag}"


# -------------------------------------------------------------- the writer
_TYPES: dict[Any, Any] = {}


def _attribute_array(value: Any) -> np.ndarray:
    """The array h5py's ``attrs[k] = value`` would store (same dtype)."""
    if isinstance(value, str):
        return np.array(value, dtype=_STR)
    if isinstance(value, bool):
        return np.array(value)
    if isinstance(value, float):
        return np.array(value, dtype=np.float64)
    if isinstance(value, int):
        return np.array(value)
    from h5py._hl.base import array_for_new_object

    return array_for_new_object(value)


def write_attributes(obj, attrs: dict[str, Any]) -> None:
    """``obj.attrs[k] = v`` for a new object, through h5py's low-level calls.

    Values get the HDF5 types ``AttributeManager.__setitem__`` gives them (the
    writer test compares the two), without its per-call bookkeeping, which is
    most of an auxiliary entry's write time (~40 attributes per window).
    """
    import h5py

    for key, value in attrs.items():
        data = _attribute_array(value)
        types = _TYPES.get(data.dtype)
        if types is None:  # (file type, memory type) as AttributeManager.create uses
            types = _TYPES[data.dtype] = (h5py.h5t.py_create(data.dtype, logical=True),
                                          h5py.h5t.py_create(data.dtype))
        attr = h5py.h5a.create(obj.id, key.encode(), types[0],
                               h5py.h5s.create_simple(data.shape))
        attr.write(data, mtype=types[1])


class EventFileWriter:
    """Writes one event's ASDF file through an open, writable ``h5py.File``."""

    def __init__(self, h5) -> None:
        self.h5 = h5
        if "file_format" not in h5.attrs:
            h5.attrs["file_format"] = _ascii(FORMAT_NAME)
        if "file_format_version" not in h5.attrs:
            h5.attrs["file_format_version"] = _ascii(FORMAT_VERSION)
        for group in ("Waveforms", "Provenance", "AuxiliaryData"):
            h5.require_group(group)

    def _dataset(self, group, name: str, data: np.ndarray, extendable: bool = False):
        """Contiguous datasets for samples and auxiliary arrays (never resized: the
        layout raw h5py writes at full speed); QuakeML and StationXML extendable
        and checksummed as pyasdf makes them, since pyasdf resizes those in place."""
        if extendable:
            return group.create_dataset(name, data=data, maxshape=(None,) * data.ndim,
                                        fletcher32=True)
        return group.create_dataset(name, data=data)

    # --- event and station metadata
    def write_event(self, event: Event) -> None:
        """Add the event's QuakeML unless an event with its id is there (pyasdf's rule)."""
        from obspy import read_events
        from obspy.core.event import Catalog

        existing = self.h5.get("QuakeML")
        catalog = Catalog()
        if existing is not None and existing.shape[0]:
            catalog = read_events(io.BytesIO(existing[()].tobytes()), format="quakeml")
            if str(event.resource_id) in {str(e.resource_id) for e in catalog}:
                return
        catalog.append(event)
        with io.BytesIO() as buf:
            catalog.write(buf, format="quakeml")
            data = np.frombuffer(buf.getvalue(), dtype=np.dtype("byte"))
        if existing is None:
            self._dataset(self.h5, "QuakeML", data, extendable=True)
        else:
            existing.resize(data.shape)
            existing[:] = data

    def write_stationxml(self, code: str, data: np.ndarray) -> None:
        """Waveforms/<NET.STA>/StationXML from ``stationxml_bytes``; replaced if there."""
        group = self.h5["Waveforms"].require_group(code)
        if "StationXML" in group:
            group["StationXML"].resize(data.shape)
            group["StationXML"][:] = data
        else:
            self._dataset(group, "StationXML", data, extendable=True)

    # --- waveforms
    def write_waveforms(self, st: Stream, tag: str) -> int:
        """Add traces under ``tag``; a trace already stored under its name is kept."""
        waveforms = self.h5["Waveforms"]
        n = 0
        for tr in st:
            group = waveforms.require_group(f"{tr.stats.network}.{tr.stats.station}")
            name = waveform_name(tr, tag)
            if name in group:
                continue
            dset = self._dataset(group, name, np.ascontiguousarray(tr.data))
            write_attributes(dset, {
                "starttime": int(round(tr.stats.starttime.timestamp * 1.0e9)),
                "sampling_rate": tr.stats.sampling_rate})
            n += 1
        return n

    # --- auxiliary data
    def _aux(self, data_type: str, path: str, entries: Iterable[tuple[str, np.ndarray, dict]]
             ) -> int:
        group = self.h5["AuxiliaryData"].require_group(data_type)
        n = 0
        for name, data, attrs in entries:
            full = f"{path}/{name}" if name else path
            try:
                dset = self._dataset(group, full, data)
            except ValueError:  # already there (callers normally removed it): replace
                del group[full]
                dset = self._dataset(group, full, data)
            write_attributes(dset, attrs)
            n += 1
        return n

    def write_config(self, config: Config, path: str | None = None) -> None:
        self._aux(CONFIGS, path or config.aux_path,
                  [("", np.array([True]), config_attributes(config))])

    def write_windows(self, windows: dict[str, list], path: str) -> int:
        return self._aux(WINDOWS, path, window_entries(windows))

    def write_adjoint_sources(self, adjsrcs: dict[str, dict], path: str,
                              time_offset: float) -> int:
        return self._aux(ADJSRCS, path, adjoint_source_entries(adjsrcs, time_offset))

    def write_station_result(self, result, config: Config, stationxml: np.ndarray | None = None,
                             st_obs: Stream | None = None, st_syn: Stream | None = None
                             ) -> None:
        """Everything of one StationResult (+ its inputs) into the file."""
        if stationxml is not None:
            self.write_stationxml(result.code, stationxml)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            if st_obs is not None:
                self.write_waveforms(st_obs, config.observed_tag)
            if st_syn is not None:
                self.write_waveforms(st_syn, config.synthetic_tag)
        if result.windows:
            self.write_windows(result.windows, config.aux_path)
        if result.adjoint_sources:
            self.write_adjoint_sources(result.adjoint_sources, config.aux_path,
                                       result.time_offset_sec)


def copy_staged(source, target) -> int:
    """Copy a staged file's stations and auxiliary entries into the event file.

    Whole groups are copied in one HDF5 call where the target lacks them (the
    usual case: a new evaluation, new stations); otherwise entry by entry. A
    trace or StationXML the target already holds is kept (the same rule as
    ``write_waveforms``); an auxiliary entry is replaced.
    """
    n = 0
    waveforms = target.require_group("Waveforms")
    for code, station in source.get("Waveforms", {}).items():
        if code not in waveforms:
            target.copy(station, waveforms, name=code)
            n += 1
            continue
        existing = waveforms[code]
        for name, obj in station.items():
            if name not in existing:
                target.copy(obj, existing, name=name)
                n += 1
    aux_source = source.get("AuxiliaryData")
    if aux_source is None:
        return n
    aux = target.require_group("AuxiliaryData")

    def merge(src, dst_parent, name):
        nonlocal n
        if name not in dst_parent:
            target.copy(src, dst_parent, name=name)
            n += 1
        elif hasattr(src, "items") and hasattr(dst_parent[name], "items"):
            for child, obj in src.items():
                merge(obj, dst_parent[name], child)
        else:
            del dst_parent[name]
            target.copy(src, dst_parent, name=name)
            n += 1

    for data_type, group in aux_source.items():
        merge(group, aux, data_type)
    return n
