"""Pickling fit for Spark: round trips and no needless copies of samples."""
from __future__ import annotations

import pickle

import numpy as np
import pytest

from spark_seis.core import (
    Metadata, Seismogram, SeismogramEnsemble, TimeSeries, TimeSeriesEnsemble,
)


def dead_with_history():
    ts = TimeSeries(np.linspace(0, 1, 5000), dt=0.02, t0=1.5e9, tref="UTC",
                    metadata={"sta": "BFZ", "chan": "HHZ", "source_id": "ev1"})
    ts.metadata.clear_modified()
    ts["calib"] = 1.5
    ts.enable_history("job-7")
    ts.record("detrend", {"type": "linear"})
    ts.kill("bandpass", "corner above Nyquist")
    return ts


def seismogram():
    seis = Seismogram(np.random.default_rng(2).normal(size=(3, 300)), dt=0.05, t0=12.0,
                      tref="relative", metadata={"sta": "MRZ"})
    seis.rotate_to_zrt(45.0)
    seis.elog.log("window", "no windows", "Complaint")
    return seis


@pytest.mark.parametrize("factory", [
    dead_with_history,
    seismogram,
    lambda: TimeSeries(dt=1.0, npts=0),
    lambda: TimeSeriesEnsemble([dead_with_history(), dead_with_history()], {"evid": 3}),
    lambda: SeismogramEnsemble([seismogram()], {"evid": 4}, live=False),
    lambda: Metadata({"a": 1, "b": [1, 2]}),
])
@pytest.mark.parametrize("protocol", [2, 4, 5])
def test_pickle_round_trip_keeps_everything(factory, protocol):
    obj = factory()
    back = pickle.loads(pickle.dumps(obj, protocol=protocol))
    assert back == obj
    assert type(back) is type(obj)
    if hasattr(obj, "metadata"):
        assert back.metadata.modified() == obj.metadata.modified()
    if isinstance(obj, Metadata):
        assert back.modified() == obj.modified()


def test_dead_datum_keeps_elog_and_history_through_pickle():
    back = pickle.loads(pickle.dumps(dead_with_history(), protocol=5))
    assert back.dead and back.elog[-1].algorithm == "bandpass"
    assert [r.algorithm for r in back.history.records] == ["ORIGIN", "detrend"]
    assert back.metadata.modified() == {"calib"}


@pytest.mark.parametrize("factory", [dead_with_history, seismogram])
def test_protocol5_passes_samples_out_of_band_without_copy(factory):
    obj = factory()
    buffers = []
    payload = pickle.dumps(obj, protocol=5, buffer_callback=buffers.append)
    # the header is small: samples are not in the in-band stream
    assert len(payload) < 4096 < obj.data.nbytes
    assert len(buffers) >= 1
    raw = buffers[0].raw()
    assert np.shares_memory(np.frombuffer(raw, dtype=np.float64), obj.data)
    back = pickle.loads(payload, buffers=buffers)
    np.testing.assert_array_equal(back.data, obj.data)


def test_in_band_pickle_size_is_close_to_sample_bytes():
    ts = TimeSeries(np.zeros(30_000), dt=0.01, metadata={"sta": "BFZ"})
    size = len(pickle.dumps(ts, protocol=5))
    assert ts.data.nbytes <= size < ts.data.nbytes + 2048
