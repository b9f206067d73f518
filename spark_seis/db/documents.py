"""Pure conversions between objects and database documents (no database access).

Spark executors call these directly: :func:`object_to_documents` turns an object
into everything a writer must store (so a per-partition writer can bulk-upsert),
and :func:`document_to_object` builds an object from one wf document plus the
sample bytes or an already-open file (so executors read files themselves, grouped
by dir/dfile).
"""
from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass, field
from typing import Any, BinaryIO, Iterable, Mapping

import numpy as np
from bson import ObjectId

from ..core import Metadata, ProcessingHistory, Seismogram, TimeSeries
from . import sample_io
from .schema import Schema, apply_mode, check_mode, check_wf_collection, default_schema

ALG_SAVE = "Database.save_data"
ALG_READ = "Database.read_data"
# Keys whose values always come from the object itself when saving.
OBJECT_KEYS = ("npts", "delta", "sampling_rate", "starttime", "time_standard")
SEISMOGRAM_KEYS = ("tmatrix", "components", "cardinal", "orthogonal")
STORAGE_KEYS = ("storage_mode", "format", "dir", "dfile", "foff", "nbytes", "gridfs_id")


def wf_collection_of(obj: TimeSeries | Seismogram) -> str:
    if isinstance(obj, Seismogram):
        return "wf_Seismogram"
    if isinstance(obj, TimeSeries):
        return "wf_TimeSeries"
    raise TypeError(f"expected TimeSeries or Seismogram, got {type(obj).__name__}")


def derived_id(*parts: Any) -> ObjectId:
    """Deterministic ObjectId from any parts (a rerun of a job gets the same keys)."""
    digest = hashlib.sha1("\x1f".join(str(p) for p in parts).encode()).digest()
    return ObjectId(digest[:12])


def bson_safe(value: Any) -> Any:
    """numpy scalars/arrays, tuples, UTCDateTime -> plain BSON-storable values."""
    if isinstance(value, dict):
        return {str(k): bson_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [bson_safe(v) for v in value]
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, np.generic):
        return value.item()
    if type(value).__name__ == "UTCDateTime":
        return float(value.timestamp)
    return value


@dataclass
class SaveBundle:
    """Everything to store for one object; ``wf_doc`` is None for dead data."""

    collection: str
    wf_id: ObjectId
    wf_doc: dict | None
    elog_docs: list[dict] = field(default_factory=list)
    history_docs: list[dict] = field(default_factory=list)
    samples: bytes | None = None
    graveyard_doc: dict | None = None

    @property
    def live(self) -> bool:
        return self.wf_doc is not None


def _changed(key: str, md: Metadata, original: Mapping[str, Any] | None, loaded: bool) -> bool:
    if key not in md.modified():
        return False
    if original is not None:
        return original.get(key) != md.get(key)
    return loaded  # no stored copy to compare with: any assignment after a read counts


def _same_id(a: Any, b: Any) -> bool:
    """ObjectId and its hex string are the same link (tables and Spark carry strings)."""
    return a == b or (a is not None and b is not None and str(a) == str(b))


def xref_altered(key: str, md: Mapping[str, Any], original: Mapping[str, Any] | None) -> bool:
    """True only when a cross-reference id the stored document holds was changed or removed.

    Update Rule 2 forbids *altering* a loaded id. Adding an id to a datum read or
    created without one is how data are linked to an event or a station: it is
    saved like any other key. Without the stored document (``original`` None)
    there is no loaded id to protect, so nothing counts as altered.
    """
    if original is None or original.get(key) is None:
        return False
    return not _same_id(original.get(key), md.get(key))


def as_object_id(value: Any) -> Any:
    """A 24-hex string back to an ObjectId (ids travel as strings through tables)."""
    if isinstance(value, str) and ObjectId.is_valid(value):
        return ObjectId(value)
    return value


def time_base(obj: TimeSeries | Seismogram) -> dict[str, Any]:
    """Keys whose values always come from the object's own time base."""
    return {"npts": obj.npts, "delta": obj.dt, "sampling_rate": 1.0 / obj.dt,
            "starttime": obj.t0, "time_standard": obj.tref}


def _tombstone_bundle(obj, collection, wf_id, data_tag, graveyard=None) -> SaveBundle:
    # the time base is always in the tombstone (the document's report prints starttime);
    # stored values win: a datum that failed to read has a blank time base
    tomb = bson_safe({**time_base(obj), **{k: v for k, v in obj.metadata.items()}})
    elog = {"_id": derived_id(wf_id, "elog"), f"{collection}_id": wf_id,
            "logdata": obj.elog.to_list(), "tombstone": tomb}
    if data_tag:
        elog["data_tag"] = data_tag
    return SaveBundle(collection, wf_id, None, [elog], [], None, graveyard)


def object_to_documents(
    obj: TimeSeries | Seismogram,
    *,
    schema: Schema | None = None,
    mode: str = "promiscuous",
    data_tag: str | None = None,
    storage_mode: str = "file",
    format: str = sample_io.BINARY,
    wf_id: ObjectId | None = None,
    save_history: bool = False,
    original: Mapping[str, Any] | None = None,
    exclude_keys: Iterable[str] = (),
) -> SaveBundle:
    """Object -> (wf doc, elog docs, history docs, sample bytes), without writing.

    Applies the save rules: normalized attributes are dropped (an elog entry if a
    workflow changed one); a changed read-only attribute is kept as
    ``READONLYERROR_<key>``; a changed cross-reference id kills the datum and
    yields a graveyard document; ``mode`` checks types. Dead data give a tombstone
    elog document and no samples. ``original`` (the stored wf doc, when known)
    lets changes be detected by value rather than by assignment.
    ``wf_id`` defaults to the object's ``_id`` or a new ObjectId.

    ``data_tag``: as MsPASS's save_data, a save without a tag stores no tag (the
    tag the datum was read with is not carried forward). ``exclude_keys`` are
    not saved (the object's time base and storage keys always are).
    """
    check_mode(mode)
    schema = schema or default_schema()
    collection = wf_collection_of(obj)
    cschema = schema[collection]
    md = obj.metadata
    loaded = "_id" in md
    if wf_id is None:
        wf_id = md["_id"] if isinstance(md.get("_id"), ObjectId) else ObjectId()
    if not obj.live:
        return _tombstone_bundle(obj, collection, wf_id, data_tag)

    for key in sorted(cschema.xref_keys()):
        if key in md.modified() and xref_altered(key, md, original):
            old = original.get(key)
            message = (f"cross-reference id {key!r} changed from {old!r} to {md.get(key)!r}; "
                       f"ids are immutable: datum killed and saved to the graveyard")
            obj.kill(ALG_SAVE, message, "Invalid")
            grave = {"_id": derived_id(wf_id, "graveyard"), "wf_collection": collection,
                     "wf_id": wf_id, "reason": message,
                     "metadata": bson_safe(dict(md)), "logdata": obj.elog.to_list()}
            return _tombstone_bundle(obj, collection, wf_id, data_tag, grave)

    normalized = schema.normalized_keys(collection)
    skip = set(exclude_keys) | {"_id", "data_tag"}
    doc: dict[str, Any] = {}
    for key, value in md.items():
        if key in skip:
            continue
        if key in normalized:
            # flagged only when schema checks are on (document, Update section)
            if mode != "promiscuous" and _changed(key, md, None, loaded):
                obj.elog.log(ALG_SAVE, f"normalized attribute {key!r} was changed to "
                             f"{value!r}; normalized attributes are never saved", "Complaint")
            continue
        doc[key] = as_object_id(value) if key in cschema.xref_keys() else value
    for key in sorted(cschema.readonly_keys()):
        if key in doc and _changed(key, md, original, loaded):
            doc[f"READONLYERROR_{key}"] = doc.pop(key)
            if original is not None and key in original:
                doc[key] = original[key]
            obj.elog.log(ALG_SAVE, f"read-only attribute {key!r} was changed; new value "
                         f"saved as READONLYERROR_{key}", "Suspect")

    doc, complaints, fatal = apply_mode(doc, cschema, mode)
    for text in complaints:
        obj.elog.log(ALG_SAVE, text, "Complaint")
    if fatal:
        obj.kill(ALG_SAVE, f"{mode} save: " + "; ".join(fatal), "Invalid")
        return _tombstone_bundle(obj, collection, wf_id, data_tag)

    doc = bson_safe(doc)
    doc.update({"_id": wf_id, **time_base(obj), "storage_mode": storage_mode,
                "format": format if storage_mode == "file" else sample_io.BINARY})
    if isinstance(obj, Seismogram):
        doc.update({"tmatrix": obj.tmatrix.tolist(), "components": list(obj.components),
                    "cardinal": obj.cardinal, "orthogonal": obj.orthogonal})
    if data_tag:
        doc["data_tag"] = data_tag
    for key in ("dir", "dfile", "foff", "nbytes", "gridfs_id"):
        doc.pop(key, None)  # filled in by whoever writes the samples
    samples = sample_io.samples_to_bytes(obj.data)
    doc["nbytes"] = len(samples)

    bundle = SaveBundle(collection, wf_id, doc, samples=samples)
    if len(obj.elog):
        elog_id = derived_id(wf_id, "elog")
        bundle.elog_docs.append({"_id": elog_id, f"{collection}_id": wf_id,
                                 "logdata": obj.elog.to_list(),
                                 **({"data_tag": data_tag} if data_tag else {})})
        doc["elog_id"] = elog_id
    if save_history and obj.history is not None:
        hist_id = derived_id(wf_id, "history", obj.history.current_uuid)
        bundle.history_docs.append({"_id": hist_id, f"{collection}_id": wf_id,
                                    "job_name": obj.history.job_name,
                                    "records": bson_safe(obj.history.to_list())})
        doc["history_object_id"] = str(hist_id)
    return bundle


def finalize_saved(obj: TimeSeries | Seismogram, bundle: SaveBundle) -> None:
    """After a successful write: link the object to its document, reset history to ORIGIN."""
    if bundle.wf_doc is None:
        if obj.live is False:
            obj.data = obj.data[..., :0]  # samples of dead data are thrown away
        return
    for key in STORAGE_KEYS + ("elog_id", "data_tag", "history_object_id"):
        if key in bundle.wf_doc:
            dict.__setitem__(obj.metadata, key, bundle.wf_doc[key])
        elif key == "data_tag":
            dict.pop(obj.metadata, key, None)  # saved untagged: the object says so too
    dict.__setitem__(obj.metadata, "_id", bundle.wf_id)
    if bundle.history_docs and obj.history is not None:
        obj.history.clear({"wf_id": str(bundle.wf_id), "collection": bundle.collection,
                           "history_id": str(bundle.history_docs[0]["_id"])})
    obj.metadata.clear_modified()


# --- read side ----------------------------------------------------------------------

def _blank(collection: str, md: Mapping[str, Any], dt: float = 1.0, t0: float = 0.0):
    metadata = Metadata(md)
    metadata.clear_modified()
    if collection == "wf_Seismogram":
        return Seismogram(None, dt=dt, t0=t0, npts=0, metadata=metadata)
    return TimeSeries(None, dt=dt, t0=t0, npts=0, metadata=metadata)


def describe(doc: Mapping[str, Any]) -> str:
    """Short name of a wf document for error messages."""
    seed = ".".join(str(doc.get(k, "")) for k in ("net", "sta", "loc", "chan"))
    return f"document {doc.get('_id')} ({seed})" if seed.strip(".") else f"document {doc.get('_id')}"


def sample_location(doc: Mapping[str, Any]) -> str:
    if doc.get("storage_mode") == "gridfs":
        return f"GridFS file {doc.get('gridfs_id')}"
    return f"file {doc.get('dir', '')}/{doc.get('dfile', '')}"


def read_samples(doc: Mapping[str, Any], source: bytes | BinaryIO | BaseException | None,
                 storage_root: str | None, ncomp: int) -> tuple[np.ndarray, float | None, float | None]:
    """Samples of one document from bytes, an open file, or (file mode) the path itself."""
    where = f"{describe(doc)}: {sample_location(doc)}"
    fmt = doc.get("format", sample_io.BINARY)
    if fmt not in sample_io.FORMATS:
        raise sample_io.SampleReadError(f"{where}: unknown sample format {fmt!r}")
    if isinstance(source, BaseException):  # e.g. a GridFS fetch that failed upstream
        raise sample_io.SampleReadError(f"{where}: {source}")
    if isinstance(source, (bytes, bytearray, memoryview)):
        buf = bytes(source)
    else:
        foff, nbytes = doc.get("foff", 0), doc.get("nbytes")
        if nbytes is None:
            raise sample_io.SampleReadError(f"{where}: document has no nbytes")
        if source is not None:
            buf = sample_io.read_range(source, foff, nbytes, where)
        else:
            if storage_root is None:
                raise sample_io.SampleReadError(f"{where}: no storage root configured")
            path = sample_io.resolve_path(storage_root, doc.get("dir"), doc.get("dfile", ""))
            try:
                with open(path, "rb") as fh:
                    buf = sample_io.read_range(fh, foff, nbytes, where)
            except FileNotFoundError:
                raise sample_io.SampleReadError(f"{where}: file not found ({path})") from None
    if fmt == sample_io.MSEED:
        return sample_io.mseed_to_array(buf, where, ncomp)
    return sample_io.bytes_to_samples(buf, int(doc["npts"]), ncomp, where), None, None


def document_to_object(
    doc: Mapping[str, Any],
    samples: bytes | BinaryIO | None = None,
    *,
    collection: str = "wf_TimeSeries",
    mode: str = "promiscuous",
    schema: Schema | None = None,
    exclude_keys: Iterable[str] = (),
    storage_root: str | None = None,
    load_history: bool = False,
) -> TimeSeries | Seismogram:
    """Build an object from one wf document and its samples, without the database.

    ``samples``: the exact sample bytes (GridFS or pre-read), an open binary file
    positioned anywhere (read at ``foff``), or None to open ``storage_root/dir/dfile``.
    A failure never raises for bad data: the object comes back dead with an elog
    entry naming the document and the file.
    """
    check_mode(mode)
    check_wf_collection(collection)
    schema = schema or default_schema()
    skip = set(exclude_keys)
    md = {k: v for k, v in doc.items() if k not in skip}
    md, complaints, fatal = apply_mode(md, schema[collection], mode)
    ncomp = 3 if collection == "wf_Seismogram" else 1
    try:
        npts, dt, t0 = int(md["npts"]), float(md["delta"]), float(md["starttime"])
        if npts < 0 or not (math.isfinite(dt) and dt > 0 and math.isfinite(t0)):
            raise ValueError(f"npts={npts}, delta={dt}, starttime={t0}")
    except (KeyError, TypeError, ValueError) as exc:
        obj = _blank(collection, md)
        obj.kill(ALG_READ, f"{describe(doc)}: cannot build a time base from npts/delta/"
                 f"starttime ({type(exc).__name__}: {exc})", "Invalid")
        return obj
    tref = md.get("time_standard", "UTC")
    tref = tref if tref in ("UTC", "relative") else "UTC"
    obj = _blank(collection, md, dt, t0)
    obj.tref = tref
    for text in complaints:
        obj.elog.log(ALG_READ, f"{describe(doc)}: {text}", "Complaint")
    if fatal:
        obj.kill(ALG_READ, f"{describe(doc)}: {mode} read: " + "; ".join(fatal), "Invalid")
        return obj
    try:
        data, mdt, mt0 = read_samples(doc, samples, storage_root, ncomp)
        if ncomp == 1:
            obj.set_data(data)
        else:
            obj.data = np.ascontiguousarray(data)
            obj.tmatrix = np.asarray(md.get("tmatrix", np.eye(3)), dtype=np.float64).reshape(3, 3)
            obj.components = tuple(md.get("components", ("E", "N", "Z")))
        if mdt is not None:  # MiniSEED carries its own time base
            obj.dt, obj.t0 = mdt, mt0
    except (sample_io.SampleReadError, sample_io.StoragePathError, OSError) as exc:
        obj.kill(ALG_READ, str(exc), "Invalid")
        return obj
    except ValueError as exc:  # e.g. NaN/inf samples: name the document and file
        obj.kill(ALG_READ, f"{describe(doc)}: {sample_location(doc)}: {exc}", "Invalid")
        return obj
    if load_history:
        obj.history = ProcessingHistory("spark_seis")
        obj.history.clear({"wf_id": str(doc.get("_id")), "collection": collection})
    obj.metadata.clear_modified()
    return obj
