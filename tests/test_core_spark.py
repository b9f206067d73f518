"""Data objects through Spark: serialized to Python workers and back intact."""
from __future__ import annotations

import numpy as np

from spark_seis.core import Seismogram, TimeSeries


def _demean(ts: TimeSeries) -> TimeSeries:
    out = ts.copy()
    out.set_data(ts.data - ts.data.mean())
    out["demeaned"] = True
    return out


def test_map_over_rdd_of_timeseries_returns_equal_objects(sc):
    rng = np.random.default_rng(5)
    series = [TimeSeries(rng.normal(size=2000) + 7.0, dt=0.01, t0=float(i),
                         metadata={"sta": f"S{i:03d}", "chan": "HHZ"}) for i in range(40)]
    series[3].kill("reader", "garbage header")
    identity = sc.parallelize(series, 4).map(lambda ts: ts).collect()
    assert identity == series
    demeaned = sc.parallelize(series, 4).map(_demean).collect()
    expected = [_demean(ts) for ts in series]
    assert demeaned == expected
    assert all(abs(ts.data.mean()) < 1e-9 for ts in demeaned)
    assert demeaned[3].dead and demeaned[3].elog[0].message == "garbage header"
    assert demeaned[0].metadata.modified() == {"demeaned"} | series[0].metadata.modified()


def test_seismograms_rotate_on_executors(sc):
    rng = np.random.default_rng(6)
    seismograms = [Seismogram(rng.normal(size=(3, 500)), dt=0.05, metadata={"sta": f"S{i}"})
                   for i in range(8)]

    def to_zrt(seis):
        seis.rotate_to_zrt(30.0)
        return seis

    rotated = sc.parallelize(seismograms, 2).map(to_zrt).collect()
    for before, after in zip(seismograms, rotated):
        assert after.components == ("R", "T", "Z")
        after.rotate_to_standard()
        np.testing.assert_allclose(after.data, before.data, atol=1e-12)
