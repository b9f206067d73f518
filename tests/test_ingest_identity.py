"""Ingest identity and names (issue 16, items 1-3, 5-7, 12): a truncated or different
copy never shadows the good file, one bad .semd is skipped alone, synthetics go to the
event their folder names, events are keyed on the full resource id, no name escapes
its folder, codes with '_' read back, and a full disk or database ends the ingest
with one line naming the file and the cause."""
from __future__ import annotations

import errno
import shutil
import sqlite3
from pathlib import Path

import numpy as np
import obspy
import pytest
from obspy.core.event import Catalog, Event, Origin, ResourceIdentifier

from spark_seis.cli.main import main
from spark_seis.db.client import get_database
from spark_seis.db.safe_names import UnsafeNameError, inside, safe_file_stem
from spark_seis.workflow.ingest import IngestOptions, IngestStopped, ingest_paths

NZ = Path(__file__).parent / "data" / "nz_2018p130600"
CATALOG = NZ / "test_catalog_2018p130600.xml"
STATIONXML = NZ / "test_dataless_NZ_BFZ.xml"
HHZ = NZ / "mseed" / "NZ.BFZ.10.HHZ.D.2018.049"
SYN = IngestOptions(synthetic_tag="synthetic_i01s00")


@pytest.fixture
def db(tmp_path):
    return get_database({"work_dir": str(tmp_path / "work")})


def _partial_copy(tmp_path: Path) -> Path:
    """`head -c 20480` of the real HHZ MiniSEED, under the same name (a cut download)."""
    folder = tmp_path / "partial"
    folder.mkdir()
    (folder / HHZ.name).write_bytes(HHZ.read_bytes()[:20480])
    return folder / HHZ.name


def _hhz_samples(db) -> np.ndarray:
    (doc,) = list(db.wf_TimeSeries.find({"chan": "HHZ"}))
    return db.read_data(doc).data


# ------------------------------------------------------------------ item 1
def test_truncated_copy_ingested_first_is_replaced_by_the_whole_file(db, tmp_path):
    full = obspy.read(str(HHZ))[0]
    partial = _partial_copy(tmp_path)
    first = ingest_paths(db, [CATALOG, STATIONXML, partial])
    assert first.added["wf_TimeSeries"] == 1
    assert db.wf_TimeSeries.find_one({"chan": "HHZ"})["npts"] < full.stats.npts

    second = ingest_paths(db, [HHZ])
    (doc,) = list(db.wf_TimeSeries.find({"chan": "HHZ"}))
    assert doc["npts"] == full.stats.npts == 37001
    np.testing.assert_array_equal(_hhz_samples(db), full.data.astype(np.float64))
    assert second.replaced["wf_TimeSeries"] == 1 and not second.skipped
    (note,) = second.notes
    assert str(HHZ) in note and str(partial) in note and "truncated" in note
    # and the rerun of either copy changes nothing
    assert ingest_paths(db, [HHZ, partial]).total_added == 0
    assert db.wf_TimeSeries.count_documents({}) == 1
    assert db.wf_TimeSeries.find_one({})["npts"] == 37001


def test_truncated_copy_after_the_whole_file_keeps_the_whole_file(db, tmp_path):
    partial = _partial_copy(tmp_path)
    ingest_paths(db, [CATALOG, STATIONXML, HHZ])
    later = ingest_paths(db, [partial])
    assert db.wf_TimeSeries.find_one({"chan": "HHZ"})["npts"] == 37001
    assert later.existing["wf_TimeSeries"] == 1 and not later.skipped
    assert any(str(partial) in n and "kept the longer copy" in n for n in later.notes)


def test_a_different_copy_is_reported_naming_both_files(db, tmp_path):
    """Same channel and start, same length, one sample changed: not silently dropped."""
    st = obspy.read(str(HHZ))
    st[0].data[5000] += 7
    other = tmp_path / "other" / "BFZ_HHZ_bitflip.mseed"
    other.parent.mkdir()
    st.write(str(other), format="MSEED", encoding=st[0].stats.mseed.encoding,
             reclen=st[0].stats.mseed.record_length)
    ingest_paths(db, [CATALOG, STATIONXML, HHZ])
    summary = ingest_paths(db, [other])
    (what, why), = summary.skipped
    assert str(other) in what and str(HHZ) in why
    assert "different samples" in why and "first difference at sample 5000" in why
    assert summary.not_stored == 1
    np.testing.assert_array_equal(_hhz_samples(db), obspy.read(str(HHZ))[0].data)


# ------------------------------------------------------------------ item 2
def test_one_bad_semd_is_skipped_by_name_and_the_others_stored(db, tmp_path, capsys,
                                                               monkeypatch):
    syn = tmp_path / "run" / "2018p130600"
    shutil.copytree(NZ / "synthetics_BFZ", syn)
    bad = syn / "NZ.BFZ.BXE.semd"
    table = np.loadtxt(bad)
    table[:, 0] = table[0, 0]  # a constant time column
    np.savetxt(bad, table)
    summary = ingest_paths(db, [CATALOG, syn], SYN)
    assert sorted(d["chan"] for d in db.wf_TimeSeries.find({})) == ["BXN", "BXZ"]
    (what, why), = summary.skipped
    assert what == str(bad) and "time column" in why
    assert summary.files["semd"] == 2 and summary.not_stored == 1

    # the command says so in its exit status
    proj = tmp_path / "proj"
    assert main(["init", str(proj)]) == 0
    monkeypatch.chdir(proj)
    monkeypatch.delenv("SPARK_SEIS_MONGO_URI", raising=False)
    monkeypatch.delenv("SPARK_SEIS_WORK_DIR", raising=False)
    capsys.readouterr()
    assert main(["ingest", "--no-progress", str(CATALOG), str(syn)]) == 1
    out, err = capsys.readouterr()
    assert "files read: 1 quakeml, 2 semd" in out and f"{bad}: not a SPECFEM" in out
    assert err.strip() == "spark-seis: 1 input(s) not stored: see 'skipped' above"


# ------------------------------------------------------------------ item 3
def test_synthetics_go_to_the_event_their_folder_names_or_are_skipped(db, tmp_path):
    ingest_paths(db, [CATALOG])
    elsewhere = tmp_path / "synthetics_2019p123456"
    shutil.copytree(NZ / "synthetics_BFZ", elsewhere)
    summary = ingest_paths(db, [elsewhere], SYN)
    assert db.wf_TimeSeries.count_documents({}) == 0
    assert len(summary.skipped) == 3
    assert all("'2019p123456'" in why and "not in the source collection" in why
               for _what, why in summary.skipped)

    # a QuakeML that failed to load does not send its synthetics elsewhere either
    broken = tmp_path / "2020p000001"
    shutil.copytree(NZ / "synthetics_BFZ", broken / "syn")
    (broken / "event.xml").write_text('<?xml version="1.0"?><q:quakeml xmlns:q="x"><event')
    failed = ingest_paths(db, [broken], SYN)
    assert db.wf_TimeSeries.count_documents({}) == 0
    assert sum("'2020p000001'" in why for _w, why in failed.skipped) == 3

    # the event's own synthetics are then stored, not refused as duplicates
    own = tmp_path / "run_2018p130600" / "traces"
    shutil.copytree(NZ / "synthetics_BFZ", own)
    assert ingest_paths(db, [own.parent], SYN).added["wf_TimeSeries"] == 3

    # nothing names an event: the single event of the database takes them
    plain = tmp_path / "plain" / "OUTPUT_FILES"
    shutil.copytree(NZ / "synthetics_BFZ", plain)
    fallback = ingest_paths(db, [plain], IngestOptions(synthetic_tag="synthetic_i01s01"))
    assert fallback.added["wf_TimeSeries"] == 3


# ------------------------------------------------------------------ item 5
def _event(rid: str, time: float) -> Event:
    origin = Origin(resource_id=ResourceIdentifier(f"{rid}/origin"),
                    time=obspy.UTCDateTime(time), latitude=-40.0, longitude=175.0,
                    depth=10000.0)
    return Event(resource_id=ResourceIdentifier(rid), origins=[origin])


def test_events_are_keyed_on_the_full_resource_id(db, tmp_path):
    path = tmp_path / "two.xml"
    Catalog(events=[_event("smi:agencyA/1001", 1.5e9),
                    _event("smi:agencyB/1001", 1.6e9)]).write(str(path), format="QUAKEML")
    summary = ingest_paths(db, [path])
    docs = {d["resource_id"]: d for d in db.source.find({})}
    assert set(docs) == {"smi:agencyA/1001", "smi:agencyB/1001"}
    assert docs["smi:agencyA/1001"]["event_id"] == "1001"
    assert docs["smi:agencyB/1001"]["event_id"] == "agencyB_1001"
    assert docs["smi:agencyB/1001"]["time"] == 1.6e9
    (note,) = summary.notes
    assert "smi:agencyB/1001" in note and "'agencyB_1001'" in note and "'1001'" in note
    again = ingest_paths(db, [path])
    assert again.added["source"] == 0 and again.existing["source"] == 2
    assert db.source.count_documents({}) == 2


# ------------------------------------------------------------------ item 6
def test_resource_ids_become_safe_event_names(db, tmp_path):
    path = tmp_path / "evil.xml"
    Catalog(events=[_event("smi:x/../../../../escaped/", 1.5e9),
                    _event("smi:local/2018p999999/", 1.6e9)]).write(str(path), format="QUAKEML")
    ingest_paths(db, [path])
    names = {d["resource_id"]: d["event_id"] for d in db.source.find({})}
    assert names == {"smi:x/../../../../escaped/": "escaped",
                     "smi:local/2018p999999/": "2018p999999"}


def test_unsafe_names_are_sanitized_or_refused():
    for bad in ("smi:x/../../../../escaped/", "../x", ".hidden", "a/b", "a\\b", "é/x"):
        stem = safe_file_stem(bad)
        assert "/" not in stem and "\\" not in stem and not stem.startswith(".")
        assert stem != bad and len(stem) <= 100
    assert safe_file_stem("2018p130600") == "2018p130600"
    assert safe_file_stem("a/b") != safe_file_stem("a_b")  # no two names share a file
    for hopeless in ("", "/", "..", "../..", "../../"):
        with pytest.raises(UnsafeNameError):
            safe_file_stem(hopeless)


def test_misfit_output_file_of_a_malicious_event_id_stays_inside(tmp_path):
    """An event id stored by an older version or another tool: the writer sanitizes it."""
    from spark_seis.engine.misfit_pipeline import ExecutorOptions, write_event
    from spark_seis.engine.normalization import NormalizationTables
    from spark_seis.processing.config import Config

    out = tmp_path / "a" / "b" / "c" / "project" / "output"  # deep: an escape stays in tmp
    out.mkdir(parents=True)
    doc = {"_id": "src1", "event_id": "smi:x/../../../../escaped/", "lat": -40.0,
           "lon": 175.0, "depth": 10.0, "time": 1.5e9}
    tables = NormalizationTables(sources={"src1": doc}, stationxml={})
    options = ExecutorOptions(config=Config(iteration=1, step_count=0).to_dict(),
                              storage_root=str(tmp_path / "wf"), output_dir=str(out),
                              database={"work_dir": str(tmp_path / "work")},
                              specfem_dir=None)
    write_event("src1", [], tables, options)
    written = sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*.h5"))
    assert len(written) == 1 and written[0].parent == out.relative_to(tmp_path)
    assert not written[0].name.startswith(".") and "escaped" in written[0].name
    with pytest.raises(UnsafeNameError):
        inside(out, "..", "escaped.h5")


def test_codes_and_tags_that_would_make_paths_are_refused(db, tmp_path):
    inv = obspy.read_inventory(str(STATIONXML))
    evil = inv.copy()
    evil[0][0].code = "../.."
    path = tmp_path / "evil_station.xml"
    evil.write(str(path), format="STATIONXML")
    summary = ingest_paths(db, [path])
    assert db.site.count_documents({}) == 0 and db.channel.count_documents({}) == 0
    (what, why), = summary.skipped
    assert what == str(path) and "'../..'" in why and "station code" in why

    with pytest.raises(ValueError, match="cannot name a folder"):
        ingest_paths(db, [HHZ], IngestOptions(tag="../../elsewhere"))


# ------------------------------------------------------------------ item 7
def test_station_codes_with_underscores_read_back_their_own_windows(tmp_path):
    import pyasdf

    from spark_seis.io import asdf_store

    def window(sta: str, chan: str, left: int) -> dict:
        return {"channel_id": f"NZ.{sta}.10.{chan}", "left_index": left,
                "right_index": left + 100, "center_index": left + 50,
                "cc_shift_in_samples": 0, "max_cc_value": 0.9, "phase_arrivals": []}

    def adjoint(sta: str, misfit: float) -> dict:
        return {"adjsrc_type": "cc_traveltime", "misfit": misfit, "dt": 0.1,
                "component": "BXZ", "min_period": 10.0, "max_period": 100.0,
                "network": "NZ", "station": sta, "location": "10",
                "starttime": "2018-02-18T07:43:48", "adjoint_source": np.arange(5.0)}

    ds = pyasdf.ASDFDataSet(str(tmp_path / "e.h5"), mode="w", compression=None)
    try:
        asdf_store.write_windows(ds, {"Z": [window("B_Z", "HHZ", 10), window("B_Z", "HHZ", 500)],
                                      "N": [window("B_Z", "HHN", 20)]}, "i01/s00")
        asdf_store.write_windows(ds, {"Z": [window("B", "HHZ", 30)]}, "i01/s00")
        asdf_store.write_adjoint_sources(ds, {"Z": adjoint("B_Z", 2.0)}, "i01/s00", 0.0)
        asdf_store.write_adjoint_sources(ds, {"Z": adjoint("B", 1.0)}, "i01/s00", 0.0)
        mine = asdf_store.read_windows(ds, "NZ", "B_Z", "i01/s00")
        assert {c: [w["left_index"] for w in ws] for c, ws in mine.items()} == {
            "Z": [10, 500], "N": [20]}
        other = asdf_store.read_windows(ds, "NZ", "B", "i01/s00")
        assert {c: [w["left_index"] for w in ws] for c, ws in other.items()} == {"Z": [30]}
        assert asdf_store.read_adjoint_sources(ds, "NZ", "B", "i01/s00")["Z"]["misfit"] == 1.0
        assert asdf_store.read_adjoint_sources(ds, "NZ", "B_Z", "i01/s00")["Z"]["misfit"] == 2.0
    finally:
        del ds


# ------------------------------------------------------------------ item 12
def test_disk_full_stops_ingest_with_one_line_and_no_temporary_file(project, capsys,
                                                                   monkeypatch):
    import spark_seis.workflow.ingest.waveforms as waveforms

    def full_disk(src, dst, *a, **k):
        Path(dst).write_bytes(b"\0" * 512)  # a partial copy, as a real full disk leaves
        raise OSError(errno.ENOSPC, "No space left on device", str(dst))

    monkeypatch.setattr(waveforms.shutil, "copyfile", full_disk)
    capsys.readouterr()
    assert main(["ingest", "--no-progress", str(CATALOG), str(STATIONXML), str(HHZ)]) == 1
    out, err = capsys.readouterr()
    (line,) = err.strip().splitlines()
    assert f"ingest stopped at {HHZ}" in line and "no space left on device" in line
    assert "Traceback" not in err and "wf_TimeSeries 0" in out
    storage = project / "work" / "wf_data"
    assert not [p for p in storage.rglob("*") if "tmp" in p.name]


def test_full_database_stops_ingest_and_never_says_start_mongodb(project, capsys,
                                                                  monkeypatch):
    from spark_seis.db.database import Database

    def full(self, inventory):
        raise sqlite3.OperationalError("database or disk is full")

    monkeypatch.setattr(Database, "save_inventory", full)
    capsys.readouterr()
    assert main(["ingest", "--no-progress", str(STATIONXML)]) == 1
    (line,) = capsys.readouterr().err.strip().splitlines()
    assert f"ingest stopped at {STATIONXML}" in line and "database or disk is full" in line
    assert "MongoDB" not in line

    import spark_seis.db.client as client

    monkeypatch.setattr(client, "get_database", lambda *a, **k: (_ for _ in ()).throw(
        sqlite3.OperationalError("database or disk is full")))
    assert main(["ingest", "--no-progress", str(STATIONXML)]) == 2
    (line,) = capsys.readouterr().err.strip().splitlines()
    assert "database or disk is full" in line and "free space" in line
    assert "MongoDB" not in line and str(project / "work" / "mongo_store") in line


def test_ingest_stopped_is_raised_to_library_callers(db, monkeypatch):
    from spark_seis.db import sample_io

    def full(path, payloads):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(sample_io, "append_many", full)
    with pytest.raises(IngestStopped) as info:
        ingest_paths(db, [CATALOG, NZ / "synthetics_BFZ"], SYN)
    assert "3 SPECFEM file(s) of event 2018p130600" in str(info.value)
    assert "no space left on device [ENOSPC]" in str(info.value)
    assert info.value.summary.added["source"] == 1
    assert db.wf_TimeSeries.count_documents({}) == 0


def _mount_tmpfs(where: Path, size: str) -> bool:
    import subprocess

    where.mkdir(parents=True, exist_ok=True)
    try:
        done = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs",
                               str(where)], capture_output=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return done.returncode == 0


@pytest.mark.parametrize("size", ["500k", "700k"])  # store fills first / the sample copy does
def test_a_real_full_disk_ends_ingest_with_one_line(tmp_path, size):
    """A real full file system (a small tmpfs; needs root, skipped otherwise)."""
    import os
    import subprocess
    import sys

    proj = tmp_path / "proj"
    assert main(["init", str(proj)]) == 0
    work = proj / "work"
    if not _mount_tmpfs(work, size):
        pytest.skip("cannot mount a tmpfs here (needs root): a real full disk is not possible")
    try:
        env = {k: v for k, v in os.environ.items()
               if k not in ("SPARK_SEIS_MONGO_URI", "SPARK_SEIS_WORK_DIR")}
        run = subprocess.run([sys.executable, "-m", "spark_seis", "ingest", "--no-progress",
                              str(NZ)], cwd=proj, env=env, capture_output=True, text=True,
                             timeout=600)
        leftovers = [p for p in work.rglob("*") if "tmp" in p.name]
    finally:
        subprocess.run(["umount", str(work)], check=False, timeout=60)
    assert run.returncode in (1, 2), run.stdout + run.stderr
    (line,) = run.stderr.strip().splitlines()
    assert line.startswith("spark-seis: error:") and "Traceback" not in run.stderr
    assert "disk is full" in line or "no space left on device" in line
    assert str(work) in line and "MongoDB" not in line
    assert not leftovers
