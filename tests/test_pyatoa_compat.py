"""Pyatoa 0.4.2 API generations and ASDF attribute conventions (no Pyatoa needed)."""
from __future__ import annotations

import numpy as np
import pyasdf
import pytest

from _nz_data import nz_bfz
from spark_seis import Config, Manager
from spark_seis.io import asdf_store
from spark_seis.processing.config import Config as ProcessingConfig
from spark_seis.workflow.manager import ManagerError


@pytest.fixture()
def ds(tmp_path):
    with pyasdf.ASDFDataSet(str(tmp_path / "ev.h5"), mode="a") as ds:
        yield ds


def test_config_entry_has_pyatoa_names_and_types(ds):
    cfg = Config(event_id="ev", iteration=1, step_count=0, synthetic_tag="synthetic_x",
                 pyflex_parameters={"c_0": 0.8})
    cfg.write(ds)
    attrs = ds.auxiliary_data.Configs.i01.s00.parameters
    assert "synthetic_tag" not in attrs and attrs["_synthetic_tag"] == "synthetic_x"
    assert list(attrs["component_list"]) == ["E", "N", "Z"]
    assert attrs["pyflex_config_c_0"] == 0.8 and attrs["pyadjoint_config_adjsrc_type"] == "cc_traveltime"
    assert attrs["iteration"] == 1 and attrs["event_id"] == "ev"


def test_config_dataset_api_of_both_generations(ds):
    cfg = Config(event_id="ev", iteration=2, step_count=1, min_period=12.0)
    cfg.write(ds)
    assert Config(ds=ds, path="i02/s01") == cfg          # Pyatoa 0.4.2
    blank = Config()
    assert blank.read(ds, path="i02/s01", fmt="asdf") is blank  # in place, not a no-op
    assert blank.min_period == 12.0 and blank.event_id == "ev"
    assert Config.read(ds, "i02/s01") == cfg              # seed document's form
    with pytest.raises(TypeError, match="spark_seis.Config"):
        ProcessingConfig().write(ds)                       # processing knows YAML only


def test_absent_pyatoa_keys_take_pyatoa_defaults_and_say_so(ds):
    attrs = asdf_store.config_attributes(Config(iteration=1, step_count=0))
    for key in asdf_store.PYATOA_ABSENT_DEFAULTS:
        attrs.pop(key)
    ds.add_auxiliary_data(data=np.array([True]), data_type="Configs", path="i01/s00",
                          parameters=attrs)
    notes: list[str] = []
    cfg = asdf_store.read_config(ds, "i01/s00", notes=notes)
    assert cfg.remove_response is False and "remove_response=False" in notes[0]
    with pytest.warns(UserWarning, match="remove_response=False"):
        asdf_store.read_config(ds, "i01/s00")


def test_manager_load_without_config_says_what_is_missing(ds):
    inv, event, st_obs, st_syn = nz_bfz()
    mgmt = Manager(ds=ds, config=Config(iteration=1, step_count=0), inv=inv, event=event,
                   st_obs=st_obs, st_syn=st_syn)
    mgmt.write()
    with pytest.raises(ManagerError, match=r"no Config at Configs/default.*i01/s00"):
        Manager(ds=ds).load("NZ.BFZ", path="default")


def test_adjoint_source_attributes_read_both_spellings(ds):
    adj = {"adjsrc_type": "cc_traveltime", "misfit": 1.5, "dt": 0.1, "component": "BXZ",
           "min_period": 10.0, "max_period": 100.0, "network": "NZ", "station": "BFZ",
           "location": "", "starttime": "2018-02-18T07:43:28", "adjoint_source": np.ones(5)}
    asdf_store.write_adjoint_sources(ds, {"Z": adj}, "i01/s00", 0.0)
    params = ds.auxiliary_data.AdjointSources.i01.s00.NZ_BFZ_BXZ.parameters
    assert params["adj_src_type"] == "cc_traveltime" and "adjsrc_type" not in params
    old = dict(asdf_store.adjoint_source_attributes(adj))
    old["adjsrc_type"] = old.pop("adj_src_type")  # files of spark_seis < 0.2
    ds.add_auxiliary_data(data=np.zeros((5, 2)), data_type="AdjointSources",
                          path="i01/s01/NZ_BFZ_BXZ", parameters=old)
    for path in ("i01/s00", "i01/s01"):
        assert asdf_store.read_adjoint_sources(ds, "NZ", "BFZ", path)["Z"]["adjsrc_type"] \
            == "cc_traveltime"


def test_a_pyatoa_042_script_runs_unchanged(ds):
    """The calls of a Pyatoa 0.4.2 script (not the seed document's API)."""
    inv, event, st_obs, st_syn = nz_bfz()
    cfg = Config(event_id="2018p130600", iteration=1, step_count=0)
    mgmt = Manager(ds=ds, config=cfg, event=event, inv=inv, st_obs=st_obs, st_syn=st_syn)
    mgmt.write_to_dataset(choice=["event", "inv", "st_obs", "st_syn", "config"])
    mgmt.flow(remove_response=True, output="DISP")
    mgmt.write_to_dataset(choice=["windows", "adjsrcs"])  # raw waveforms stay for re-runs
    assert mgmt.stats.nwin == 3 and mgmt.stats.misfit == pytest.approx(2.1653, abs=1e-4)

    loaded = Manager(ds=ds)
    loaded.load("NZ.BFZ", path="i01/s00", windows=True, adjsrcs=True)
    assert {c: [(w.left, w.right) for w in ws] for c, ws in loaded.windows.items()} == \
        {c: [(w.left, w.right) for w in ws] for c, ws in mgmt.windows.items()}
    assert loaded.stats.misfit == pytest.approx(mgmt.stats.misfit, rel=1e-12)

    again = Manager(ds=ds, config=Config(ds=ds, path="i01/s00"))
    again.load("NZ.BFZ", path="i01/s00")
    again.standardize().preprocess(remove_response=True, output="DISP")
    again.retrieve_windows_from_dataset(iteration=1, step_count=0)
    again.measure(save=False)
    assert again.stats.misfit == pytest.approx(mgmt.stats.misfit, rel=1e-9)
    with pytest.raises(TypeError, match="normalize_to"):
        Manager(ds=ds, config=cfg).preprocess(normalize_to="obs")


def test_copy_keeps_the_dataset_api(ds):
    copied = Config(iteration=1, step_count=0).copy(step_count=1)
    assert isinstance(copied, Config) and copied.aux_path == "i01/s01"
    copied.write(ds)  # still the io-layer Config
    assert Config(ds=ds, path="i01/s01") == copied
