"""`spark-seis ingest`: progress, summary, idempotence, one-line user errors."""
from __future__ import annotations

from pathlib import Path

from spark_seis.cli.main import main
from spark_seis.db.client import get_database

NZ = Path(__file__).parent / "data" / "nz_2018p130600"


def test_ingest_twice_adds_nothing(project, capsys):
    capsys.readouterr()
    assert main(["ingest", str(NZ)]) == 0
    out, err = capsys.readouterr()
    assert "added: source 1, site 1, channel 3, wf_TimeSeries 6" in out
    assert "synthetic='synthetic_i01s00'" in out  # the Config's tag (iteration 1, step 0)
    assert "ingest [" in err and "8/8" in err  # progress bar on stderr
    # the ASCII test files are not waveform formats: named as skipped, with why
    assert "test_obs_data_NZ_BFZ_2018p130600.ascii: not QuakeML" in out
    db = get_database({"work_dir": str(project / "work")})
    assert db.wf_TimeSeries.count_documents({}) == 6

    assert main(["ingest", str(NZ), "--no-progress"]) == 0
    out, err = capsys.readouterr()
    assert "added: source 0, site 0, channel 0, wf_TimeSeries 0" in out
    assert "wf_TimeSeries 6" in out.split("already in the database")[1]
    assert err == ""
    assert db.wf_TimeSeries.count_documents({}) == 6


def test_ingest_tag_and_event_options(project, capsys):
    main(["ingest", str(NZ / "test_catalog_2018p130600.xml"), "--no-progress"])
    assert main(["ingest", str(NZ / "synthetics_BFZ"), "--tag", "synthetic_i02s00",
                 "--event", "2018p130600", "--no-progress"]) == 0
    db = get_database({"work_dir": str(project / "work")})
    assert db.wf_TimeSeries.find_one({})["data_tag"] == "synthetic_i02s00"


def test_user_errors_are_one_line(project, tmp_path, capsys, monkeypatch):
    capsys.readouterr()
    assert main(["ingest", "no/such/folder"]) == 2
    err = capsys.readouterr().err.strip()
    assert "no/such/folder does not exist" in err and "\n" not in err

    (project / "conf" / "job.yaml").write_text("work_dir: work\nbogus_key: 1\n")
    assert main(["ingest", str(NZ)]) == 2
    err = capsys.readouterr().err.strip()
    assert "'bogus_key'" in err and "edit" in err and "\n" not in err

    monkeypatch.chdir(tmp_path)
    assert main(["ingest", str(NZ)]) == 2
    err = capsys.readouterr().err.strip()
    assert "spark-seis init" in err and "Traceback" not in err

    assert main(["--verbose", "ingest", str(NZ)]) == 2
    assert "Traceback" in capsys.readouterr().err


def test_unreachable_database_is_one_line(project, capsys, monkeypatch):
    import pymongo

    real = pymongo.MongoClient
    monkeypatch.setattr(pymongo, "MongoClient",  # fail in 0.2 s instead of 5 s
                        lambda uri, **kw: real(uri, **{**kw, "serverSelectionTimeoutMS": 200}))
    monkeypatch.setenv("SPARK_SEIS_MONGO_URI", "mongodb://user:secret@127.0.0.1:1/")
    capsys.readouterr()
    assert main(["ingest", str(NZ / "mseed")]) == 2
    err = capsys.readouterr().err.strip()
    assert "cannot reach the database" in err and "secret" not in err
    assert "\n" not in err and "mongo_uri" in err
