"""Plan the misfit job from the database without holding the traces on the driver.

The driver keeps one entry per event (its source id, its station count and the
station codes the broadcast normalization needs), found with indexed, projected
queries one event at a time, so its memory does not grow with the number of
wf documents. Each executor reads the wf documents of its own events
(:func:`event_tasks`, an indexed query by ``source_id``) and groups them into
station tasks there.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Iterator

from spark_seis.db.crud_read import plain_document
from spark_seis.db.event_stations import event_station_codes, event_values
from spark_seis.db.normalize import event_name
from spark_seis.engine.misfit_pipeline import StationTask, plan_station_tasks
from spark_seis.engine.output_docs import STATIONS


class EmptyQueryError(LookupError):
    """No wf documents matched: nothing to do (the CLI says what to check)."""


@dataclass
class EventPlan:
    """What the driver knows: per event, its id as stored and how many stations run."""

    source_ids: dict[str, Any] = field(default_factory=dict)  # str(source_id) -> stored value
    stations: dict[str, int] = field(default_factory=dict)    # str(source_id) -> tasks to run
    codes: set[tuple[str, str]] = field(default_factory=set)  # (net, sta) for normalization
    skipped: int = 0

    @property
    def total(self) -> int:
        return sum(self.stations.values())


def _tags(job) -> dict:
    return {"data_tag": {"$in": [job.observed_tag, job.synthetic_data_tag]}}


def finished_stations(db, eval_tag: str, event: str) -> set[str]:
    """NET.STA codes of ``event`` that already have a station document for ``eval_tag``."""
    return {f"{d['net']}.{d['sta']}" for d in db.db[STATIONS].find(
        {"eval_tag": eval_tag, "source_id": event}, {"net": 1, "sta": 1})}


def plan_events(db, job, resume: bool) -> EventPlan:
    """Events of the job and their station counts, one indexed query per event."""
    wf = db.db[db.wf_collection]
    wanted: set[str] = set()
    if job.events:  # events may be named by source_id or by their human event id
        names = {str(d["_id"]): event_name(d)
                 for d in db.db["source"].find({}, {"quakeml": 0})}
        known = set(names) | set(names.values())
        wanted = {sid for sid, name in names.items() if sid in job.events or name in job.events}
        wanted |= {str(e) for e in job.events if str(e) not in known}  # ids without a source
    # with a selection, only the selected events' documents are queried (not the catalog)
    ids = event_values(wf, _tags(job), wanted)
    if not ids and not wanted and not wf.count_documents(_tags(job)):
        raise EmptyQueryError(
            f"no {db.wf_collection} documents with data_tag {job.observed_tag!r} or "
            f"{job.synthetic_data_tag!r}; run 'spark-seis ingest' first or check the tags")
    plan = EventPlan()
    for value in sorted(ids, key=str):
        event = str(value)
        codes = event_station_codes(wf, value, _tags(job))
        done = finished_stations(db, job.misfit.eval_tag, event) if resume else set()
        todo = {c for c in codes if f"{c[0]}.{c[1]}" not in done}
        plan.skipped += len(codes) - len(todo)
        if todo:
            plan.source_ids[event], plan.stations[event] = value, len(todo)
            plan.codes |= todo
    return plan


def event_tasks(db, job_tags: tuple[str, str], collection: str, source_id: Any,
                eval_tag: str | None = None) -> list[StationTask]:
    """Station tasks of one event from its wf documents (on an executor or the driver).

    ``eval_tag`` (resume): leave out stations that already have a result.
    """
    observed_tag, synthetic_tag = job_tags
    observed, synthetic = [], []
    for doc in db.db[collection].find({"source_id": source_id,
                                       "data_tag": {"$in": [observed_tag, synthetic_tag]}}):
        (observed if doc.get("data_tag") == observed_tag else synthetic).append(
            plain_document(doc))
    tasks = plan_station_tasks(observed, synthetic).get(str(source_id), [])
    if eval_tag is not None:
        done = finished_stations(db, eval_tag, str(source_id))
        tasks = [t for t in tasks if t.code not in done]
    return tasks


def read_event_tasks(database_config: dict, job_tags: tuple[str, str], collection: str,
                     source_ids: Iterator[Any], eval_tag: str | None) -> Iterator[StationTask]:
    """Executor side: one database session per partition, the tasks of its events."""
    from spark_seis.db.client import database_session

    with database_session(database_config) as db:
        for source_id in source_ids:
            yield from event_tasks(db, job_tags, collection, source_id, eval_tag)
