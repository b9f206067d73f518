"""Travel times from the event's TauP tables give pyflex's windows exactly.

References are computed the slow way, exactly as pyflex does it (TauP
``get_travel_times`` per station, plain ``pyflex.WindowSelector``), on the
real NZ.BFZ traces and on stations generated at other distances and
azimuths from the same event.
"""
import warnings

import numpy as np
import pyflex
import pytest
from obspy.geodetics import locations2degrees
from obspy.taup.seismic_phase import SeismicPhase
from obspy.taup.taup_time import TauPTime

from _nz_data import nz_bfz
from spark_seis.processing import _pyflex_compat as compat
from spark_seis.processing import traveltimes as tt
from spark_seis.processing.config import Config
from spark_seis.processing.preprocess import preprocess
from spark_seis.processing.standardize import standardize
from spark_seis.processing.station import process_station

MODEL = "ak135"
# Pn/P and Sn/S cross over near BFZ (0.73 deg): ties in the label order
DISTANCES = [0.05, 0.2, 0.45, 0.7318, 0.9, 1.2, 1.45, 1.9, 2.6, 3.4, 4.7, 6.3,
             8.8, 11.5, 17.0, 33.0, 65.0, 101.0, 142.0]


@pytest.fixture(scope="module")
def nz():
    inv, event, st_obs, st_syn = nz_bfz()
    cfg = Config()
    obs, syn = standardize(st_obs, st_syn)
    obs, syn = preprocess(obs, cfg, inv, "obs"), preprocess(syn, cfg, inv, "syn")
    return inv, event, compat.pyflex_event(event), obs, syn


def _taup(depth_km, dist_deg):
    arr = compat.taup_model(MODEL).get_travel_times(
        source_depth_in_km=depth_km, distance_in_degree=dist_deg)
    return [(float(a.time), a.name) for a in arr]


def _station_at(ev, dist_deg, azimuth):
    """Station at a great-circle distance and azimuth from the epicentre."""
    lat1, lon1 = np.radians(ev.latitude), np.radians(ev.longitude)
    d, az = np.radians(dist_deg), np.radians(azimuth)
    lat2 = np.arcsin(np.sin(lat1) * np.cos(d) + np.cos(lat1) * np.sin(d) * np.cos(az))
    lon2 = lon1 + np.arctan2(np.sin(az) * np.sin(d) * np.cos(lat1),
                             np.cos(d) - np.sin(lat1) * np.sin(lat2))
    return pyflex.Station(latitude=float(np.degrees(lat2)),
                          longitude=float(np.degrees(lon2)))


def test_arrivals_match_taup_first_exactly_the_rest_within_a_few_ms(nz):
    """First arrival bit-identical; same phases, same count, same order of
    names when far apart; other times within the reported error."""
    _inv, _event, ev, _obs, _syn = nz
    depth = ev.depth_in_m / 1000.0
    worst = 0.0
    for dist in DISTANCES:
        ref = _taup(depth, dist)
        ours = tt.station_arrivals(MODEL, depth, dist).pyflex_ttimes()
        assert len(ours) == len(ref), dist
        assert (ours[0]["time"], ours[0]["name"]) == ref[0], dist
        assert sorted(o["name"] for o in ours) == sorted(n for _t, n in ref)
        by_name = {}
        for t, n in ref:
            by_name.setdefault(n, []).append(t)
        for n, times in by_name.items():
            got = sorted(o["time"] for o in ours if o["name"] == n)
            worst = max(worst, float(np.max(np.abs(np.array(got) - sorted(times)))))
    assert worst < 0.1 * tt.EXACT_MARGIN_S, worst  # margin far above the error
    assert worst > 0  # interpolated, not TauP called again


def test_windows_identical_to_pyflex_on_generated_stations(nz):
    """Real traces, stations moved to many distances/azimuths from the event:
    every window (indices, criteria, labels in order) as plain pyflex gives."""
    _inv, _event, ev, obs, syn = nz
    cfg = Config().pyflex_config()
    compared, outcomes = 0, set()
    for dist, az in [(0.25, 10), (0.5, 200), (0.7318, 123), (1.0, 300), (1.4, 45),
                     (1.8, 170), (2.4, 260), (3.2, 80), (4.5, 330)]:
        station = _station_at(ev, dist, az)
        assert locations2degrees(station.latitude, station.longitude, ev.latitude,
                                 ev.longitude) == pytest.approx(dist, abs=0.02)
        arrivals = compat.fast_travel_times(ev, station, MODEL)
        for comp in "ENZ":
            o, s = obs.select(component=comp)[0], syn.select(component=comp)[0]
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                ref = pyflex.WindowSelector(compat.with_ptp(o), compat.with_ptp(s),
                                            cfg, event=ev, station=station)
                ref_w = ref.select_windows()
                ours = compat.StationWindowSelector(o, s, cfg, event=ev,
                                                    station=station, ttimes=arrivals)
                our_w = ours.select_windows()
            assert ours.ttimes[0] == ref.ttimes[0]
            assert _summary(our_w) == _summary(ref_w), (dist, az, comp)
            for a, b in zip(our_w, ref_w):
                assert [p["name"] for p in a.phase_arrivals] == \
                    [p["name"] for p in b.phase_arrivals]
                assert np.allclose([p["time"] for p in a.phase_arrivals],
                                   [p["time"] for p in b.phase_arrivals], atol=0.005)
            compared += 1
            outcomes.add(tuple((w.left, w.right) for w in ref_w))
    assert compared == 27
    assert len(outcomes) >= 4  # the distances really change the windows


def _summary(windows):
    return [(w.left, w.right, w.center, w.cc_shift, w.max_cc_value, w.dlnA)
            for w in windows]


def test_one_taup_table_per_event_and_few_rays_per_station(monkeypatch):
    """Two stations of one event: one table build; per station TauP shoots
    a small fraction of the rays its own ttall computation shoots."""
    built, shots = [], []
    real_recalc, real_shoot = TauPTime.recalc_phases, SeismicPhase.shoot_ray

    def counting_recalc(self):
        built.append(self.source_depth)
        return real_recalc(self)

    def counting_shoot(self, *args, **kwargs):
        shots.append(self.name)
        return real_shoot(self, *args, **kwargs)

    monkeypatch.setattr(TauPTime, "recalc_phases", counting_recalc)
    monkeypatch.setattr(SeismicPhase, "shoot_ray", counting_shoot)
    inv, event, st_obs, st_syn = nz_bfz()
    ev = compat.pyflex_event(event)
    sta = pyflex.Station(latitude=inv[0][0].latitude, longitude=inv[0][0].longitude)
    _taup(ev.depth_in_m / 1000.0, compat.epicentral_distance(ev, sta))
    taup_shots = len(shots)
    built.clear()
    shots.clear()

    tt.event_table.cache_clear()
    tt._exact_arrival.cache_clear()
    compat._station_arrivals.cache_clear()
    res = process_station(st_obs, st_syn, inv, event, Config())
    assert res.status == "ok" and res.nwin == 3
    assert [(w["left_index"], w["right_index"]) for c in "ENZ"
            for w in res.windows[c]] == [(976, 2746), (907, 3011), (833, 1401)]
    first_station = len(shots)
    assert len(built) == 1 and 0 < first_station < taup_shots / 3
    moved = inv.copy()
    moved[0][0].latitude = float(moved[0][0].latitude) + 0.7  # same event, new station
    res2 = process_station(st_obs, st_syn, moved, event, Config())
    assert res2.status in ("ok", "no_windows")
    assert len(built) == 1  # the event's table is re-used
    assert 0 < len(shots) - first_station < taup_shots / 3
