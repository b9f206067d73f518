"""Store factory, configuration, credential masking, persistence across processes."""
from __future__ import annotations

import multiprocessing as mp
import pickle

import pytest

from spark_seis.db import Database, get_client, get_database, load_config, mask_uri
from spark_seis.db.schema import Schema


def test_mask_uri_hides_credentials():
    uri = "mongodb://alice:s3cret@db.example.org:27017/x?authSource=admin"
    masked = mask_uri(f"failed to reach {uri}")
    assert "s3cret" not in masked and "alice" not in masked
    assert "mongodb://***@db.example.org:27017/x" in masked
    assert mask_uri("mongodb+srv://u:p@h/") == "mongodb+srv://***@h/"


def test_bad_uri_error_is_masked():
    with pytest.raises(Exception) as info:
        get_client("mongodb://alice:s3cret@")
    assert "s3cret" not in str(info.value)


def test_config_env_and_defaults(tmp_path, monkeypatch):
    monkeypatch.delenv("SPARK_SEIS_MONGO_URI", raising=False)
    monkeypatch.setenv("SPARK_SEIS_WORK_DIR", str(tmp_path / "work"))
    cfg = load_config()
    assert cfg["mongo_uri"] is None
    assert cfg["embedded_path"] == str(tmp_path / "work" / "mongo_store")
    monkeypatch.setenv("SPARK_SEIS_MONGO_URI", "mongodb://u:p@h/")
    assert load_config()["mongo_uri"] == "mongodb://u:p@h/"
    monkeypatch.delenv("SPARK_SEIS_MONGO_URI")
    db = get_database({"database_name": "cfg", "db_schema": "wf_Seismogram"})
    assert isinstance(db, Database) and db.wf_collection == "wf_Seismogram"
    assert db.storage_root == str(tmp_path / "work" / "wf_data")
    assert "u:p" not in repr(db)


def _write_then_exit(path: str) -> None:
    get_client(path=path)["p"].things.insert_one({"_id": 1, "from": "child"})


def test_embedded_store_persists_across_processes_and_pickles(tmp_path):
    path = str(tmp_path / "store")
    ctx = mp.get_context("spawn")
    p = ctx.Process(target=_write_then_exit, args=(path,))
    p.start()
    p.join(60)
    assert p.exitcode == 0
    client = get_client(path=path)
    assert client["p"].things.find_one({"_id": 1})["from"] == "child"
    clone = pickle.loads(pickle.dumps(client))  # what Spark does with a closure
    assert clone["p"].things.count_documents({}) == 1


def test_schema_yaml_content():
    schema = Schema.load()
    assert {"wf_TimeSeries", "wf_Seismogram", "source", "site", "channel", "elog",
            "history", "graveyard"} <= set(schema.collections)
    wf = schema["wf_TimeSeries"]
    assert wf.canonical("dt") == "delta" and "source_id" in wf.xref_keys()
    assert "event_id" in wf.readonly_keys()
    assert {"source_lat", "site_elev", "channel_hang"} <= schema.normalized_keys("wf_TimeSeries")
    assert "channel_hang" not in schema.normalized_keys("wf_Seismogram")
