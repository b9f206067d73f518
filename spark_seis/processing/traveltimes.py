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
  TauP's own refined value, bit for bit: every arrival whose interpolated
  time lies within :data:`EXACT_MARGIN_S` of the earliest is refined with
  TauP's own code (one or two arrivals, not all ~40);
- head and diffracted waves take TauP's own closed-form value (exact, cheap);
- every other arrival is a cubic Hermite interpolation of T(distance) between
  the two table rows that bracket it (slopes are the ray parameters,
  dT/dDelta = p). These only label windows (``phase_arrivals``); an arrival
  that falls within :data:`EXACT_MARGIN_S` of a window edge, or within
  :data:`TIE_MARGIN_S` of another label in a window, is refined with TauP
  before the labels are attached (:meth:`StationArrivals.refined_for_windows`),
  so each window gets TauP's labels in TauP's order. The other label times
  differ from TauP's by at most the error reported in bench/RESULTS.md
  (TauP's own refinement stops at a ray-parameter tolerance of 0.1 s/rad, so
  part of that difference is TauP's).
"""
from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any, Iterable

import numpy as np

#: An arrival is refined with TauP when its interpolated time is this close
#: to a value that decides something (first arrival, window edge).
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
    calls), once per (model, depth) per worker process; ~1.3 MB each, at
    most 32 kept (partitions are grouped by event, so few are live).
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


def _taup_time(table, phase, dist_deg: float, row: int, dist_rad: float) -> float:
    """TauP's own value of one arrival: the call ``SeismicPhase.calc_time``
    makes for each bracket (ray shooting for body waves, closed form for
    head and diffracted waves)."""
    return float(phase.refine_arrival(dist_deg, row, dist_rad, table.ray_param_tol,
                                      phase._settings["max_recursion"]).time)


@functools.lru_cache(maxsize=8192)
def _exact_arrival(model: str, depth_km: float, dist_deg: float, k: int,
                   j: int) -> float:
    """TauP's value of arrival j of the table's k-th phase, once per path."""
    table = event_table(model, depth_km)
    phase = table.phases[k]
    row, dist_rad = _brackets(phase, dist_deg)[j]
    return _taup_time(table, phase, dist_deg, row, dist_rad)


def _phase_arrivals(table, phase, dist_deg: float
                    ) -> tuple[tuple[float, bool], ...]:
    """((time, exact?), ...) of one phase at one distance, in TauP's order."""
    exact = _is_closed_form(phase)
    return tuple((_taup_time(table, phase, dist_deg, row, x) if exact
                  else _hermite_time(phase, row, x), exact)
                 for row, x in _brackets(phase, dist_deg))


@dataclass(frozen=True)
class StationArrivals:
    """Arrivals at one station, sorted as TauP sorts them.

    ``per_phase[k]`` holds, for the table's k-th phase, one (time, exact)
    pair per arrival in TauP's order; ``exact`` means TauP's own value.
    """

    model: str
    depth_km: float
    dist_deg: float
    per_phase: tuple[tuple[tuple[float, bool], ...], ...]

    def _rows(self) -> list[tuple[float, str, int, int, bool]]:
        phases = event_table(self.model, self.depth_km).phases
        rows = [(t, phases[k].name, k, j, exact)
                for k, arrivals in enumerate(self.per_phase)
                for j, (t, exact) in enumerate(arrivals)]
        return sorted(rows, key=lambda r: r[0])  # stable, as TauP's sort

    def pyflex_ttimes(self) -> list[dict[str, Any]]:
        """pyflex's ``ttimes`` layout: [{"time": s, "name": phase}, ...]."""
        return [{"time": r[0], "name": r[1]} for r in self._rows()]

    def with_exact(self, which: Iterable[tuple[int, int]]) -> "StationArrivals":
        """Same, with TauP's values for arrivals (phase k, arrival j)."""
        per_phase = [list(a) for a in self.per_phase]
        changed = False
        for k, j in which:
            if not per_phase[k][j][1]:
                per_phase[k][j] = (_exact_arrival(self.model, self.depth_km,
                                                  self.dist_deg, k, j), True)
                changed = True
        if not changed:
            return self
        return StationArrivals(self.model, self.depth_km, self.dist_deg,
                               tuple(tuple(a) for a in per_phase))

    def refined_for_windows(self, spans: Iterable[tuple[float, float]],
                            margin: float = EXACT_MARGIN_S,
                            tie: float = TIE_MARGIN_S) -> "StationArrivals":
        """Same, with TauP's values for the arrivals whose interpolated times
        could change a window's labels: one within ``margin`` of a window
        edge (in or out?), or one inside a window within ``tie`` of another
        arrival there (which comes first?)."""
        rows = self._rows()
        todo = set()
        for left, right in spans:
            inside = [r for r in rows if left - margin <= r[0] <= right + margin]
            for t, _n, k, j, exact in inside:
                if not exact and min(abs(t - left), abs(t - right)) <= margin:
                    todo.add((k, j))
            for a, b in zip(inside, inside[1:]):
                if b[0] - a[0] <= tie:
                    todo.update((r[2], r[3]) for r in (a, b) if not r[4])
        return self.with_exact(sorted(todo))


def station_arrivals(model: str, depth_km: float, dist_deg: float
                     ) -> StationArrivals:
    """TauP's ``ttall`` arrivals at one distance, from the event's table.

    The first arrival is TauP's exact value: every interpolated arrival
    within :data:`EXACT_MARGIN_S` of the earliest is refined with TauP.
    """
    table = event_table(model, depth_km)
    interpolated = StationArrivals(
        model, float(depth_km), float(dist_deg),
        tuple(_phase_arrivals(table, phase, dist_deg) for phase in table.phases))
    rows = interpolated._rows()
    if not rows:
        return interpolated
    limit = rows[0][0] + EXACT_MARGIN_S
    return interpolated.with_exact((k, j) for t, _n, k, j, exact in rows
                                   if t <= limit and not exact)
