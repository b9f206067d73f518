"""Bad input files, generated here: each is refused with an error naming the file (whole-file
problems) or becomes a dead datum / skipped item whose message names it. The same defects
inside a running job are in test_reliability_job.py; test_db_ingest.py holds malformed
QuakeML/StationXML and a truncated MiniSEED at read time."""
from __future__ import annotations

import shutil
import struct
from pathlib import Path

import numpy as np
import obspy
import pytest

from db_support import db  # noqa: F401 - fixture
from spark_seis.db import document_to_object
from spark_seis.db.ingest import IngestError, channel_response

NZ = Path(__file__).parent / "data" / "nz_2018p130600"
HHZ = NZ / "mseed" / "NZ.BFZ.10.HHZ.D.2018.049"


def _in_root(db, name: str, payload: bytes) -> Path:
    path = Path(db.storage_root) / "mseed" / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(payload)
    return path


def _stream_file(db, name: str, stream: obspy.Stream) -> Path:
    path = Path(db.storage_root) / "mseed" / name
    path.parent.mkdir(parents=True, exist_ok=True)
    stream.write(str(path), format="MSEED", reclen=512)
    return path


@pytest.mark.parametrize("name,payload", [
    ("garbage.mseed", np.random.default_rng(3).bytes(4096)),
    ("empty.mseed", b""),
    ("text.mseed", b"this is not a seismogram\n" * 40),
])
def test_unreadable_miniseed_is_a_clear_error_naming_the_file(db, name, payload):
    path = _in_root(db, name, payload)
    with pytest.raises(IngestError, match=name):
        db.index_mseed(path)
    assert db.wf_TimeSeries.count_documents({}) == 0


def test_truncated_miniseed_keeps_whole_records_and_names_the_cut(db):
    raw = HHZ.read_bytes()
    path = _in_root(db, "cut.mseed", raw[:len(raw) // 2 + 100])
    report = db.index_mseed(path)
    assert report.saved == 1 and len(report.skipped) == 1
    assert "cut.mseed" in report.skipped[0] and "offset" in report.skipped[0]
    ts = db.read_data(report.ids[0])
    full = obspy.read(str(HHZ)).merge()[0]
    assert ts.live and 0 < ts.npts < full.stats.npts
    np.testing.assert_array_equal(ts.data, full.data[:ts.npts].astype(float))


def test_gaps_and_conflicting_overlaps_are_skipped_naming_the_file(db):
    tr = obspy.read(str(HHZ)).merge()[0]
    t0 = tr.stats.starttime
    gap = obspy.Stream([tr.slice(t0, t0 + 60), tr.slice(t0 + 90, t0 + 150)])
    overlap_b = tr.slice(t0 + 50, t0 + 120)
    overlap_b.data = overlap_b.data * 2  # same channel, same time, other samples
    overlap = obspy.Stream([tr.slice(t0, t0 + 60), overlap_b])
    for name, stream in (("gap.mseed", gap), ("overlap.mseed", overlap)):
        report = db.index_mseed(_stream_file(db, name, stream))
        assert report.saved == 0 and report.skipped, name
        assert name in report.skipped[0] and "gaps" in report.skipped[0]
    # an exact duplicate of the same data merges cleanly: nothing is lost, nothing invented
    dup = obspy.Stream([tr.slice(t0, t0 + 60), tr.slice(t0, t0 + 60)])
    report = db.index_mseed(_stream_file(db, "dup.mseed", dup))
    assert report.saved == 1 and not report.skipped
    assert db.read_data(report.ids[0]).npts == tr.slice(t0, t0 + 60).stats.npts


def test_quakeml_without_origin_is_skipped_naming_the_event(db, tmp_path):
    cat = obspy.read_events(str(NZ / "test_catalog_2018p130600.xml"))
    cat[0].origins, cat[0].preferred_origin_id = [], None
    path = tmp_path / "no_origin.xml"
    cat.write(str(path), format="QUAKEML")
    report = db.save_catalog(str(path))
    assert report.saved == 0 and "2018p130600" in report.skipped[0]
    assert "no origin" in report.skipped[0] and db.source.count_documents({}) == 0


def test_stationxml_without_response_names_the_channel_when_it_is_needed(db, tmp_path):
    inv = obspy.read_inventory(str(NZ / "test_dataless_NZ_BFZ.xml"))
    for cha in inv[0][0]:
        cha.response = None
    path = tmp_path / "no_response.xml"
    inv.write(str(path), format="STATIONXML")
    assert db.save_inventory(str(path))["channel"].saved == 3  # coordinates are still good
    doc = db.channel.find_one({"chan": "HHZ"})
    with pytest.raises(ValueError, match=r"NZ\.BFZ\.10\.HHZ.*no instrument response"):
        channel_response(doc)


def test_nonfinite_samples_in_a_sample_file_kill_the_datum_naming_document_and_file(tmp_path):
    root = tmp_path / "root"
    (root / "d").mkdir(parents=True)
    (root / "d" / "bad.bin").write_bytes(np.array([1.0, np.nan, np.inf, 2.0]).tobytes())
    doc = {"_id": "bad1", "net": "NZ", "sta": "BFZ", "loc": "10", "chan": "HHZ", "npts": 4,
           "delta": 0.01, "starttime": 0.0, "dir": "d", "dfile": "bad.bin", "foff": 0,
           "nbytes": 32}
    obj = document_to_object(doc, storage_root=str(root))
    assert not obj.live
    message = obj.elog[-1].message
    assert "NZ.BFZ.10.HHZ" in message and "d/bad.bin" in message and "2 non-finite" in message


def _sac_with_header(tmp_path, name, **patch):
    tr = obspy.read(str(HHZ)).merge()[0].slice(None, None)
    tr.data = tr.data[:500].astype("float32")
    path = tmp_path / name
    tr.write(str(path), format="SAC")
    raw = bytearray(path.read_bytes())
    offsets = {"delta": (0, "<f"), "npts": (316, "<i"), "nvhdr": (304, "<i")}
    for key, value in patch.items():
        off, fmt = offsets[key]
        raw[off:off + 4] = struct.pack(fmt, value)
    path.write_bytes(bytes(raw))
    return path


@pytest.mark.parametrize("patch", [{"npts": 10**8}, {"nvhdr": 99}, {"delta": -0.01}])
def test_sac_with_a_wrong_header_is_skipped_naming_the_file(db, tmp_path, patch):
    from spark_seis.workflow.ingest import ingest_paths

    shutil.copy(NZ / "test_catalog_2018p130600.xml", tmp_path / "catalog.xml")
    bad = _sac_with_header(tmp_path, "NZ.BFZ.HHZ.sac", **patch)
    summary = ingest_paths(db, [tmp_path])
    skipped = {Path(what).name: why for what, why in summary.skipped}
    assert bad.name in skipped, summary.lines()
    assert db.wf_TimeSeries.count_documents({}) == 0
    assert db.source.count_documents({}) == 1  # the good file next to it was ingested
