"""Processes that open a brand-new embedded store at the same moment all get in.

Seen in CI: two `spark-seis ingest` processes started together on a new project, one
died with "cannot open the database ...: database is locked" (SQLite answers the race
on the switch to WAL with an immediate SQLITE_BUSY, without its busy handler).
"""
from __future__ import annotations

import subprocess
import sys
import time

CHILD = r"""
import sys, time
from spark_seis.db.client import get_database
start = float(sys.argv[2])
while time.time() < start:
    time.sleep(0.001)
db = get_database({"work_dir": sys.argv[1]})
db.db["opened"].insert_one({"who": int(sys.argv[3])})
print("ok")
"""


def test_simultaneous_first_opens_of_a_new_store_all_succeed(tmp_path):
    for attempt in range(3):  # three fresh stores: the race is at creation
        work = tmp_path / f"work{attempt}"
        start = time.time() + 3.0  # after every child has imported spark_seis
        procs = [subprocess.Popen([sys.executable, "-c", CHILD, str(work), str(start), str(i)],
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
                 for i in range(6)]
        results = [p.communicate(timeout=300) for p in procs]
        failed = [err.strip().splitlines()[-1] for p, (_out, err) in zip(procs, results)
                  if p.returncode != 0]
        assert failed == []
        from spark_seis.db.client import get_database

        stored = sorted(d["who"] for d in get_database({"work_dir": str(work)}).db["opened"].find({}))
        assert stored == list(range(6))


def test_a_store_briefly_locked_while_opening_is_waited_for(tmp_path, monkeypatch):
    """The CI case: the index set-up of a new handle met another process's commit
    ("database is locked"); opening retries instead of failing the command."""
    import sqlite3

    import spark_seis.db.database as database_module
    from spark_seis.db.client import get_database

    real, calls = database_module.Database, []

    def flaky(*args, **kwargs):
        calls.append(1)
        if len(calls) == 1:
            raise sqlite3.OperationalError("database is locked")
        return real(*args, **kwargs)

    monkeypatch.setattr(database_module, "Database", flaky)
    db = get_database({"work_dir": str(tmp_path / "work")})
    db.db["x"].insert_one({"a": 1})
    assert len(calls) == 2 and db.db["x"].count_documents({}) == 1
