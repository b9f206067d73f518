"""Database documents produced by the misfit pipeline, with deterministic keys.

Every document's ``_id`` is built from (event, station, component, iteration,
step, stage), so writing the same result twice (a Spark retry, a rerun) is an
upsert of the same document, never a duplicate.
"""
from __future__ import annotations

import math
from typing import Any, Iterable

from spark_seis.processing.station import StationResult
from spark_seis.processing.config import Config

WINDOWS = "misfit_windows"
MISFITS = "misfit"
STATIONS = "misfit_station"
ELOG = "elog"
OUTPUT_COLLECTIONS = (WINDOWS, MISFITS, STATIONS)


def doc_id(*parts: Any) -> str:
    return "|".join("-" if p is None else str(p) for p in parts)


def _tags(config: Config) -> dict[str, Any]:
    return {"iteration": config.iteration, "step_count": config.step_count,
            "eval_tag": config.eval_tag}


def _finite(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def station_documents(event_id: str, result: StationResult, config: Config,
                      asdf_file: str | None, event_name: str | None = None
                      ) -> dict[str, list[dict]]:
    """All documents of one station's result, grouped by collection."""
    net, sta = (result.code.split(".") + [""])[:2]
    tags = _tags(config)
    base = {"source_id": event_id, "event": event_name or event_id, "net": net, "sta": sta,
            **tags}
    key = (event_name or event_id, result.code, config.eval_tag)
    docs: dict[str, list[dict]] = {WINDOWS: [], MISFITS: [], STATIONS: [], ELOG: []}
    docs[STATIONS].append({
        "_id": doc_id(*key, "station"), **base, "status": result.status,
        "nwin": result.nwin, "total_misfit": _finite(result.total_misfit),
        "distance_km": result.distance_km, "baz": result.baz,
        "asdf_file": asdf_file, "aux_path": config.aux_path,
        "timings": dict(result.timings),
    })
    for component, windows in sorted(result.windows.items()):
        for index, window in enumerate(windows):
            docs[WINDOWS].append({
                "_id": doc_id(*key, component, index, "window"), **base,
                "component": component, "window_index": index,
                **{k: _finite(v) for k, v in window.items() if k != "phase_arrivals"},
                "phase_arrivals": window.get("phase_arrivals", []),
            })
    for component in sorted(set(result.windows) | set(result.adjoint_sources)):
        adj = result.adjoint_sources.get(component, {})
        docs[MISFITS].append({
            "_id": doc_id(*key, component, "misfit"), **base, "component": component,
            "nwin": len(result.windows.get(component, [])),
            "misfit": _finite(result.misfit.get(component)),
            "adjsrc_type": adj.get("adjsrc_type", config.adj_src_type),
            "adjsrc_component": adj.get("component"),
            "asdf_file": asdf_file,
            "adjsrc_path": (f"AdjointSources/{config.aux_path}/"
                            f"{net}_{sta}_{adj['component']}" if adj.get("component") else None),
        })
    if len(result.elog):
        docs[ELOG].append({
            "_id": doc_id(*key, "misfit_elog"), **base, "stage": "misfit",
            "status": result.status, "logdata": result.elog.to_list(),
        })
    return docs


def merge_documents(groups: Iterable[dict[str, list[dict]]]) -> dict[str, list[dict]]:
    merged: dict[str, list[dict]] = {}
    for group in groups:
        for collection, docs in group.items():
            merged.setdefault(collection, []).extend(docs)
    return merged
