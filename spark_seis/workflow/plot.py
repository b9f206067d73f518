"""One-figure summary of a station: waveforms, windows, adjoint sources.

Uses matplotlib's object API with the Agg canvas: no display, no pyplot
global state, safe in Spark workers.
"""
from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

if TYPE_CHECKING:
    from obspy import Stream


def _left_right(w: Any) -> tuple[int, int]:
    if isinstance(w, dict):
        return int(w["left_index"]), int(w["right_index"])
    return int(w.left), int(w.right)


#: physical unit of the processed waveforms for Config.unit_output
DATA_UNITS = {"DISP": ("displacement", "m"), "VEL": ("velocity", "m/s"),
              "ACC": ("acceleration", "m/s²")}
#: misfit unit of each pyadjoint measurement, in terms of the data unit u
_MISFIT_UNITS = {"cc_traveltime": "s²", "multitaper": "s²", "waveform": "u²·s",
                 "convolution": "u²·s", "exponentiated_phase": "s"}


def misfit_unit(adj_src_type: str | None, unit_output: str = "DISP") -> str | None:
    """Unit of the misfit χ of a pyadjoint measurement (None if unknown)."""
    u = DATA_UNITS.get(str(unit_output).upper(), ("", "u"))[1]
    unit = _MISFIT_UNITS.get(str(adj_src_type))
    if unit == "u²·s":
        return {"m": "m²·s", "m/s": "m²/s", "m/s²": "m²/s³"}.get(u, f"({u})²·s")
    return unit


def adjoint_unit(adj_src_type: str | None, unit_output: str = "DISP") -> str:
    """Unit of the adjoint source f, from δχ = ∫ f δu dt: [f] = [χ] / ([u]·s)."""
    u = DATA_UNITS.get(str(unit_output).upper(), ("", "u"))[1]
    misfit = _MISFIT_UNITS.get(str(adj_src_type), None)
    if misfit is None:
        return f"misfit/({u}·s)"
    if misfit == "u²·s":
        return u  # ½∫(s-d)² dt: the adjoint source has the data's unit
    if misfit == "s²":
        return {"m": "s/m", "m/s": "s²/m", "m/s²": "s³/m"}.get(u, f"s/({u})")
    return {"m": "1/m", "m/s": "s/m", "m/s²": "s²/m"}.get(u, f"1/({u})")


def build_station_figure(st_obs: Stream, st_syn: Stream, windows: dict[str, list],
                         adjsrcs: dict[str, Any], components: list[str] | None = None,
                         title: str = "", time_offset: float = 0.0,
                         unit_output: str = "DISP",
                         adj_src_type: str | None = "cc_traveltime") -> Figure:
    """One panel per component: observed, synthetic, windows and the adjoint source
    on a right-hand axis whose zero lines up with the waveforms' zero."""
    comps = components or sorted({tr.stats.channel[-1] for tr in st_obs} |
                                 {tr.stats.channel[-1] for tr in st_syn})
    quantity, unit = DATA_UNITS.get(str(unit_output).upper(), (str(unit_output), "?"))
    adj_unit = adjoint_unit(adj_src_type, unit_output)
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
        ax.set_ylabel(f"{comp} {quantity} [{unit}]")
        ax.axhline(0.0, color="0.6", lw=0.5, zorder=0)
        handles, labels = ax.get_legend_handles_labels()
        adj = adjsrcs.get(comp)
        if adj is not None:
            samples = np.asarray(adj["adjoint_source"] if isinstance(adj, dict)
                                 else adj.adjoint_source, dtype=float)[::-1]
            # pyadjoint returns time-reversed samples; plot in forward time
            misfit = adj["misfit"] if isinstance(adj, dict) else adj.misfit
            twin = ax.twinx()
            peak = float(np.max(np.abs(samples))) if samples.size else 0.0
            label = f"adjoint source [{adj_unit}]" + ("  (identically zero)" if peak == 0 else "")
            n = min(len(t), len(samples))
            line, = twin.plot(t[:n], samples[:n], "g", lw=0.8, label=label)
            _align_zero(ax, twin, peak)
            twin.set_ylabel(f"adjoint source [{adj_unit}]", color="g")
            twin.tick_params(axis="y", colors="g")
            if peak == 0:  # no scale to show: an empty axis, not ±0.04 of nothing
                twin.set_yticks([0.0])
            handles.append(line)
            labels.append(label)
            ax.set_title(f"{comp}: {len(windows.get(comp, []))} window(s), "
                         f"misfit {misfit:.4g}", fontsize=9, loc="left")
        ax.legend(handles, labels, loc="upper right", fontsize=8)
    axes[-1].set_xlabel("time since origin [s]")
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig


def _align_zero(ax, twin, peak: float) -> None:
    """Both axes symmetric about zero, so the zeros line up and neither the
    waveforms nor the adjoint source (of either sign) is clipped."""
    lo, hi = ax.get_ylim()
    extent = max(abs(lo), abs(hi)) or 1.0
    ax.set_ylim(-extent, extent)
    adj_extent = peak * 1.05 if peak > 0 else 1.0
    twin.set_ylim(-adj_extent, adj_extent)


def plot_station(st_obs: Stream, st_syn: Stream, windows: dict[str, list],
                 adjsrcs: dict[str, Any], save: str | Path,
                 components: list[str] | None = None, title: str = "",
                 time_offset: float = 0.0, dpi: int = 100, unit_output: str = "DISP",
                 adj_src_type: str | None = "cc_traveltime") -> Path:
    """Save a PNG with one panel per component; returns the path."""
    fig = build_station_figure(st_obs, st_syn, windows, adjsrcs, components, title,
                               time_offset, unit_output, adj_src_type)
    save = Path(save)
    save.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(save, dpi=dpi)
    return save
