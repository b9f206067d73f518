"""Continuous records holding several events: one window per event (--cut)."""
from __future__ import annotations

import obspy
import pytest

from spark_seis.db.client import get_database
from spark_seis.workflow.ingest import IngestOptions, ingest_paths

from _nz_data import NZ


@pytest.fixture
def db_two_events(tmp_path):
    db = get_database({"work_dir": str(tmp_path / "work")})
    cat = obspy.read_events(str(NZ / "test_catalog_2018p130600.xml"))
    second = cat[0].copy()
    second.resource_id = obspy.core.event.ResourceIdentifier("smi:local/later_event")
    for origin in second.origins:
        origin.time += 200.0  # inside the same 370 s record
    cat.append(second)
    db.save_catalog(cat)
    return db


def test_cut_saves_one_window_per_event_and_twice_adds_nothing(db_two_events):
    db = db_two_events
    options = IngestOptions(cut=(20.0, 150.0))
    summary = ingest_paths(db, [NZ / "test_dataless_NZ_BFZ.xml", NZ / "mseed"], options)
    assert summary.added["wf_TimeSeries"] == 6 and not summary.skipped
    by_event = {}
    for src in db.db["source"].find({}):
        docs = list(db.db["wf_TimeSeries"].find({"source_id": src["_id"]}))
        by_event[src["event_id"]] = docs
        assert sorted(d["chan"] for d in docs) == ["HHE", "HHN", "HHZ"]
        for d in docs:
            assert d["starttime"] == pytest.approx(src["time"] - 20.0, abs=0.01)
            assert d["npts"] == 17001 and d["data_tag"] == "observed"
            # linked to the channel epoch, so reads can normalize
            channel = db.db["channel"].find_one({"_id": d["channel_id"]})
            assert (channel["chan"], channel["loc"]) == (d["chan"], "10")
    assert set(by_event) == {"2018p130600", "later_event"}
    # the samples are the record's own, cut at the window
    ts = db.read_data(by_event["later_event"][0]["_id"], normalize=["channel"])
    assert ts["channel_vang"] == pytest.approx(0.0 if ts["chan"] == "HHZ" else 90.0)
    record = obspy.read(str(NZ / "mseed" / f"NZ.BFZ.10.{ts['chan']}.D.2018.049"))[0]
    expected = record.slice(obspy.UTCDateTime(ts.t0)).data[:ts.npts]
    assert (ts.data == expected).all()
    again = ingest_paths(db, [NZ / "mseed"], options)
    assert again.added["wf_TimeSeries"] == 0 and again.existing["wf_TimeSeries"] == 6


def test_without_cut_a_record_with_two_events_is_skipped_with_the_reason(db_two_events):
    summary = ingest_paths(db_two_events, [NZ / "mseed"], IngestOptions())
    assert summary.added["wf_TimeSeries"] == 0
    assert any("several sources match" in why for _what, why in summary.skipped)
