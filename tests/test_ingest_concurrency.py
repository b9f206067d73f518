"""Two real `spark-seis ingest` processes at once on one project (issue 16, item 4).

Overlapping StationXML must give every station once (main stored 40 of 60 and
ended with ``DuplicateKeyError: E11000``); the same folder ingested twice at
once must give every trace once (no duplicate wf documents).
"""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import obspy
import pytest

from spark_seis.cli.main import main
from spark_seis.db.client import get_database

NZ = Path(__file__).parent / "data" / "nz_2018p130600"
CATALOG = NZ / "test_catalog_2018p130600.xml"
STATIONXML = NZ / "test_dataless_NZ_BFZ.xml"
HANG_GUARD_S = 600  # only against a hang; not a performance bound


@pytest.fixture
def project(tmp_path, monkeypatch):
    proj = tmp_path / "proj"
    assert main(["init", str(proj)]) == 0
    monkeypatch.delenv("SPARK_SEIS_MONGO_URI", raising=False)
    monkeypatch.delenv("SPARK_SEIS_WORK_DIR", raising=False)
    return proj


def _stations(codes: list[str]) -> obspy.Inventory:
    """The real NZ.BFZ StationXML under other station codes, at FDSN ``level=channel``
    (3 channels, no response stages: what a station service sends for a channel list)."""
    base = obspy.read_inventory(str(STATIONXML))
    inv = base.copy()
    template = base[0][0]
    for cha in template.channels:
        cha.response = None
    inv[0].stations = []
    for code in codes:
        sta = template.copy()
        sta.code = code
        inv[0].stations.append(sta)
    return inv


def _run_together(project: Path, *argvs: list[str]) -> list[subprocess.CompletedProcess]:
    procs = [subprocess.Popen([sys.executable, "-m", "spark_seis", "ingest", "--no-progress",
                               *argv], cwd=project, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True) for argv in argvs]
    done = []
    for proc in procs:
        out, err = proc.communicate(timeout=HANG_GUARD_S)
        done.append(subprocess.CompletedProcess(proc.args, proc.returncode, out, err))
    return done


def test_overlapping_stationxml_from_two_processes_stores_every_station(project, tmp_path):
    codes = [f"S{i:02d}" for i in range(60)]
    first, second = tmp_path / "first.xml", tmp_path / "second.xml"
    # the 20 shared stations come first in both files, so both processes reach them
    # together (a clash there made main abandon the rest of one file)
    _stations(codes[20:40] + codes[:20]).write(str(first), format="STATIONXML")
    _stations(codes[20:40] + codes[40:]).write(str(second), format="STATIONXML")
    for run in _run_together(project, [str(first)], [str(second)]):
        assert run.returncode == 0, run.stderr
        assert "DuplicateKeyError" not in run.stdout + run.stderr
    db = get_database({"work_dir": str(project / "work")})
    assert sorted(db.site.distinct("sta")) == codes
    assert db.site.count_documents({}) == 60
    assert db.channel.count_documents({}) == 180
    assert len({(d["sta"], d["chan"]) for d in db.channel.find({})}) == 180


def test_one_folder_ingested_twice_at_once_stores_each_trace_once(project, tmp_path):
    folder = tmp_path / "data"
    (folder / "mseed").mkdir(parents=True)
    codes = [f"C{i:02d}" for i in range(10)]
    _stations(codes).write(str(folder / "stations.xml"), format="STATIONXML")
    (folder / CATALOG.name).write_bytes(CATALOG.read_bytes())
    for path in sorted((NZ / "mseed").iterdir()):
        st = obspy.read(str(path))
        for code in codes:
            for tr in st:
                tr.stats.station = code
            st.write(str(folder / "mseed" / f"NZ.{code}.{path.name.split('.', 2)[2]}"),
                     format="MSEED", reclen=4096)
    runs = _run_together(project, [str(folder)], [str(folder)])
    for run in runs:
        assert run.returncode == 0, run.stderr
    db = get_database({"work_dir": str(project / "work")})
    docs = list(db.wf_TimeSeries.find({}, {"ingest_key": 1, "sta": 1, "chan": 1}))
    assert len(docs) == 30
    assert len({d["ingest_key"] for d in docs}) == 30
    assert len({(d["sta"], d["chan"]) for d in docs}) == 30
    assert db.source.count_documents({}) == 1
    assert db.site.count_documents({}) == 10 and db.channel.count_documents({}) == 30
    added = sum(int(r.stdout.split("wf_TimeSeries ")[1].split()[0].rstrip(","))
                for r in runs)
    assert added == 30  # each trace counted as added by exactly one of the two


class _ChecksSeeNothing:
    """A collection whose look-ups by identity find nothing: what a process sees when
    another one stores the same document between its check and its insert."""

    def __init__(self, collection, identity_keys: set[str]) -> None:
        self._collection = collection
        self._identity_keys = identity_keys

    def find_one(self, filter=None, *args, **kwargs):
        if filter and self._identity_keys & set(filter):
            return None
        return self._collection.find_one(filter, *args, **kwargs)

    def __getattr__(self, name):
        return getattr(self._collection, name)


class _RacingDatabase:
    IDENTITY = {"wf_TimeSeries": {"ingest_key", "foff"}, "site": {"sta"}, "channel": {"sta"}}

    def __init__(self, database) -> None:
        self._database = database

    def __getitem__(self, name):
        coll = self._database[name]
        keys = self.IDENTITY.get(name)
        return _ChecksSeeNothing(coll, keys) if keys else coll

    def __getattr__(self, name):
        return getattr(self._database, name)


def test_a_station_stored_between_check_and_insert_does_not_end_the_file(tmp_path):
    """The StationXML race made certain: 20 stations of the second file are stored by
    "the other process" after the check said new. Main abandoned the file at the first
    (DuplicateKeyError), losing its 20 own stations."""
    from spark_seis.workflow.ingest import ingest_paths

    codes = [f"S{i:02d}" for i in range(60)]
    first, second = tmp_path / "first.xml", tmp_path / "second.xml"
    _stations(codes[:40]).write(str(first), format="STATIONXML")
    _stations(codes[20:]).write(str(second), format="STATIONXML")
    work = {"work_dir": str(tmp_path / "work")}
    ingest_paths(get_database(work), [first])
    late = get_database(work)
    late.db = _RacingDatabase(late.db)
    summary = ingest_paths(late, [second])
    db = get_database(work)
    assert sorted(db.site.distinct("sta")) == codes
    assert db.channel.count_documents({}) == 180 and not summary.skipped
    assert summary.added["site"] == 20 and summary.existing["site"] == 20
    assert summary.added["channel"] == 60 and summary.existing["channel"] == 60


def test_a_trace_stored_between_check_and_insert_is_not_duplicated(tmp_path):
    """The race of two ingests, made certain: the check says "new" for every trace
    that the other process has in fact just stored. The insert itself must refuse."""
    from spark_seis.workflow.ingest import IngestOptions, ingest_paths

    work = {"work_dir": str(tmp_path / "work")}
    paths = [CATALOG, STATIONXML, NZ / "mseed", NZ / "synthetics_BFZ"]
    options = IngestOptions(synthetic_tag="synthetic_i01s00")
    ingest_paths(get_database(work), paths, options)
    late = get_database(work)
    late.db = _RacingDatabase(late.db)
    summary = ingest_paths(late, paths, options)
    db = get_database(work)
    assert db.wf_TimeSeries.count_documents({}) == 6
    assert len(set(db.wf_TimeSeries.distinct("ingest_key"))) == 6
    assert summary.added["wf_TimeSeries"] == 0 and summary.existing["wf_TimeSeries"] == 6
