"""Travel times once per event: TauP's phase tables, interpolated per station.

pyflex asks TauP for every ``ttall`` phase at each station. TauP spends its
time in two places: building the phases for a source depth (ray-parameter
tables of distance and time per phase, ~20-50 ms) and, per distance,
refining every arrival by shooting rays (~40-50 ms). Stations of one event
share the source, so the phase tables are built once per (model, depth) and
kept per worker process (:func:`event_table`).

Per station, :func:`station_arrivals` finds the arrivals exactly as TauP
does (the same bracketing of the distance in each phase's table, so the same
phases and the same number of arrivals) and then:

- the **first arrival**, the only travel time pyflex uses to pick windows
  (noise end, earliest window start, rejection before the first arrival), is
  TauP's own refined value, bit for bit: every phase whose interpolated first
  arrival lies within :data:`EXACT_MARGIN_S` of the earliest is refined with
  TauP's code (a few phases, not all ~55);
- head and diffracted waves take TauP's own closed-form value (exact, cheap);
- every other arrival is a cubic Hermite interpolation of T(distance) between
  the two table rows that bracket it (slopes are the ray parameters,
  dT/dDelta = p). These only label windows (``phase_arrivals``); an arrival
  that falls within :data:`EXACT_MARGIN_S` of a window edge, or within
  :data:`TIE_MARGIN_S` of another label in a window, is refined with TauP
  before the labels are attached (:meth:`StationArrivals.refined_for_windows`),
  so each window gets TauP's labels in TauP's order. Their times differ from TauP's
  by at most the error reported in bench/RESULTS.md (TauP's own refinement
  stops at a ray-parameter tolerance, so part of that difference is TauP's).
"""
from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any, Iterable

import numpy as np

#: A phase is refined with TauP when an interpolated arrival of it is this
#: close to a value that decides something (first arrival, window edge).
#: Far above the interpolation error (bench/RESULTS.md: a few ms at most).
EXACT_MARGIN_S = 0.05
#: Two labels closer than this are ordered by TauP's values, not ours.
TIE_MARGIN_S = 0.01


@functools.lru_cache(maxsize=4)
def taup_model(name: str = "ak135"):
    """TauPyModel loaded once per process (lazily, per model name)."""
    from obspy.taup import TauPyModel

    return TauPyModel(model=name)


@functools.lru_cache(maxsize=32)
def event_table(model: str, depth_km: float):
    """TauP's depth-corrected ``ttall`` phases for one source depth.

    Built as ``TauPyModel.get_travel_times`` builds them (same class, same
    calls), once per (model, depth) per worker process.
    """
    from obspy.taup.taup_time import TauPTime

    table = TauPTime(taup_model(model).model, ("ttall",), depth_km, None, 0.0)
    table.depth_correct(depth_km, 0.0)
    table.recalc_phases()
    return table


def _brackets(phase, dist_deg: float) -> list[tuple[int, float]]:
    """(table row, distance in radians) of each arrival, as TauP finds them."""
    from obspy.taup.c_wrappers import clibtau

    r_dist = np.empty(100, dtype=np.float64)
    r_row = np.empty(100, dtype=np.int32)
    n = clibtau.seismic_phase_calc_time_inner_loop(
        float(dist_deg), phase.max_distance, phase.dist, phase.ray_param,
        r_dist, r_row, len(phase.dist))
    return [(int(r_row[k]), float(r_dist[k])) for k in range(n)]


def _is_closed_form(phase) -> bool:
    """TauP does not shoot rays for these; its value is cheap and exact."""
    return bool(phase.head_or_diffract_seq) or phase.name.endswith("kmps")


def _hermite_time(phase, row: int, dist_rad: float) -> float:
    """T(dist) between table rows ``row`` and ``row + 1``, slopes dT/dx = p."""
    x0, x1 = phase.dist[row], phase.dist[row + 1]
    t0, t1 = phase.time[row], phase.time[row + 1]
    p0, p1 = phase.ray_param[row], phase.ray_param[row + 1]
    h = x1 - x0
    if h == 0.0:
        return float(t0 + p0 * (dist_rad - x0))
    s = (dist_rad - x0) / h
    s2, s3 = s * s, s * s * s
    return float((2 * s3 - 3 * s2 + 1) * t0 + (s3 - 2 * s2 + s) * h * p0
                 + (-2 * s3 + 3 * s2) * t1 + (s3 - s2) * h * p1)


def _exact_times(table, phase, dist_deg: float) -> list[float]:
    """TauP's own arrivals of one phase (what get_travel_times returns)."""
    return [float(a.time) for a in phase.calc_time(dist_deg, table.ray_param_tol)]


@functools.lru_cache(maxsize=4096)
def _exact_phase(model: str, depth_km: float, dist_deg: float, k: int
                 ) -> tuple[float, ...]:
    """TauP's arrivals of the table's k-th phase, refined once per path."""
    table = event_table(model, depth_km)
    return tuple(_exact_times(table, table.phases[k], dist_deg))


def _phase_times(table, phase, dist_deg: float) -> tuple[list[float], bool]:
    """(times in TauP's order, exact?) of one phase at one distance."""
    if _is_closed_form(phase):
        return [float(phase.refine_arrival(dist_deg, row, x, table.ray_param_tol,
                                           phase._settings["max_recursion"]).time)
                for row, x in _brackets(phase, dist_deg)], True
    return [_hermite_time(phase, row, x)
            for row, x in _brackets(phase, dist_deg)], False


@dataclass(frozen=True)
class StationArrivals:
    """Arrivals at one station, sorted as TauP sorts them.

    ``per_phase[k]`` holds the times of the table's k-th phase and whether
    they are TauP's own values (``exact``).
    """

    model: str
    depth_km: float
    dist_deg: float
    per_phase: tuple[tuple[tuple[float, ...], bool], ...]

    def _table(self):
        return event_table(self.model, self.depth_km)

    def sorted_rows(self) -> list[tuple[float, str, bool]]:
        rows = [(t, phase.name, exact)
                for phase, (times, exact) in zip(self._table().phases, self.per_phase)
                for t in times]
        return sorted(rows, key=lambda r: r[0])  # stable, as TauP's sort

    def pyflex_ttimes(self) -> list[dict[str, Any]]:
        """pyflex's ``ttimes`` layout: [{"time": s, "name": phase}, ...]."""
        return [{"time": t, "name": n} for t, n, _exact in self.sorted_rows()]

    def refined_for_windows(self, spans: Iterable[tuple[float, float]],
                            margin: float = EXACT_MARGIN_S,
                            tie: float = TIE_MARGIN_S) -> "StationArrivals":
        """Same, with TauP's values for the phases whose interpolated times
        could change a window's labels: an arrival within ``margin`` of a
        window edge (in or out?), or one inside a window within ``tie`` of
        another arrival there (which comes first?)."""
        spans = [(float(a), float(b)) for a, b in spans]
        if not spans:
            return self
        per_phase = list(self.per_phase)
        rows = [(t, k, exact) for k, (times, exact) in enumerate(per_phase)
                for t in times]
        todo = set()
        for left, right in spans:
            inside = sorted((t, k, e) for t, k, e in rows
                            if left - margin <= t <= right + margin)
            for t, k, exact in inside:
                if not exact and min(abs(t - left), abs(t - right)) <= margin:
                    todo.add(k)
            for (t1, k1, e1), (t2, k2, e2) in zip(inside, inside[1:]):
                if t2 - t1 <= tie and not (e1 and e2):
                    todo.update(k for k, e in ((k1, e1), (k2, e2)) if not e)
        if not todo:
            return self
        for k in todo:
            per_phase[k] = (_exact_phase(self.model, self.depth_km,
                                         self.dist_deg, k), True)
        return StationArrivals(self.model, self.depth_km, self.dist_deg,
                               tuple(per_phase))


def station_arrivals(model: str, depth_km: float, dist_deg: float
                     ) -> StationArrivals:
    """TauP's ``ttall`` arrivals at one distance, from the event's table.

    The first arrival is TauP's exact value; see the module docstring.
    """
    table = event_table(model, depth_km)
    per_phase = [_phase_times(table, phase, dist_deg) for phase in table.phases]
    firsts = [min(times) for times, _ in per_phase if times]
    if firsts:
        limit = min(firsts) + EXACT_MARGIN_S
        for k, (phase, (times, exact)) in enumerate(zip(table.phases, per_phase)):
            if not exact and times and min(times) <= limit:
                per_phase[k] = (_exact_times(table, phase, dist_deg), True)
    return StationArrivals(model, float(depth_km), float(dist_deg),
                           tuple((tuple(t), e) for t, e in per_phase))
