"""The `spark-seis` command: parsing and one-line user errors."""
from __future__ import annotations

import json

import pytest

from spark_seis.cli import main as cli


def test_unimplemented_command_is_one_clear_line(capsys):
    code = cli.main(["inspect"])
    err = capsys.readouterr().err
    assert code == 2
    assert err.strip().startswith("spark-seis: error:") and "\n" not in err.strip()
    assert "Traceback" not in err


def test_missing_java_is_reported_with_what_to_do(monkeypatch, capsys):
    monkeypatch.setattr(cli.shutil, "which", lambda name: None)
    code = cli.main(["demo", "--workdir", "unused"])
    err = capsys.readouterr().err
    assert code == 2 and "Java" in err and "openjdk-17-jre-headless" in err


def test_verbose_shows_traceback(monkeypatch, capsys):
    monkeypatch.setattr(cli.shutil, "which", lambda name: None)
    cli.main(["--verbose", "demo"])
    assert "Traceback" in capsys.readouterr().err


def test_unknown_command_exits_with_usage(capsys):
    with pytest.raises(SystemExit) as info:
        cli.main(["frobnicate"])
    assert info.value.code == 2
    assert "invalid choice" in capsys.readouterr().err


def test_demo_runs_on_bundled_data(spark, tmp_path, capsys):
    # the session fixture is already running; the demo reuses it via getOrCreate
    from spark_seis.cli.demo import run_demo

    code = run_demo(workdir=str(tmp_path), master="local[2]", stop_session=False)
    assert code == 0
    rows = json.loads((tmp_path / "demo_summary.json").read_text())
    assert [r["id"] for r in rows] == ["NZ.BFZ.10.HHE", "NZ.BFZ.10.HHN", "NZ.BFZ.10.HHZ"]
    assert all(r["npts"] == 37001 and r["live"] for r in rows)
    assert "3 traces read on Spark" in capsys.readouterr().out
    assert not spark.sparkContext._jsc.sc().isStopped()
