"""ObsPy converters and bundling on the real NZ.BFZ MiniSEED."""
from __future__ import annotations

import numpy as np
import obspy
import pytest

from conftest import NZ_DATA
from spark_seis.core import TimeSeries, bundle_seismogram, split_seismogram
from spark_seis.core.obspy_convert import (
    ensemble_to_stream, seismogram_to_stream, stream_to_ensemble, stream_to_seismogram,
    timeseries_to_trace, trace_to_timeseries,
)


@pytest.fixture(scope="module")
def nz_stream():
    return obspy.read(str(NZ_DATA / "mseed" / "*"))


def test_trace_to_timeseries_keeps_seed_ids_time_and_samples(nz_stream):
    trace = nz_stream.select(channel="HHZ")[0]
    ts = trace_to_timeseries(trace)
    assert (ts["net"], ts["sta"], ts["loc"], ts["chan"]) == ("NZ", "BFZ", "10", "HHZ")
    assert ts.npts == trace.stats.npts == 37001
    assert ts.dt == pytest.approx(0.01)
    assert ts.t0 == pytest.approx(trace.stats.starttime.timestamp)
    np.testing.assert_array_equal(ts.data, trace.data.astype(float))
    assert ts["mseed"]["encoding"] == trace.stats.mseed.encoding
    assert ts.metadata.modified() == set()


def test_timeseries_trace_round_trip_is_lossless(nz_stream):
    ts = trace_to_timeseries(nz_stream[0])
    ts["source_id"] = "2018p130600"
    ts.enable_history("job")
    ts.record("detrend")
    ts.kill("window", "no window above criteria")
    back = trace_to_timeseries(timeseries_to_trace(ts))
    assert back == ts
    assert back.metadata.modified() == {"source_id"}
    relative = TimeSeries(np.ones(5), dt=0.5, t0=-20.0, tref="relative")
    assert trace_to_timeseries(timeseries_to_trace(relative)) == relative


def test_nonfinite_trace_becomes_dead_timeseries():
    trace = obspy.Trace(np.array([1.0, np.nan, 3.0]))
    trace.stats.station = "BAD"
    ts = trace_to_timeseries(trace)
    assert ts.dead and "non-finite" in ts.elog[0].message and ".BAD.." in ts.elog[0].message


def test_stream_ensemble_round_trip(nz_stream):
    ens = stream_to_ensemble(nz_stream)
    assert [m["chan"] for m in ens] == ["HHE", "HHN", "HHZ"]
    back = ensemble_to_stream(ens)
    for a, b in zip(back, nz_stream):
        assert a.id == b.id and a.stats.starttime == b.stats.starttime
        np.testing.assert_array_equal(a.data, b.data)


def test_bundle_real_station_and_split_back(nz_stream):
    seis = stream_to_seismogram(nz_stream)
    assert seis.live and seis.components == ("E", "N", "Z") and seis.cardinal
    assert seis.npts == 37001 and seis["sta"] == "BFZ" and "chan" not in seis
    np.testing.assert_array_equal(seis.data[2], nz_stream.select(channel="HHZ")[0].data)
    parts = split_seismogram(seis)
    assert [p["chan"] for p in parts] == ["HHE", "HHN", "HHZ"]
    assert parts[0]["hang"] == pytest.approx(90.0) and parts[2]["vang"] == pytest.approx(0.0)
    st = seismogram_to_stream(seis)
    assert [tr.id for tr in st] == ["NZ.BFZ.10.HHE", "NZ.BFZ.10.HHN", "NZ.BFZ.10.HHZ"]
    assert stream_to_seismogram(st) == seis


def test_bundle_uses_hang_vang_and_common_span():
    rng = np.random.default_rng(3)
    enz = rng.normal(size=(3, 1000))
    # a station whose horizontals are rotated 30 degrees ("1" and "2" channels)
    h1, h2 = 30.0, 120.0
    one = np.sin(np.radians(h1)) * enz[0] + np.cos(np.radians(h1)) * enz[1]
    two = np.sin(np.radians(h2)) * enz[0] + np.cos(np.radians(h2)) * enz[1]
    members = [
        TimeSeries(two[5:], dt=0.1, t0=0.5, metadata={"sta": "X", "chan": "BH2", "hang": h2, "vang": 90.0}),
        TimeSeries(one, dt=0.1, t0=0.0, metadata={"sta": "X", "chan": "BH1", "hang": h1, "vang": 90.0}),
        TimeSeries(enz[2][:990], dt=0.1, t0=0.0, metadata={"sta": "X", "chan": "BHZ", "hang": 0.0, "vang": 0.0}),
    ]
    seis = bundle_seismogram(members)
    assert seis.live and seis.t0 == pytest.approx(0.5) and seis.npts == 985
    seis.rotate_to_standard()
    np.testing.assert_allclose(seis.data, enz[:, 5:990], atol=1e-9)


@pytest.mark.parametrize("npts", [3, 38, 1001, 36999])
def test_bundle_keeps_every_sample_at_real_epochs(npts):
    """At an epoch of 1.5e9 s, t0 + (n-1)*dt - t0 misses (n-1)*dt by up to 2.4e-7 s:
    the span computed from end times lost the last sample (44% of lengths at dt 0.01 s
    from the NZ event's origin time; two of these four)."""
    t0, dt = 1518939828.38, 0.01
    data = np.arange(3 * npts, dtype=float).reshape(3, npts)
    members = [TimeSeries(row, dt=dt, t0=t0, metadata={"sta": "BFZ", "chan": "HH" + c})
               for row, c in zip(data, "ENZ")]
    seis = bundle_seismogram(members)
    assert seis.live and seis.npts == npts
    np.testing.assert_array_equal(seis.data, data)


@pytest.mark.parametrize("mutate, reason", [
    (lambda m: m[:2], "exactly 3 components"),
    (lambda m: [m[0], m[1], TimeSeries(m[2].data, dt=0.02, metadata=dict(m[2].metadata))], "sampling intervals differ"),
    (lambda m: [m[0], m[1], TimeSeries(m[2].data, dt=0.01, t0=1e6, metadata=dict(m[2].metadata))], "do not overlap"),
    (lambda m: [m[0], m[1], TimeSeries(m[2].data, dt=0.01, metadata={"chan": "HH3"})], "orientation unknown"),
])
def test_bundle_failures_give_dead_seismogram_with_reason(mutate, reason):
    members = [TimeSeries(np.ones(10), dt=0.01, metadata={"sta": "S", "chan": c})
               for c in ("HHE", "HHN", "HHZ")]
    seis = bundle_seismogram(mutate(members))
    assert seis.dead
    assert reason in seis.elog[-1].message and seis.elog[-1].algorithm == "bundle_seismogram"


def test_bundle_of_dead_member_is_dead():
    members = [TimeSeries(np.ones(10), dt=0.01, metadata={"chan": c}) for c in ("HHE", "HHN", "HHZ")]
    members[1].kill("read_data", "truncated file")
    seis = bundle_seismogram(members)
    assert seis.dead
    assert [e.message for e in seis.elog][:1] == ["truncated file"]
