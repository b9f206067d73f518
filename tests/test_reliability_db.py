"""Reliability of the database layer: retries, unavailability, concurrency, credentials.

Complements test_db_concurrency.py (2 x 1,000 saves, 2 x 300 $inc, writer killed
holding the lock) and test_db_client.py (masking of a bad URI) without repeating them.
"""
from __future__ import annotations

import logging
import multiprocessing as mp
import sqlite3
import time

import pytest
from pymongo.errors import AutoReconnect, DuplicateKeyError, ServerSelectionTimeoutError

from engine_support import job_for
from spark_seis.db import Database, get_client, get_database
from spark_seis.db.retry import (DatabaseUnavailableError, backoff_delays, retrying_upsert,
                                 with_retry)

SECRET = "s3cretPw"
DOWN_URI = f"mongodb://alice:{SECRET}@127.0.0.1:9/spark_seis?serverSelectionTimeoutMS=100"


class Flaky:
    """A collection whose first ``failures`` bulk writes apply part of the batch, then fail."""

    def __init__(self, collection, failures: int, error=AutoReconnect("primary stepped down"),
                 applied_share: float = 0.5):
        self.collection, self.failures, self.error = collection, failures, error
        self.applied_share = applied_share
        self.calls = 0
        self.name = collection.name

    def bulk_write(self, ops, ordered=True):
        self.calls += 1
        if self.calls <= self.failures:
            part = ops[:int(len(ops) * self.applied_share)]
            if part:
                self.collection.bulk_write(part, ordered=ordered)
            raise self.error
        return self.collection.bulk_write(ops, ordered=ordered)

    def __getattr__(self, name):
        return getattr(self.collection, name)


@pytest.fixture
def store(tmp_path):
    return Database(get_client(path=tmp_path / "store"), "rel", storage_root=tmp_path / "wf")


def _docs(n, version=0):
    return [{"_id": f"k{i:03d}", "i": i, "version": version} for i in range(n)]


# --- retry helper ---------------------------------------------------------------------
def test_backoff_is_exponential_and_capped():
    delays = backoff_delays(7, base_delay=0.1, max_delay=1.0, jitter=0.0)
    assert delays == pytest.approx([0.1, 0.2, 0.4, 0.8, 1.0, 1.0])
    jittered = backoff_delays(50, base_delay=0.1, max_delay=1.0, jitter=0.1)
    assert all(0.09 <= d <= 1.1 for d in jittered)


@pytest.mark.parametrize("error", [AutoReconnect("reset"), ServerSelectionTimeoutError("no primary"),
                                   sqlite3.OperationalError("database is locked")])
def test_transient_failures_are_retried_then_succeed(store, error):
    flaky = Flaky(store.db["out"], failures=3, error=error)
    slept = []
    assert retrying_upsert(flaky, _docs(40), sleep=slept.append, base_delay=0.01) == 40
    assert flaky.calls == 4 and len(slept) == 3 and slept[0] < slept[1] < slept[2]
    # half-applied batches were sent again: still exactly one document per key
    docs = list(store.db["out"].find({}))
    assert len(docs) == 40 and len({d["_id"] for d in docs}) == 40


def test_database_down_for_good_fails_clearly_without_duplicates(store):
    store.db["out"].insert_many(_docs(10, version=0))
    flaky = Flaky(store.db["out"], failures=99)
    with pytest.raises(DatabaseUnavailableError) as info:
        retrying_upsert(flaky, _docs(30, version=1), uri=DOWN_URI, attempts=4,
                        base_delay=0.001, what="upsert of misfit documents for 2018p130600")
    text = str(info.value)
    assert SECRET not in text and "alice" not in text
    assert "mongodb://***@127.0.0.1:9" in text and "after 4 attempts" in text
    assert "2018p130600" in text and "AutoReconnect" in text
    assert flaky.calls == 4
    docs = list(store.db["out"].find({}))
    assert len(docs) == len({d["_id"] for d in docs}) == 15  # 10 old + 5 partial, no duplicate


def test_logic_errors_are_not_retried(store):
    calls = []

    def insert():
        calls.append(1)
        store.db["u"].insert_one({"_id": "same"})

    insert()
    with pytest.raises(DuplicateKeyError):
        with_retry(insert, sleep=lambda s: pytest.fail("must not wait"))
    assert len(calls) == 2


def test_retrying_upsert_refuses_documents_without_id(store):
    with pytest.raises(ValueError, match="_id"):
        retrying_upsert(store.db["out"], [{"x": 1}])


def test_engine_document_writer_survives_a_database_blip(store, monkeypatch):
    import spark_seis.db.client as client_mod
    from spark_seis.engine import output_docs
    from spark_seis.engine.db_writer import upsert_station_documents

    class FlakyDb:
        def __init__(self):
            self.db = {name: Flaky(store.db[name], failures=1) for name in (
                output_docs.WINDOWS, output_docs.MISFITS, output_docs.STATIONS, output_docs.ELOG)}
            self.client = None

    monkeypatch.setattr(client_mod, "get_database", lambda cfg: FlakyDb())
    station = {"_id": "st1", "net": "NZ", "sta": "BFZ", "source_id": "ev", "eval_tag": "i01s00"}
    docs = {output_docs.STATIONS: [station],
            output_docs.WINDOWS: [{"_id": f"w{i}", "net": "NZ", "sta": "BFZ", "source_id": "ev",
                                   "eval_tag": "i01s00"} for i in range(4)]}
    upsert_station_documents({}, docs, "ev", "i01s00")
    assert store.db[output_docs.WINDOWS].count_documents({}) == 4


# --- unavailable at start --------------------------------------------------------------
def test_unreachable_mongodb_at_start_is_a_clear_masked_error(caplog, capsys):
    caplog.set_level(logging.DEBUG)
    started = time.perf_counter()
    with pytest.raises(DatabaseUnavailableError) as info:
        get_database({"mongo_uri": DOWN_URI, "connect_attempts": 2})
    assert time.perf_counter() - started < 10
    text = str(info.value)
    assert "connecting to MongoDB" in text and "mongodb://***@127.0.0.1:9" in text
    out = capsys.readouterr()
    for where in (text, out.out, out.err, caplog.text, repr(info.value.__cause__)):
        assert SECRET not in where


def test_unreachable_mongodb_from_environment_stops_the_job_before_spark(tmp_path, monkeypatch):
    from spark_seis.engine.misfit_job import run_misfit_job

    monkeypatch.setenv("SPARK_SEIS_MONGO_URI", DOWN_URI)
    job = job_for(tmp_path)
    with pytest.raises(DatabaseUnavailableError) as info:
        run_misfit_job(None, job)  # no SparkSession is touched: fails on the driver first
    assert SECRET not in str(info.value) and "***@127.0.0.1:9" in str(info.value)
    assert not job.output_dir.exists() or not any(job.output_dir.iterdir())


def test_embedded_store_that_cannot_be_opened_names_the_path(tmp_path):
    blocker = tmp_path / "not_a_directory"
    blocker.write_text("a file where the store should be")
    with pytest.raises(DatabaseUnavailableError, match="embedded database store at .*not_a_directory"):
        get_database({"embedded_path": str(blocker / "store"), "work_dir": str(tmp_path)})


def test_database_repr_and_config_do_not_show_credentials(monkeypatch):
    import pymongo

    client = pymongo.MongoClient(DOWN_URI, connect=False)
    db = Database(client, "x", create_indexes=False)
    assert SECRET not in repr(db)


def test_job_config_repr_masks_the_uri(tmp_path):
    job = job_for(tmp_path, database={"mongo_uri": DOWN_URI})
    assert SECRET not in repr(job) and SECRET not in str(job)


# --- several processes on the same collections -------------------------------------------
N_OPS = 120
SHARED = 12


def _worker(store: str, root: str, worker: int, ready) -> None:
    from db_support import make_ts
    from spark_seis.db import Database, get_client

    db = Database(get_client(path=store), "conc", storage_root=root)
    ready.wait(60)
    won = 0
    for i in range(N_OPS):
        db.save_data(make_ts(i, npts=10, worker=worker, seq=i), dfile="shared.bin")
        db.db["counter"].update_one({"_id": "c"}, {"$inc": {"n": 1}, "$push": {"who": f"{worker}:{i}"}})
        try:  # every worker races for the same keys
            db.db["claims"].insert_one({"key": i % 40, "worker": worker})
            won += 1
        except DuplicateKeyError:
            pass
        if i < SHARED:  # each worker sets its own key on the same documents
            shared = db.read_data(db.db["wf_TimeSeries"].find_one({"shared": i})["_id"])
            shared[f"seen_by_{worker}"] = i
            db.update_metadata(shared)
    db.db["wins"].insert_one({"worker": worker, "won": won})


def test_three_processes_save_update_and_race_on_one_store(tmp_path):
    from db_support import make_ts

    store, root = str(tmp_path / "store"), str(tmp_path / "wf")
    db = Database(get_client(path=store), "conc", storage_root=root)
    db.db["claims"].create_index([("key", 1)], unique=True)
    db.db["counter"].insert_one({"_id": "c", "n": 0, "who": []})
    for i in range(SHARED):
        db.save_data(make_ts(1000 + i, npts=10, shared=i))
    ctx = mp.get_context("spawn")
    ready = ctx.Event()
    procs = [ctx.Process(target=_worker, args=(store, root, w, ready)) for w in range(3)]
    for p in procs:
        p.start()
    ready.set()
    for p in procs:
        p.join(300)
    assert [p.exitcode for p in procs] == [0, 0, 0]
    counter = db.db["counter"].find_one({"_id": "c"})
    assert counter["n"] == 3 * N_OPS  # no lost $inc
    assert sorted(counter["who"]) == sorted(f"{w}:{i}" for w in range(3) for i in range(N_OPS))
    saved = list(db.db["wf_TimeSeries"].find({"worker": {"$exists": True}}))
    assert len(saved) == 3 * N_OPS and len({(d["dfile"], d["foff"]) for d in saved}) == 3 * N_OPS
    # the unique index held: each key claimed once, and the wins add up
    claims = list(db.db["claims"].find({}))
    assert sorted(c["key"] for c in claims) == list(range(40))
    assert sum(w["won"] for w in db.db["wins"].find({})) == 40
    # concurrent update_metadata of the same documents lost nobody's key
    for doc in db.db["wf_TimeSeries"].find({"shared": {"$exists": True}}):
        assert {f"seen_by_{w}" for w in range(3)} <= set(doc), doc
    back = db.read_ensemble_data_group([d["_id"] for d in saved[::37]])
    assert all(m.live for m in back)
