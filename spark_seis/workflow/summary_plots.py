"""Summary figures of misfit tables (matplotlib Agg, no display, no map download).

Every figure is 800 x 500 pixels, built from an :class:`Inspector`'s tables or a
station table, and saved as PNG.
"""
from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

if TYPE_CHECKING:
    from spark_seis.workflow.inspector import Inspector


FIGSIZE = (8.0, 5.0)
DPI = 100  # every summary figure is 800 x 500 pixels


def _figure():
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=FIGSIZE, dpi=DPI)
    FigureCanvasAgg(fig)
    return fig


def _save(fig, path: str | Path) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=DPI)  # no bbox_inches: the pixel size stays FIGSIZE * DPI
    return path


def _integer_ticks(axis) -> None:
    from matplotlib.ticker import MaxNLocator

    axis.set_major_locator(MaxNLocator(integer=True))


def plot_event_misfits(inspector: "Inspector", save: str | Path,
                       misfit_unit: str | None = None) -> Path:
    """Event misfit per evaluation: one line per event across iterations/steps,
    and the evaluation misfit (mean of the events) drawn with its own markers."""
    events = inspector.event_table()
    fig = _figure()
    ax = fig.add_subplot(1, 1, 1)
    tags = sorted({str(t) for t in events["eval_tag"]})
    x = {t: i for i, t in enumerate(tags)}
    for name, g in events.groupby("event", sort=True):
        ax.plot([x[str(t)] for t in g["eval_tag"]], g["misfit"], "o-", label=str(name))
    evals = inspector.evaluation_table()
    # markers too: with one evaluation a dashed line alone would draw nothing
    ax.plot([x[str(t)] for t in evals["eval_tag"]], evals["misfit"], "k--", lw=2,
            marker="D", markersize=9, markerfacecolor="none", markeredgewidth=1.5,
            label="mean of the events (evaluation misfit)")
    ax.set_xticks(range(len(tags)), tags)
    if len(tags) == 1:
        ax.set_xlim(-1, 1)
    ax.set_xlabel("evaluation (iteration/step)")
    unit = f" [{misfit_unit}]" if misfit_unit else ""
    ax.set_ylabel(f"event misfit{unit}  = Σ station misfit / (2 nwin)")
    ax.set_title("Event misfit per evaluation")
    if len(events["event"].unique()) <= 15:
        ax.legend(fontsize=8)
    fig.tight_layout()
    return _save(fig, save)


def plot_window_histogram(inspector: "Inspector", save: str | Path) -> Path:
    """Histogram of the number of windows per station, one series per evaluation."""
    st = inspector.stations
    fig = _figure()
    ax = fig.add_subplot(1, 1, 1)
    nwin = pd.to_numeric(st["nwin"], errors="coerce").fillna(0).astype(int)
    top = int(nwin.max()) if len(nwin) else 0
    bins = [b - 0.5 for b in range(0, top + 2)]
    series = [(str(t), nwin[st["eval_tag"] == t]) for t in sorted(st["eval_tag"].dropna().unique())]
    if series:
        ax.hist([s for _t, s in series], bins=bins, label=[t for t, _s in series])
        ax.legend(fontsize=8)
    ax.set_xlabel("windows per station")
    ax.set_ylabel("stations")
    _integer_ticks(ax.xaxis)  # counts: no 0.5 window, no 0.2 station
    _integer_ticks(ax.yaxis)
    ax.set_title(f"Window counts ({int(nwin.sum())} windows, {len(st)} station evaluations)")
    fig.tight_layout()
    return _save(fig, save)


def map_aspect(stations: pd.DataFrame, sources: pd.DataFrame | None = None) -> float:
    """y/x scale of a longitude/latitude plot with equal distances east and north
    at the mean latitude (equirectangular): 1 / cos(latitude)."""
    import math

    lats = list(stations["lat"]) if len(stations) else []
    if sources is not None and len(sources):
        lats += list(sources["lat"])
    mean = sum(lats) / len(lats) if lats else 0.0
    return 1.0 / max(math.cos(math.radians(mean)), 0.05)


def plot_station_map(stations: pd.DataFrame, save: str | Path,
                     sources: pd.DataFrame | None = None,
                     misfit: pd.DataFrame | None = None,
                     misfit_unit: str | None = None) -> Path:
    """Stations (lon/lat from site/channel documents) and events; no map tiles.

    ``stations``: columns net, sta, lat, lon; ``sources``: event, lat, lon;
    ``misfit``: station, total_misfit (colours the stations when given).
    """
    fig = _figure()
    ax = fig.add_subplot(1, 1, 1)
    colour = None
    if misfit is not None and len(misfit) and len(stations):
        per = misfit.groupby("station")["total_misfit"].mean()
        colour = [per.get(f"{n}.{s}") for n, s in zip(stations["net"], stations["sta"])]
        colour = [float("nan") if c is None else c for c in colour]
    if len(stations):
        sc = ax.scatter(stations["lon"], stations["lat"], marker="v", s=60,
                        c=colour if colour is not None else "tab:blue",
                        cmap="viridis" if colour is not None else None,
                        edgecolors="k", label="stations", zorder=3)
        if colour is not None:
            fig.colorbar(sc, ax=ax, label="station misfit"
                         + (f" [{misfit_unit}]" if misfit_unit else ""))
        for n, s, lo, la in zip(stations["net"], stations["sta"], stations["lon"], stations["lat"]):
            ax.annotate(f"{n}.{s}", (lo, la), fontsize=7, xytext=(3, 3),
                        textcoords="offset points")
    if sources is not None and len(sources):
        ax.scatter(sources["lon"], sources["lat"], marker="*", s=200, c="red",
                   edgecolors="k", label="events", zorder=4)
        for name, lo, la in zip(sources["event"], sources["lon"], sources["lat"]):
            ax.annotate(str(name), (lo, la), fontsize=7, xytext=(3, -10),
                        textcoords="offset points")
    if not len(stations) and (sources is None or not len(sources)):
        ax.text(0.5, 0.5, "no coordinates in site/channel/source", transform=ax.transAxes,
                ha="center")
    ax.set_xlabel("longitude [°]")
    ax.set_ylabel("latitude [°]")
    ax.set_aspect(map_aspect(stations, sources), adjustable="datalim")
    ax.margins(0.15)  # symbols and names clear of the frame
    ax.grid(True, lw=0.3)
    ax.legend(fontsize=8, loc="best")
    ax.set_title("Stations and events")
    fig.tight_layout()
    return _save(fig, save)
