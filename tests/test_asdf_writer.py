"""The h5py event writer writes what the pyasdf-based writer writes (issue 13.2).

Same station result through io/asdf_store.py (pyasdf) and io/asdf_writer.py
(h5py): every dataset's name, dtype, shape, bytes, filters and attributes equal;
pyasdf opens and validates the file, Pyatoa 0.4.2 loads its windows, and
`spark-seis plot` draws it.
"""
from __future__ import annotations

import contextlib
import io
import json
import re
import subprocess
import warnings
from pathlib import Path

import h5py
import numpy as np
import obspy
import pyasdf
import pytest

from spark_seis.io import asdf_store
from spark_seis.io.asdf_writer import EventFileWriter, stationxml_bytes
from spark_seis.processing.config import Config
from spark_seis.processing.station import process_station
from pyatoa_support import pyatoa_python

NZ = Path(__file__).parent / "data" / "nz_2018p130600"


@pytest.fixture(scope="module")
def station(tmp_path_factory):
    inv = obspy.read_inventory(str(NZ / "test_dataless_NZ_BFZ.xml"))
    event = obspy.read_events(str(NZ / "test_catalog_2018p130600.xml"))[0]
    obs = obspy.read(str(NZ / "mseed" / "*"))
    syn = obspy.read(str(NZ / "test_syn_data_NZ_BFZ_2018p130600.ascii"))
    config = Config(iteration=1, step_count=0, min_period=10.0, max_period=100.0)
    result = process_station(obs, syn, inv, event, config)
    assert result.ok and result.nwin == 3
    folder = tmp_path_factory.mktemp("writers")
    theirs, ours = folder / "pyasdf.h5", folder / "h5py.h5"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ds = pyasdf.ASDFDataSet(str(theirs), mode="w", compression=None)
        asdf_store.write_event(ds, event)
        asdf_store.write_config(ds, config)
        asdf_store.write_station_result(ds, result, config, inv=inv, st_obs=obs, st_syn=syn)
        del ds
    with h5py.File(ours, "w") as h5:
        writer = EventFileWriter(h5)
        writer.write_event(event)
        writer.write_config(config)
        writer.write_station_result(result, config, stationxml=stationxml_bytes(inv),
                                    st_obs=obs, st_syn=syn)
    return theirs, ours, result


def _objects(path: Path) -> dict:
    out = {}

    def visit(name, obj):
        attrs = {k: (np.asarray(v).tobytes(), np.asarray(v).dtype.str, type(v).__name__)
                 for k, v in obj.attrs.items()}
        if isinstance(obj, h5py.Dataset):
            data = obj[()].tobytes()
            if name == "QuakeML":  # the catalog's own id is a fresh uuid on every write
                data = re.sub(rb'<eventParameters publicID="[^"]*"', b"", data)
            # storage layout (chunks, checksum) may differ: values may not
            out[name] = (obj.dtype.str, obj.shape if name != "QuakeML" else None,
                         obj.compression, data, attrs)
        else:
            out[name] = attrs

    with h5py.File(path, "r") as h5:
        out["/"] = {k: (np.asarray(v).tobytes(), type(v).__name__) for k, v in h5.attrs.items()}
        h5.visititems(visit)
    return out


def test_h5py_writer_equals_the_pyasdf_writer(station):
    theirs, ours, _result = station
    a, b = _objects(theirs), _objects(ours)
    assert sorted(a) == sorted(b)
    for name in a:
        assert a[name] == b[name], name
    assert any(k.startswith("AuxiliaryData/AdjointSources/i01/s00/NZ_BFZ_") for k in b)


def test_pyasdf_opens_and_validates_it(station):
    _theirs, ours, result = station
    out = io.StringIO()
    with pyasdf.ASDFDataSet(str(ours), mode="r") as ds, contextlib.redirect_stdout(out):
        ds.validate()
        assert len(ds.events) == 1
        assert sorted(ds.waveforms.NZ_BFZ.get_waveform_tags()) == ["observed",
                                                                   "synthetic_i01s00"]
        windows = asdf_store.read_windows(ds, "NZ", "BFZ", "i01/s00")
        adjsrcs = asdf_store.read_adjoint_sources(ds, "NZ", "BFZ", "i01/s00")
        assert asdf_store.read_config(ds, "i01/s00").min_period == 10.0
    assert "1 good station(s)" in out.getvalue()
    assert "0 station(s) have no available station information" in out.getvalue()
    assert {c: [(w["left_index"], w["right_index"]) for w in ws] for c, ws in windows.items()} \
        == {c: [(w["left_index"], w["right_index"]) for w in ws]
            for c, ws in result.windows.items()}
    for comp, adj in result.adjoint_sources.items():
        np.testing.assert_array_equal(adjsrcs[comp]["adjoint_source"], adj["adjoint_source"])


def test_pyatoa_loads_windows_adjoint_sources_and_traces(station):
    _theirs, ours, result = station
    script = (
        "import json, sys, warnings; warnings.simplefilter('ignore')\n"
        "import pyasdf\n"
        "from pyatoa.utils.asdf.load import load_adjsrcs, load_windows\n"
        "ds = pyasdf.ASDFDataSet(sys.argv[1], mode='r')\n"
        "wins = load_windows(ds, 'NZ', 'BFZ', 1, 0)\n"
        "adj = ds.auxiliary_data.AdjointSources.i01.s00\n"
        "print(json.dumps({'windows': {c: [[w.left, w.right] for w in ws]\n"
        "                  for c, ws in wins.items()},\n"
        "                  'adj': {n: float(abs(adj[n].data[()][:, 1]).sum())\n"
        "                          for n in adj.list()},\n"
        "                  'misfit': {c: a.misfit for c, a in\n"
        "                             load_adjsrcs(ds, 'NZ', 'BFZ', 1, 0).items()},\n"
        "                  'tags': sorted(ds.waveforms.NZ_BFZ.get_waveform_tags())}))\n")
    proc = subprocess.run([pyatoa_python(), "-c", script, str(ours)],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    loaded = json.loads(proc.stdout.strip().splitlines()[-1])
    assert loaded["windows"] == {c: [[w["left_index"], w["right_index"]] for w in ws]
                                 for c, ws in result.windows.items()}
    assert loaded["tags"] == ["observed", "synthetic_i01s00"]
    assert loaded["misfit"] == {c: pytest.approx(a["misfit"], rel=1e-12)
                                for c, a in result.adjoint_sources.items()}
    assert loaded["adj"] == {f"NZ_BFZ_{a['component']}":
                             pytest.approx(float(np.abs(a["adjoint_source"]).sum()), rel=1e-12)
                             for a in result.adjoint_sources.values()}


def test_spark_seis_plot_draws_it(station, tmp_path):
    from spark_seis.cli.plot_cmd import plot_asdf_stations

    _theirs, ours, _result = station
    figures, problems = plot_asdf_stations(ours, tmp_path, "i01/s00")
    assert problems == [] and [f.name for f in figures] == ["NZ.BFZ.png"]
    assert figures[0].stat().st_size > 10_000
