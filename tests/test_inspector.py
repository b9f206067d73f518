"""Inspector tables on misfit documents made by engine.output_docs from real results."""
from __future__ import annotations

import pandas as pd
import pytest

from cli_support import EVENT, misfit_documents
from spark_seis.db.client import get_database
from spark_seis.workflow.inspector import Inspector, NoMisfitData


@pytest.fixture(scope="module")
def docs():
    return misfit_documents("src1", "/x/2018p130600.h5")


def test_event_misfit_is_sum_over_twice_nwin(docs):
    ins = Inspector.from_documents(docs)
    events = ins.event_table()
    assert list(events["eval_tag"]) == ["i01s00", "i01s01"]
    row = events.iloc[0]
    assert row["event"] == EVENT and row["nwin"] == 3 and row["nsta"] == 2
    assert row["nsta_ok"] == 1 and row["nsta_dead"] == 1
    assert row["summed_misfit"] == pytest.approx(2.1653, abs=1e-3)
    assert row["misfit"] == pytest.approx(2.1653 / 6, abs=1e-3)
    evals = ins.evaluation_table()
    assert list(evals["misfit"]) == pytest.approx([2.1653 / 6, 2.1653 / 12], abs=1e-3)
    assert ins.evaluations == [(1, 0), (1, 1)]


def test_station_component_window_tables(docs):
    ins = Inspector.from_documents(docs, iteration=1, step_count=0)
    st = ins.station_table()
    assert list(st["station"]) == ["NZ.BFY", "NZ.BFZ"]
    ok = st[st["station"] == "NZ.BFZ"].iloc[0]
    assert ok["status"] == "ok" and ok["nwin"] == 3
    # Pyatoa's Inspector: station misfit = summed component misfits / nwin
    assert ok["unscaled_misfit"] == pytest.approx(2.1653, abs=1e-3)
    assert ok["misfit"] == pytest.approx(2.1653 / 3, abs=1e-3)
    comp = ins.component_table()
    assert list(comp["component"]) == ["E", "N", "Z"]
    assert list(comp["misfit"]) == pytest.approx([0.3221, 1.8432, 0.0], abs=1e-3)
    win = ins.window_table()
    assert list(zip(win["component"], win["left_index"], win["right_index"])) == [
        ("E", 976, 2746), ("N", 907, 3011), ("Z", 833, 1401)]
    assert ins.misfit("station").equals(st)


def test_dead_stations_carry_their_reasons(docs):
    dead = Inspector.from_documents(docs, eval_tag="i01s00").dead_table()
    assert list(dead["station"]) == ["NZ.BFY"]
    assert dead.iloc[0]["status"].startswith("failed")
    assert "inventory" in dead.iloc[0]["reasons"]


def test_compare_two_steps(docs):
    ins = Inspector.from_documents(docs)
    cmp = ins.compare("i01s00", (1, 1))
    total = cmp[cmp["event"] == "ALL"].iloc[0]
    assert total["improved"] and total["ratio"] == pytest.approx(0.5)
    assert bool(cmp[cmp["event"] == EVENT].iloc[0]["improved"])
    with pytest.raises(NoMisfitData, match="i02s00"):
        ins.compare("i01s00", "i02s00")


def test_filters_and_empty(docs):
    assert len(Inspector.from_documents(docs, station="NZ.BFZ").stations) == 2
    assert len(Inspector.from_documents(docs, event=EVENT).stations) == 4
    empty = Inspector.from_documents(docs, event="other")
    assert empty.empty
    with pytest.raises(NoMisfitData):
        empty.require_data()
    with pytest.raises(ValueError, match="NET.STA"):
        Inspector.from_documents(docs, station="BFZ")


def test_reads_database_and_exports_csv_parquet(docs, tmp_path):
    db = get_database({"work_dir": str(tmp_path / "work")})
    for coll, items in docs.items():
        if items:
            db.db[coll].insert_many([dict(d) for d in items])
    db.db["elog"].insert_one({"stage": "other", "source_id": "src1", "net": "NZ",
                              "sta": "BFZ", "logdata": [{"message": "not misfit"}]})
    ins = Inspector(db, iteration=1, step_count=0)
    assert len(ins.stations) == 2 and len(ins.windows) == 3
    assert "not misfit" not in " ".join(ins.dead_table()["reasons"])
    written = ins.export(tmp_path / "tables", ["csv", "parquet"])
    assert {p.name for p in written} >= {"events.csv", "events.parquet", "stations.parquet",
                                         "windows.csv", "dead.csv"}
    back = pd.read_parquet(tmp_path / "tables" / "events.parquet")
    assert back["misfit"].iloc[0] == pytest.approx(ins.event_table()["misfit"].iloc[0])
    assert len(pd.read_csv(tmp_path / "tables" / "windows.csv")) == 3
