"""Fixtures for the database tests: one contract suite over every available backend.

The embedded store always runs; a real MongoDB runs when SPARK_SEIS_MONGO_URI is
set, otherwise its cases are reported as skipped (never as passed).
"""
from __future__ import annotations

import os
import uuid

import numpy as np
import pytest

from spark_seis.core import Seismogram, TimeSeries
from spark_seis.db import Database, get_client

BACKENDS = ["embedded", "mongodb"]


def make_client(kind: str, tmp_path):
    if kind == "embedded":
        return get_client(path=tmp_path / "store")
    uri = os.environ.get("SPARK_SEIS_MONGO_URI")
    if not uri:
        pytest.skip("real MongoDB contract run needs SPARK_SEIS_MONGO_URI")
    return get_client(uri)


@pytest.fixture(params=BACKENDS)
def db(request, tmp_path):
    client = make_client(request.param, tmp_path)
    name = f"spark_seis_test_{uuid.uuid4().hex[:10]}"
    handle = Database(client, name, storage_root=tmp_path / "wf")
    yield handle
    if request.param == "mongodb":
        client.drop_database(name)


@pytest.fixture
def dbs(db):
    """Same database, wf_Seismogram schema."""
    return Database(db.client, db.name, db_schema="wf_Seismogram",
                    storage_root=db.storage_root, create_indexes=False)


def make_ts(i: int = 0, npts: int = 100, **md) -> TimeSeries:
    rng = np.random.default_rng(i)
    meta = {"net": "NZ", "sta": f"S{i:03d}", "loc": "10", "chan": "HHZ", **md}
    return TimeSeries(rng.standard_normal(npts), dt=0.01, t0=1.5e9 + i, metadata=meta)


def make_seis(i: int = 0, npts: int = 50, **md) -> Seismogram:
    rng = np.random.default_rng(100 + i)
    meta = {"net": "NZ", "sta": f"S{i:03d}", "loc": "10", **md}
    s = Seismogram(rng.standard_normal((3, npts)), dt=0.02, t0=1.5e9 + i, metadata=meta)
    s.rotate_to_zrt(30.0)
    return s
