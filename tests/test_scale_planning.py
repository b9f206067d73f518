"""Planning a run of some events reads those events' wf documents, not the catalog's.

Issue 17: at 1M wf documents, a plan that scans the collection costs the driver
time (and memory) that grows with every ingest although the job does not. A
counting view of the wf collection records every query and every document read.
"""
from __future__ import annotations

from bson import ObjectId

from spark_seis.cli.preflight import planned_work
from spark_seis.db import Database, get_client
from spark_seis.engine.plan import plan_events
from spark_seis.workflow.job_config import JobConfig


class _CountingCollection:
    def __init__(self, inner, log):
        self._inner, self._log = inner, log

    def find(self, filter=None, *args, **kwargs):
        self._log["queries"].append(("find", dict(filter or {})))
        for doc in self._inner.find(filter, *args, **kwargs):
            self._log["docs"] += 1
            yield doc

    def distinct(self, key, filter=None, **kwargs):
        self._log["queries"].append(("distinct", dict(filter or {})))
        return self._inner.distinct(key, filter, **kwargs)

    def count_documents(self, filter, **kwargs):
        self._log["queries"].append(("count", dict(filter)))
        return self._inner.count_documents(filter, **kwargs)


class _CountingDB:
    def __init__(self, inner, wf, log):
        self._inner, self._wf, self._log = inner, wf, log

    def __getitem__(self, name):
        coll = self._inner[name]
        return _CountingCollection(coll, self._log) if name == self._wf else coll

    def __getattr__(self, name):
        return getattr(self._inner, name)


def _catalog(tmp_path, events=4, stations=3):
    job = JobConfig.from_dict({"misfit": {"iteration": 1, "step_count": 0},
                               "work_dir": str(tmp_path / "work")}, base=tmp_path)
    db = Database(get_client(path=tmp_path / "store"), "plan", storage_root=tmp_path / "wf")
    ids = [ObjectId() for _ in range(events)]
    db.db["source"].insert_many([{"_id": sid, "event_id": f"ev{i}", "time": 1.0e9 + i}
                                 for i, sid in enumerate(ids)])
    db.wf_TimeSeries.insert_many([
        {"source_id": sid, "net": "NZ", "sta": f"S{s:02d}", "chan": f"HH{c}", "data_tag": tag}
        for sid in ids for s in range(stations) for c in "ENZ"
        for tag in (job.observed_tag, job.synthetic_data_tag)])
    log = {"queries": [], "docs": 0}
    db.db = _CountingDB(db.db, db.wf_collection, log)
    return db, job, ids, log


def _only_that_event(log, sid):
    assert log["queries"], "nothing was queried"
    for kind, filter in log["queries"]:
        assert filter.get("source_id") == sid, f"{kind} {filter} is not limited to the event"
    assert log["docs"] == 3 * 2 * 3  # its own documents: 3 stations x 2 tags x 3 channels


def test_engine_plan_of_one_event_by_name_queries_only_that_event(tmp_path):
    db, job, ids, log = _catalog(tmp_path)
    job = JobConfig.from_dict({"misfit": {"iteration": 1, "step_count": 0}, "events": ["ev2"],
                               "work_dir": str(tmp_path / "work")}, base=tmp_path)
    plan = plan_events(db, job, resume=False)
    assert plan.source_ids == {str(ids[2]): ids[2]} and plan.stations == {str(ids[2]): 3}
    _only_that_event(log, ids[2])


def test_preflight_count_of_one_event_queries_only_that_event(tmp_path):
    db, job, ids, log = _catalog(tmp_path)
    work = planned_work(db, job.observed_tag, job.synthetic_data_tag, job.misfit.eval_tag,
                        {str(ids[1])}, resume=False)
    assert (work.events, work.stations, work.already_done) == (1, 3, 0)
    _only_that_event(log, ids[1])
    # without a selection every event is still counted (and planned)
    work = planned_work(db, job.observed_tag, job.synthetic_data_tag, job.misfit.eval_tag,
                        set(), resume=False)
    assert (work.events, work.stations) == (4, 12)
    assert plan_events(db, job, resume=False).stations == {str(i): 3 for i in ids}
