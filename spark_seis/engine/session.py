"""Build a SparkSession from conf/spark-defaults.conf plus overrides.

Sessions are created on request only (never at import) so that library code
and tests control their lifetime.
"""
from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Mapping

DEFAULTS_FILE = Path(__file__).resolve().parents[2] / "conf" / "spark-defaults.conf"


def read_spark_defaults(path: Path | None = None) -> dict[str, str]:
    """Parse a spark-defaults.conf file (``key value`` per line, # comments)."""
    path = path or DEFAULTS_FILE
    settings: dict[str, str] = {}
    if not path.exists():
        return settings
    for number, line in enumerate(path.read_text().splitlines(), start=1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        parts = line.split(None, 1)
        if len(parts) != 2:
            raise ValueError(f"{path}:{number}: expected 'key value', got {line!r}")
        settings[parts[0]] = parts[1].strip()
    return settings


def get_spark_session(
    master: str | None = None,
    app_name: str = "spark_seis",
    conf: Mapping[str, str] | None = None,
    defaults_file: Path | None = None,
):
    """Return a (possibly existing) SparkSession; workers use this Python."""
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    os.environ.setdefault("PYSPARK_DRIVER_PYTHON", sys.executable)
    from pyspark.sql import SparkSession

    builder = SparkSession.builder.appName(app_name)
    settings = read_spark_defaults(defaults_file)
    settings.update(conf or {})
    if master:
        settings["spark.master"] = master
    elif os.environ.get("PYSPARK_GATEWAY_PORT"):
        settings.pop("spark.master", None)  # under spark-submit: its --master decides
    else:
        settings.setdefault("spark.master", "local[*]")
    for key, value in settings.items():
        builder = builder.config(key, value)
    _check_master(settings.get("spark.master"))
    return builder.getOrCreate()


def _check_master(master: str | None) -> None:
    """Before a new SparkContext: an unreachable master is a clear error, not a minute of retries."""
    from pyspark import SparkContext

    from .cluster import check_master_reachable, submitted_master

    if SparkContext._active_spark_context is None:
        check_master_reachable(master or submitted_master())
