"""Ingest of the real NZ QuakeML / StationXML / MiniSEED, and bad files."""
from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
from obspy import read

from db_support import db  # noqa: F401 - fixture
from spark_seis.db.ingest import IngestError, channel_response

NZ = Path(__file__).parent / "data" / "nz_2018p130600"


def test_save_catalog_nz(db):
    report = db.save_catalog(str(NZ / "test_catalog_2018p130600.xml"))
    assert report.saved == 1 and not report.skipped
    src = db.source.find_one({"event_id": "2018p130600"})
    assert src["lat"] == pytest.approx(-39.949, abs=1e-3)
    assert src["lon"] == pytest.approx(176.300, abs=1e-3)
    assert src["magnitude"] == pytest.approx(5.1567, abs=1e-3)
    assert src["time"] == pytest.approx(1518939828.1276, abs=1e-3)
    assert 0 < src["depth"] < 100  # km
    assert src["quakeml"].lstrip().startswith("<?xml")
    db.save_catalog(str(NZ / "test_catalog_2018p130600.xml"))  # rerun: upsert, no copy
    assert db.source.count_documents({}) == 1


def test_save_inventory_nz_and_duplicates(db):
    out = db.save_inventory(str(NZ / "test_dataless_NZ_BFZ.xml"))
    assert out["site"].saved == 1 and out["channel"].saved == 3
    site = db.site.find_one({"sta": "BFZ"})
    assert site["loc"] == "10" and site["elev"] == pytest.approx(0.283, abs=1e-3)
    assert -41 < site["lat"] < -40 and 175 < site["lon"] < 177
    chans = {c["chan"]: c for c in db.channel.find({})}
    assert set(chans) == {"HHZ", "HHN", "HHE"}
    assert chans["HHE"]["hang"] == 90.0 and chans["HHE"]["vang"] == 90.0
    assert chans["HHZ"]["vang"] == 0.0
    assert chans["HHN"]["starttime"] == pytest.approx(1444217410.0)
    response = channel_response(chans["HHZ"])
    assert response.instrument_sensitivity.value > 1e8
    assert "pickle" not in str(chans["HHZ"]).lower()
    again = db.save_inventory(str(NZ / "test_dataless_NZ_BFZ.xml"))
    assert again["channel"].saved == 0 and again["channel"].duplicates == 3
    assert again["site"].duplicates == 1
    assert db.channel.count_documents({}) == 3 and db.site.count_documents({}) == 1


def test_malformed_files_name_the_file_and_store_nothing(db, tmp_path):
    bad_xml = tmp_path / "broken_catalog.xml"
    bad_xml.write_text("<quakeml><eventParameters><event>")
    with pytest.raises(IngestError, match="broken_catalog.xml"):
        db.save_catalog(str(bad_xml))
    bad_inv = tmp_path / "broken_inventory.xml"
    bad_inv.write_text((NZ / "test_dataless_NZ_BFZ.xml").read_text()[:5000])
    with pytest.raises(IngestError, match="broken_inventory.xml"):
        db.save_inventory(str(bad_inv))
    assert db.source.count_documents({}) == 0 and db.channel.count_documents({}) == 0


def _stage_mseed(db) -> list[Path]:
    target = Path(db.storage_root) / "mseed"
    target.mkdir(parents=True, exist_ok=True)
    out = []
    for f in sorted((NZ / "mseed").iterdir()):
        shutil.copy(f, target / f.name)
        out.append(target / f.name)
    return out


def test_index_and_read_nz_mseed_with_normalization(db):
    db.save_inventory(str(NZ / "test_dataless_NZ_BFZ.xml"))
    files = _stage_mseed(db)
    ids = []
    for f in files:
        rep = db.index_mseed(f, data_tag="observed")
        assert rep.saved >= 1 and not rep.skipped
        ids += rep.ids
    docs = list(db.wf_TimeSeries.find({"data_tag": "observed"}))
    assert {d["chan"] for d in docs} == {"HHE", "HHN", "HHZ"}
    assert all(d["format"] == "mseed" and d["dir"] == "mseed" for d in docs)
    hhz = db.wf_TimeSeries.find_one({"chan": "HHZ"})
    ts = db.read_data(hhz["_id"], normalize=["channel", "site"])
    ref = read(str(NZ / "mseed" / "NZ.BFZ.10.HHZ.D.2018.049"))
    ref.merge()
    assert ts.live and np.array_equal(ts.data, ref[0].data.astype(np.float64))
    assert ts.t0 == pytest.approx(ref[0].stats.starttime.timestamp)
    assert ts["channel_vang"] == 0.0 and ts["site_elev"] == pytest.approx(0.283, abs=1e-3)
    # re-indexing is idempotent
    assert db.index_mseed(files[0]).duplicates >= 1
    assert db.wf_TimeSeries.count_documents({}) == len(docs)
    # a group read opens each file once and yields the same samples
    ens = db.read_ensemble_data_group(ids, normalize=["channel"])
    assert all(m.live for m in ens) and len(ens) == len(ids)


def test_truncated_mseed_kills_only_that_channel(db):
    files = _stage_mseed(db)
    for f in files:
        db.index_mseed(f)
    with open(files[0], "r+b") as fh:  # HHE
        fh.truncate(1000)
    ens = db.read_ensemble_data(db.wf_TimeSeries.find({}).sort("chan", 1))
    live = {m["chan"]: m.live for m in ens}
    assert live["HHE"] is False and live["HHN"] and live["HHZ"]
    dead = next(m for m in ens if m["chan"] == "HHE")
    assert files[0].name in dead.elog[-1].message


def test_index_outside_storage_root_refused(db):
    from spark_seis.db import StoragePathError

    with pytest.raises(StoragePathError, match="outside the storage root"):
        db.index_mseed(NZ / "mseed" / "NZ.BFZ.10.HHZ.D.2018.049")
