"""Checks of `spark-seis run` that need no Spark: they run in about a second, before
the 30-60 s of JVM start-up, so a mistake or an empty night costs nothing.

Only the database and the file system are touched here (no pyspark, no obspy).
"""
from __future__ import annotations

import difflib
import os
import re
import socket
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable

from .errors import UserError

#: exit codes of `spark-seis run` (documented in the README)
EXIT_DONE = 0          # work was done (stations processed; some may be dead, see summary)
EXIT_FAILED = 1        # the job failed, or every station it processed failed
EXIT_USAGE = 2         # bad command line, configuration or input: nothing was run
EXIT_NOTHING_TO_DO = 3  # nothing new to process (e.g. --resume with every station done)
EXIT_BUSY = 4          # another run of the same project is running


#: engine.output_docs.STATIONS, named here so preflight does not import obspy
STATIONS_COLLECTION = "misfit_station"


class NothingToDo(Exception):
    """Nothing to process: not an error, but no work done either (exit 3)."""


_LOCAL = re.compile(r"^local(\[(\*|[1-9]\d*)(,\s*[1-9]\d*)?\])?$")
_LOCAL_CLUSTER = re.compile(r"^local-cluster\[\d+,\s*\d+,\s*\d+\]$")
_HOST_PORT = re.compile(r"^(?P<host>[^:/\s]+):(?P<port>\d{1,5})$")


def check_master(master: str, setting: str = "spark.master",
                 timeout: float = 3.0) -> None:
    """A Spark master URL Spark will accept, and a standalone master that answers.

    Uses engine.cluster.check_master_reachable when the cluster module provides
    it; otherwise a TCP connect to each spark://host:port (HA lists included).
    """
    fix = "use local[*], local[N], spark://HOST:PORT, yarn or k8s://https://HOST:PORT"
    text = (master or "").strip()
    if _LOCAL.match(text) or _LOCAL_CLUSTER.match(text) or text == "yarn":
        return
    if text.startswith("k8s://") and len(text) > len("k8s://"):
        return
    if text.startswith("spark://"):
        hosts = text[len("spark://"):].split(",")
        if not all(_HOST_PORT.match(h) for h in hosts):
            raise UserError(f"{setting} {text!r}: not a Spark master URL",
                            f"write it as spark://HOST:PORT ({fix})")
        try:
            from spark_seis.engine.cluster import check_master_reachable  # type: ignore
        except ImportError:
            check_master_reachable = None
        if check_master_reachable is not None:
            try:
                check_master_reachable(text)
                return
            except Exception as exc:  # noqa: BLE001 - its message names URL and fix
                raise UserError(f"{setting}: {exc}") from None
        errors = []
        for host_port in hosts:
            m = _HOST_PORT.match(host_port)
            try:
                with socket.create_connection((m["host"], int(m["port"])), timeout=timeout):
                    return
            except OSError as exc:
                errors.append(f"{host_port}: {exc.strerror or exc}")
        raise UserError(f"{setting} {text!r}: no Spark master answers ({'; '.join(errors)})",
                        "start the master (sbin/start-master.sh) or fix the URL; "
                        "local[*] runs on this machine")
    raise UserError(f"{setting} {text!r}: not a Spark master URL", fix)


def read_spark_defaults(path: Path) -> dict[str, str]:
    """``key value`` lines of a spark-defaults.conf; a malformed line is a UserError
    naming file and line."""
    from spark_seis.engine.session import read_spark_defaults as parse

    try:
        return parse(path)
    except ValueError as exc:
        raise UserError(str(exc), f"edit {path}: one 'spark.key value' per line, "
                                  "# for comments") from None


def check_writable(folder: Path, setting: str) -> None:
    """The folder exists or can be made, and a file can be written in it."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=folder, prefix=".write-probe-"):
            pass
    except OSError as exc:
        raise UserError(f"{setting} {folder}: cannot write there ({exc.strerror or exc})",
                        "fix the permissions or choose another folder in conf/job.yaml") from None


def check_storage_root(root: Path) -> None:
    """storage_root must be a folder (or not exist yet), never a file."""
    if root.exists() and not root.is_dir():
        raise UserError(f"database.storage_root {root} is a file, not a folder",
                        "point storage_root at the folder holding the sample files "
                        "(conf/job.yaml or conf/database.yaml)")


def _event_names(db) -> dict[str, str]:
    """source _id -> human event id, for every event in the database."""
    from spark_seis.db.normalize import event_name

    return {str(d["_id"]): event_name(d)
            for d in db.db["source"].find({}, {"quakeml": 0})}


def check_events(wanted: Iterable[str], names: dict[str, str], setting: str) -> set[str]:
    """source _ids of the wanted events; an unknown id is an error naming the closest ids."""
    known = set(names.values()) | set(names)
    selected = set()
    for event in wanted:
        event = str(event)
        if event not in known:
            close = difflib.get_close_matches(event, sorted(set(names.values())), n=3,
                                              cutoff=0.5)
            hint = (f"closest known: {', '.join(close)}" if close else
                    f"the database has {len(names)} event(s)"
                    + (f", e.g. {', '.join(sorted(set(names.values()))[:3])}" if names else ""))
            raise UserError(f"{setting}: event {event!r} is not in the database ({hint})",
                            "check the id, or 'spark-seis ingest' its QuakeML first")
        selected |= {sid for sid, name in names.items() if event in (sid, name)}
    return selected


@dataclass
class PlannedWork:
    """What the job would process, counted from the documents alone."""

    events: int
    stations: int
    already_done: int


def planned_work(db, observed_tag: str, synthetic_tag: str, eval_tag: str,
                 wanted: set[str], resume: bool, outputs_done=None) -> PlannedWork:
    """Count (event, station) pairs the job would run: the rule of
    engine.misfit_pipeline.plan_station_tasks, without importing it (obspy)."""
    from spark_seis.db.event_stations import event_station_codes, event_values

    wf = db.db[db.wf_collection]
    tags = {"data_tag": {"$in": [observed_tag, synthetic_tag]}}
    pairs = set()
    for event in event_values(wf, tags, wanted):  # with --event: those events' documents only
        pairs |= {(str(event), f"{net}.{sta}")
                  for net, sta in event_station_codes(wf, event, tags)}
    done = set()
    if resume and pairs:
        for doc in db.db[STATIONS_COLLECTION].find({"eval_tag": eval_tag},
                                        {"source_id": 1, "net": 1, "sta": 1}):
            done.add((str(doc["source_id"]), f"{doc['net']}.{doc['sta']}"))
        if outputs_done is not None:  # done also means present in the outputs
            done &= outputs_done(pairs)
    todo = pairs - done
    return PlannedWork(events=len({e for e, _ in todo}), stations=len(todo),
                       already_done=len(pairs & done))


def preflight_run(job, db, *, resume: bool, events_setting: str) -> PlannedWork:
    """Every check of a misfit run that needs no Spark, cheapest first."""
    check_storage_root(Path(db.storage_root))
    check_writable(Path(job.output_dir), "output_dir")
    names = _event_names(db)
    wf = db.db[db.wf_collection]
    if not names and wf.count_documents({}) == 0:
        raise UserError(f"the database {db.name!r} is empty (no events, no waveforms)",
                        "run 'spark-seis ingest DATA...' first, or check database "
                        "settings in conf/job.yaml / conf/database.yaml")
    wanted = check_events(job.events, names, events_setting) if job.events else set()
    tags = (job.observed_tag, job.synthetic_data_tag)
    work = planned_work(db, *tags, job.misfit.eval_tag, wanted, resume,
                        outputs_done=lambda pairs: _present_in_outputs(job, db, names))
    if work.stations == 0 and work.already_done == 0:
        raise UserError(f"no stations to process for {job.misfit.eval_tag}: no "
                        f"{db.wf_collection} documents with data_tag {tags[0]!r} or "
                        f"{tags[1]!r}" + (f" for event(s) {', '.join(job.events)}"
                                          if job.events else ""),
                        "ingest the data, or check observed_tag / synthetic_tag / "
                        "iteration / step_count in conf/job.yaml")
    if work.stations == 0:
        raise NothingToDo(f"nothing new to do for {job.misfit.eval_tag}: all "
                          f"{work.already_done} station(s) already done (--resume)")
    return work


def _present_in_outputs(job, db, names: dict[str, str]) -> set[tuple[str, str]]:
    """Stations whose outputs (ASDF entries, .adj files) exist: engine.resume's rule."""
    from spark_seis.engine.resume import finished_stations

    files = {sid: Path(job.output_dir) / f"{name}.h5" for sid, name in names.items()}
    adjoint = Path(job.output_dir) / "adjoint" if job.specfem_adjoint_sources else None
    return finished_stations(db, job.misfit, files, adjoint, names)


def resolve_master(cli_master: str | None, job, spark_defaults: dict[str, Any]) -> str | None:
    """The master this run will use: --master, job.yaml spark.master, spark-defaults,
    local[*]; None under spark-submit (its --master decides)."""
    if cli_master:
        return cli_master
    if os.environ.get("PYSPARK_GATEWAY_PORT"):
        return None
    return job.spark.get("master") or spark_defaults.get("spark.master") or "local[*]"
