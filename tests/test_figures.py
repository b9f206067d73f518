"""Figures read as a seismologist reads them: physical units on the axes, the adjoint
source in the legend with its unit and its zero on the waveforms' zero, a zero
adjoint source not blown up into apparent signal, no legend entry for an undrawn
line, integer ticks for counts, a map with equal distances east and north."""
from __future__ import annotations

import math
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
from obspy import Stream, Trace, UTCDateTime

from spark_seis.workflow import summary_plots
from spark_seis.workflow.plot import adjoint_unit, build_station_figure, misfit_unit


def _stream(kind: str, scale: float) -> Stream:
    t = np.arange(2000) * 0.1
    traces = []
    for i, comp in enumerate("ENZ"):
        data = scale * np.exp(-((t - 60.0 - 5 * i) / 6.0) ** 2) * np.sin(t / 2.0)
        traces.append(Trace(data=data.astype(np.float64), header={
            "network": "NZ", "station": "BFZ", "channel": f"BX{comp}", "delta": 0.1,
            "starttime": UTCDateTime(2018, 2, 18, 7, 43, 48)}))
    return Stream(traces)


@pytest.fixture(scope="module")
def station_figure():
    obs, syn = _stream("obs", 3e-5), _stream("syn", 4e-5)
    adj = np.zeros(2000)
    adj[500:700] = np.hanning(200) * -9000.0  # mostly negative: the big lobe must not clip
    adj[700:760] = np.hanning(60) * 2000.0
    adjsrcs = {"E": {"adjoint_source": adj[::-1], "misfit": 0.32},
               "N": {"adjoint_source": adj[::-1] * 0.5, "misfit": 1.8},
               "Z": {"adjoint_source": np.zeros(2000), "misfit": 0.0}}  # cc shift 0
    windows = {c: [{"left_index": 450, "right_index": 800}] for c in "ENZ"}
    return build_station_figure(obs, syn, windows, adjsrcs, ["E", "N", "Z"],
                                title="NZ.BFZ", unit_output="DISP",
                                adj_src_type="cc_traveltime")


def _panels(fig):
    """(waveform axis, adjoint-source twin) per component panel."""
    axes = fig.get_axes()
    waves = [a for a in axes if a.get_ylabel().split()[0] in ("E", "N", "Z")]
    twins = [a for a in axes if a.get_ylabel().startswith("adjoint source")]
    return list(zip(waves, twins))


def test_waveform_and_adjoint_axes_carry_physical_units(station_figure):
    panels = _panels(station_figure)
    assert len(panels) == 3
    for wave, twin in panels:
        assert wave.get_ylabel().endswith("displacement [m]")
        assert twin.get_ylabel() == "adjoint source [s/m]"


def test_adjoint_source_is_in_the_legend_with_its_unit(station_figure):
    for wave, _twin in _panels(station_figure):
        labels = [t.get_text() for t in wave.get_legend().get_texts()]
        assert labels[:2] == ["observed", "synthetic"]
        assert labels[2].startswith("adjoint source [s/m]")


def test_adjoint_zero_lines_up_with_the_waveform_zero_without_clipping(station_figure):
    for (wave, twin), scale in zip(_panels(station_figure)[:2], (1.0, 0.5)):
        lo, hi = wave.get_ylim()
        tlo, thi = twin.get_ylim()
        assert -lo / (hi - lo) == pytest.approx(-tlo / (thi - tlo))  # same height of 0
        line = twin.get_lines()[0]
        assert tlo <= line.get_ydata().min() and line.get_ydata().max() <= thi
        assert line.get_ydata().min() == pytest.approx(-9000.0 * scale, rel=1e-3)


def test_identically_zero_adjoint_source_is_not_scaled_into_signal(station_figure):
    wave, twin = _panels(station_figure)[2]
    assert [t.get_text() for t in wave.get_legend().get_texts()][2].endswith(
        "(identically zero)")
    assert list(twin.get_yticks()) == [0.0]  # no ±0.04 scale of nothing
    assert twin.get_ylim() == (-1.0, 1.0)


def test_units_of_adjoint_sources_and_misfits():
    assert adjoint_unit("cc_traveltime", "DISP") == "s/m"
    assert adjoint_unit("multitaper", "VEL") == "s²/m"
    assert adjoint_unit("waveform", "DISP") == "m"
    assert adjoint_unit("waveform", "ACC") == "m/s²"
    assert misfit_unit("cc_traveltime", "DISP") == "s²"
    assert misfit_unit("waveform", "DISP") == "m²·s"


def _capture(monkeypatch):
    figures = []
    real = summary_plots._save

    def keep(fig, path):
        figures.append(fig)
        return real(fig, path)

    monkeypatch.setattr(summary_plots, "_save", keep)
    return figures


def test_every_legend_entry_of_the_event_misfit_figure_is_drawn(tmp_path, monkeypatch):
    figures = _capture(monkeypatch)
    inspector = SimpleNamespace(  # one evaluation: a line of one point draws nothing
        event_table=lambda: pd.DataFrame({"event": ["2018p130600"], "eval_tag": ["i01s00"],
                                          "misfit": [0.3609]}),
        evaluation_table=lambda: pd.DataFrame({"eval_tag": ["i01s00"], "misfit": [0.3609]}))
    summary_plots.plot_event_misfits(inspector, tmp_path / "m.png", misfit_unit="s²")
    ax = figures[0].get_axes()[0]
    assert "[s²]" in ax.get_ylabel()
    legend_labels = {t.get_text() for t in ax.get_legend().get_texts()}
    for line in ax.get_lines():
        if line.get_label() in legend_labels:
            assert len(line.get_xdata()) > 1 or line.get_marker() not in ("None", None, ""), \
                f"legend entry {line.get_label()!r} is not drawn"
    assert any("mean" in label for label in legend_labels)


def test_window_counts_have_integer_ticks(tmp_path, monkeypatch):
    figures = _capture(monkeypatch)
    inspector = SimpleNamespace(stations=pd.DataFrame({"nwin": [3, 1, 3], "eval_tag": ["i01s00"] * 3}))
    summary_plots.plot_window_histogram(inspector, tmp_path / "w.png")
    ax = figures[0].get_axes()[0]
    for ticks in (ax.get_xticks(), ax.get_yticks()):
        assert len(ticks) and all(float(v).is_integer() for v in ticks), ticks


def test_station_map_has_equal_distances_east_and_north(tmp_path, monkeypatch):
    figures = _capture(monkeypatch)
    stations = pd.DataFrame({"net": ["NZ", "NZ"], "sta": ["BFZ", "PUZ"],
                             "lat": [-40.68, -38.07], "lon": [176.25, 178.26]})
    sources = pd.DataFrame({"event": ["2018p130600"], "lat": [-39.95], "lon": [176.3]})
    summary_plots.plot_station_map(stations, tmp_path / "s.png", sources)
    ax = figures[0].get_axes()[0]
    mean_lat = (-40.68 - 38.07 - 39.95) / 3
    assert ax.get_aspect() == pytest.approx(1 / math.cos(math.radians(mean_lat)))
    assert ax.get_xlabel() == "longitude [°]" and ax.get_ylabel() == "latitude [°]"
