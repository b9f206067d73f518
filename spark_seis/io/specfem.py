"""SPECFEM ASCII I/O: read .semd synthetics, write .adj adjoint sources."""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Iterable

import numpy as np
from obspy import Stream, Trace, UTCDateTime

# decimals of the time step, as pysep's read_sem(precision=4) used by Pyatoa
SEMD_DT_DECIMALS = 4


def read_semd(path: str | os.PathLike, origintime: UTCDateTime | None = None
              ) -> Stream:
    """One SPECFEM two-column trace ('NET.STA.CHA.semd') as an ObsPy Stream.

    Codes come from the file name. The first time value is the offset of the
    first sample from the origin (SPECFEM t0); it is kept in
    ``stats.time_offset``. Without ``origintime`` the origin is epoch 0.
    """
    path = Path(path)
    parts = path.name.split(".")
    if len(parts) < 4:
        raise ValueError(f"{path.name}: expected NET.STA.CHA.sem? file name")
    net, sta, cha = parts[0], parts[1], parts[2]
    arr = np.loadtxt(path, dtype=np.float64)
    if arr.ndim != 2 or arr.shape[1] != 2 or len(arr) < 2:
        raise ValueError(f"{path}: expected two columns (time, amplitude)")
    times, data = arr[:, 0], np.ascontiguousarray(arr[:, 1])
    steps = np.diff(times)
    if not np.all(steps > 0):
        row = int(np.argmax(~(steps > 0))) + 2
        raise ValueError(f"{path}: time column does not increase at row {row} "
                         f"({float(times[row - 2])} then {float(times[row - 1])})")
    dt = semd_sampling_interval(times)
    t0 = float(times[0])
    origin = origintime if origintime is not None else UTCDateTime(0)
    tr = Trace(data=data, header={"network": net, "station": sta,
                                  "location": "", "channel": cha,
                                  "delta": dt, "starttime": origin + t0})
    tr.stats.time_offset = t0
    return Stream([tr])


def semd_sampling_interval(times: np.ndarray) -> float:
    """Time step of a SPECFEM time column, derived as Pyatoa (pysep's
    ``read_sem``) derives it: ``round(t[1] - t[0], 4)``.

    SPECFEM writes the time column in single precision (``-19.9874992``), so
    the mean spacing is off in the 8th digit (0.0124999995 for 0.0125); that
    small error forces a resample and moves window edges by a sample. The
    same rule as Pyatoa's keeps results of both tools identical.
    """
    return float(round(float(times[1]) - float(times[0]), SEMD_DT_DECIMALS))


def read_semd_station(files: Iterable[str | os.PathLike],
                      origintime: UTCDateTime | None = None) -> Stream:
    st = Stream()
    for f in sorted(files):
        st += read_semd(f, origintime)
    return st


def write_adjoint_source(directory: str | os.PathLike, adj: dict[str, Any],
                         time_offset: float) -> Path:
    """Write 'NET.STA.BXc.adj' (time, amplitude) as SPECFEM reads it.

    ``adj['adjoint_source']`` is pyadjoint's time-reversed array; the file
    holds it in forward time, like pyadjoint's own SPECFEM writer.
    """
    from spark_seis.io.asdf_store import adjoint_source_array

    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    name = f"{adj['network']}.{adj['station']}.{adj['component']}.adj"
    arr = adjoint_source_array(adj["adjoint_source"], adj["dt"], time_offset)
    tmp = directory / f".{name}.{os.getpid()}.tmp"
    # same bytes as np.savetxt(tmp, arr), one format call instead of one per row
    tmp.write_text(("%.18e %.18e\n" * len(arr)) % tuple(arr.ravel()))
    os.replace(tmp, directory / name)
    return directory / name


def write_adjoint_sources(directory: str | os.PathLike,
                          adjsrcs: dict[str, dict[str, Any]],
                          time_offset: float,
                          components: Iterable[str] = ("E", "N", "Z"),
                          write_blanks: bool = True) -> list[Path]:
    """All components; zero traces for components without a source, as
    SPECFEM needs all three (Pyatoa's ``write_blanks``)."""
    paths = [write_adjoint_source(directory, a, time_offset)
             for a in adjsrcs.values()]
    if write_blanks and adjsrcs:
        tmpl = next(iter(adjsrcs.values()))
        for comp in components:
            if comp in adjsrcs:
                continue
            blank = dict(tmpl, adjoint_source=np.zeros_like(
                tmpl["adjoint_source"]), component=tmpl["component"][:-1] + comp)
            paths.append(write_adjoint_source(directory, blank, time_offset))
    return paths
