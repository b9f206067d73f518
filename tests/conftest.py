"""Shared fixtures: one SparkSession per test run (start-up costs ~7 s)."""
from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

TEST_DATA = Path(__file__).parent / "data"
NZ_DATA = TEST_DATA / "nz_2018p130600"


@pytest.fixture(scope="session")
def spark():
    os.environ["PYSPARK_PYTHON"] = sys.executable
    os.environ["PYSPARK_DRIVER_PYTHON"] = sys.executable
    # Python workers unpickle functions defined in test modules by reference
    tests_dir = str(Path(__file__).parent)
    os.environ["PYTHONPATH"] = os.pathsep.join(
        p for p in (tests_dir, os.environ.get("PYTHONPATH", "")) if p)
    from spark_seis.engine.session import get_spark_session

    session = get_spark_session(
        master="local[2,3]",  # task retries on, for fault-injection tests
        app_name="spark_seis-tests",
        conf={
            "spark.driver.memory": "1g",
            "spark.executor.memory": "1g",
            "spark.sql.shuffle.partitions": "2",
            "spark.default.parallelism": "2",
        },
    )
    session.sparkContext.setLogLevel("ERROR")
    yield session
    session.stop()


@pytest.fixture(scope="session")
def sc(spark):
    return spark.sparkContext


@pytest.fixture
def project(tmp_path, monkeypatch):
    """A project made by `spark-seis init`, as the working directory, with the embedded
    store (no MongoDB URI or work folder inherited from the environment)."""
    from spark_seis.cli.main import main

    proj = tmp_path / "proj"
    assert main(["init", str(proj)]) == 0
    monkeypatch.chdir(proj)
    monkeypatch.delenv("SPARK_SEIS_MONGO_URI", raising=False)
    monkeypatch.delenv("SPARK_SEIS_WORK_DIR", raising=False)
    return proj
