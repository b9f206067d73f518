"""Shared behaviour of atomic seismic data (TimeSeries, Seismogram).

Construction validates strictly (a programming or input error raises naming the
field); processing that goes wrong later calls :meth:`Datum.kill` instead, so a
bad datum travels on, dead, with the reason in its error log.
"""
from __future__ import annotations

import math
from typing import Any, Iterator, Mapping

import numpy as np

from .errorlog import ErrorLog, ErrorSeverity
from .history import ProcessingHistory
from .metadata import Metadata

TIME_REFERENCES = ("UTC", "relative")


def check_positive_finite(name: str, value: Any) -> float:
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise TypeError(f"{name} must be a number, got {value!r}") from None
    if not math.isfinite(number) or number <= 0.0:
        raise ValueError(f"{name} must be finite and > 0, got {value!r}")
    return number


def check_finite(name: str, value: Any) -> float:
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise TypeError(f"{name} must be a number, got {value!r}") from None
    if not math.isfinite(number):
        raise ValueError(f"{name} must be finite, got {value!r}")
    return number


def check_samples(name: str, data: np.ndarray) -> None:
    if data.size and not np.isfinite(data).all():
        bad = int(np.count_nonzero(~np.isfinite(data)))
        raise ValueError(f"{name} has {bad} non-finite (NaN/inf) samples")


def as_sample_array(data: Any, npts: int | None, leading: tuple[int, ...],
                    what: str) -> np.ndarray:
    """Validated float64 samples of shape ``leading + (npts,)``; zeros if no data.

    ``what`` names the expected layout in errors (e.g. "1-D for a TimeSeries").
    """
    if data is None:
        if npts is None:
            npts = 0
        if isinstance(npts, bool) or not isinstance(npts, (int, np.integer)):
            raise TypeError(f"npts must be an integer, got {npts!r}")
        if npts < 0:
            raise ValueError(f"npts must be >= 0, got {npts}")
        return np.zeros(leading + (int(npts),), dtype=np.float64)
    array = np.asarray(data)
    if array.ndim != len(leading) + 1 or array.shape[:-1] != leading:
        raise ValueError(f"data must be {what}, got shape {array.shape}")
    if array.dtype != np.float64:
        if not np.issubdtype(array.dtype, np.number) or np.iscomplexobj(array):
            raise TypeError(f"data must be real numbers, got dtype {array.dtype}")
        array = array.astype(np.float64)
    if npts is not None and npts != array.shape[-1]:
        raise ValueError(f"npts={npts} does not match the {array.shape[-1]} samples in data")
    check_samples("data", array)
    return np.ascontiguousarray(array)


class Datum:
    """Base: metadata, time base, live flag, error log and optional history."""

    __slots__ = ("metadata", "t0", "dt", "tref", "live", "elog", "history")

    def __init__(
        self,
        *,
        t0: float,
        dt: float,
        tref: str,
        metadata: Mapping[str, Any] | None,
        live: bool,
        elog: ErrorLog | None,
        history: ProcessingHistory | None,
    ) -> None:
        self.dt = check_positive_finite("dt", dt)
        self.t0 = check_finite("t0", t0)
        if tref not in TIME_REFERENCES:
            raise ValueError(f"tref must be one of {TIME_REFERENCES}, got {tref!r}")
        self.tref = tref
        if metadata is None:
            self.metadata = Metadata()
        elif isinstance(metadata, Metadata):
            self.metadata = metadata
        else:
            self.metadata = Metadata(metadata)
            self.metadata.clear_modified()
        self.live = bool(live)
        self.elog = elog if elog is not None else ErrorLog()
        self.history = history

    # --- time base --------------------------------------------------------
    @property
    def npts(self) -> int:  # overridden
        raise NotImplementedError

    @property
    def sampling_rate(self) -> float:
        return 1.0 / self.dt

    @property
    def endtime(self) -> float:
        return self.t0 + (max(self.npts, 1) - 1) * self.dt

    def time_axis(self) -> np.ndarray:
        return self.t0 + np.arange(self.npts) * self.dt

    def sample_number(self, t: float) -> int:
        return int(round((t - self.t0) / self.dt))

    # --- life cycle -------------------------------------------------------
    @property
    def dead(self) -> bool:
        return not self.live

    def kill(self, algorithm: str, message: str,
             severity: ErrorSeverity | str = ErrorSeverity.Invalid) -> None:
        """Mark dead with a reason; samples are kept until the datum is saved."""
        self.elog.log(algorithm, message, severity)
        self.live = False

    def enable_history(self, job_name: str = "spark_seis") -> ProcessingHistory:
        if self.history is None:
            self.history = ProcessingHistory(job_name)
        return self.history

    def record(self, algorithm: str, parameters: dict | None = None) -> None:
        """Append a history record if history is enabled (no-op otherwise)."""
        if self.history is not None:
            self.history.add(algorithm, parameters)

    # --- metadata access, dict-like --------------------------------------
    def __getitem__(self, key: str) -> Any:
        return self.metadata[key]

    def __setitem__(self, key: str, value: Any) -> None:
        self.metadata[key] = value

    def __delitem__(self, key: str) -> None:
        del self.metadata[key]

    def __contains__(self, key: object) -> bool:
        return key in self.metadata

    def get(self, key: str, default: Any = None) -> Any:
        return self.metadata.get(key, default)

    def keys(self) -> Iterator[str]:
        return iter(self.metadata.keys())

    def _common_state(self) -> tuple:
        return (self.metadata, self.t0, self.dt, self.tref, self.live, self.elog, self.history)

    def _same_header(self, other: "Datum") -> bool:
        return (
            type(self) is type(other)
            and dict(self.metadata) == dict(other.metadata)
            and self.t0 == other.t0
            and self.dt == other.dt
            and self.tref == other.tref
            and self.live == other.live
            and self.elog == other.elog
            and self.history == other.history
        )
