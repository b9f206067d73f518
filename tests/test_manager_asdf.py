"""Manager API (Pyatoa's seed document) and the ASDF / SPECFEM layout."""
import numpy as np
import pytest
from pyasdf import ASDFDataSet

from _nz_data import NZ, nz_bfz
from spark_seis.io import asdf_store
from spark_seis.io.specfem import read_semd
from spark_seis.processing.station import process_station
from spark_seis import Config  # the user-facing Config (Pyatoa dataset API)
from spark_seis.workflow.manager import Manager, ManagerError

EXPECTED = {"E": (976, 2746), "N": (907, 3011), "Z": (833, 1401)}


@pytest.fixture(scope="module")
def flowed(tmp_path_factory):
    """Seed-document workflow: i01/s00 dataset written and flowed."""
    fid = tmp_path_factory.mktemp("asdf") / "2018p130600.h5"
    inv, event, st_obs, st_syn = nz_bfz()
    cfg = Config(event_id="2018p130600", iteration=1, step_count=0)
    ds = ASDFDataSet(str(fid))
    cfg.write(write_to=ds)
    mgmt = Manager(ds=ds, config=cfg, inv=inv, event=event, st_obs=st_obs,
                   st_syn=st_syn)
    mgmt.write()
    mgmt.flow()
    yield fid, ds, mgmt
    del ds


def test_flow_results(flowed):
    _, _, mgmt = flowed
    assert mgmt.status == "ok" and mgmt.nwin == 3
    assert {c: (w[0].left, w[0].right) for c, w in mgmt.windows.items()} == \
        EXPECTED
    assert mgmt.misfit == pytest.approx(2.1653, abs=1e-4)


def test_pyasdf_sees_pyatoa_layout(flowed):
    _, ds, _ = flowed
    assert len(ds.events) == 1
    acc = ds.waveforms.NZ_BFZ
    assert acc.StationXML[0][0].code == "BFZ"
    assert len(acc.observed) == 3 and len(acc.synthetic_i01s00) == 3
    assert sorted(ds.auxiliary_data.MisfitWindows.i01.s00.list()) == \
        ["NZ_BFZ_E_0", "NZ_BFZ_N_0", "NZ_BFZ_Z_0"]
    win = ds.auxiliary_data.MisfitWindows.i01.s00.NZ_BFZ_E_0
    assert list(win.data[()]) == [976, 2746]
    p = win.parameters
    assert (p["left_index"], p["right_index"]) == (976, 2746)
    for key in ("max_cc_value", "cc_shift_in_samples", "dlnA",
                "absolute_starttime", "phase_arrival_P", "channel_id"):
        assert key in p
    adj = ds.auxiliary_data.AdjointSources.i01.s00.NZ_BFZ_BXN
    assert adj.data.shape == (10000, 2)
    assert adj.parameters["misfit"] == pytest.approx(1.8432, abs=5e-5)
    assert adj.parameters["component"] == "BXN"
    assert adj.parameters["dt"] == pytest.approx(0.03)
    assert adj.data[0, 0] == pytest.approx(-20.0)
    ref = np.loadtxt(NZ / "test_adjoint_source_NZ_BFZ_N_2018p130600.adj")
    np.testing.assert_allclose(adj.data[:, 0], ref[:, 0], atol=1e-9)
    nz = np.nonzero(adj.data[:, 1])[0]  # forward time, inside the window
    assert 907 <= nz.min() and nz.max() <= 3011
    assert "i01" in ds.auxiliary_data.Configs.list()


def test_pyadjoint_can_rebuild_stored_adjoint_source(flowed):
    """Pyatoa's loader does AdjointSource(**parameters): keep that working."""
    from pyadjoint import AdjointSource
    _, ds, mgmt = flowed
    rec = ds.auxiliary_data.AdjointSources.i01.s00.NZ_BFZ_BXN
    params = dict(rec.parameters)
    params["adjsrc_type"] = params.pop("adj_src_type")  # as Pyatoa's load_adjsrcs does
    params["adjoint_source"] = rec.data[()][:, 1][::-1]
    adj = AdjointSource(**params)
    np.testing.assert_allclose(adj.adjoint_source,
                               mgmt.adjsrcs["N"]["adjoint_source"])


def test_config_round_trip_through_asdf(flowed):
    _, ds, mgmt = flowed
    assert asdf_store.read_config(ds, "i01/s00") == mgmt.config
    params = ds.auxiliary_data.Configs.i01.s00.parameters
    assert params["pyflex_config_stalta_waterlevel"] == pytest.approx(0.07)
    assert params["pyadjoint_config_adjsrc_type"] == "cc_traveltime"
    cfg = Config(pyflex_parameters={"c_0": 0.8}, rotate_to_rtz=True)
    asdf_store.write_config(ds, cfg)
    assert asdf_store.read_config(ds, "default") == cfg


def test_load_and_fixed_windows(flowed):
    _, ds, mgmt = flowed
    m2 = Manager(ds=ds)
    m2.load(code="NZ.BFZ", path="i01/s00", synthetic_tag="synthetic_i01s00")
    assert m2.config == mgmt.config and m2.event is not None
    assert len(m2.st_obs) == 3 and m2.inv is not None
    m2.standardize().preprocess()
    m2.window(fix_windows=True, iteration=1, step_count=0, save=False)
    for comp, wins in m2.windows.items():
        assert (wins[0].left, wins[0].right) == EXPECTED[comp]
        assert wins[0].cc_shift == mgmt.windows[comp][0].cc_shift
        assert wins[0].dlnA == pytest.approx(mgmt.windows[comp][0].dlnA)
    m2.measure(save=False)
    assert m2.misfit == pytest.approx(mgmt.misfit)


def test_windows_read_back_as_dicts(flowed):
    _, ds, mgmt = flowed
    wins = asdf_store.read_windows(ds, "NZ", "BFZ", "i01/s00")
    assert wins["N"][0]["cc_shift_in_samples"] == 64
    assert wins["N"][0]["phase_arrivals"] == mgmt.windows["N"][0].phase_arrivals
    adjs = asdf_store.read_adjoint_sources(ds, "NZ", "BFZ", "i01/s00")
    np.testing.assert_allclose(adjs["E"]["adjoint_source"],
                               mgmt.adjsrcs["E"]["adjoint_source"])


def test_default_path_without_iteration(tmp_path):
    inv, event, st_obs, st_syn = nz_bfz()
    with ASDFDataSet(str(tmp_path / "d.h5")) as ds:
        Manager(ds=ds, config=Config(), inv=inv, event=event, st_obs=st_obs,
                st_syn=st_syn).flow()
        assert hasattr(ds.auxiliary_data.AdjointSources.default, "NZ_BFZ_BXE")
        assert hasattr(ds.auxiliary_data.MisfitWindows.default, "NZ_BFZ_Z_0")


def test_save_false_writes_nothing(tmp_path):
    inv, event, st_obs, st_syn = nz_bfz()
    with ASDFDataSet(str(tmp_path / "d.h5")) as ds:
        Manager(ds=ds, config=Config(), inv=inv, event=event, st_obs=st_obs,
                st_syn=st_syn).flow(save=False)
        assert ds.auxiliary_data.list() == []


def test_rerun_overwrites_not_duplicates(tmp_path):
    inv, event, st_obs, st_syn = nz_bfz()
    res = process_station(st_obs, st_syn, inv, event, Config())
    with ASDFDataSet(str(tmp_path / "d.h5")) as ds:
        for _ in range(2):
            asdf_store.write_station_result(ds, res, Config(), event, inv,
                                            st_obs, st_syn)
        assert len(ds.events) == 1
        assert len(ds.auxiliary_data.MisfitWindows.default.list()) == 3
        assert len(ds.waveforms.NZ_BFZ.observed) == 3


def test_flow_on_bad_station_does_not_raise():
    from obspy import Inventory
    inv, event, st_obs, st_syn = nz_bfz()
    mgmt = Manager(config=Config(), inv=Inventory(networks=[]), event=event,
                   st_obs=st_obs, st_syn=st_syn).flow()
    assert mgmt.status == "failed:response" and len(mgmt.elog) >= 1
    with pytest.raises(ManagerError):
        Manager(config=Config(), inv=Inventory(networks=[]), event=event,
                st_obs=st_obs, st_syn=st_syn).flow(raise_errors=True)
    m = Manager(config=Config(), st_obs=None, st_syn=st_syn).flow()
    assert m.status == "failed:no_data"


def test_write_specfem_adjoint_sources_and_plot(flowed, tmp_path):
    _, _, mgmt = flowed
    paths = mgmt.write_adjsrcs(tmp_path)
    assert sorted(p.name for p in paths) == [
        "NZ.BFZ.BXE.adj", "NZ.BFZ.BXN.adj", "NZ.BFZ.BXZ.adj"]
    ours = np.loadtxt(tmp_path / "NZ.BFZ.BXN.adj")
    ref = np.loadtxt(NZ / "test_adjoint_source_NZ_BFZ_N_2018p130600.adj")
    assert ours.shape == ref.shape == (10000, 2)
    np.testing.assert_allclose(ours[:, 0], ref[:, 0], atol=1e-9)
    np.testing.assert_allclose(ours[:, 1], mgmt.adjsrcs["N"]["adjoint_source"]
                               [::-1])
    png = mgmt.plot(save=tmp_path / "bfz.png")
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert png.stat().st_size > 20_000


def test_read_semd():
    st = read_semd(NZ / "synthetics_BFZ" / "NZ.BFZ.BXN.semd")
    tr = st[0]
    assert tr.id == "NZ.BFZ..BXN" and tr.stats.npts == 10000
    assert tr.stats.delta == pytest.approx(0.03)
    assert tr.stats.time_offset == pytest.approx(-20.0)
