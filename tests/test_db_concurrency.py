"""Several OS processes (as Spark Python workers are) sharing the embedded store."""
from __future__ import annotations

import multiprocessing as mp
import time

import numpy as np

from spark_seis.db import Database, get_client

N_SAVES = 1000


def _saver(store: str, root: str, worker: int, n: int) -> None:
    from db_support import make_ts

    db = Database(get_client(path=store), "conc", storage_root=root)
    for i in range(n):
        ts = make_ts(i, npts=20, worker=worker, seq=i)
        if i % 100 == 0:
            ts.elog.log("worker", f"checkpoint {i}")
        db.save_data(ts, dfile=f"shared_{i % 3}.bin")  # both processes append to the same files


def _incrementer(store: str, n: int) -> None:
    db = get_client(path=store)["conc"]
    for _ in range(n):
        db.counter.update_one({"_id": "c"}, {"$inc": {"n": 1}})


def _spawn(target, args_list):
    ctx = mp.get_context("spawn")
    procs = [ctx.Process(target=target, args=args) for args in args_list]
    for p in procs:
        p.start()
    for p in procs:
        p.join(timeout=300)
    assert [p.exitcode for p in procs] == [0] * len(procs)


def test_two_processes_thousand_saves_each(tmp_path):
    store, root = str(tmp_path / "store"), str(tmp_path / "wf")
    Database(get_client(path=store), "conc", storage_root=root)  # indexes before the race
    t = time.perf_counter()
    _spawn(_saver, [(store, root, w, N_SAVES) for w in (0, 1)])
    elapsed = time.perf_counter() - t
    db = Database(get_client(path=store), "conc", storage_root=root)
    docs = list(db.wf_TimeSeries.find({}))
    assert len(docs) == 2 * N_SAVES
    assert len({d["_id"] for d in docs}) == 2 * N_SAVES
    assert {(d["worker"], d["seq"]) for d in docs} == {(w, i) for w in (0, 1) for i in range(N_SAVES)}
    # no two documents claim the same bytes of a shared file, and every sample reads back
    spans = {(d["dfile"], d["foff"]) for d in docs}
    assert len(spans) == 2 * N_SAVES
    assert db.elog.count_documents({}) == 2 * (N_SAVES // 100)
    sample = [d for d in docs if d["seq"] in (0, 499, 999)]
    ens = db.read_ensemble_data_group(sample)
    from db_support import make_ts
    for member in ens:
        assert member.live and np.array_equal(member.data, make_ts(member["seq"], npts=20).data)
    print(f"2 x {N_SAVES} saves in {elapsed:.1f} s")


def test_two_processes_increment_one_document(tmp_path):
    store = str(tmp_path / "store")
    get_client(path=store)["conc"].counter.insert_one({"_id": "c", "n": 0})
    _spawn(_incrementer, [(store, 300), (store, 300)])
    assert get_client(path=store)["conc"].counter.find_one({"_id": "c"})["n"] == 600


def _die_mid_write(store: str) -> None:
    import os
    import signal
    import threading

    coll = get_client(path=store)["conc"].crash
    coll.insert_one({"_id": "before-crash"})
    # SIGKILL while a large batch is being written: its transaction is open
    threading.Timer(0.3, lambda: os.kill(os.getpid(), signal.SIGKILL)).start()
    while True:
        coll.insert_many([{"batch": True, "i": i, "pad": "x" * 500} for i in range(20000)])


def test_writer_killed_mid_write_leaves_committed_writes_and_whole_batches(tmp_path):
    store = str(tmp_path / "store")
    ctx = mp.get_context("spawn")
    p = ctx.Process(target=_die_mid_write, args=(store,))
    p.start()
    p.join(120)
    assert p.exitcode == -9
    coll = get_client(path=store)["conc"].crash
    coll.insert_one({"_id": "after-crash"})  # would hang if a lock were still held
    assert {d["_id"] for d in coll.find({"batch": {"$exists": False}})} == {
        "before-crash", "after-crash"}
    assert coll.count_documents({"batch": True}) % 20000 == 0  # no partial batch
