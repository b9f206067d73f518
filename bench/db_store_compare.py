"""Compare embedded pymongo-compatible stores against what spark_seis.db.Database needs.

Run: python bench/db_store_compare.py [--out docs/db_store_compare.json]
Each candidate gets a fresh directory; each check is run independently and reports
ok / FAIL(reason). Concurrency checks use 2 spawned OS processes.
Optional candidates (litemongo, montydb, mongita) are skipped when not installed;
spark_seis is our SQLite store (spark_seis.db.store). Scale: bench/bench_store.py.
"""
from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def open_db(kind: str, path: str):
    if kind == "litemongo":
        import litemongo
        return litemongo.connect(path)["bench"]
    if kind == "spark_seis":
        from spark_seis.db.embedded import EmbeddedClient
        return EmbeddedClient(path)["bench"]
    if kind == "montydb":
        from montydb import MontyClient
        return MontyClient(path, storage="sqlite")["bench"]
    if kind == "mongita":
        from mongita import MongitaClientDisk
        return MongitaClientDisk(path)["bench"]
    raise ValueError(kind)


def _inc_worker(kind: str, path: str, n: int) -> None:
    db = open_db(kind, path)
    for _ in range(n):
        db.counter.update_one({"_id": "c"}, {"$inc": {"n": 1}})


def _insert_worker(kind: str, path: str, tag: int, n: int) -> None:
    db = open_db(kind, path)
    for i in range(n):
        db.wf.insert_one({"tag": tag, "i": i, "x": float(i)})


def _unique_worker(kind: str, path: str, n: int, out) -> None:
    db = open_db(kind, path)
    won = 0
    for i in range(n):
        try:
            db.uniq.insert_one({"k": i})
            won += 1
        except Exception:
            pass
    out.put(won)


def check(name, fn, results):
    t = time.perf_counter()
    try:
        detail = fn()
        results[name] = {"ok": True, "detail": detail, "seconds": round(time.perf_counter() - t, 3)}
    except Exception as exc:  # noqa: BLE001 - a comparison reports every failure
        results[name] = {"ok": False, "detail": f"{type(exc).__name__}: {exc}"[:200],
                         "seconds": round(time.perf_counter() - t, 3)}


def run(kind: str, n_docs: int = 2000, n_inc: int = 300) -> dict:
    path = tempfile.mkdtemp(prefix=f"store_{kind.replace('+', '_')}_")
    db = open_db(kind, path)
    res: dict = {}
    docs = [{"i": i, "sta": f"S{i % 50}", "x": i * 0.5, "tags": ["a"] if i % 2 else []}
            for i in range(n_docs)]

    def insert_many():
        db.wf.insert_many([dict(d) for d in docs])
        assert db.wf.count_documents({}) == n_docs
        return n_docs
    check("insert_many", insert_many, res)

    def queries():
        assert db.wf.count_documents({"i": {"$in": [1, 2, 3]}}) == 3
        assert db.wf.count_documents({"x": {"$gte": 10.0}}) == n_docs - 20
        assert db.wf.count_documents({"nope": {"$exists": True}}) == 0
        assert db.wf.count_documents({"sta": {"$regex": "^S1"}}) > 0
        assert db.wf.count_documents({"$or": [{"i": 1}, {"i": 2}]}) == 2
        top = list(db.wf.find({}).sort("i", -1).limit(3))
        assert [d["i"] for d in top] == [n_docs - 1, n_docs - 2, n_docs - 3]
        return "in/gte/exists/regex/or/sort+limit"
    check("query_operators", queries, res)

    def set_unset():
        db.wf.update_one({"i": 5}, {"$set": {"y": 1}, "$unset": {"x": ""}})
        d = db.wf.find_one({"i": 5})
        assert d["y"] == 1 and "x" not in d
        return "ok"
    check("set_unset", set_unset, res)

    def distinct():
        assert len(db.wf.distinct("sta")) == 50
        return 50
    check("distinct", distinct, res)

    def unique_index():
        db.uniq0.create_index([("a", 1), ("b", 1)], unique=True)
        db.uniq0.insert_one({"a": 1, "b": 2})
        try:
            db.uniq0.insert_one({"a": 1, "b": 2})
        except Exception:
            return "duplicate rejected"
        raise AssertionError("duplicate accepted")
    check("unique_index", unique_index, res)

    def group():
        out = list(db.wf.aggregate([{"$group": {"_id": "$sta", "n": {"$sum": 1}}}]))
        assert len(out) == 50 and sum(o["n"] for o in out) == n_docs
        return len(out)
    check("aggregate_group", group, res)

    def bulk():
        from pymongo import ReplaceOne, UpdateOne
        r = db.bulk.bulk_write([ReplaceOne({"_id": i}, {"_id": i, "v": i}, upsert=True)
                                for i in range(100)])
        db.bulk.bulk_write([UpdateOne({"_id": 1}, {"$set": {"v": -1}})])
        assert db.bulk.count_documents({}) == 100 and db.bulk.find_one({"_id": 1})["v"] == -1
        return "ReplaceOne/UpdateOne upsert"
    check("bulk_write_upsert", bulk, res)

    def find_one_speed():
        db.wf.create_index("i")
        t = time.perf_counter()
        for i in range(500):
            assert db.wf.find_one({"i": i})["i"] == i
        return f"500 find_one {time.perf_counter() - t:.3f}s"
    check("find_one_x500", find_one_speed, res)

    def binary():
        blob = bytes(range(256)) * 1000
        db.chunks.insert_one({"_id": "b", "data": blob})
        assert bytes(db.chunks.find_one({"_id": "b"})["data"]) == blob
        return "256 KB binary field"
    check("binary_chunks_gridfs_equivalent", binary, res)

    def inc_race():
        db.counter.insert_one({"_id": "c", "n": 0})
        ctx = mp.get_context("spawn")
        ps = [ctx.Process(target=_inc_worker, args=(kind, path, n_inc)) for _ in range(2)]
        [p.start() for p in ps]
        [p.join() for p in ps]
        n = open_db(kind, path).counter.find_one({"_id": "c"})["n"]
        assert n == 2 * n_inc, f"{n} of {2 * n_inc} increments survived"
        return n
    check("two_process_inc", inc_race, res)

    def insert_race():
        ctx = mp.get_context("spawn")
        ps = [ctx.Process(target=_insert_worker, args=(kind, path, t, 500)) for t in range(2)]
        [p.start() for p in ps]
        [p.join() for p in ps]
        n = open_db(kind, path).wf.count_documents({"tag": {"$in": [0, 1]}})
        assert n == 1000, f"{n} of 1000"
        return n
    check("two_process_insert", insert_race, res)

    def unique_race():
        db.uniq.create_index("k", unique=True)
        ctx = mp.get_context("spawn")
        q = ctx.Queue()
        ps = [ctx.Process(target=_unique_worker, args=(kind, path, 200, q)) for _ in range(2)]
        [p.start() for p in ps]
        won = q.get() + q.get()
        [p.join() for p in ps]
        n = open_db(kind, path).uniq.count_documents({})
        assert n == 200 and won == 200, f"{n} docs, {won} accepted inserts"
        return n
    check("two_process_unique_race", unique_race, res)
    return res


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--out", default=None)
    parser.add_argument("--candidates", default="spark_seis,litemongo,montydb,mongita")
    args = parser.parse_args()
    report = {}
    for kind in args.candidates.split(","):
        try:
            open_db(kind, tempfile.mkdtemp())
        except ImportError as exc:
            report[kind] = {"skipped": str(exc)}
            continue
        report[kind] = run(kind)
        ok = sum(1 for v in report[kind].values() if v["ok"])
        print(f"{kind}: {ok}/{len(report[kind])} checks passed", flush=True)
        for name, v in report[kind].items():
            print(f"   {name:34s} {'ok  ' if v['ok'] else 'FAIL'} {v['seconds']:7.3f}s {v['detail']}")
    if args.out:
        Path(args.out).write_text(json.dumps(report, indent=1))


if __name__ == "__main__":
    main()
