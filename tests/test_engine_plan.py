"""The job's plan: the driver keeps per-event counts, executors read their events' traces."""
from __future__ import annotations

import pickle

from bson import ObjectId

from spark_seis.db import Database, get_client
from spark_seis.engine.output_docs import STATIONS
from spark_seis.engine.plan import event_tasks, plan_events
from spark_seis.workflow.job_config import JobConfig


def _job(tmp_path, **extra):
    return JobConfig.from_dict({"misfit": {"iteration": 1, "step_count": 0},
                                "work_dir": str(tmp_path / "work"), **extra}, base=tmp_path)


def _store(tmp_path, name, events, stations, copies):
    """wf documents as ingest writes them: 3 components observed + synthetic per station,
    each repeated ``copies`` times (more traces, same stations)."""
    db = Database(get_client(path=tmp_path / name), "plan", storage_root=tmp_path / "wf")
    job = _job(tmp_path)
    docs = []
    for e in events:
        for s in range(stations):
            for tag in (job.observed_tag, job.synthetic_data_tag):
                for c in "ENZ" * copies:
                    docs.append({"source_id": e, "net": "NZ", "sta": f"S{s:02d}", "chan": f"HH{c}",
                                 "data_tag": tag, "npts": 10, "delta": 0.01})
    docs.append({"source_id": events[0], "net": "NZ", "sta": "S00", "data_tag": "other"})
    db.wf_TimeSeries.insert_many(docs)
    return db, job


def test_plan_holds_counts_not_traces_and_executor_tasks_hold_the_traces(tmp_path):
    events = [ObjectId(), ObjectId()]
    small_db, job = _store(tmp_path, "small", events, stations=4, copies=1)
    big_db, _ = _store(tmp_path, "big", events, stations=4, copies=25)
    small, big = plan_events(small_db, job, resume=False), plan_events(big_db, job, resume=False)
    assert small.stations == big.stations == {str(e): 4 for e in events}
    assert small.source_ids == {str(e): e for e in events}
    assert small.codes == {("NZ", f"S{s:02d}") for s in range(4)}
    # 25x the traces, the same plan on the driver
    assert len(pickle.dumps(small)) == len(pickle.dumps(big))
    tasks = event_tasks(big_db, (job.observed_tag, job.synthetic_data_tag), "wf_TimeSeries",
                        events[0])
    assert [t.code for t in tasks] == [f"NZ.S{s:02d}" for s in range(4)]
    assert all(len(t.observed) == 75 and len(t.synthetic) == 75 for t in tasks)
    assert {d["data_tag"] for t in tasks for d in t.synthetic} == {job.synthetic_data_tag}


def test_resume_and_event_selection(tmp_path):
    events = [ObjectId(), ObjectId()]
    db, job = _store(tmp_path, "s", events, stations=3, copies=1)
    db.db[STATIONS].insert_one({"eval_tag": job.misfit.eval_tag, "source_id": str(events[1]),
                                "net": "NZ", "sta": "S01", "status": "ok"})
    plan = plan_events(db, job, resume=True)
    assert plan.stations == {str(events[0]): 3, str(events[1]): 2} and plan.skipped == 1
    tasks = event_tasks(db, (job.observed_tag, job.synthetic_data_tag), "wf_TimeSeries",
                        events[1], job.misfit.eval_tag)
    assert [t.code for t in tasks] == ["NZ.S00", "NZ.S02"]
    only = plan_events(db, _job(tmp_path, events=[str(events[1])]), resume=False)
    assert list(only.stations) == [str(events[1])]
