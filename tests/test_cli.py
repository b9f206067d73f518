"""The `spark-seis` command: parsing and one-line user errors."""
from __future__ import annotations


import pytest

from spark_seis.cli import main as cli


def test_inspect_without_database_is_one_clear_line(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    code = cli.main(["inspect"])
    err = capsys.readouterr().err
    assert code == 2
    assert err.strip().startswith("spark-seis: error:") and "\n" not in err.strip()
    assert "conf/job.yaml" in err and "spark-seis init" in err
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


def test_demo_runs_ingest_run_inspect_plot_on_bundled_data(spark, tmp_path, capsys):
    from spark_seis.cli.demo import run_demo

    project = tmp_path / "demo"
    assert run_demo(workdir=str(project), master="local[2]", spark=spark) == 0
    out = capsys.readouterr().out
    assert "added: source 1, site 1, channel 3, wf_TimeSeries 3" in out
    assert "misfit job: 1 stations of 1 events" in out and "1 ok" in out
    work = project / "work"
    assert (work / "output" / "2018p130600.h5").stat().st_size > 100_000
    adjoint = sorted(p.name for p in (work / "output" / "adjoint" / "2018p130600" / "i01s00").iterdir())
    assert adjoint == ["NZ.BFZ.BXE.adj", "NZ.BFZ.BXN.adj", "NZ.BFZ.BXZ.adj"]
    import pandas as pd

    events = pd.read_csv(work / "tables" / "events.csv")
    assert events.loc[0, "event"] == "2018p130600" and events.loc[0, "nwin"] == 3
    assert events.loc[0, "summed_misfit"] == pytest.approx(2.1653, abs=1e-3)
    station_png = work / "figures" / "2018p130600" / "i01s00" / "NZ.BFZ.png"
    assert station_png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"

    # the same project through the CLI: a resumed run finds nothing new to do (exit 3)
    code = cli.main(["run", str(project / "conf" / "job.yaml"), "--resume", "--quiet"])
    out = capsys.readouterr().out
    assert code == 3 and "nothing new to do for i01s00: all 1 station(s) already done" in out
