"""TimeSeries: one channel of uniformly sampled float64 data."""
from __future__ import annotations

from typing import Any, Mapping

import numpy as np

from .datum import Datum, as_sample_array
from .errorlog import ErrorLog
from .history import ProcessingHistory


def _as_samples(data: Any, npts: int | None) -> np.ndarray:
    return as_sample_array(data, npts, (), "1-D for a TimeSeries")


class TimeSeries(Datum):
    """1-D samples plus metadata; ``t0`` is epoch seconds (UTC) or relative."""

    __slots__ = ("data",)

    def __init__(
        self,
        data: Any = None,
        *,
        dt: float,
        t0: float = 0.0,
        npts: int | None = None,
        tref: str = "UTC",
        metadata: Mapping[str, Any] | None = None,
        live: bool = True,
        elog: ErrorLog | None = None,
        history: ProcessingHistory | None = None,
    ) -> None:
        super().__init__(t0=t0, dt=dt, tref=tref, metadata=metadata, live=live,
                         elog=elog, history=history)
        self.data = _as_samples(data, npts)

    @property
    def npts(self) -> int:
        return int(self.data.shape[0])

    def set_data(self, data: Any) -> None:
        """Replace samples (validated like the constructor)."""
        self.data = _as_samples(data, None)

    def copy(self) -> "TimeSeries":
        return TimeSeries(
            self.data.copy(), dt=self.dt, t0=self.t0, tref=self.tref,
            metadata=self.metadata.copy(), live=self.live,
            elog=ErrorLog(self.elog),
            history=None if self.history is None else ProcessingHistory(
                self.history.job_name, list(self.history.records)),
        )

    def __eq__(self, other: object) -> bool:
        return (
            isinstance(other, TimeSeries)
            and self._same_header(other)
            and np.array_equal(self.data, other.data)
        )

    __hash__ = None  # type: ignore[assignment]

    def __reduce_ex__(self, protocol: int):
        # numpy arrays pickle as protocol-5 buffers: no extra copy of samples.
        return (_rebuild_timeseries, (self.data,) + self._common_state())

    def __repr__(self) -> str:
        state = "live" if self.live else "dead"
        sid = ".".join(str(self.get(k, "")) for k in ("net", "sta", "loc", "chan"))
        return f"TimeSeries({sid}, npts={self.npts}, dt={self.dt}, t0={self.t0}, {state})"


def _rebuild_timeseries(data, metadata, t0, dt, tref, live, elog, history) -> TimeSeries:
    ts = TimeSeries.__new__(TimeSeries)
    ts.data, ts.metadata, ts.t0, ts.dt, ts.tref = data, metadata, t0, dt, tref
    ts.live, ts.elog, ts.history = live, elog, history
    return ts
