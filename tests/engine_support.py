"""A database with the real NZ event plus generated stations, for engine tests.

Generated stations reuse NZ.BFZ's response and location with the observed data
shifted, scaled and noised, so each is a realistic but distinct station.
"""
from __future__ import annotations

import copy
from pathlib import Path

import numpy as np
import obspy

from spark_seis.core.obspy_convert import trace_to_timeseries
from spark_seis.db.client import get_database
from spark_seis.workflow.job_config import JobConfig

NZ = Path(__file__).parent / "data" / "nz_2018p130600"
SYN_TAG = "synthetic_i01s00"


def job_for(work: Path, **overrides) -> JobConfig:
    raw = {"work_dir": str(work), "database": {}, "iteration": 1, "step_count": 0,
           "misfit": {"event_id": None, "min_period": 10.0, "max_period": 100.0},
           "specfem_adjoint_sources": True, **overrides}
    return JobConfig.from_dict(raw, base=work)


def _station_inventory(inv: obspy.Inventory, code: str) -> obspy.Inventory:
    out = copy.deepcopy(inv)
    for net in out:
        for sta in net:
            sta.code = code
    return out


def build_database(work: Path, n_generated: int = 0, seed: int = 0, n_events: int = 1):
    """Ingest event, inventories, observed and synthetic traces; return the db.

    ``n_events`` > 1 adds copies of the event one day apart (ids ``copy1``...),
    each with the same stations' data shifted by the same day.
    """
    job = job_for(work)
    db = get_database(job.database_config())
    db.save_catalog(str(NZ / "test_catalog_2018p130600.xml"))
    source = db.db["source"].find_one({"event_id": "2018p130600"})
    inv = obspy.read_inventory(str(NZ / "test_dataless_NZ_BFZ.xml"))
    observed = obspy.read(str(NZ / "mseed" / "*"))
    # the SPECFEM synthetics of NZ.BFZ, already in absolute time
    synthetic = obspy.read(str(NZ / "test_syn_data_NZ_BFZ_2018p130600.ascii"))
    rng = np.random.default_rng(seed)
    stations = [("BFZ", observed, synthetic)]
    for k in range(n_generated):
        shift = int(rng.integers(-40, 40))
        scale = float(rng.uniform(0.7, 1.3))
        obs = observed.copy()
        for tr in obs:
            noise = rng.normal(0, 0.01 * np.std(tr.data), tr.stats.npts)
            tr.data = np.roll(tr.data.astype(float), shift) * scale + noise
        stations.append((f"G{k:03d}", obs, synthetic.copy()))
    add_stations(db, inv, source["_id"], stations)
    for k in range(1, n_events):
        cat = obspy.read_events(str(NZ / "test_catalog_2018p130600.xml"))
        cat[0].resource_id = obspy.core.event.ResourceIdentifier(f"smi:local/copy{k}")
        for origin in cat[0].origins:
            origin.time += 86400 * k
        db.save_catalog(cat)
        copy_id = db.db["source"].find_one({"event_id": f"copy{k}"})["_id"]
        shifted = []
        for code, obs, syn in stations:
            obs, syn = obs.copy(), syn.copy()
            for tr in obs + syn:
                tr.stats.starttime += 86400 * k
            shifted.append((code, obs, syn))
        add_stations(db, inv, copy_id, shifted)
    return db, job


def add_stations(db, inv, source_id, stations) -> None:
    for code, obs, syn in stations:
        if code != "BFZ":
            db.save_inventory(_station_inventory(inv, code))
        else:
            db.save_inventory(inv)
        for tag, stream in (("observed", obs), (SYN_TAG, syn)):
            for tr in stream:
                ts = trace_to_timeseries(tr)
                ts["sta"] = code
                ts["source_id"] = source_id
                ts.metadata.pop("mseed", None)
                db.save_data(ts, data_tag=tag, dir=f"{tag}", dfile=f"{code}.bin")
