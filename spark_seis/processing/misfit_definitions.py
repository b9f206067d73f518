"""Pyatoa's misfit definitions, free of pyadjoint/obspy imports.

Kept apart from ``measure`` so that readers of stored misfits (the Inspector,
``spark-seis inspect``/``plot``) start without loading the numerical stack.
"""
from __future__ import annotations

from typing import Iterable


def event_misfit(station_misfits: Iterable[float], nwin: int) -> float:
    """Pyatoa/Tape et al. (2010) event misfit: sum / (2 * nwin)."""
    total = float(sum(station_misfits))
    return total / (2.0 * nwin) if nwin else float("nan")
