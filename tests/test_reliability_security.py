"""Security contracts: nothing unpickled from the database or input files, YAML loaded
safely, no storage-root escapes (beyond test_db_contract's `..` and absolute paths)."""
from __future__ import annotations

import ast
import builtins
import io
import os
import pickle
from pathlib import Path

import numpy as np
import pytest
from bson.binary import Binary

from db_support import db, make_ts  # noqa: F401 - fixture
from spark_seis.db import StoragePathError, document_to_object
from spark_seis.db.ingest import IngestError, channel_response

PACKAGE = Path(__file__).resolve().parents[1] / "spark_seis"
NZ = Path(__file__).parent / "data" / "nz_2018p130600"


# --- static: no unsafe deserializer anywhere in the package ---------------------------
FORBIDDEN_CALLS = {
    ("pickle", "load"), ("pickle", "loads"), ("pickle", "Unpickler"), ("cPickle", "loads"),
    ("cloudpickle", "load"), ("cloudpickle", "loads"), ("dill", "load"), ("dill", "loads"),
    ("marshal", "loads"), ("marshal", "load"), ("shelve", "open"), ("joblib", "load"),
    ("pd", "read_pickle"), ("pandas", "read_pickle"), ("yaml", "load"), ("yaml", "load_all"),
    ("yaml", "unsafe_load"), ("yaml", "full_load"), ("yaml", "unsafe_load_all"),
    ("yaml", "full_load_all"),
}


def _violations(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(), str(path))
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            func = node.func
            if isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name):
                if (func.value.id, func.attr) in FORBIDDEN_CALLS:
                    out.append(f"{path}:{node.lineno} {func.value.id}.{func.attr}")
            if isinstance(func, ast.Name) and func.id in ("eval", "exec"):
                out.append(f"{path}:{node.lineno} {func.id}")
            for kw in node.keywords:  # np.load(..., allow_pickle=True)
                if kw.arg == "allow_pickle" and not (
                        isinstance(kw.value, ast.Constant) and kw.value.value is False):
                    out.append(f"{path}:{node.lineno} allow_pickle")
        if isinstance(node, ast.ImportFrom) and node.module in ("pickle", "dill", "marshal"):
            names = {a.name for a in node.names}
            if names & {"load", "loads", "Unpickler"}:
                out.append(f"{path}:{node.lineno} from {node.module} import {sorted(names)}")
    return out


def test_package_never_calls_an_unsafe_deserializer():
    files = sorted(PACKAGE.rglob("*.py"))
    assert len(files) > 40
    found = [v for f in files for v in _violations(f)]
    assert found == []


def test_the_scanner_catches_what_it_looks_for(tmp_path):
    bad = tmp_path / "bad.py"
    bad.write_text("import pickle, yaml, numpy as np\npickle.loads(b'')\n"
                   "yaml.load('a')\nnp.load('x', allow_pickle=True)\neval('1')\n")
    assert len(_violations(bad)) == 4


# --- dynamic: a malicious pickle where a response or blob would be ---------------------
class _Evil:
    """Unpickling this creates the marker file: proof that something ran pickle.loads."""

    def __init__(self, marker: Path):
        self.marker = str(marker)

    def __reduce__(self):
        return (builtins.open, (self.marker, "w"))


@pytest.fixture
def evil(tmp_path):
    marker = tmp_path / "PWNED"
    payload = pickle.dumps(_Evil(marker), protocol=2)
    pickle.loads(payload).close()  # the payload works when someone unpickles it ...
    assert marker.exists()
    marker.unlink()  # ... and the tests below show nobody does
    return marker, payload


def test_pickled_response_in_channel_document_is_never_unpickled(db, evil):
    from spark_seis.engine.normalization import NormalizationTables, stationxml_for

    marker, payload = evil
    db.channel.insert_one({"net": "NZ", "sta": "EVL", "loc": "", "chan": "HHZ",
                           "starttime": 0.0, "endtime": 1e10,
                           "response": Binary(payload), "response_stationxml": Binary(payload)})
    doc = db.channel.find_one({"sta": "EVL"})
    with pytest.raises(Exception):
        channel_response(doc)
    tables = NormalizationTables(sources={}, stationxml=stationxml_for([doc]))
    with pytest.raises(Exception):
        tables.inventory("NZ", "EVL")
    assert not marker.exists()


def test_pickled_blobs_as_samples_quakeml_and_metadata_are_never_unpickled(db, evil):
    from spark_seis.db.sample_io import gridfs_put
    from spark_seis.engine.normalization import source_doc_to_event

    marker, payload = evil
    root = Path(db.storage_root)
    (root / "evil").mkdir(parents=True)
    (root / "evil" / "blob.bin").write_bytes(payload)
    base = {"_id": "e1", "net": "NZ", "sta": "EVL", "chan": "HHZ", "delta": 0.01,
            "starttime": 0.0, "dir": "evil", "dfile": "blob.bin", "foff": 0,
            "nbytes": len(payload), "pickled_note": Binary(payload)}
    as_binary = document_to_object({**base, "npts": len(payload) // 8},
                                   storage_root=db.storage_root)
    as_mseed = document_to_object({**base, "npts": 1, "format": "mseed"},
                                  storage_root=db.storage_root)
    assert not as_mseed.live and "blob.bin" in as_mseed.elog[-1].message
    assert isinstance(as_binary["pickled_note"], bytes)  # kept as bytes, never loaded
    gid = gridfs_put(db.db, payload)
    db.wf_TimeSeries.insert_one({"npts": len(payload) // 8, "delta": 0.01, "starttime": 0.0,
                                 "storage_mode": "gridfs", "gridfs_id": gid,
                                 "nbytes": len(payload)})
    db.read_data(db.wf_TimeSeries.find_one({"gridfs_id": gid}))
    with pytest.raises(Exception):
        source_doc_to_event({"quakeml": payload, "event_id": "evil"})
    assert not marker.exists()


def test_pickle_files_given_as_input_are_refused_not_loaded(db, evil, tmp_path):
    marker, payload = evil
    for name in ("catalog.xml", "inventory.xml"):
        (tmp_path / name).write_bytes(payload)
    with pytest.raises(IngestError, match="catalog.xml"):
        db.save_catalog(str(tmp_path / "catalog.xml"))
    with pytest.raises(IngestError, match="inventory.xml"):
        db.save_inventory(str(tmp_path / "inventory.xml"))
    target = Path(db.storage_root) / "in" / "data.mseed"
    target.parent.mkdir(parents=True)
    target.write_bytes(payload)
    with pytest.raises(IngestError, match="data.mseed"):
        db.index_mseed(target)
    assert not marker.exists()


def test_asdf_with_pickled_auxiliary_data_is_read_as_plain_arrays(tmp_path, evil):
    import pyasdf

    from spark_seis.io import asdf_store

    marker, payload = evil
    path = tmp_path / "evil.h5"
    blob = np.frombuffer(payload, dtype=np.uint8)
    with pyasdf.ASDFDataSet(str(path), mode="w") as ds:
        ds.add_auxiliary_data(blob, data_type="Configs", path="default",
                              parameters={"note": payload.hex(), "pickled": np.void(payload)})
        ds.add_auxiliary_data(blob, data_type="MisfitWindows", path="default/NZ_EVL_Z_0",
                              parameters={"note": payload.hex()})
        ds.add_auxiliary_data(blob, data_type="AdjointSources", path="default/NZ_EVL_BXZ",
                              parameters={"note": payload.hex()})
    outcomes = []
    with pyasdf.ASDFDataSet(str(path), mode="r") as ds:
        for call in (lambda: asdf_store.read_config(ds, "default"),
                     lambda: asdf_store.read_windows(ds, "NZ", "EVL", "default"),
                     lambda: asdf_store.read_adjoint_sources(ds, "NZ", "EVL", "default")):
            try:
                outcomes.append(type(call()).__name__)
            except Exception as exc:  # noqa: BLE001 - refusing is fine, executing is not
                outcomes.append(type(exc).__name__)
    assert len(outcomes) == 3 and "TypeError" not in outcomes, outcomes  # readers really ran
    assert not marker.exists()


# --- YAML --------------------------------------------------------------------------
def _yaml_bomb(tmp_path: Path, name: str, marker: Path) -> Path:
    path = tmp_path / name
    path.write_text(f"!!python/object/apply:builtins.open ['{marker}', 'w']\n")
    return path


def test_yaml_with_python_tags_is_refused_everywhere(tmp_path):
    import yaml

    from spark_seis.db.client import load_config
    from spark_seis.db.schema import Schema
    from spark_seis.processing.config import Config
    from spark_seis.workflow.job_config import JobConfig

    marker = tmp_path / "PWNED"
    loaders = {"database.yaml": load_config, "schema.yaml": Schema.load,
               "misfit.yaml": Config.load_yaml, "job.yaml": JobConfig.load}
    for name, loader in loaders.items():
        with pytest.raises((yaml.YAMLError, ValueError)):
            loader(_yaml_bomb(tmp_path, name, marker))
    # the same tag nested in a value of a valid mapping
    nested = tmp_path / "conf" / "job.yaml"
    nested.parent.mkdir()
    nested.write_text(f"work_dir: !!python/object/apply:builtins.open ['{marker}', 'w']\n")
    with pytest.raises((yaml.YAMLError, ValueError)):
        JobConfig.load(nested)
    assert not marker.exists()


# --- storage root ------------------------------------------------------------------
def test_symlink_out_of_the_storage_root_is_refused(db, tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    secret = outside / "secret.bin"
    secret.write_bytes(np.arange(4, dtype="<f8").tobytes())
    root = Path(db.storage_root)
    root.mkdir(parents=True, exist_ok=True)
    os.symlink(outside, root / "innocent")
    doc = {"_id": "x", "npts": 4, "delta": 1.0, "starttime": 0.0, "dir": "innocent",
           "dfile": "secret.bin", "foff": 0, "nbytes": 32}
    back = document_to_object(doc, storage_root=db.storage_root)
    assert not back.live and "outside the storage root" in back.elog[-1].message
    with pytest.raises(StoragePathError):
        db.save_data(make_ts(1), dir="innocent", dfile="written.bin")
    assert not (outside / "written.bin").exists()


@pytest.mark.parametrize("dir_,dfile", [
    ("", "../x.bin"), ("a/../../x", "y.bin"), ("", "/etc/passwd"), ("ok", "../../x.bin"),
    ("/tmp", "x.bin"), ("", ""),
])
def test_resolve_path_refuses_every_escape(tmp_path, dir_, dfile):
    from spark_seis.db.sample_io import resolve_path

    with pytest.raises(StoragePathError):
        resolve_path(tmp_path / "root", dir_, dfile)


def test_engine_reader_turns_escaping_documents_into_dead_data(tmp_path):
    from spark_seis.engine.read import read_group

    root = tmp_path / "root"
    (root / "ok").mkdir(parents=True)
    (root / "ok" / "a.bin").write_bytes(np.ones(3).tobytes())
    (tmp_path / "b.bin").write_bytes(np.ones(3).tobytes())
    docs = [{"_id": i, "sta": f"S{i}", "npts": 3, "delta": 1.0, "starttime": 0.0, "dir": d,
             "dfile": f, "foff": 0, "nbytes": 24}
            for i, (d, f) in enumerate([("ok", "a.bin"), ("ok", "../../b.bin"), ("/", "etc/passwd")])]
    out = read_group(docs, str(root))
    assert [o.live for o in out] == [True, False, False]
    assert all("outside the storage root" in o.elog[-1].message for o in out[1:])
    assert "S1" in out[1].elog[-1].message or "../../b.bin" in out[1].elog[-1].message
