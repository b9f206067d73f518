"""Give observed and synthetic streams one sampling rate and time span.

Follows Pyatoa's Manager.standardize so that windows match its results:
zero-pad (shift) obs if it starts after syn, resample only when rates
differ, trim to the reference stream, then pad/cut to equal npts.
"""
from __future__ import annotations

import numpy as np
from obspy import Stream
from obspy.core.event import Event

from spark_seis.processing.errors import StageError


def _zero_pad_front(st: Stream, seconds: float) -> Stream:
    for tr in st:
        n = int(seconds * tr.stats.sampling_rate)
        if n:
            tr.data = np.pad(tr.data, (n, 0), mode="constant")
        tr.stats.starttime -= seconds
    return st


def check_traces(st: Stream, name: str) -> Stream:
    """Refuse data no stage can use, naming the channel: empty traces,
    NaN/inf samples, and several traces of one channel that do not merge
    into one gap-free trace (gaps, overlaps with different samples,
    duplicates that disagree). Exact duplicates are merged (nothing lost)."""
    for tr in st:
        if tr.stats.npts == 0:
            raise StageError("standardize", f"{name} trace {tr.id} has no "
                             f"samples", "failed:no_data")
        if np.ma.isMaskedArray(tr.data):
            raise StageError("standardize", f"{name} trace {tr.id} has gaps "
                             f"(masked samples)")
        if not np.issubdtype(tr.data.dtype, np.number):
            raise StageError("standardize", f"{name} trace {tr.id} has "
                             f"non-numeric samples ({tr.data.dtype})")
        bad = np.count_nonzero(~np.isfinite(tr.data))
        if bad:
            raise StageError("standardize", f"{name} trace {tr.id} has {bad} "
                             f"non-finite (NaN/inf) samples")
    ids = [tr.id for tr in st]
    if len(set(ids)) == len(ids):
        return st
    merged = st.copy().merge(method=-1)
    for tr_id in sorted(set(ids)):
        pieces = merged.select(id=tr_id)
        if len(pieces) > 1 or np.ma.isMaskedArray(pieces[0].data):
            raise StageError(
                "standardize", f"{name} channel {tr_id} has {ids.count(tr_id)} "
                f"traces that do not merge into one (gaps, overlaps or "
                f"duplicates with different samples or sampling rates)")
    return merged


def standardize(st_obs: Stream, st_syn: Stream,
                standardize_to: str = "syn") -> tuple[Stream, Stream]:
    """Return copies of (obs, syn) with equal starttime, sampling rate, npts."""
    if not st_obs or not st_syn:
        raise StageError("standardize", "cannot standardize, observed or "
                         "synthetic stream is empty", "failed:no_data")
    obs = check_traces(st_obs, "observed").copy()
    syn = check_traces(st_syn, "synthetic").copy()
    for st, name in ((obs, "observed"), (syn, "synthetic")):
        if len({tr.stats.npts for tr in st}) != 1 or \
                len({tr.stats.sampling_rate for tr in st}) != 1:
            raise StageError("standardize", f"{name} traces differ in npts or "
                             f"sampling rate: {st}")

    dt_st = obs[0].stats.starttime - syn[0].stats.starttime
    if dt_st > 0:
        _zero_pad_front(obs, dt_st)

    ref, other = (syn, obs) if standardize_to == "syn" else (obs, syn)
    if ref[0].stats.sampling_rate != other[0].stats.sampling_rate:
        other.resample(ref[0].stats.sampling_rate)

    start, end = ref[0].stats.starttime, ref[0].stats.endtime
    other.trim(start, end)
    if not other or any(tr.stats.npts == 0 for tr in other):
        raise StageError("standardize", f"no overlap between observed and "
                         f"synthetic time spans ({start} - {end})",
                         "failed:no_data")
    for tr in other:
        shift = start - tr.stats.starttime
        if 0 < shift < tr.stats.sampling_rate:
            tr.stats.starttime = start

    npts = ref[0].stats.npts
    for tr in other:
        diff = npts - tr.stats.npts
        if diff > 0:
            tr.data = np.append(tr.data, np.zeros(diff))
        elif diff < 0:
            tr.data = tr.data[:diff]
    return obs, syn


def time_offset(st_syn: Stream, event: Event | None) -> float:
    """Seconds from event origin to first synthetic sample (SPECFEM t0)."""
    if not st_syn:
        return 0.0
    stats = st_syn[0].stats
    if hasattr(stats, "time_offset"):
        return float(stats.time_offset)
    if event is not None:
        origin = event.preferred_origin() or (event.origins[0] if event.origins
                                              else None)
        if origin is None or origin.time is None:
            raise StageError("metadata", f"event {event.resource_id} has no "
                             f"origin time", "failed:metadata")
        return float(stats.starttime - origin.time)
    return 0.0


def is_standardized(st_obs: Stream | None, st_syn: Stream | None) -> bool:
    """True when all traces share sampling rate, npts and starttime."""
    if not st_obs or not st_syn:
        return False
    ref = st_syn[0].stats
    return all(tr.stats.sampling_rate == ref.sampling_rate and
               tr.stats.npts == ref.npts and
               abs(tr.stats.starttime - ref.starttime) < 0.5 * ref.delta
               for tr in list(st_obs) + list(st_syn))
