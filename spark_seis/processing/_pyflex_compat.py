"""Run pyflex 0.2.0 under numpy 2, and without its per-call TauP cost.

pyflex 0.2.0 calls ``trace.data.ptp()`` in ``WindowSelector._sanity_checks``;
numpy 2 removed ``ndarray.ptp``. Project decision: keep numpy 2 and hand
pyflex traces whose samples are a :class:`PtpArray` view (no copy) that
provides ``ptp``. The subclass survives ``Trace.copy()`` (deepcopy keeps the
array type); pyflex later converts to a plain contiguous array, after the
only ``ptp`` call.

pyflex also loads a TauP model in every ``WindowSelector.__init__`` (~6-13 ms)
and computes travel times once per component (~50 ms each) although the
three components share one source-receiver path. ``StationWindowSelector``
takes travel times computed once per station (from the event's TauP tables,
:mod:`spark_seis.processing.traveltimes`) and a model loaded once per
process. The first arrival, the only travel time that picks windows, is
TauP's own value, so windows are identical; ``travel_times`` is pyflex's
exact computation, kept as the reference.
"""
from __future__ import annotations

import copy
import functools
from typing import Any

import numpy as np
import obspy
from obspy import Trace
from pyflex import Event as PyflexEvent
from pyflex import Station as PyflexStation
from pyflex.window_selector import WindowSelector

from spark_seis.processing.traveltimes import (StationArrivals,
                                               station_arrivals, taup_model)


class PtpArray(np.ndarray):
    """ndarray view that still offers the ``ptp`` method numpy 2 dropped."""

    def ptp(self, axis=None, out=None, keepdims=False):  # noqa: D102
        return np.ptp(np.asarray(self), axis=axis, out=out, keepdims=keepdims)


def with_ptp(tr: Trace) -> Trace:
    """Trace sharing ``tr``'s samples (no copy) whose data has ``.ptp()``."""
    data = np.asarray(tr.data)
    return Trace(data=data.view(PtpArray), header=tr.stats)


@functools.lru_cache(maxsize=4096)
def _travel_times(model: str, depth_km: float, dist_deg: float
                  ) -> tuple[tuple[float, str], ...]:
    arrivals = taup_model(model).get_travel_times(
        source_depth_in_km=depth_km, distance_in_degree=dist_deg)
    return tuple((float(a.time), str(a.name)) for a in arrivals)


def travel_times(event: PyflexEvent, station: PyflexStation,
                 model: str = "ak135") -> list[dict[str, Any]]:
    """Phase arrivals as pyflex computes them (same inputs, same model)."""
    dist_deg = obspy.geodetics.locations2degrees(
        station.latitude, station.longitude, event.latitude, event.longitude)
    return [{"time": t, "name": n} for t, n in
            _travel_times(model, event.depth_in_m / 1000.0, float(dist_deg))]


def epicentral_distance(event: PyflexEvent, station: PyflexStation) -> float:
    """Degrees, computed as pyflex computes it."""
    return float(obspy.geodetics.locations2degrees(
        station.latitude, station.longitude, event.latitude, event.longitude))


@functools.lru_cache(maxsize=4096)
def _station_arrivals(model: str, depth_km: float, dist_deg: float
                      ) -> StationArrivals:
    return station_arrivals(model, depth_km, dist_deg)


def fast_travel_times(event: PyflexEvent, station: PyflexStation,
                      model: str = "ak135") -> StationArrivals:
    """Arrivals from the event's TauP tables (exact first arrival)."""
    return _station_arrivals(model, event.depth_in_m / 1000.0,
                             epicentral_distance(event, station))


def pyflex_event(event: "obspy.core.event.Event") -> PyflexEvent:
    """pyflex Event from an ObsPy Event, parsed as pyflex itself does."""
    origin = event.preferred_origin() or event.origins[0]
    return PyflexEvent(latitude=float(origin.latitude),
                       longitude=float(origin.longitude),
                       depth_in_m=float(origin.depth),
                       origin_time=origin.time)


class StationWindowSelector(WindowSelector):
    """pyflex WindowSelector with shared travel times and a cached model.

    Deliberately does not call ``WindowSelector.__init__`` (which would load
    a TauP model); it sets the same attributes in the same order.
    """

    def __init__(self, observed: Trace, synthetic: Trace, config,
                 event: PyflexEvent | None = None,
                 station: PyflexStation | None = None,
                 ttimes: list[dict[str, Any]] | StationArrivals | None = None
                 ) -> None:
        self.observed = with_ptp(observed)
        self.synthetic = with_ptp(synthetic)
        self._sanity_checks()
        self.event = event
        self.station = station
        self._parse_event_and_station()
        self.observed = self.observed.copy()
        self.synthetic = self.synthetic.copy()
        self.observed.data = np.ascontiguousarray(self.observed.data)
        self.synthetic.data = np.ascontiguousarray(self.synthetic.data)
        self.config = copy.deepcopy(config)
        self.config._convert_to_array(npts=self.observed.stats.npts)
        self.ttimes = []
        self.windows = []
        self.rejects = {}
        self._given_ttimes = ttimes
        self._arrivals: StationArrivals | None = None

    @property
    def taupy_model(self):
        return taup_model(self.config.earth_model)

    def calculate_ttimes(self) -> None:
        given = self._given_ttimes
        if given is None:
            given = fast_travel_times(self.event, self.station,
                                      self.config.earth_model)
        if isinstance(given, StationArrivals):
            self._arrivals = given
            self.ttimes = given.pyflex_ttimes()
        else:
            self._arrivals = None
            self.ttimes = [dict(t) for t in given]

    def attach_phase_arrivals_to_windows(self) -> None:
        """pyflex's labels; interpolated arrivals near a window edge or near
        another label are first replaced by TauP's values, so each window
        gets TauP's labels in TauP's order."""
        if self._arrivals is not None and self.windows:
            offset = self.event.origin_time - self.observed.stats.starttime
            spans = [(w.relative_starttime - offset, w.relative_endtime - offset)
                     for w in self.windows]
            refined = self._arrivals.refined_for_windows(spans)
            if refined is not self._arrivals:
                self._arrivals = refined
                self.ttimes = refined.pyflex_ttimes()
        super().attach_phase_arrivals_to_windows()
