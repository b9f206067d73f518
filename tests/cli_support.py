"""Misfit outputs for the inspect/plot tests, made the way the misfit job makes them.

``make_misfit_outputs(job_dir)`` runs ``process_station`` on the real NZ.BFZ data,
writes the event's ASDF file as ``engine.misfit_pipeline.process_event`` does
(raw waveforms + Config + windows + adjoint sources at i01/s00) and inserts the
documents of ``engine.output_docs.station_documents`` into the embedded database:
i01s00 (real), i01s01 (the same with every misfit halved: "the misfit went
down") and a dead station NZ.BFY (no inventory: failed, with its elog reason).
"""
from __future__ import annotations

import copy
import functools
from pathlib import Path

from obspy import Inventory

from _nz_data import nz_bfz
from spark_seis.engine.output_docs import station_documents
from spark_seis.processing.station import process_station
from spark_seis.processing.config import Config

EVENT = "2018p130600"


@functools.lru_cache(maxsize=1)
def _results():
    inv, event, st_obs, st_syn = nz_bfz()
    cfg = Config(event_id=EVENT, iteration=1, step_count=0)
    ok = process_station(st_obs.copy(), st_syn.copy(), inv, event, cfg)
    obs_y, syn_y = st_obs.copy(), st_syn.copy()
    for tr in obs_y + syn_y:
        tr.stats.station = "BFY"
    dead = process_station(obs_y, syn_y, Inventory(networks=[]), event, cfg)
    return cfg, ok, dead


def misfit_documents(source_id: str = "src1", asdf_file: str | None = None) -> dict[str, list[dict]]:
    cfg, ok, dead = _results()
    docs: dict[str, list[dict]] = {}
    for result in (ok, dead):
        for coll, items in station_documents(source_id, result, cfg, asdf_file, EVENT).items():
            docs.setdefault(coll, []).extend(items)
    # a second evaluation (i01s01) whose misfits are half those of i01s00
    for coll in list(docs):
        for doc in list(docs[coll]):
            new = copy.deepcopy(doc)
            new["_id"] = str(doc["_id"]).replace("i01s00", "i01s01")
            new.update(step_count=1, eval_tag="i01s01")
            for key in ("total_misfit", "misfit"):
                if isinstance(new.get(key), float):
                    new[key] = new[key] / 2.0
            docs[coll].append(new)
    return docs


def write_asdf(path: Path) -> Path:
    """The event's ASDF file as the misfit job writes it (raw waveforms kept)."""
    import pyasdf

    from spark_seis.io import asdf_store

    cfg, ok, _dead = _results()
    inv, event, st_obs, st_syn = nz_bfz()
    path.parent.mkdir(parents=True, exist_ok=True)
    ds = pyasdf.ASDFDataSet(str(path), mode="a", compression=None)
    try:
        asdf_store.write_event(ds, event)
        asdf_store.write_config(ds, cfg)
        asdf_store.write_station_result(ds, ok, cfg, inv=inv, st_obs=st_obs, st_syn=st_syn)
    finally:
        del ds
    return path


def make_misfit_outputs(job_dir: Path, db) -> dict[str, list[dict]]:
    """ASDF file in <job_dir>/work/output/<event>.h5 and the documents in ``db``."""
    asdf = write_asdf(job_dir / "work" / "output" / f"{EVENT}.h5")
    source = db.db["source"].find_one({"event_id": EVENT})
    sid = str(source["_id"]) if source else "src1"
    docs = misfit_documents(sid, str(asdf))
    for coll, items in docs.items():
        if items:
            db.db[coll].insert_many(items)
    return docs
