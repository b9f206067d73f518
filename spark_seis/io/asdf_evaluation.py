"""One evaluation (iteration/step) inside an event's ASDF file, at the HDF5 level.

An inversion keeps every evaluation (``i01/s00``, ``i01/s01``, ...) of an event
in one file, as Pyatoa does. A writer must replace exactly the entries of the
evaluation it writes and nothing else:

    AuxiliaryData/MisfitWindows/<aux_path>/...
    AuxiliaryData/AdjointSources/<aux_path>/...
    AuxiliaryData/Configs/<aux_path>
    Waveforms/<NET.STA>/<trace>__<start>__<end>__<synthetic tag>

These functions work on an open ``h5py.File`` (or a path) so that they cost the
number of entries of one evaluation, not the size of the file.
"""
from __future__ import annotations

from pathlib import Path
from typing import Iterable

AUX = "AuxiliaryData"
PER_STATION_TYPES = ("MisfitWindows", "AdjointSources")
CONFIGS = "Configs"


def _station_prefix(code: str) -> str:
    """'NZ.BFZ' -> 'NZ_BFZ_' (Pyatoa's auxiliary entry names start with it)."""
    net, sta = code.split(".", 1)
    return f"{net}_{sta}_"


def _waveform_entries(h5, tag: str, stations: Iterable[str] | None) -> list[str]:
    group = h5.get("Waveforms")
    if group is None:
        return []
    names = sorted(group) if stations is None else sorted(set(stations) & set(group))
    suffix = f"__{tag}"
    out = []
    for name in names:
        out.extend(f"Waveforms/{name}/{trace}" for trace in group[name]
                   if trace.endswith(suffix))
    return out


def evaluation_entries(h5, aux_path: str, synthetic_tag: str,
                       stations: Iterable[str] | None = None,
                       include_config: bool = True) -> list[str]:
    """HDF5 paths that belong to this evaluation (of ``stations`` only, if given).

    With ``stations=None`` the whole evaluation: its auxiliary groups, its
    Config and every trace with its synthetic tag.
    """
    stations = None if stations is None else sorted(set(stations))
    out: list[str] = []
    for data_type in PER_STATION_TYPES:
        path = f"{AUX}/{data_type}/{aux_path}"
        if path not in h5:
            continue
        if stations is None:
            out.append(path)
            continue
        prefixes = tuple(_station_prefix(code) for code in stations)
        out.extend(f"{path}/{name}" for name in h5[path] if name.startswith(prefixes))
    if include_config and f"{AUX}/{CONFIGS}/{aux_path}" in h5:
        out.append(f"{AUX}/{CONFIGS}/{aux_path}")
    out.extend(_waveform_entries(h5, synthetic_tag, stations))
    return out


def remove_evaluation(h5, aux_path: str, synthetic_tag: str,
                      stations: Iterable[str] | None = None,
                      include_config: bool = True) -> int:
    """Delete this evaluation's entries (see ``evaluation_entries``); returns how many."""
    entries = evaluation_entries(h5, aux_path, synthetic_tag, stations, include_config)
    for entry in entries:
        del h5[entry]
    return len(entries)


def stations_with_entries(h5, aux_path: str, synthetic_tag: str) -> dict[str, set[str]]:
    """Per station code 'NET.STA': which of this evaluation's outputs it has.

    Kinds: 'MisfitWindows', 'AdjointSources', 'synthetic'. Auxiliary names are
    matched against the station groups of the file, so codes containing '_'
    are attributed correctly.
    """
    found: dict[str, set[str]] = {}
    waveforms = h5.get("Waveforms")
    codes = sorted(waveforms) if waveforms is not None else []
    by_prefix = sorted(((_station_prefix(c), c) for c in codes if "." in c),
                       key=lambda pc: -len(pc[0]))
    for data_type in PER_STATION_TYPES:
        path = f"{AUX}/{data_type}/{aux_path}"
        if path not in h5:
            continue
        for name in h5[path]:
            for prefix, code in by_prefix:
                if name.startswith(prefix):
                    found.setdefault(code, set()).add(data_type)
                    break
    suffix = f"__{synthetic_tag}"
    for code in codes:
        if any(trace.endswith(suffix) for trace in waveforms[code]):
            found.setdefault(code, set()).add("synthetic")
    return found


def read_config_attributes(path: str | Path, aux_path: str) -> dict | None:
    """Attributes of Configs/<aux_path> in an ASDF file, or None if absent."""
    import h5py

    with h5py.File(path, "r") as h5:
        node = h5.get(f"{AUX}/{CONFIGS}/{aux_path}")
        return None if node is None else {k: node.attrs[k] for k in node.attrs}
