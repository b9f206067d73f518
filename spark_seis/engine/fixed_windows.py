"""Fixed windows for the misfit job (SeisFlows/Pyaflowa ``fix_windows``).

A line search re-uses the windows of an earlier evaluation instead of picking
new ones, so that misfits of its steps compare like with like. The driver
chooses the evaluation the windows come from and reads its windows once from
the database (the documents the job wrote, or ``spark-seis ingest`` imported
from a Pyatoa file); they travel to the executors in the broadcast options.
The window criteria are re-evaluated on the new data, as Pyatoa's
``retrieve_windows_from_dataset`` does.

Modes (conf/job.yaml ``fix_windows`` / ``spark-seis run --fix-windows``):
  false   pick windows at every evaluation
  true    windows of the latest stored evaluation before this one
  ITER    as true within an iteration; step 0 of each iteration picks anew
  ONCE    windows of the first stored evaluation, for every later one
"""
from __future__ import annotations

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


def stored_evaluations(db, source_ids: list[str]) -> list[tuple[int, int]]:
    pairs = set()
    for doc in db.db[WINDOWS].find({"source_id": {"$in": source_ids}},
                                   {"iteration": 1, "step_count": 1}):
        if doc.get("iteration") is not None and doc.get("step_count") is not None:
            pairs.add((int(doc["iteration"]), int(doc["step_count"])))
    return sorted(pairs)


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
