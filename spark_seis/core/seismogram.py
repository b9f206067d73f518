"""Seismogram: three-component data (3 x npts) with its orientation.

``tmatrix`` maps standard coordinates (E, N, Z) to the current components:
``data == tmatrix @ data_in_ENZ``. Rotations compose into ``tmatrix`` so the
data can always be brought back to standard coordinates.
"""
from __future__ import annotations

import math
from typing import Any, Mapping, Sequence

import numpy as np

from .datum import Datum, as_sample_array
from .errorlog import ErrorLog
from .history import ProcessingHistory

STANDARD_COMPONENTS = ("E", "N", "Z")


def _as_3c(data: Any, npts: int | None) -> np.ndarray:
    return as_sample_array(data, npts, (3,), "of shape (3, npts) for a Seismogram")


def _as_tmatrix(tmatrix: Any) -> np.ndarray:
    if tmatrix is None:
        return np.eye(3)
    matrix = np.asarray(tmatrix, dtype=np.float64)
    if matrix.shape != (3, 3):
        raise ValueError(f"tmatrix must have shape (3, 3), got {matrix.shape}")
    if not np.isfinite(matrix).all():
        raise ValueError("tmatrix has non-finite entries")
    return matrix.copy()


def orientation_vector(hang: float, vang: float) -> np.ndarray:
    """Unit vector (E, N, Z) of a sensor axis.

    hang: azimuth in degrees clockwise from north; vang: degrees from vertical up
    (MsPASS convention; ObsPy dip = vang - 90).
    """
    h, v = math.radians(hang), math.radians(vang)
    return np.array([math.sin(v) * math.sin(h), math.sin(v) * math.cos(h), math.cos(v)])


def orientation_angles(vector: Sequence[float]) -> tuple[float, float]:
    """Inverse of :func:`orientation_vector`: (hang, vang) in degrees."""
    e, n, z = (float(x) for x in vector)
    norm = math.sqrt(e * e + n * n + z * z)
    vang = math.degrees(math.acos(max(-1.0, min(1.0, z / norm))))
    hang = math.degrees(math.atan2(e, n)) % 360.0
    return hang, vang


def zrt_matrix(baz: float) -> np.ndarray:
    """ENZ -> (R, T, Z), with ObsPy's rotate_ne_rt sign convention."""
    b = math.radians(baz)
    return np.array([
        [-math.sin(b), -math.cos(b), 0.0],
        [-math.cos(b), math.sin(b), 0.0],
        [0.0, 0.0, 1.0],
    ])


def lqt_matrix(baz: float, incidence: float) -> np.ndarray:
    """ENZ -> (L, Q, T), with ObsPy's rotate_zne_lqt sign convention."""
    b, i = math.radians(baz), math.radians(incidence)
    return np.array([
        [-math.sin(i) * math.sin(b), -math.sin(i) * math.cos(b), math.cos(i)],
        [math.cos(i) * math.sin(b), math.cos(i) * math.cos(b), math.sin(i)],
        [-math.cos(b), math.sin(b), 0.0],
    ])


class Seismogram(Datum):
    """Three components sampled together; rows follow ``components``."""

    __slots__ = ("data", "tmatrix", "components")

    def __init__(
        self,
        data: Any = None,
        *,
        dt: float,
        t0: float = 0.0,
        npts: int | None = None,
        tmatrix: Any = None,
        components: Sequence[str] = STANDARD_COMPONENTS,
        tref: str = "UTC",
        metadata: Mapping[str, Any] | None = None,
        live: bool = True,
        elog: ErrorLog | None = None,
        history: ProcessingHistory | None = None,
    ) -> None:
        super().__init__(t0=t0, dt=dt, tref=tref, metadata=metadata, live=live,
                         elog=elog, history=history)
        self.data = _as_3c(data, npts)
        self.tmatrix = _as_tmatrix(tmatrix)
        components = tuple(str(c) for c in components)
        if len(components) != 3:
            raise ValueError(f"components must name 3 rows, got {components!r}")
        self.components = components

    @property
    def npts(self) -> int:
        return int(self.data.shape[1])

    @property
    def cardinal(self) -> bool:
        """True when the rows are already E, N, Z."""
        return bool(np.allclose(self.tmatrix, np.eye(3), atol=1e-12))

    @property
    def orthogonal(self) -> bool:
        return bool(np.allclose(self.tmatrix @ self.tmatrix.T, np.eye(3), atol=1e-9))

    # --- rotations: mutate in place, like MsPASS ---------------------------
    def transform(self, matrix: Any, components: Sequence[str] = ("1", "2", "3")) -> None:
        """Apply a general 3x3 transformation to the current components."""
        matrix = _as_tmatrix(matrix)
        self.data = matrix @ self.data
        self.tmatrix = matrix @ self.tmatrix
        self.components = tuple(components)
        self.record("transform", {"matrix": matrix.tolist()})

    def rotate_to_standard(self) -> None:
        """Back to E, N, Z; kills the datum if the orientation is singular."""
        if self.cardinal:
            self.components = STANDARD_COMPONENTS
            return
        try:
            inverse = np.linalg.inv(self.tmatrix)
        except np.linalg.LinAlgError:
            self.kill("rotate_to_standard",
                      f"transformation matrix is singular: {self.tmatrix.tolist()}")
            return
        self.data = inverse @ self.data
        self.tmatrix = np.eye(3)
        self.components = STANDARD_COMPONENTS
        self.record("rotate_to_standard")

    def rotate_to_zrt(self, baz: float) -> None:
        """Rotate to radial/transverse/vertical for back azimuth ``baz`` (deg)."""
        self.rotate_to_standard()
        if self.live:
            self.data = zrt_matrix(baz) @ self.data
            self.tmatrix = zrt_matrix(baz)
            self.components = ("R", "T", "Z")
            self.record("rotate_to_zrt", {"baz": baz})

    def rotate_to_lqt(self, baz: float, incidence: float) -> None:
        """Rotate to L (along ray), Q, T for back azimuth and incidence (deg)."""
        self.rotate_to_standard()
        if self.live:
            matrix = lqt_matrix(baz, incidence)
            self.data = matrix @ self.data
            self.tmatrix = matrix
            self.components = ("L", "Q", "T")
            self.record("rotate_to_lqt", {"baz": baz, "incidence": incidence})

    def copy(self) -> "Seismogram":
        return Seismogram(
            self.data.copy(), dt=self.dt, t0=self.t0, tmatrix=self.tmatrix,
            components=self.components, tref=self.tref,
            metadata=self.metadata.copy(), live=self.live, elog=ErrorLog(self.elog),
            history=None if self.history is None else ProcessingHistory(
                self.history.job_name, list(self.history.records)),
        )

    def __eq__(self, other: object) -> bool:
        return (
            isinstance(other, Seismogram)
            and self._same_header(other)
            and self.components == other.components
            and np.array_equal(self.tmatrix, other.tmatrix)
            and np.array_equal(self.data, other.data)
        )

    __hash__ = None  # type: ignore[assignment]

    def __reduce_ex__(self, protocol: int):
        return (_rebuild_seismogram,
                (self.data, self.tmatrix, self.components) + self._common_state())

    def __repr__(self) -> str:
        state = "live" if self.live else "dead"
        sid = ".".join(str(self.get(k, "")) for k in ("net", "sta", "loc"))
        return (f"Seismogram({sid}, components={''.join(self.components)}, "
                f"npts={self.npts}, dt={self.dt}, t0={self.t0}, {state})")


def _rebuild_seismogram(data, tmatrix, components, metadata, t0, dt, tref, live, elog,
                        history) -> Seismogram:
    seis = Seismogram.__new__(Seismogram)
    seis.data, seis.tmatrix, seis.components = data, tmatrix, components
    seis.metadata, seis.t0, seis.dt, seis.tref = metadata, t0, dt, tref
    seis.live, seis.elog, seis.history = live, elog, history
    return seis
