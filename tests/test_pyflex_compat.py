"""numpy 2 vs pyflex 0.2.0 (ndarray.ptp removed) and shared travel times."""
import warnings

import numpy as np
import pyflex
import pytest

from _nz_data import nz_bfz
from spark_seis.processing import _pyflex_compat as compat
from spark_seis.processing.preprocess import preprocess
from spark_seis.processing.standardize import standardize
from spark_seis.processing.config import Config


@pytest.fixture(scope="module")
def traces():
    inv, event, st_obs, st_syn = nz_bfz()
    cfg = Config()
    obs, syn = standardize(st_obs, st_syn)
    obs, syn = preprocess(obs, cfg, inv, "obs"), preprocess(syn, cfg, inv, "syn")
    return inv, event, obs.select(component="N")[0], syn.select(component="N")[0]


@pytest.mark.skipif(hasattr(np.ndarray, "ptp"), reason="numpy < 2 has ptp")
def test_plain_pyflex_fails_under_numpy2(traces):
    inv, event, obs, syn = traces
    with pytest.raises(AttributeError, match="ptp"):
        pyflex.WindowSelector(obs, syn, pyflex.Config(10, 100), event=event,
                              station=inv)


def test_ptp_array_survives_trace_copy_and_shares_memory(traces):
    _, _, obs, _ = traces
    tr = compat.with_ptp(obs)
    assert isinstance(tr.data, compat.PtpArray)
    assert np.shares_memory(tr.data, obs.data)
    cp = tr.copy()  # what pyflex does with its input
    assert isinstance(cp.data, compat.PtpArray)
    assert cp.data.ptp() == pytest.approx(np.ptp(obs.data))
    assert tr.stats.npts == obs.stats.npts


def test_shimmed_selector_equals_pyflex_on_shimmed_traces(traces):
    """Our selector (shared travel times, cached model) gives pyflex's windows."""
    inv, event, obs, syn = traces
    cfg = pyflex.Config(10, 100)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref = pyflex.WindowSelector(compat.with_ptp(obs), compat.with_ptp(syn),
                                    cfg, event=event, station=inv)
        ref_w = ref.select_windows()
        ev = compat.pyflex_event(event)
        sta = pyflex.Station(latitude=inv[0][0].latitude,
                             longitude=inv[0][0].longitude)
        tts = compat.travel_times(ev, sta)
        ours = compat.StationWindowSelector(obs, syn, cfg, event=ev,
                                            station=sta, ttimes=tts)
        our_w = ours.select_windows()
    assert ref.ttimes == ours.ttimes
    assert [(w.left, w.right, w.cc_shift) for w in ref_w] == \
        [(w.left, w.right, w.cc_shift) for w in our_w] == [(907, 3011, 64)]
    assert ref_w[0].phase_arrivals == our_w[0].phase_arrivals


def test_taup_model_loaded_once():
    assert compat.taup_model("ak135") is compat.taup_model("ak135")
