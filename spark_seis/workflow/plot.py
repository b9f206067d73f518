"""One-figure summary of a station: waveforms, windows, adjoint sources.

Uses matplotlib's object API with the Agg canvas: no display, no pyplot
global state, safe in Spark workers.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from obspy import Stream


def _left_right(w: Any) -> tuple[int, int]:
    if isinstance(w, dict):
        return int(w["left_index"]), int(w["right_index"])
    return int(w.left), int(w.right)


def plot_station(st_obs: Stream, st_syn: Stream, windows: dict[str, list],
                 adjsrcs: dict[str, Any], save: str | Path,
                 components: list[str] | None = None, title: str = "",
                 time_offset: float = 0.0, dpi: int = 100) -> Path:
    """Save a PNG with one panel per component; returns the path."""
    comps = components or sorted({tr.stats.channel[-1] for tr in st_obs} |
                                 {tr.stats.channel[-1] for tr in st_syn})
    fig = Figure(figsize=(11, 2.6 * max(len(comps), 1)))
    FigureCanvasAgg(fig)
    axes = fig.subplots(len(comps), 1, sharex=True, squeeze=False)[:, 0]
    for ax, comp in zip(axes, comps):
        obs, syn = st_obs.select(component=comp), st_syn.select(component=comp)
        ref = obs[0] if obs else (syn[0] if syn else None)
        if ref is None:
            ax.text(0.5, 0.5, f"{comp}: no data", transform=ax.transAxes,
                    ha="center")
            continue
        t = np.arange(ref.stats.npts) * ref.stats.delta + time_offset
        if obs:
            ax.plot(t, obs[0].data, "k", lw=1, label="observed")
        if syn:
            ax.plot(t, syn[0].data, "r", lw=1, label="synthetic")
        for w in windows.get(comp, []):
            left, right = _left_right(w)
            ax.axvspan(t[left], t[min(right, len(t) - 1)], color="orange",
                       alpha=0.25, lw=0)
        ax.set_ylabel(comp)
        adj = adjsrcs.get(comp)
        if adj is not None:
            samples = adj["adjoint_source"] if isinstance(adj, dict) \
                else adj.adjoint_source
            twin = ax.twinx()
            # pyadjoint returns time-reversed samples; plot in forward time
            twin.plot(t, np.asarray(samples)[::-1], "g", lw=0.8,
                      label="adjoint source")
            misfit = adj["misfit"] if isinstance(adj, dict) else adj.misfit
            twin.set_ylabel("adj", color="g")
            ax.set_title(f"{comp}: {len(windows.get(comp, []))} window(s), "
                         f"misfit {misfit:.4f}", fontsize=9, loc="left")
    axes[0].legend(loc="upper right", fontsize=8)
    axes[-1].set_xlabel("time since origin [s]")
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    save = Path(save)
    save.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(save, dpi=dpi)
    return save
