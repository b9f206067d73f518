"""Import the misfit results of a Pyatoa (or spark_seis) ASDF file into the database.

``spark-seis ingest file.h5`` keeps events, stations and waveforms (workflow
ingest); this adds what an inversion recorded in the file: for every
``Configs/<path>`` evaluation, its MisfitWindows and AdjointSources, as the
same documents the misfit job writes (``engine.output_docs``), so that
``spark-seis inspect`` shows the history and a fixed-window run can re-use
the windows. Document ids are deterministic: importing twice changes nothing.
"""
from __future__ import annotations

import os
import warnings
from pathlib import Path
from typing import Iterable

from spark_seis.db.normalize import event_name
from spark_seis.engine import output_docs
from spark_seis.io import asdf_store
from spark_seis.processing.station import StationResult

ALGORITHM = "spark_seis.engine.pyatoa_results"


def _stations_at(ds, path: str) -> list[str]:
    codes = set()
    for data_type in (asdf_store.WINDOWS, asdf_store.ADJSRCS):
        if asdf_store._aux_exists(ds, data_type, path):
            for name in asdf_store._aux_node(ds, data_type, path).list():
                parts = name.split("_")
                if len(parts) >= 3:
                    codes.add(f"{parts[0]}.{parts[1]}")
    return sorted(codes)


def _source_for(db, ds, config) -> dict | None:
    names = [config.event_id] if config.event_id else []
    names += [str(e.resource_id).rstrip("/").split("/")[-1] for e in ds.events]
    for name in names:
        doc = db.db["source"].find_one({"event_id": name}, {"quakeml": 0})
        if doc is not None:
            return doc
    return None


def import_results(db, path: str | os.PathLike) -> dict[str, int]:
    """Upsert the windows/misfits/station documents of every evaluation in ``path``.

    Returns documents written per collection, plus 'evaluations'. Evaluations
    whose event is not in the source collection are reported under 'skipped'.
    """
    import pyasdf

    path = Path(path)
    counts = {"evaluations": 0, "skipped": 0}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ds = pyasdf.ASDFDataSet(str(path), mode="r")
    try:
        for aux in asdf_store.config_paths(ds):
            notes: list[str] = []
            config = asdf_store.read_config(ds, aux, notes=notes)
            source = _source_for(db, ds, config)
            if source is None:
                counts["skipped"] += 1
                continue
            sid, name = str(source["_id"]), event_name(source)
            docs: dict[str, list[dict]] = {}
            for code in _stations_at(ds, aux):
                net, sta = code.split(".")
                result = StationResult(code=code)
                result.windows = asdf_store.read_windows(ds, net, sta, aux)
                result.adjoint_sources = asdf_store.read_adjoint_sources(ds, net, sta, aux)
                result.misfit = {c: float(a["misfit"]) for c, a in result.adjoint_sources.items()}
                result.total_misfit = sum(result.misfit.values()) if result.misfit else None
                result.nwin = sum(len(w) for w in result.windows.values())
                result.status = "ok" if result.nwin else "no_windows"
                result.elog.log(ALGORITHM, f"imported from {path} at {aux}", "Informational")
                for note in notes:
                    result.elog.log(ALGORITHM, note, "Informational")
                for coll, items in output_docs.station_documents(
                        sid, result, config, str(path), name).items():
                    docs.setdefault(coll, []).extend(items)
            for coll, items in docs.items():
                for doc in items:
                    db.db[coll].replace_one({"_id": doc["_id"]}, doc, upsert=True)
                counts[coll] = counts.get(coll, 0) + len(items)
            counts["evaluations"] += 1
    finally:
        del ds
    return counts


def import_results_below(db, paths: Iterable[str | os.PathLike]) -> dict[str, int]:
    """``import_results`` for every ASDF file below ``paths`` that has Configs."""
    from spark_seis.workflow.ingest.discover import collect_files

    found, _unusable = collect_files(paths)
    total: dict[str, int] = {}
    for path in found.get("asdf", []):
        try:
            counts = import_results(db, path)
        except Exception as exc:  # noqa: BLE001 - a bad file never aborts the ingest
            total.setdefault("failed", 0)
            total["failed"] += 1
            print(f"  {path}: misfit results not imported: {type(exc).__name__}: {exc}")
            continue
        for key, n in counts.items():
            total[key] = total.get(key, 0) + n
    return total
