"""Performance shortcuts must not change results (bit-identical / same windows)."""
import numpy as np
import pytest

from _nz_data import nz_bfz
from spark_seis.processing import _pyflex_compat as compat
from spark_seis.processing import preprocess as pp
from spark_seis.processing import traveltimes
from spark_seis.processing.standardize import standardize
from spark_seis.processing.station import process_station
from spark_seis.processing.config import Config


def _obspy_reference(st, inv, kind):
    st = st.copy()
    if kind == "obs":
        st.remove_response(inventory=inv, output="DISP", water_level=60,
                           plot=False)
    st.detrend("demean").taper(0.05)
    st.filter("bandpass", freqmin=0.01, freqmax=0.1, corners=2, zerophase=True)
    st.detrend("simple").detrend("demean").taper(0.05)
    return st


@pytest.mark.parametrize("kind", ["obs", "syn"])
def test_direct_kernels_and_cached_response_are_bit_identical(kind):
    inv, event, st_obs, st_syn = nz_bfz()
    obs, syn = standardize(st_obs, st_syn)
    st = obs if kind == "obs" else syn
    ref = _obspy_reference(st, inv, kind)
    for _ in range(2):  # second pass hits the evalresp cache
        ours = pp.preprocess(st, Config(), inv, kind)
        for a, b in zip(ref, ours):
            assert np.array_equal(a.data, b.data)
            assert "response" not in b.stats


def test_channels_with_equal_responses_share_one_evalresp_spectrum(monkeypatch):
    inv, _event, st_obs, st_syn = nz_bfz()
    obs, _syn = standardize(st_obs, st_syn)
    monkeypatch.setattr(pp, "_EVALRESP", {})
    ref = _obspy_reference(obs, inv, "obs")
    ours = pp.preprocess(obs, Config(), inv, "obs")
    assert len(pp._EVALRESP) == 1  # NZ.BFZ E, N and Z: one sensor, one response
    for a, b in zip(ref, ours):
        assert np.array_equal(a.data, b.data)
    other = inv.copy()
    other[0][0][0].response.instrument_sensitivity.value *= 2
    pp.preprocess(obs, Config(), other, "obs")
    assert len(pp._EVALRESP) == 2  # a different response is not confused with it


def test_travel_times_once_per_station(monkeypatch):
    calls = []
    real = compat.station_arrivals

    def counting(*args):
        calls.append(args)
        return real(*args)

    compat._station_arrivals.cache_clear()
    monkeypatch.setattr(compat, "station_arrivals", counting)
    inv, event, st_obs, st_syn = nz_bfz()
    res = process_station(st_obs, st_syn, inv, event, Config())
    assert res.nwin == 3 and len(calls) == 1  # 3 components, one computation
    process_station(st_obs, st_syn, inv, event, Config(iteration=2))
    assert len(calls) == 1  # same path again (next iteration): cached


def test_warm_station_recomputes_neither_travel_times_nor_responses(monkeypatch):
    """What makes a warm station cheap, asserted as outcomes (timings: bench/).

    A second call for the same station must not shoot a single TauP ray nor
    call evalresp again, and must give the same windows and misfit.
    """
    from obspy.core.inventory.response import Response
    from obspy.taup.seismic_phase import SeismicPhase

    counts = {"taup": 0, "evalresp": 0}
    real_shoot = SeismicPhase.shoot_ray
    real_evalresp = Response.get_evalresp_response

    def counting_shoot(self, *args, **kwargs):
        counts["taup"] += 1
        return real_shoot(self, *args, **kwargs)

    def counting_evalresp(self, *args, **kwargs):
        counts["evalresp"] += 1
        return real_evalresp(self, *args, **kwargs)

    monkeypatch.setattr(SeismicPhase, "shoot_ray", counting_shoot)
    monkeypatch.setattr(Response, "get_evalresp_response", counting_evalresp)
    monkeypatch.setattr(pp, "_EVALRESP", {})
    compat._station_arrivals.cache_clear()
    traveltimes._exact_arrival.cache_clear()
    inv, event, st_obs, st_syn = nz_bfz()
    first = process_station(st_obs, st_syn, inv, event, Config())
    assert counts["taup"] > 0 and counts["evalresp"] == 1  # cold: both computed
    counts.update(taup=0, evalresp=0)
    again = process_station(st_obs, st_syn, inv, event, Config())
    assert counts == {"taup": 0, "evalresp": 0}
    assert again.status == first.status == "ok"
    assert again.windows == first.windows and again.total_misfit == first.total_misfit
