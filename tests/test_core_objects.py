"""Data objects: construction rules, change tracking, kill, history, ensembles."""
from __future__ import annotations

import math

import numpy as np
import pytest

from spark_seis.core import (
    ErrorLog, ErrorSeverity, Metadata, ProcessingHistory, Seismogram, SeismogramEnsemble,
    TimeSeries, TimeSeriesEnsemble,
)


def make_ts(n=100, **md):
    return TimeSeries(np.arange(n, dtype=float), dt=0.01, t0=1000.0,
                      metadata={"net": "NZ", "sta": "BFZ", "loc": "10", "chan": "HHZ", **md})


# --- Metadata -------------------------------------------------------------
def test_metadata_records_changes_since_load():
    md = Metadata({"sta": "BFZ", "lat": -40.7})
    assert md.modified() == {"sta", "lat"}  # built by hand: everything is new
    md.clear_modified()
    md["lat"] = -40.6796
    md.update(elev=0.1)
    md.setdefault("sta", "XXX")  # existing key: not a change
    del md["sta"]
    assert md.modified() == {"lat", "elev", "sta"}
    assert md["lat"] == -40.6796 and "sta" not in md


def test_metadata_loaded_into_object_starts_unmodified():
    ts = make_ts()
    assert ts.metadata.modified() == set()
    ts["sta"] = "MRZ"
    assert ts.metadata.modified() == {"sta"}
    copy = ts.metadata.copy()
    assert copy.modified() == {"sta"} and copy == ts.metadata


# --- ErrorLog and history ---------------------------------------------------
def test_errorlog_keeps_order_severity_and_round_trips():
    elog = ErrorLog()
    elog.log("detrend", "nothing to do", "Informational")
    elog.log("read_data", "file /x/y.ms truncated", ErrorSeverity.Invalid)
    assert [e.algorithm for e in elog] == ["detrend", "read_data"]
    assert elog.worst_severity() is ErrorSeverity.Invalid
    assert ErrorLog.from_list(elog.to_list()) == elog
    with pytest.raises(ValueError, match="unknown error severity 'bogus'"):
        elog.log("x", "y", "bogus")


def test_history_chain_and_clear_to_origin():
    history = ProcessingHistory("job1")
    history.add("detrend", {"type": "linear"})
    history.add("bandpass", {"freqmin": 0.01})
    assert [r.algorithm for r in history.records] == ["ORIGIN", "detrend", "bandpass"]
    assert history.records[2].parent == history.records[1].uuid
    assert ProcessingHistory.from_list(history.to_list(), "job1") == history
    history.clear({"saved_as": "abc"})
    assert history.is_origin() and history.records[0].parameters["saved_as"] == "abc"


def test_record_is_noop_without_history():
    ts = make_ts()
    ts.record("detrend")
    assert ts.history is None
    ts.enable_history("job")
    ts.record("detrend", {"type": "demean"})
    assert [r.algorithm for r in ts.history.records] == ["ORIGIN", "detrend"]


# --- TimeSeries -------------------------------------------------------------
def test_timeseries_basics():
    ts = make_ts(101)
    assert ts.npts == 101 and ts.sampling_rate == 100.0
    assert ts.endtime == pytest.approx(1001.0)
    assert ts.time_axis()[-1] == pytest.approx(1001.0)
    assert ts.sample_number(1000.5) == 50
    assert ts.data.dtype == np.float64 and ts["sta"] == "BFZ"
    zeros = TimeSeries(dt=0.5, npts=4)
    assert zeros.npts == 4 and not zeros.data.any()
    assert TimeSeries(np.arange(3, dtype=np.int32), dt=1.0).data.dtype == np.float64


@pytest.mark.parametrize("kwargs, field", [
    ({"data": [1.0, 2.0], "dt": float("nan")}, "dt"),
    ({"data": [1.0, 2.0], "dt": -0.1}, "dt"),
    ({"data": [1.0, 2.0], "dt": 0.0}, "dt"),
    ({"data": [1.0, 2.0], "dt": "fast"}, "dt"),
    ({"npts": -5, "dt": 0.1}, "npts"),
    ({"npts": 2.5, "dt": 0.1}, "npts"),
    ({"data": [[1.0, 2.0]], "dt": 0.1}, "data"),
    ({"data": [1.0, float("nan")], "dt": 0.1}, "data"),
    ({"data": [1.0, float("inf")], "dt": 0.1}, "data"),
    ({"data": ["a", "b"], "dt": 0.1}, "data"),
    ({"data": [1.0, 2.0], "dt": 0.1, "npts": 3}, "npts"),
    ({"data": [1.0], "dt": 0.1, "t0": float("nan")}, "t0"),
    ({"data": [1.0], "dt": 0.1, "tref": "GPS"}, "tref"),
])
def test_timeseries_rejects_bad_input_naming_the_field(kwargs, field):
    with pytest.raises((ValueError, TypeError), match=field):
        TimeSeries(**kwargs)


def test_kill_marks_dead_and_logs():
    ts = make_ts()
    ts.kill("bandpass", "filter unstable for dt=0.01")
    assert ts.dead and not ts.live
    entry = ts.elog[-1]
    assert (entry.algorithm, entry.severity) == ("bandpass", ErrorSeverity.Invalid)
    assert "unstable" in entry.message


def test_timeseries_copy_is_independent():
    ts = make_ts()
    ts.elog.log("a", "b")
    other = ts.copy()
    assert other == ts
    other.data[0] = 99.0
    other["sta"] = "MRZ"
    other.elog.log("c", "d")
    assert ts.data[0] == 0.0 and ts["sta"] == "BFZ" and len(ts.elog) == 1
    assert other != ts


# --- Seismogram ------------------------------------------------------------
def test_seismogram_shape_and_tmatrix_validation():
    seis = Seismogram(np.ones((3, 10)), dt=0.1)
    assert seis.npts == 10 and seis.cardinal and seis.orthogonal
    with pytest.raises(ValueError, match="shape"):
        Seismogram(np.ones((2, 10)), dt=0.1)
    with pytest.raises(ValueError, match="tmatrix"):
        Seismogram(np.ones((3, 10)), dt=0.1, tmatrix=np.eye(2))
    with pytest.raises(ValueError, match="data"):
        Seismogram(np.full((3, 4), np.nan), dt=0.1)
    with pytest.raises(ValueError, match="npts"):
        Seismogram(dt=0.1, npts=-1)


def test_zrt_rotation_matches_obspy_and_reverses():
    from obspy.signal.rotate import rotate_ne_rt

    rng = np.random.default_rng(0)
    enz = rng.normal(size=(3, 200))
    seis = Seismogram(enz.copy(), dt=0.01)
    seis.rotate_to_zrt(137.0)
    r, t = rotate_ne_rt(enz[1], enz[0], 137.0)
    assert seis.components == ("R", "T", "Z")
    np.testing.assert_allclose(seis.data[0], r, atol=1e-12)
    np.testing.assert_allclose(seis.data[1], t, atol=1e-12)
    np.testing.assert_allclose(seis.data[2], enz[2])
    seis.rotate_to_standard()
    np.testing.assert_allclose(seis.data, enz, atol=1e-12)
    assert seis.cardinal


def test_lqt_rotation_matches_obspy():
    from obspy.signal.rotate import rotate_zne_lqt

    rng = np.random.default_rng(1)
    enz = rng.normal(size=(3, 50))
    seis = Seismogram(enz.copy(), dt=0.01)
    seis.rotate_to_lqt(baz=60.0, incidence=25.0)
    l, q, t = rotate_zne_lqt(enz[2], enz[1], enz[0], 60.0, 25.0)
    np.testing.assert_allclose(seis.data, np.vstack([l, q, t]), atol=1e-12)
    seis.rotate_to_standard()
    np.testing.assert_allclose(seis.data, enz, atol=1e-12)


def test_singular_tmatrix_kills_on_rotation():
    seis = Seismogram(np.ones((3, 5)), dt=1.0, tmatrix=[[1, 0, 0], [1, 0, 0], [0, 0, 1]])
    seis.rotate_to_zrt(10.0)
    assert seis.dead and "singular" in seis.elog[-1].message


def test_rotation_recorded_in_history_when_enabled():
    seis = Seismogram(np.ones((3, 5)), dt=1.0)
    seis.enable_history("job")
    seis.rotate_to_zrt(30.0)
    assert seis.history.records[-1].algorithm == "rotate_to_zrt"
    assert seis.history.records[-1].parameters == {"baz": 30.0}


# --- Ensembles --------------------------------------------------------------
def test_ensembles_hold_members_and_sync_metadata():
    ens = TimeSeriesEnsemble([make_ts(), make_ts(chan="HHN")], metadata={"source_id": "ev1"})
    assert len(ens) == 2 and ens.metadata.modified() == set()
    ens.sync_metadata()
    assert all(m["source_id"] == "ev1" for m in ens)
    ens[1].kill("x", "bad")
    assert len(ens.live_members()) == 1
    with pytest.raises(TypeError, match="TimeSeriesEnsemble members must be TimeSeries"):
        ens.append(Seismogram(dt=1.0, npts=3))
    seis_ens = SeismogramEnsemble([Seismogram(dt=1.0, npts=3)])
    assert len(seis_ens) == 1
    with pytest.raises(TypeError):
        seis_ens.append(make_ts())
    ens.kill("reader", "gather incomplete")
    assert not ens.live and ens.elog[0].message == "gather incomplete"
    assert math.isclose(ens[0].dt, 0.01)
