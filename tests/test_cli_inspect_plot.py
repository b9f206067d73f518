"""`spark-seis inspect` and `spark-seis plot` on misfit outputs made like the job's."""
from __future__ import annotations

import struct
from pathlib import Path

import pandas as pd
import pytest

from cli_support import EVENT, make_misfit_outputs
from spark_seis.cli.main import main
from spark_seis.db.client import get_database

NZ = Path(__file__).parent / "data" / "nz_2018p130600"


def png_size(path: Path) -> tuple[int, int]:
    head = Path(path).read_bytes()[:24]
    assert head[:8] == b"\x89PNG\r\n\x1a\n", f"{path} is not a PNG"
    return struct.unpack(">II", head[16:24])


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    proj = tmp_path_factory.mktemp("cli") / "proj"
    assert main(["init", str(proj)]) == 0
    assert main(["ingest", str(NZ / "test_catalog_2018p130600.xml"),
                 str(NZ / "test_dataless_NZ_BFZ.xml"), "--no-progress",
                 "--config", str(proj / "conf" / "job.yaml")]) == 0
    db = get_database({"work_dir": str(proj / "work")})
    make_misfit_outputs(proj, db)
    return proj


@pytest.fixture
def in_project(project, monkeypatch):
    monkeypatch.chdir(project)
    monkeypatch.delenv("SPARK_SEIS_MONGO_URI", raising=False)
    monkeypatch.delenv("SPARK_SEIS_WORK_DIR", raising=False)
    return project


def test_inspect_prints_tables_and_dead_reasons(in_project, capsys):
    capsys.readouterr()
    assert main(["inspect"]) == 0
    out = capsys.readouterr().out
    assert "misfit per event" in out and EVENT in out and "i01s01" in out
    assert "0.3609" in out  # 2.1653 / (2 * 3)
    assert "dead stations: 2" in out and "NZ.BFY" in out and "inventory" in out


def test_inspect_levels_filters_and_export(in_project, capsys):
    capsys.readouterr()
    assert main(["inspect", "--level", "component", "--station", "NZ.BFZ",
                 "--iteration", "1", "--step", "0", "--export", "tables",
                 "--format", "both"]) == 0
    out = capsys.readouterr().out
    assert "1.843" in out and "NZ.BFY" not in out
    stations = pd.read_csv(in_project / "tables" / "stations.csv")
    assert list(stations["station"]) == ["NZ.BFZ"]
    windows = pd.read_parquet(in_project / "tables" / "windows.parquet")
    assert sorted(windows["component"]) == ["E", "N", "Z"]


def test_inspect_compare_says_whether_misfit_went_down(in_project, capsys):
    capsys.readouterr()
    assert main(["inspect", "--compare", "i01s00", "1/1", "--export", "cmp"]) == 0
    out = capsys.readouterr().out
    assert "misfit went DOWN" in out and "-50.0%" in out
    assert (in_project / "cmp" / "compare.csv").exists()
    assert main(["inspect", "--compare", "i01s00", "i03s00"]) == 2
    err = capsys.readouterr().err.strip()
    assert "i03s00" in err and "\n" not in err


def test_inspect_empty_query_is_one_line(in_project, capsys):
    capsys.readouterr()
    assert main(["inspect", "--event", "nope"]) == 2
    err = capsys.readouterr().err.strip()
    assert "no misfit results" in err and "spark-seis run" in err and "\n" not in err


def test_plot_station_and_summary_figures(in_project, capsys):
    capsys.readouterr()
    assert main(["plot", "--no-progress"]) == 0
    out = capsys.readouterr().out
    figs = in_project / "work" / "figures"
    station = figs / EVENT / "i01s00" / "NZ.BFZ.png"
    assert str(station) in out
    assert png_size(station) == (1100, 780)  # 11 x 7.8 in at 100 dpi: 3 components
    for name in ("misfit_per_event.png", "window_counts.png", "station_map.png"):
        assert png_size(figs / name) == (800, 500), name
        assert (figs / name).stat().st_size > 10_000  # drawn, not blank


def test_plot_without_outputs_is_one_line(in_project, capsys):
    capsys.readouterr()
    assert main(["plot", "--event", "nope", "--no-summary"]) == 2
    err = capsys.readouterr().err.strip()
    assert "no ASDF files for event nope" in err and "\n" not in err
