"""Bundle three TimeSeries into a Seismogram and split one back.

Bundling is a processing step: inputs that cannot form a Seismogram yield a
dead Seismogram with the reason in its elog rather than an exception.
"""
from __future__ import annotations

from typing import Sequence

import numpy as np

from .errorlog import ErrorLog
from .metadata import Metadata
from .seismogram import Seismogram, orientation_angles, orientation_vector
from .timeseries import TimeSeries

# keys that describe one channel, not the three-component datum
CHANNEL_KEYS = frozenset({
    "chan", "channel_id", "hang", "vang", "npts", "wf_TimeSeries_id", "dfile", "dir",
    "foff", "nbytes", "format", "gridfs_id", "storage_mode", "channel_starttime",
    "channel_endtime",
})
_DEFAULT_ORIENTATION = {"E": (90.0, 90.0), "N": (0.0, 90.0), "Z": (0.0, 0.0)}
_ORDER = {"E": 0, "2": 0, "N": 1, "1": 1, "Z": 2, "3": 2}
ALGORITHM = "bundle_seismogram"


def _orientation(ts: TimeSeries) -> tuple[float, float] | None:
    if "hang" in ts and "vang" in ts:
        return float(ts["hang"]), float(ts["vang"])
    code = str(ts.get("chan", ""))[-1:].upper()
    return _DEFAULT_ORIENTATION.get(code)


def _merged_elog(members: Sequence[TimeSeries]) -> ErrorLog:
    """Entries of all members, each once (split copies one elog into all three)."""
    elog, seen = ErrorLog(), set()
    for member in members:
        for entry in member.elog:
            if entry not in seen:
                seen.add(entry)
                elog.extend([entry])
    return elog


def _dead(members: Sequence[TimeSeries], message: str) -> Seismogram:
    elog = _merged_elog(members)
    dt = members[0].dt if members else 1.0
    seis = Seismogram(dt=dt, npts=0, elog=elog,
                      metadata=_shared_metadata(members) if members else None)
    seis.kill(ALGORITHM, message)
    return seis


def _shared_metadata(members: Sequence[TimeSeries]) -> Metadata:
    first = members[0].metadata
    shared = {
        k: v for k, v in first.items()
        if k not in CHANNEL_KEYS and all(k in m.metadata and _same(m[k], v) for m in members[1:])
    }
    md = Metadata(shared)
    md.clear_modified()
    return md


def _same(a: object, b: object) -> bool:
    try:
        return bool(a == b)
    except ValueError:  # arrays
        return False


def bundle_seismogram(members: Sequence[TimeSeries], rtol: float = 1e-6) -> Seismogram:
    """Three live TimeSeries of one station -> Seismogram on their common span."""
    members = list(members)
    names = [str(m.get("chan", "?")) for m in members]
    if len(members) != 3:
        return _dead(members, f"need exactly 3 components, got {len(members)}: {names}")
    dead = [n for n, m in zip(names, members) if not m.live]
    if dead:
        return _dead(members, f"component(s) {dead} are dead")
    dts = [m.dt for m in members]
    if max(dts) - min(dts) > rtol * min(dts):
        return _dead(members, f"sampling intervals differ: {dict(zip(names, dts))}")
    if len({m.tref for m in members}) != 1:
        return _dead(members, "members mix UTC and relative time references")
    orientations = [_orientation(m) for m in members]
    if any(o is None for o in orientations):
        unknown = [n for n, o in zip(names, orientations) if o is None]
        return _dead(members, f"orientation unknown (no hang/vang) for channel(s) {unknown}")
    # E/N/Z (or 1/2/3) codes go in standard order; other components (R, T, L, Q ...)
    # keep the order given, so split_seismogram -> bundle_seismogram is an identity
    codes = [n[-1:].upper() for n in names]
    if all(c in _ORDER for c in codes):
        order = sorted(range(3), key=lambda i: _ORDER[codes[i]])
    else:
        order = [0, 1, 2]
    members = [members[i] for i in order]
    orientations = [orientations[i] for i in order]
    names = [names[i] for i in order]

    dt = members[0].dt
    t0 = max(m.t0 for m in members)
    # The common span in sample counts, not from end times: t0 + (n-1)*dt - t0 at an
    # epoch of 1.5e9 s is off by up to 2.4e-7 s, a flooring error that dropped the
    # last sample for 44% of trace lengths at 100 Hz.
    starts = [int(round((t0 - m.t0) / dt)) for m in members]
    npts = min(m.npts - start for m, start in zip(members, starts))
    if npts <= 0:
        return _dead(members, f"components {names} do not overlap in time")
    data = np.empty((3, npts))
    for row, (member, start) in enumerate(zip(members, starts)):
        data[row] = member.data[start:start + npts]
    tmatrix = np.array([orientation_vector(h, v) for h, v in orientations])
    elog = _merged_elog(members)
    metadata = _shared_metadata(members)
    metadata["channels"] = names
    seis = Seismogram(data, dt=dt, t0=t0, tmatrix=tmatrix,
                      components=tuple(n[-1:] for n in names), tref=members[0].tref,
                      metadata=metadata, elog=elog)
    if abs(np.linalg.det(tmatrix)) < 1e-6:
        seis.kill(ALGORITHM, f"channel orientations {orientations} are not independent")
    return seis


def split_seismogram(seis: Seismogram) -> list[TimeSeries]:
    """Seismogram -> 3 TimeSeries, one per current component, with hang/vang."""
    channels = list(seis.get("channels") or [])
    base = {k: v for k, v in seis.metadata.items() if k != "channels"}
    result = []
    for row, component in enumerate(seis.components):
        if len(channels) == 3 and channels[row][-1:] == component:
            chan = channels[row]
        else:
            prefix = channels[row][:-1] if len(channels) == 3 else ""
            chan = prefix + component
        hang, vang = orientation_angles(seis.tmatrix[row])
        md = Metadata(base)
        md.update(chan=chan, hang=hang, vang=vang)
        md.clear_modified()
        result.append(TimeSeries(seis.data[row].copy(), dt=seis.dt, t0=seis.t0, tref=seis.tref,
                                 metadata=md, live=seis.live, elog=ErrorLog(seis.elog)))
    return result
