"""Property-based tests: any valid object survives pickling, ObsPy conversion and
save/read unchanged (test_core_* and test_db_* hold the example-based versions)."""
from __future__ import annotations

import pickle

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from spark_seis.core import Seismogram, TimeSeries, TimeSeriesEnsemble
from spark_seis.core.errorlog import ErrorLog
from spark_seis.core.obspy_convert import (seismogram_to_stream, stream_to_seismogram,
                                           timeseries_to_trace, trace_to_timeseries)
from spark_seis.db import Database, document_to_object, get_client, object_to_documents

SETTINGS = settings(max_examples=60, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow])

seed_code = st.text(alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789", min_size=0, max_size=5)
scalar = st.one_of(
    st.none(), st.booleans(), st.integers(min_value=-2**62, max_value=2**62),
    st.floats(allow_nan=False, allow_infinity=False), st.text(max_size=20))
value = st.one_of(scalar, st.lists(scalar, max_size=4),
                  st.dictionaries(st.from_regex(r"[a-z]{1,6}", fullmatch=True), scalar, max_size=3))
free_key = st.from_regex(r"k_[a-z0-9]{1,8}", fullmatch=True)
metadata = st.builds(
    lambda seed, free: {**{k: v for k, v in seed.items() if v is not None}, **free},
    st.fixed_dictionaries({k: st.one_of(st.none(), seed_code)
                           for k in ("net", "sta", "loc", "chan")}),
    st.dictionaries(free_key, value, max_size=6))
finite = st.floats(min_value=-1e12, max_value=1e12, allow_nan=False, allow_infinity=False,
                   allow_subnormal=True)
dt = st.floats(min_value=1e-4, max_value=1e3, allow_nan=False)
t0 = st.floats(min_value=-2e9, max_value=4e9, allow_nan=False)  # 1906 .. 2096
severity = st.sampled_from(["Fatal", "Invalid", "Suspect", "Complaint", "Debug", "Informational"])
elog_entries = st.lists(st.tuples(st.from_regex(r"[a-z_.]{1,12}", fullmatch=True),
                                  st.text(max_size=40), severity), max_size=3)


@st.composite
def timeseries(draw, max_npts=300):
    data = draw(hnp.arrays(np.float64, st.integers(0, max_npts), elements=finite))
    ts = TimeSeries(data, dt=draw(dt), t0=draw(t0), tref=draw(st.sampled_from(["UTC", "relative"])),
                    metadata=draw(metadata))
    for algorithm, message, sev in draw(elog_entries):
        ts.elog.log(algorithm, message, sev)
    if draw(st.booleans()):
        ts.enable_history(draw(st.from_regex(r"[a-z]{1,8}", fullmatch=True)))
        ts.record("detrend", {"type": draw(st.sampled_from(["linear", "demean"]))})
    if draw(st.booleans()):
        ts["k_changed"] = draw(scalar)  # a change since load, to be remembered
    if draw(st.integers(0, 5)) == 0:
        ts.kill("property_test", "dead on purpose")
    return ts


@st.composite
def seismograms(draw, max_npts=200):
    npts = draw(st.integers(0, max_npts))
    data = draw(hnp.arrays(np.float64, (3, npts), elements=finite))
    md = draw(metadata)
    md.pop("chan", None)  # a channel code belongs to one component, not to a Seismogram
    seis = Seismogram(data, dt=draw(dt), t0=draw(t0), metadata=md)
    for algorithm, message, sev in draw(elog_entries):
        seis.elog.log(algorithm, message, sev)
    rotation = draw(st.sampled_from(["none", "zrt", "lqt"]))
    angle = draw(st.floats(0, 359.9))
    if rotation == "zrt":
        seis.rotate_to_zrt(angle)
    elif rotation == "lqt":
        seis.rotate_to_lqt(angle, draw(st.floats(1.0, 89.0)))
    return seis


@SETTINGS
@given(obj=st.one_of(timeseries(), seismograms()), protocol=st.sampled_from([2, 4, 5]))
def test_any_object_survives_pickling(obj, protocol):
    back = pickle.loads(pickle.dumps(obj, protocol=protocol))
    assert back == obj and type(back) is type(obj)
    assert back.metadata.modified() == obj.metadata.modified()
    if isinstance(obj, Seismogram):
        np.testing.assert_array_equal(back.tmatrix, obj.tmatrix)


@SETTINGS
@given(members=st.lists(timeseries(max_npts=50), max_size=4), md=metadata)
def test_any_ensemble_survives_pickling(members, md):
    ens = TimeSeriesEnsemble(members, md)
    back = pickle.loads(pickle.dumps(ens, protocol=5))
    assert back == ens and len(back) == len(members)


@SETTINGS
@given(ts=timeseries())
def test_any_timeseries_survives_obspy_conversion(ts):
    back = trace_to_timeseries(timeseries_to_trace(ts))
    assert back.t0 == ts.t0 and back.dt == ts.dt and back.tref == ts.tref
    np.testing.assert_array_equal(back.data, ts.data)
    assert dict(back.metadata) == dict(ts.metadata)
    assert back.metadata.modified() == ts.metadata.modified()
    assert back.live == ts.live and back.elog == ts.elog and back.history == ts.history
    assert back == ts


@SETTINGS
@given(seis=seismograms())
def test_any_seismogram_survives_obspy_conversion(seis):
    back = stream_to_seismogram(seismogram_to_stream(seis))
    if seis.npts == 0:
        assert not back.live  # three empty traces carry no time span to bundle on
        return
    assert back.live, back.elog.to_list()
    assert back.elog == seis.elog and back.components == seis.components
    assert back.t0 == seis.t0 and back.dt == seis.dt
    np.testing.assert_allclose(back.tmatrix, seis.tmatrix, atol=1e-12)
    np.testing.assert_allclose(back.data, seis.data, rtol=1e-12, atol=1e-12 * (
        1 + np.abs(seis.data).max()))
    for key, val in seis.metadata.items():
        assert back.metadata.get(key) == val


def _comparable(obj):
    return {k: v for k, v in obj.metadata.items()}


@SETTINGS
@given(obj=st.one_of(timeseries(), seismograms()))
def test_any_live_object_survives_document_conversion(obj):
    collection = "wf_Seismogram" if isinstance(obj, Seismogram) else "wf_TimeSeries"
    bundle = object_to_documents(obj)
    if not obj.live:
        assert bundle.wf_doc is None and bundle.elog_docs[0]["tombstone"] is not None
        assert bundle.elog_docs[0]["logdata"] == obj.elog.to_list()
        return
    back = document_to_object(bundle.wf_doc, bundle.samples, collection=collection)
    assert back.live, back.elog.to_list()
    assert back.t0 == obj.t0 and back.dt == obj.dt and back.tref == obj.tref
    np.testing.assert_array_equal(back.data, obj.data)
    if isinstance(obj, Seismogram):
        np.testing.assert_array_equal(back.tmatrix, obj.tmatrix)
    for key, val in obj.metadata.items():
        assert back[key] == val, key
    assert ErrorLog.from_list(bundle.elog_docs[0]["logdata"]) == obj.elog if len(obj.elog) else True


@pytest.fixture(scope="module")
def database(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("props")
    return Database(get_client(path=tmp / "store"), "props", storage_root=tmp / "wf")


@settings(max_examples=25, deadline=None, suppress_health_check=[
    HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(obj=st.one_of(timeseries(max_npts=100), seismograms(max_npts=60)),
       storage=st.sampled_from(["file", "gridfs"]))
def test_any_object_survives_save_and_read(database, obj, storage):
    collection = "wf_Seismogram" if isinstance(obj, Seismogram) else "wf_TimeSeries"
    original = pickle.loads(pickle.dumps(obj))
    tombs = database.db["elog"].count_documents({"tombstone": {"$exists": True}})
    database.save_data(obj, storage_mode=storage)
    if not original.live:  # a tombstone with the metadata and the elog, no wf document
        assert database.db["elog"].count_documents({"tombstone": {"$exists": True}}) == tombs + 1
        assert "_id" not in obj.metadata
        return
    back = database.read_data(obj["_id"], collection=collection)
    assert back.live, back.elog.to_list()
    assert back.t0 == original.t0 and back.dt == original.dt and back.tref == original.tref
    np.testing.assert_array_equal(back.data, original.data)
    if isinstance(obj, Seismogram):
        np.testing.assert_array_equal(back.tmatrix, original.tmatrix)
    for key, val in original.metadata.items():
        assert back[key] == val, key
