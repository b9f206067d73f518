"""Ingest on Spark (issue 17 item 3): the same documents and summary as the serial
ingest, idempotent, bad files skipped by name, chosen by `spark-seis ingest`."""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from spark_seis.cli.main import main
from spark_seis.db.client import get_database
from spark_seis.workflow.ingest import IngestOptions, ingest_paths

NZ = Path(__file__).parent / "data" / "nz_2018p130600"
DAY = 86400.0
OPTIONS = IngestOptions(synthetic_tag="synthetic_i01s00")
WF_KEYS = ("ingest_key", "net", "sta", "loc", "chan", "npts", "delta", "starttime",
           "source_id", "data_tag", "sample_sha1", "storage_mode", "format")


def make_folder(folder: Path, events: int = 2, stations: int = 3) -> Path:
    """As stations and SPECFEM deliver them: SDS MiniSEED day files, .semd per event."""
    from obspy import read, read_events, read_inventory

    cat = read_events(str(NZ / "test_catalog_2018p130600.xml"))
    ev0 = cat[0]
    cat.events = []
    for e in range(events):
        ev = ev0.copy()
        ev.resource_id = f"smi:nz.org.geonet/test{e:05d}"
        for o in ev.origins:
            o.time += e * DAY
        cat.events.append(ev)
    folder.mkdir(parents=True)
    cat.write(str(folder / "catalog.xml"), format="QUAKEML")
    inv = read_inventory(str(NZ / "test_dataless_NZ_BFZ.xml"))
    template = inv[0][0]
    inv[0].stations = []
    for s in range(stations):
        sta = template.copy()
        sta.code = f"T{s:03d}"
        inv[0].stations.append(sta)
    inv.write(str(folder / "stations.xml"), format="STATIONXML")
    st0 = read(str(NZ / "mseed" / "*"))
    for e in range(events):
        syn = folder / "syn" / f"test{e:05d}"
        syn.mkdir(parents=True)
        for s in range(stations):
            for tr in st0:
                t = tr.copy()
                t.stats.station = f"T{s:03d}"
                t.stats.starttime += e * DAY
                day = t.stats.starttime
                sds = folder / "sds" / str(day.year) / "NZ" / t.stats.station / f"{t.stats.channel}.D"
                sds.mkdir(parents=True, exist_ok=True)
                t.write(str(sds / f"{t.id}.D.{day.year}.{day.julday:03d}"), format="MSEED")
            for c in "ENZ":
                shutil.copy(NZ / "synthetics_BFZ" / f"NZ.BFZ.BX{c}.semd",
                            syn / f"NZ.T{s:03d}.BX{c}.semd")
    # bad files among good ones: a synthetic with a broken line, a MiniSEED cut mid-header
    (folder / "syn" / "test00000" / "NZ.T999.BXZ.semd").write_text(
        "-19.9874992 0.0\nnot a number\n")
    good = next((folder / "sds").rglob("*.049"))
    (good.parent / "NZ.T000.10.HHZ.D.2018.050.mseed").write_bytes(good.read_bytes()[:30])
    return folder


def documents(db) -> dict:
    """What ingest stored, independent of ObjectIds assigned by a store."""
    chan = {d["_id"]: (d["net"], d["sta"], d["loc"], d["chan"]) for d in db.channel.find({})}
    site = {d["_id"]: (d["net"], d["sta"], d["loc"]) for d in db.site.find({})}
    wf = sorted(tuple(str(d.get(k)) for k in WF_KEYS)
                + (chan.get(d.get("channel_id")), site.get(d.get("site_id")))
                for d in db.wf_TimeSeries.find({}))
    return {"wf": wf,
            "source": sorted((d["_id"], d["event_id"], d["time"]) for d in db.source.find({})),
            "site": sorted(site.values()), "channel": sorted(chan.values())}


def open_db(work: Path):
    return get_database({"work_dir": str(work), "mongo_uri": None})


@pytest.fixture(scope="module")
def ingested(spark, tmp_path_factory):
    """One folder ingested serially and on Spark (several tasks), then on Spark again."""
    from spark_seis.engine.ingest_spark import ingest_paths_spark

    base = tmp_path_factory.mktemp("ingest_spark")
    folder = make_folder(base / "data")
    serial_db, spark_db = open_db(base / "serial"), open_db(base / "spark")
    serial = ingest_paths(serial_db, [folder], OPTIONS)
    seen: list[tuple[int, int]] = []
    first = ingest_paths_spark(spark, spark_db, [folder], OPTIONS, files_per_task=5,
                               progress=lambda done, total, _l: seen.append((done, total)))
    again = ingest_paths_spark(spark, spark_db, [folder], OPTIONS, files_per_task=5)
    return {"serial": serial, "first": first, "again": again, "progress": seen,
            "serial_db": serial_db, "spark_db": spark_db, "folder": folder}


def test_spark_ingest_stores_what_the_serial_ingest_stores(ingested):
    serial, first = ingested["serial"], ingested["first"]
    want, got = documents(ingested["serial_db"]), documents(ingested["spark_db"])
    assert len(want["wf"]) == 2 * 3 * 6 and len(want["source"]) == 2
    assert len(want["site"]) == 3 and len(want["channel"]) == 9
    assert got == want
    assert first.lines() == serial.lines()  # same summary, in the same order
    assert first.added["wf_TimeSeries"] == 36 and first.files["semd"] == 18
    done = [d for d, _t in ingested["progress"]]
    assert done == sorted(done) and ingested["progress"][-1][0] == ingested["progress"][-1][1]
    # the executors stored samples the misfit job can read back
    from spark_seis.db.crud_read import read_data

    db = ingested["spark_db"]
    for tag in ("observed", "synthetic_i01s00"):
        doc = db.wf_TimeSeries.find_one({"data_tag": tag, "sta": "T002"})
        ts = read_data(db, doc)
        from spark_seis.workflow.ingest.identity import sample_digest

        assert ts.live and sample_digest(ts.data) == doc["sample_sha1"]


def test_spark_ingest_twice_adds_nothing(ingested):
    again, db = ingested["again"], ingested["spark_db"]
    assert again.total_added == 0
    assert again.existing["wf_TimeSeries"] == 36
    assert db.wf_TimeSeries.count_documents({}) == 36
    assert documents(db) == documents(ingested["serial_db"])


def test_bad_files_are_skipped_and_named(ingested):
    skipped = dict(ingested["first"].skipped)
    bad_semd = str(ingested["folder"] / "syn" / "test00000" / "NZ.T999.BXZ.semd")
    assert "not a SPECFEM two-column trace" in skipped[bad_semd]
    assert any(k.endswith("NZ.T000.10.HHZ.D.2018.050.mseed") for k in skipped)
    assert ingested["first"].not_stored == 2


def test_truncated_copy_replaced_and_different_copy_reported_across_tasks(spark, tmp_path):
    """Copies in different tasks meet through the database, as in the serial ingest."""
    import numpy as np
    from obspy import read

    from spark_seis.engine.ingest_spark import ingest_paths_spark

    folder = tmp_path / "copies"
    folder.mkdir()
    shutil.copy(NZ / "test_catalog_2018p130600.xml", folder)
    full = read(str(NZ / "mseed" / "NZ.BFZ.10.HHZ.D.2018.049"))[0]
    (folder / "a").mkdir()
    full.slice(full.stats.starttime, full.stats.starttime + 100).write(
        str(folder / "a" / "NZ.BFZ.10.HHZ.D.2018.049"), format="MSEED")  # truncated download
    (folder / "b").mkdir()
    full.write(str(folder / "b" / "NZ.BFZ.10.HHZ.D.2018.049"), format="MSEED")
    other = full.copy()
    other.data = other.data.copy()
    other.data[5] += 1000
    (folder / "c").mkdir()
    other.write(str(folder / "c" / "NZ.BFZ.10.HHZ.D.2018.049"), format="MSEED")
    db = open_db(tmp_path / "work")
    summary = ingest_paths_spark(spark, db, [folder], OPTIONS, files_per_task=1)
    docs = list(db.wf_TimeSeries.find({}))
    assert len(docs) == 1
    assert docs[0]["npts"] == full.stats.npts
    # the kept copy is the full one, or (tasks ran in the other order) the different one
    # was stored first and the full copy is the one reported: either way both named
    (what, reason), = summary.skipped
    assert "conflicts with" in reason and "different samples" in reason
    names = {str(folder / x / "NZ.BFZ.10.HHZ.D.2018.049") for x in "bc"}
    assert what.split(" [")[0] in names and any(n in reason or Path(n).name in reason
                                                for n in names - {what.split(" [")[0]})
    assert np.isfinite(docs[0]["starttime"])


def test_executor_that_cannot_open_the_store_stops_the_ingest_naming_it(tmp_path):
    from spark_seis.engine.ingest_spark import ingest_slice

    blocker = tmp_path / "not_a_folder"
    blocker.write_text("a file where the store should be")
    database = {"mongo_uri": None, "embedded_path": str(blocker / "store"),
                "storage_root": str(tmp_path / "wf"), "database_name": "spark_seis",
                "db_schema": "wf_TimeSeries"}
    files, summary, stopped = ingest_slice(database, OPTIONS, [str(NZ)],
                                           {"mseed": [str(NZ / "mseed" / "NZ.BFZ.10.HHZ.D.2018.049")]})
    assert files == 1 and summary.total_added == 0
    assert stopped is not None and str(blocker / "store") in stopped[0]
    assert "cannot open or read it" in stopped[1]


def test_store_check_names_executors_that_cannot_see_it(spark, tmp_path):
    from spark_seis.engine.ingest_spark import StoreNotShared, check_executors_see_store

    db = open_db(tmp_path / "work")
    check_executors_see_store(spark.sparkContext, db.worker_config())  # same machine: fine
    elsewhere = {**db.worker_config(), "embedded_path": str(tmp_path / "other_host_store")}
    with pytest.raises(StoreNotShared, match="cannot see the embedded store"):
        check_executors_see_store(spark.sparkContext, elsewhere)
    assert not list((tmp_path / "work").rglob(".spark_seis_ingest_check_*"))


def _jobs(spark) -> int:
    return len(spark.sparkContext.statusTracker().getJobIdsForGroup(None))


def test_cli_chooses_spark_from_the_threshold_and_on_request(spark, project, tmp_path, capsys,
                                                            monkeypatch):
    from spark_seis.cli import ingest_cmd

    folder = make_folder(tmp_path / "data", events=1, stations=2)  # 14 waveform files
    capsys.readouterr()
    before = _jobs(spark)
    assert main(["ingest", str(folder), "--no-progress", "--master", "local[4]"]) == 1
    out = capsys.readouterr().out  # exit 1: the two bad files
    assert _jobs(spark) == before  # below the threshold: serial, no Spark job
    assert "added: source 1, site 2, channel 6, wf_TimeSeries 12" in out

    monkeypatch.setattr(ingest_cmd, "SPARK_MIN_FILES", 10)
    assert main(["ingest", str(folder), "--no-progress", "--master", "local[2]"]) == 1
    assert _jobs(spark) == before  # enough files, but 2 cores: serial (faster there)

    shutil.rmtree(project / "work")
    assert main(["ingest", str(folder), "--master", "local[4]"]) == 1
    out, err = capsys.readouterr()
    assert _jobs(spark) > before  # files and cores enough: the waveforms were read on Spark
    assert "14 waveform files: reading them on Spark (local[4])" in err and "16/16" in err
    assert "added: source 1, site 2, channel 6, wf_TimeSeries 12" in out
    assert "skipped 2:" in out

    ran = _jobs(spark)
    assert main(["ingest", str(folder), "--serial", "--no-progress", "--master", "local[4]"]) == 1
    assert _jobs(spark) == ran  # --serial wins over the threshold
    out = capsys.readouterr().out
    assert "wf_TimeSeries 0" in out and "wf_TimeSeries 12" in out.split("already in the database")[1]
    monkeypatch.setattr(ingest_cmd, "SPARK_MIN_FILES", 10 ** 6)
    assert main(["ingest", str(folder), "--spark", "--no-progress"]) == 1
    assert _jobs(spark) > ran  # --spark below the threshold
    assert db_count(project) == 12


def db_count(project: Path) -> int:
    return open_db(project / "work").wf_TimeSeries.count_documents({})


def test_full_disk_on_an_executor_stops_its_task_at_that_file(tmp_path, monkeypatch):
    """The task stops at the first file that cannot be stored and says which and why."""
    import errno

    import spark_seis.workflow.ingest.waveforms as waveforms
    from spark_seis.engine.ingest_spark import ingest_slice

    def full_disk(src, dst, *a, **k):
        raise OSError(errno.ENOSPC, "No space left on device", str(dst))

    monkeypatch.setattr(waveforms.shutil, "copyfile", full_disk)
    db = open_db(tmp_path / "work")
    ingest_paths(db, [NZ / "test_catalog_2018p130600.xml"], OPTIONS)
    files = sorted(str(p) for p in (NZ / "mseed").iterdir())
    n, summary, stopped = ingest_slice(db.worker_config(), OPTIONS, [str(NZ)], {"mseed": files})
    assert n == 3 and stopped is not None
    assert stopped[0] == files[0] and "no space left on device" in stopped[1]
    assert str(tmp_path / "work" / "wf_data" / "mseed") in stopped[1]
    assert summary.files["mseed"] == 0 and db.wf_TimeSeries.count_documents({}) == 0


def test_a_real_full_disk_under_spark_raises_ingest_stopped_naming_the_file(spark, tmp_path):
    """Sample folder on a small tmpfs (needs root, skipped otherwise): executors hit ENOSPC."""
    import subprocess

    from spark_seis.engine.ingest_spark import ingest_paths_spark
    from spark_seis.workflow.ingest import IngestStopped

    folder = make_folder(tmp_path / "data", events=1, stations=6)  # 18 MiniSEED, ~1.2 MB
    root = tmp_path / "wf_data"
    root.mkdir()
    try:
        mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=400k", "tmpfs", str(root)],
                                 capture_output=True, timeout=30).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        mounted = False
    if not mounted:
        pytest.skip("cannot mount a tmpfs here (needs root): a real full disk is not possible")
    try:
        db = get_database({"work_dir": str(tmp_path / "work"), "mongo_uri": None,
                           "storage_root": str(root)})
        with pytest.raises(IngestStopped) as info:
            ingest_paths_spark(spark, db, [folder], OPTIONS, files_per_task=3)
    finally:
        subprocess.run(["umount", str(root)], check=False, timeout=60)
    assert "no space left on device" in info.value.cause
    assert info.value.what.startswith(str(folder))  # the file that did not fit
    stored = info.value.summary.added["wf_TimeSeries"]
    assert 0 < stored < 36 and db.wf_TimeSeries.count_documents({}) == stored
