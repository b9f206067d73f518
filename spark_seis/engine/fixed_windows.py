"""Fixed windows for the misfit job (SeisFlows/Pyaflowa ``fix_windows``).

A line search re-uses the windows of an earlier evaluation instead of picking
new ones, so that misfits of its steps compare like with like. The driver
chooses, per event, the evaluation the windows come from and reads its windows
once from the database (the documents the job wrote, or ``spark-seis ingest``
imported from a Pyatoa file). An event whose database holds no windows for it
(a Pyatoa-written event file placed in output_dir, never ingested) gets them
from its ASDF file's MisfitWindows instead; the file is only opened then, so a
normal run reads no file. The windows travel to the executors in the broadcast
options, with where they came from for each station's elog.
The window criteria are re-evaluated on the new data, as Pyatoa's
``retrieve_windows_from_dataset`` does.

Modes (conf/job.yaml ``fix_windows`` / ``spark-seis run --fix-windows``):
  false   pick windows at every evaluation
  true    windows of the latest stored evaluation before this one
  ITER    as true within an iteration; step 0 of each iteration picks anew
  ONCE    windows of the first stored evaluation, for every later one
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

from spark_seis.engine.output_docs import WINDOWS
from spark_seis.processing.config import format_iter, format_step

MODES = (False, True, "ITER", "ONCE")
# window fields of a misfit_windows document (pyflex's JSON layout)
WINDOW_FIELDS = ("left_index", "right_index", "center_index", "time_of_first_sample", "dt",
                 "min_period", "channel_id", "max_cc_value", "cc_shift_in_samples", "dlnA",
                 "phase_arrivals")


def parse_mode(value: Any, where: str = "fix_windows") -> bool | str:
    """false | true | 'ITER' | 'ONCE' (case-insensitive); ConfigError otherwise."""
    from spark_seis.processing.config import ConfigError

    if isinstance(value, str) and value.upper() in ("ITER", "ONCE"):
        return value.upper()
    if isinstance(value, str) and value.lower() in ("true", "false"):
        return value.lower() == "true"
    if isinstance(value, bool):
        return value
    raise ConfigError(f"{where}: must be false, true, ITER or ONCE (got {value!r})")


def eval_label(evaluation: tuple[int, int]) -> str:
    return f"{format_iter(evaluation[0])}{format_step(evaluation[1])}"


def source_evaluation(stored: list[tuple[int, int]], current: tuple[int, int],
                      mode: bool | str) -> tuple[int, int] | None:
    """The stored evaluation whose windows ``current`` re-uses, or None (pick)."""
    earlier = sorted(e for e in set(stored) if e < current)
    if not mode or not earlier:
        return None
    if mode == "ONCE":
        return earlier[0]
    if mode == "ITER":
        same = [e for e in earlier if e[0] == current[0]]
        return same[-1] if current[1] > 0 and same else None
    return earlier[-1]


def stored_evaluations_by_event(db, source_ids: list[str]) -> dict[str, list[tuple[int, int]]]:
    """Per event, the evaluations with windows in the database."""
    pairs: dict[str, set[tuple[int, int]]] = {}
    for doc in db.db[WINDOWS].find({"source_id": {"$in": source_ids}},
                                   {"source_id": 1, "iteration": 1, "step_count": 1}):
        if doc.get("iteration") is not None and doc.get("step_count") is not None:
            pairs.setdefault(str(doc["source_id"]), set()).add(
                (int(doc["iteration"]), int(doc["step_count"])))
    return {sid: sorted(evals) for sid, evals in pairs.items()}


def aux_path(evaluation: tuple[int, int]) -> str:
    """'i01/s00', the MisfitWindows path of an evaluation (Pyatoa's layout)."""
    return f"{format_iter(evaluation[0])}/{format_step(evaluation[1])}"


def file_evaluations(ds) -> list[tuple[int, int]]:
    """Evaluations with a MisfitWindows/iNN/sNN group in an ASDF data set."""
    from spark_seis.io.asdf_store import WINDOWS as ASDF_WINDOWS

    if ASDF_WINDOWS not in ds.auxiliary_data.list():
        return []
    node = ds.auxiliary_data[ASDF_WINDOWS]
    found = []
    for it in node.list():
        if not (it[:1] == "i" and it[1:].isdigit()):
            continue  # e.g. Pyatoa's 'default' path: no evaluation to re-use
        for step in node[it].list():
            if step[:1] == "s" and step[1:].isdigit():
                found.append((int(it[1:]), int(step[1:])))
    return sorted(found)


def windows_from_file(path: Path, source_id: str, codes: set[tuple[str, str]],
                      current: tuple[int, int], mode: bool | str,
                      db_evaluations: list[tuple[int, int]]
                      ) -> tuple[tuple[int, int] | None, dict[str, dict[str, list[dict]]]]:
    """The evaluation chosen among the database's and the file's, and its windows
    read from the event's ASDF file ('source_id|NET.STA' -> component -> windows)."""
    import pyasdf

    from spark_seis.io.asdf_store import read_windows

    ds = pyasdf.ASDFDataSet(str(path), mode="r")
    try:
        chosen = source_evaluation(db_evaluations + file_evaluations(ds), current, mode)
        if chosen is None:
            return None, {}
        out = {}
        for net, sta in sorted(codes):
            windows = read_windows(ds, net, sta, aux_path(chosen))
            if windows:
                out[station_key(source_id, f"{net}.{sta}")] = windows
        return chosen, out
    finally:
        del ds


def load_fixed_windows(db, source_ids: list[str], evaluation: tuple[int, int]
                       ) -> dict[str, dict[str, list[dict]]]:
    """'source_id|NET.STA' -> component -> window dicts (by window_index)."""
    out: dict[str, dict[str, list[tuple[int, dict]]]] = {}
    query = {"source_id": {"$in": source_ids}, "iteration": evaluation[0],
             "step_count": evaluation[1]}
    for doc in db.db[WINDOWS].find(query):
        key = f"{doc['source_id']}|{doc['net']}.{doc['sta']}"
        window = {k: doc.get(k) for k in WINDOW_FIELDS}
        out.setdefault(key, {}).setdefault(doc["component"], []).append(
            (int(doc.get("window_index", 0)), window))
    return {key: {c: [w for _i, w in sorted(ws, key=lambda t: t[0])] for c, ws in comps.items()}
            for key, comps in out.items()}


def station_key(source_id: str, code: str) -> str:
    return f"{source_id}|{code}"
