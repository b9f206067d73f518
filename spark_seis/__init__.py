"""spark_seis: seismic TimeSeries/Seismogram pipelines on Spark with MsPASS-style
metadata management and Pyatoa-style misfit storage.

``from spark_seis import Config, Manager`` works as in Pyatoa; the names are
imported on first use so that ``import spark_seis`` stays cheap (Spark workers
import it for every task).
"""
from __future__ import annotations

from typing import Any

__version__ = "0.1.0"

_LAZY = {
    "Config": "spark_seis.io.config_store",
    "Manager": "spark_seis.workflow.manager",
    "TimeSeries": "spark_seis.core",
    "Seismogram": "spark_seis.core",
    "get_database": "spark_seis.db.client",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'spark_seis' has no attribute {name!r}")


__all__ = sorted(_LAZY)
