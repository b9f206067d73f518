"""MsPASS CRUD fidelity (issue 12): each test cites the rule of
shared/seeds/mspass_crud_operations.txt it checks or, where the document is
silent, MsPASS's released behaviour (mspass-team/mspass,
python/mspasspy/db/database.py). Runs on every backend of db_support.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from bson import ObjectId

from db_support import db, dbs, make_seis, make_ts  # noqa: F401 - fixtures
from spark_seis.core import TimeSeriesEnsemble


def _source(db, event_id="e1"):
    return db.source.insert_one({"lat": -39.9, "lon": 176.3, "depth": 20.0, "time": 1.5e9,
                                 "magnitude": 5.2, "event_id": event_id}).inserted_id


# --- 1. adding a cross-reference id links; only altering one kills ----------------
def test_linking_a_read_datum_to_a_source_saves_it(db):
    """Update Rule 2 forbids *altering* a cross-referencing id a datum was loaded
    with ("If a writer detects a linking id was altered ... marked bad"); setting
    ``d["source_id"] = sid`` on a datum read without one is how data are linked to
    an event, so the save must keep it alive with the new link."""
    raw = make_ts(1)
    db.save_data(raw, data_tag="raw")
    d = db.read_data(raw["_id"])
    sid = _source(db)
    d["source_id"] = sid
    db.save_data(d, data_tag="linked")
    assert d.live and db.graveyard.count_documents({}) == 0
    saved = db.wf_TimeSeries.find_one({"data_tag": "linked"})
    assert saved["source_id"] == sid
    back = db.read_data(saved["_id"], normalize=["source"])
    assert back.live and back["source_event_id"] == "e1"


def test_linking_through_update_metadata_writes_the_id(db):
    """Same rule on update (Update Rule 2, "These rules apply to both updates and
    writes"): a document without ids updated from a datum that now carries ids is
    linked, not killed."""
    raw = make_ts(2)
    db.save_data(raw)
    d = db.read_data(raw["_id"])
    site, chan = ObjectId(), ObjectId()
    d["site_id"], d["channel_id"] = site, chan
    assert db.update_metadata(d) is d
    assert d.live and db.graveyard.count_documents({}) == 0
    doc = db.wf_TimeSeries.find_one({"_id": raw["_id"]})
    assert doc["site_id"] == site and doc["channel_id"] == chan


def test_ensemble_source_id_links_every_member(db):
    """save_ensemble_data copies the ensemble's Metadata into every member before
    saving (Create, item 2); ``ensemble["source_id"] = sid`` on members read
    without an id must therefore link them all."""
    for i in range(3):
        db.save_data(make_ts(10 + i), data_tag="raw")
    ens = db.read_ensemble_data(db.wf_TimeSeries.find({"data_tag": "raw"}))
    sid = _source(db)
    ens.metadata["source_id"] = sid
    db.save_ensemble_data(ens, data_tag="event")
    assert all(m.live for m in ens)
    assert db.wf_TimeSeries.count_documents({"data_tag": "event", "source_id": sid}) == 3
    assert db.graveyard.count_documents({}) == 0


def test_altering_a_loaded_id_still_kills(db):
    """The unforgivable sin stays one: a changed value of an id the datum was read
    with kills it and writes the graveyard (Save Concepts, item 4)."""
    d0 = make_ts(3, source_id=ObjectId())
    db.save_data(d0)
    d = db.read_data(d0["_id"])
    d["source_id"] = str(d["source_id"])  # the same link as a string is no change
    db.update_metadata(d)
    assert d.live and db.graveyard.count_documents({}) == 0
    d["source_id"] = ObjectId()
    db.save_data(d)
    assert d.dead and db.graveyard.count_documents({}) == 1


# --- 2. save without data_tag does not carry the read tag forward ------------------
def test_save_without_tag_does_not_resave_the_input_tag(db):
    """MsPASS's save_data: ``if data_tag: insertion_dict["data_tag"] = data_tag``
    else it erases "data_tag" from the insertion ("We need to clear data tag if was
    previously defined in this case or the old tag will be saved with this datum";
    mspass-team/mspass python/mspasspy/db/database.py, Database.save_data). So
    processed data saved without a tag are not found by a query for the raw tag."""
    db.save_data(make_ts(4), data_tag="raw")
    d = db.read_data(db.wf_TimeSeries.find_one({"data_tag": "raw"}))
    d.data = d.data * 2.0
    db.save_data(d)
    assert db.wf_TimeSeries.count_documents({"data_tag": "raw"}) == 1
    untagged = db.wf_TimeSeries.find_one({"_id": d["_id"]})
    assert "data_tag" not in untagged and "data_tag" not in d.metadata
    np.testing.assert_array_equal(db.read_data(d["_id"]).data, d.data)
    db.save_data(d, data_tag="")  # an empty tag is no tag, as in MsPASS (falsy test)
    assert "data_tag" not in db.wf_TimeSeries.find_one({"_id": d["_id"]})


# --- 5. update_metadata keeps the time base in sync ---------------------------------
def test_update_metadata_writes_changed_t0_as_starttime(db):
    """MsPASS's update_metadata first syncs Metadata with the object's time base
    (``_sync_metadata_before_update``: ``set_t0(t0)``) so a shifted datum's
    starttime reaches the database; the document's Update section lists
    metadata-only changes (e.g. a time shift to a pick) as what updates are for."""
    d0 = make_ts(5)
    db.save_data(d0)
    d = db.read_data(d0["_id"])
    d.t0 += 12.5
    db.update_metadata(d)
    doc = db.wf_TimeSeries.find_one({"_id": d0["_id"]})
    assert doc["starttime"] == d0.t0 + 12.5 and d["starttime"] == d.t0
    d.tref = "relative"
    db.update_metadata(d)
    assert db.wf_TimeSeries.find_one({"_id": d0["_id"]})["time_standard"] == "relative"
    assert db.read_data(d0["_id"]).t0 == d0.t0 + 12.5


# --- 6. missing MsPASS arguments ----------------------------------------------------
def test_save_data_exclude_keys(db):
    """MsPASS save_data(exclude_keys=...): listed Metadata keys are not saved
    (Create item 1 refers to the docstring's options)."""
    d = make_ts(6, scratch=[1, 2, 3], keep=1)
    db.save_data(d, exclude_keys=["scratch"])
    doc = db.wf_TimeSeries.find_one({"_id": d["_id"]})
    assert "scratch" not in doc and doc["keep"] == 1 and doc["npts"] == 100


def test_read_data_with_data_tag_refuses_other_tags(db):
    """MsPASS read_data(data_tag=...): ``if data_tag: if "data_tag" not in
    object_doc or object_doc["data_tag"] != data_tag: return None``."""
    a, b = make_ts(7), make_ts(8)
    db.save_data(a, data_tag="raw")
    db.save_data(b)
    assert db.read_data(a["_id"], data_tag="raw").live
    assert db.read_data(a["_id"], data_tag="processed") is None
    assert db.read_data(b["_id"], data_tag="raw") is None
    ens = db.read_ensemble_data([a["_id"], b["_id"]], data_tag="raw")
    assert [m["sta"] for m in ens] == ["S007"]


def test_read_ensemble_data_ensemble_metadata(db):
    """read_ensemble_data(ensemble_metadata=...) sets the ensemble's own Metadata
    container, the group attributes save_ensemble_data copies back to members
    (Create item 2)."""
    db.save_data(make_ts(9))
    ens = db.read_ensemble_data(db.wf_TimeSeries.find({}),
                                ensemble_metadata={"evid": "E7", "stack": 2})
    assert isinstance(ens, TimeSeriesEnsemble) and len(ens) == 1
    assert ens.metadata["evid"] == "E7" and ens.metadata.modified() == set()


# --- 8. smaller ones ----------------------------------------------------------------
def test_pedantic_update_refuses_keys_not_in_schema(db):
    """MsPASS update_metadata, pedantic mode: "cannot update data with key=... because
    it is not defined in the schema" (ErrorSeverity.Complaint), and the key is not
    written; cautious/promiscuous write it."""
    d0 = make_ts(11)
    db.save_data(d0)
    d = db.read_data(d0["_id"])
    d["my_pick"] = 3.5
    d["calib"] = 2.0
    db.update_metadata(d, mode="pedantic")
    doc = db.wf_TimeSeries.find_one({"_id": d0["_id"]})
    assert "my_pick" not in doc and doc["calib"] == 2.0 and d.live
    messages = [e["message"] for x in db.elog.find({"wf_TimeSeries_id": d0["_id"]})
                for e in x["logdata"]]
    assert any("my_pick" in m and "not defined in the schema" in m for m in messages)


def test_update_metadata_of_dead_datum_returns_none_and_writes_nothing(db):
    """MsPASS update_metadata: "Return a None immediately if the data is marked
    dead - signal it did nothing"."""
    d0 = make_ts(12)
    db.save_data(d0)
    d = db.read_data(d0["_id"])
    d["pick"] = 1.0
    d.kill("qc", "clipped")
    before = list(db.elog.find({}))
    assert db.update_metadata(d) is None
    assert list(db.elog.find({})) == before
    assert "pick" not in db.wf_TimeSeries.find_one({"_id": d0["_id"]})


def test_tombstone_of_data_built_in_memory_has_starttime(db):
    """Save Concepts: the tombstone report prints ``UTCDateTime(wfmd['startime'])``
    (sic) for every dead datum, so the tombstone of a datum built in memory carries
    its time base too."""
    d = make_ts(13)
    d.kill("qc", "dead on arrival")
    db.save_data(d)
    tomb = db.elog.find_one({"tombstone": {"$exists": True}})["tombstone"]
    assert tomb["starttime"] == 1.5e9 + 13 and tomb["npts"] == 100 and tomb["delta"] == 0.01
    # a datum whose samples could not be read keeps the stored time base, not the
    # blank one of its empty object
    d0 = make_ts(16, npts=50)
    db.save_data(d0, dfile="gone.bin")
    (Path(db.storage_root) / "wf_TimeSeries" / "gone.bin").unlink()
    dead = db.read_data(d0["_id"])
    assert dead.dead
    db.save_data(dead)
    tomb = db.elog.find_one({"tombstone.sta": "S016"})["tombstone"]
    assert tomb["starttime"] == 1.5e9 + 16 and tomb["npts"] == 50 and tomb["delta"] == 0.01


def test_clean_and_verify_accept_normalizing_collections(db):
    """Delete Rule 2 leaves source/site/channel housecleaning to the user; the
    document's read modes recommend ``clean`` before reading, and normalized
    attributes are loaded from those collections, so they can be verified and
    cleaned as well (MsPASS clean_collection/verify take any collection)."""
    good = db.site.insert_one({"net": "NZ", "sta": "A", "loc": "", "lat": -40.0,
                               "lon": 176.0, "elev": 0.1, "starttime": 0.0,
                               "endtime": 2e9}).inserted_id
    bad = db.site.insert_one({"net": "NZ", "sta": "B", "loc": "", "lat": "-41.5",
                              "lon": 176.0, "elev": 0.2, "starttime": 0.0,
                              "endtime": 2e9}).inserted_id
    report = db.verify("site")
    assert set(report) == {str(bad)} and any("lat" in p for p in report[str(bad)])
    assert db.clean("site")["fixed"] == 1
    assert db.site.find_one({"_id": bad})["lat"] == -41.5
    assert db.verify("site") == {} and db.site.find_one({"_id": good})["lat"] == -40.0


def test_delete_data_of_unknown_id_raises_clear_error(db):
    """Delete section: delete_data's ``id`` "is the ObjectID of the wf collection
    document"; MsPASS's delete_data raises MsPASSError("Could not find document in
    wf collection by _id: ...") for an id without a document. Ours names the id
    and the collection."""
    from spark_seis.db.crud_delete import DocumentNotFoundError

    missing = ObjectId()
    with pytest.raises(DocumentNotFoundError, match=f"{missing}.*wf_TimeSeries"):
        db.delete_data(missing)


def test_changed_normalized_attribute_is_silently_ignored_in_update(db):
    """Update section: "In most cases regular attributes from normalized data (e.g.
    source_lat and source_lon ...) are silently ignored in an update." Not saved,
    and no elog entry."""
    sid = _source(db)
    d0 = make_ts(14, source_id=sid)
    db.save_data(d0)
    d = db.read_data(d0["_id"], normalize=["source"])
    d["source_lat"] = 99.0
    d["amp"] = 1.5
    db.update_metadata(d)
    doc = db.wf_TimeSeries.find_one({"_id": d0["_id"]})
    assert "source_lat" not in doc and doc["amp"] == 1.5
    assert len(d.elog) == 0
    assert db.elog.count_documents({"wf_TimeSeries_id": d0["_id"]}) == 0


def test_seismogram_link_and_untagged_save(dbs):
    """Rules 1 and 2 above hold for wf_Seismogram too (site_id is its link)."""
    s0 = make_seis(1)
    dbs.save_data(s0, data_tag="raw")
    s = dbs.read_data(s0["_id"])
    site = ObjectId()
    s["site_id"] = site
    dbs.save_data(s)
    doc = dbs.wf_Seismogram.find_one({"_id": s["_id"]})
    assert s.live and doc["site_id"] == site and "data_tag" not in doc


def test_save_inventory_tolerates_small_epoch_differences(db):
    """Create item 4: save_inventory "will refuse to add an entry it interprets as a
    pure duplicate document". MsPASS interprets: same codes and starttime and
    endtime each within ``time_fudge_factor = 10.0`` s (mspass-team/mspass
    python/mspasspy/db/database.py, ``_site_is_not_in_db``/``_channel_is_not_in_db``).
    An epoch one second off is the same epoch; a minute off is a new one."""
    from obspy import read_inventory

    from conftest import NZ_DATA

    def shifted(seconds):
        inv = read_inventory(str(NZ_DATA / "test_dataless_NZ_BFZ.xml"))
        for net in inv:
            for sta in net:
                sta.start_date += seconds
                for cha in sta.channels:
                    cha.start_date += seconds
        return inv

    first = db.save_inventory(shifted(0))
    n_site, n_chan = db.site.count_documents({}), db.channel.count_documents({})
    assert first["site"].saved == n_site >= 1 and first["channel"].saved == n_chan >= 3
    again = db.save_inventory(shifted(1))
    assert again["site"].saved == 0 and again["site"].duplicates == n_site
    assert again["channel"].saved == 0 and again["channel"].duplicates == n_chan
    moved = db.save_inventory(shifted(60))
    assert moved["site"].saved == n_site and moved["channel"].saved == n_chan


def test_pymongo_gridfs_reads_our_gridfs_files(db):
    """Read item 3 presents GridFS as MsPASS's default storage, used through
    pymongo's ``gridfs`` module; our hand-written fs.files/fs.chunks layout must be
    what that module reads (and what it writes must be what we read). Needs a real
    MongoDB: pymongo's gridfs only works on a pymongo Database."""
    import gridfs
    import pymongo

    if not isinstance(db.db, pymongo.database.Database):
        pytest.skip("pymongo's gridfs module needs a real MongoDB (SPARK_SEIS_MONGO_URI)")
    d = make_ts(15, npts=70000)  # > one 255 KiB chunk
    db.save_data(d, storage_mode="gridfs")
    gid = db.wf_TimeSeries.find_one({"_id": d["_id"]})["gridfs_id"]
    payload = gridfs.GridFS(db.db).get(gid).read()
    np.testing.assert_array_equal(np.frombuffer(payload, dtype="<f8"), d.data)
    theirs = gridfs.GridFS(db.db).put(np.arange(5, dtype="<f8").tobytes())
    from spark_seis.db.sample_io import gridfs_get

    assert np.frombuffer(gridfs_get(db.db, theirs), dtype="<f8").tolist() == [0, 1, 2, 3, 4]
