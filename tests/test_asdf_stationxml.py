"""Writing station metadata into ASDF: the fast path stores what pyasdf would."""
from __future__ import annotations

import io

import obspy
import pyasdf

from conftest import NZ_DATA
from spark_seis.engine.normalization import merge_channel_inventories
from spark_seis.io.asdf_store import write_stationxml


def _per_channel_parts():
    inv = obspy.read_inventory(str(NZ_DATA / "test_dataless_NZ_BFZ.xml"))
    parts = []
    for cha in inv[0][0]:
        buf = io.BytesIO()
        inv.select(channel=cha.code, location=cha.location_code).write(buf, format="STATIONXML")
        parts.append(obspy.read_inventory(io.BytesIO(buf.getvalue()), format="STATIONXML"))
    return inv, parts


def test_channel_parts_merge_into_one_station():
    inv, parts = _per_channel_parts()
    merged = merge_channel_inventories(parts)
    assert len(merged.networks) == 1 and len(merged[0].stations) == 1
    assert sorted(c.code for c in merged[0][0]) == sorted(c.code for c in inv[0][0])
    assert merge_channel_inventories([]) is None


def test_fast_and_public_paths_store_the_same_station(tmp_path):
    _inv, parts = _per_channel_parts()
    merged = merge_channel_inventories(parts)
    stored = []
    for name, writer in (("fast.h5", write_stationxml),
                         ("public.h5", lambda ds, inv: ds.add_stationxml(inv))):
        with pyasdf.ASDFDataSet(str(tmp_path / name), mode="w") as ds:
            writer(ds, merged)
        with pyasdf.ASDFDataSet(str(tmp_path / name), mode="r") as ds:
            back = ds.waveforms.NZ_BFZ.StationXML
            stored.append((back.get_contents(), back[0][0][0].response.instrument_sensitivity))
            assert sorted(c.code for c in back[0][0]) == ["HHE", "HHN", "HHZ"]
    assert stored[0][0] == stored[1][0]
    assert stored[0][1].value == stored[1][1].value


def test_second_write_of_a_station_merges_through_pyasdf(tmp_path):
    _inv, parts = _per_channel_parts()
    with pyasdf.ASDFDataSet(str(tmp_path / "x.h5"), mode="w") as ds:
        write_stationxml(ds, parts[0])
        write_stationxml(ds, parts[1])  # station exists: pyasdf merges the channels
        channels = sorted(c.code for c in ds.waveforms.NZ_BFZ.StationXML[0][0])
    assert len(channels) == 2
