"""Loaders for the NZ 2018p130600 / NZ.BFZ test data (read once per run)."""
from __future__ import annotations

import functools
from pathlib import Path

import obspy

NZ = Path(__file__).parent / "data" / "nz_2018p130600"


@functools.lru_cache(maxsize=1)
def _raw():
    inv = obspy.read_inventory(str(NZ / "test_dataless_NZ_BFZ.xml"))
    event = obspy.read_events(str(NZ / "test_catalog_2018p130600.xml"))[0]
    st_obs = obspy.read(str(NZ / "test_obs_data_NZ_BFZ_2018p130600.ascii"))
    st_syn = obspy.read(str(NZ / "test_syn_data_NZ_BFZ_2018p130600.ascii"))
    return inv, event, st_obs, st_syn


def nz_bfz():
    """(inv, event, st_obs, st_syn); streams are fresh copies."""
    inv, event, st_obs, st_syn = _raw()
    return inv, event, st_obs.copy(), st_syn.copy()
