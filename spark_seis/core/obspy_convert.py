"""Converters between spark_seis objects and ObsPy Trace/Stream.

Everything ObsPy has no field for (our metadata, live flag, elog, history,
time reference) rides in ``trace.stats.spark_seis`` so a round trip is lossless.
"""
from __future__ import annotations

from typing import Any

import numpy as np
from obspy import Stream, Trace, UTCDateTime
from obspy.core.util import AttribDict

from .bundle import bundle_seismogram, split_seismogram
from .ensemble import SeismogramEnsemble, TimeSeriesEnsemble
from .errorlog import ErrorLog
from .history import ProcessingHistory
from .metadata import Metadata
from .seismogram import Seismogram
from .timeseries import TimeSeries

_SEED_KEYS = {"network": "net", "station": "sta", "location": "loc", "channel": "chan"}
_OBSPY_DERIVED = {"npts", "delta", "sampling_rate", "starttime", "endtime", "calib",
                  "_format", "processing"}
EXTRA = "spark_seis"


def _plain(value: Any) -> Any:
    """AttribDict/UTCDateTime -> plain Python types storable in a database."""
    if isinstance(value, (AttribDict, dict)):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, UTCDateTime):
        return value.timestamp
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, np.generic):
        return value.item()
    return value


def timeseries_to_trace(ts: TimeSeries) -> Trace:
    trace = Trace(data=ts.data)
    stats = trace.stats
    stats.delta = ts.dt
    stats.starttime = UTCDateTime(ts.t0)
    for obspy_key, our_key in _SEED_KEYS.items():
        if our_key in ts.metadata:
            stats[obspy_key] = str(ts.metadata[our_key])
    stats[EXTRA] = AttribDict({
        "metadata": dict(ts.metadata),
        "modified": sorted(ts.metadata.modified()),
        "tref": ts.tref,
        # exact time base: UTCDateTime keeps nanoseconds only
        "t0": ts.t0,
        "dt": ts.dt,
        "live": ts.live,
        "elog": ts.elog.to_list(),
        "history": None if ts.history is None else ts.history.to_list(),
        "history_job": None if ts.history is None else ts.history.job_name,
    })
    return trace


def trace_to_timeseries(trace: Trace) -> TimeSeries:
    """Trace -> TimeSeries; non-finite samples give a dead datum, not an error."""
    stats = trace.stats
    extra = stats.get(EXTRA)
    if extra:
        metadata = Metadata._restore(dict(extra["metadata"]), extra.get("modified", ()))
        tref, live = extra.get("tref", "UTC"), bool(extra.get("live", True))
        elog = ErrorLog.from_list(extra.get("elog") or [])
        history = (None if extra.get("history") is None else ProcessingHistory.from_list(
            extra["history"], extra.get("history_job") or "spark_seis"))
    else:
        metadata = Metadata()
        for key, value in stats.items():
            if key not in _OBSPY_DERIVED and key not in _SEED_KEYS and key != EXTRA:
                metadata[key] = _plain(value)
        tref, live, elog, history = "UTC", True, ErrorLog(), None
        metadata.clear_modified()
    for obspy_key, our_key in _SEED_KEYS.items():
        value = str(stats[obspy_key])
        if value or our_key in metadata:  # ObsPy fills missing codes with ""
            dict.__setitem__(metadata, our_key, value)
    data = np.asarray(trace.data, dtype=np.float64)
    bad = ~np.isfinite(data)
    if bad.any():
        data = np.where(bad, 0.0, data)
        elog.log("trace_to_timeseries",
                 f"{trace.id}: {int(bad.sum())} non-finite samples (NaN/inf)", "Invalid")
        live = False
    dt, t0 = float(stats.delta), float(stats.starttime.timestamp)
    if extra:
        # the exact values, unless ObsPy processing moved the start or resampled
        if extra.get("t0") is not None and abs(float(extra["t0"]) - t0) < 1e-6:
            t0 = float(extra["t0"])
        if extra.get("dt") is not None and abs(float(extra["dt"]) - dt) <= 1e-12 * dt:
            dt = float(extra["dt"])
    return TimeSeries(data, dt=dt, t0=t0, tref=tref, metadata=metadata, live=live,
                      elog=elog, history=history)


def ensemble_to_stream(ensemble: TimeSeriesEnsemble) -> Stream:
    stream = Stream([timeseries_to_trace(ts) for ts in ensemble])
    return stream


def stream_to_ensemble(stream: Stream) -> TimeSeriesEnsemble:
    return TimeSeriesEnsemble(trace_to_timeseries(tr) for tr in stream)


def seismogram_to_stream(seis: Seismogram) -> Stream:
    return Stream([timeseries_to_trace(ts) for ts in split_seismogram(seis)])


def stream_to_seismogram(stream: Stream) -> Seismogram:
    """Three traces of one station -> Seismogram (dead if they cannot be bundled)."""
    return bundle_seismogram([trace_to_timeseries(tr) for tr in stream])


def seismogram_ensemble_to_stream(ensemble: SeismogramEnsemble) -> Stream:
    stream = Stream()
    for seis in ensemble:
        stream += seismogram_to_stream(seis)
    return stream
