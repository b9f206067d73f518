"""Sample data in files (dir/dfile/foff/nbytes) or in a GridFS-layout store.

Formats: "binary" = raw little-endian float64 (TimeSeries: npts values;
Seismogram: 3 x npts row-major); "mseed" = MiniSEED records read with ObsPy (files
ingested as they are). Nothing here unpickles anything. Paths that resolve outside
the storage root are refused, so a document cannot make a worker read or write
elsewhere (``..`` or absolute-path escapes).
"""
from __future__ import annotations

import datetime as _dt
import fcntl
import io
import os
from pathlib import Path
from typing import Any, BinaryIO, Iterable

import numpy as np
from bson import ObjectId
from bson.binary import Binary

BINARY = "binary"
MSEED = "mseed"
FORMATS = (BINARY, MSEED)
GRIDFS_CHUNK_SIZE = 255 * 1024  # the GridFS default, so pymongo's gridfs can read ours


class StoragePathError(ValueError):
    """dir/dfile resolve outside the configured storage root."""


class SampleReadError(IOError):
    """Samples could not be read; the message names the file or GridFS id."""


def resolve_path(storage_root: str | os.PathLike, dir: str | None, dfile: str) -> Path:
    """root/dir/dfile resolved (symlinks, ``..``); refuses anything outside the root."""
    if not dfile:
        raise StoragePathError("dfile is empty")
    root = Path(storage_root).resolve()
    path = (root / (dir or "") / dfile).resolve()
    if path != root and root not in path.parents:
        raise StoragePathError(
            f"refusing {os.path.join(dir or '', dfile)!r}: it resolves to {path}, "
            f"outside the storage root {root}")
    return path


def samples_to_bytes(data: np.ndarray) -> bytes:
    """float64 little-endian, C order (3 x npts for a Seismogram)."""
    return np.ascontiguousarray(data, dtype="<f8").tobytes()


def bytes_to_samples(buf: bytes | memoryview, npts: int, ncomp: int, where: str) -> np.ndarray:
    expected = 8 * npts * ncomp
    if len(buf) != expected:
        raise SampleReadError(
            f"{where}: expected {expected} bytes ({ncomp} x {npts} float64), got {len(buf)} "
            f"(file truncated or foff/nbytes wrong)")
    array = np.frombuffer(buf, dtype="<f8").astype(np.float64)
    return array if ncomp == 1 else array.reshape(ncomp, npts)


def append_bytes(path: Path, payload: bytes) -> int:
    """Append under an exclusive flock (several processes may share one file); return foff."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "ab") as fh:
        fcntl.flock(fh.fileno(), fcntl.LOCK_EX)
        try:
            fh.seek(0, os.SEEK_END)
            foff = fh.tell()
            fh.write(payload)
            fh.flush()
        finally:
            fcntl.flock(fh.fileno(), fcntl.LOCK_UN)
    return foff


def append_many(path: Path, payloads: Iterable[bytes]) -> list[tuple[int, int]]:
    """Append several payloads with one open and one lock; return [(foff, nbytes)]."""
    path.parent.mkdir(parents=True, exist_ok=True)
    out: list[tuple[int, int]] = []
    with open(path, "ab") as fh:
        fcntl.flock(fh.fileno(), fcntl.LOCK_EX)
        try:
            fh.seek(0, os.SEEK_END)
            for payload in payloads:
                out.append((fh.tell(), len(payload)))
                fh.write(payload)
            fh.flush()
        finally:
            fcntl.flock(fh.fileno(), fcntl.LOCK_UN)
    return out


def read_range(fh: BinaryIO, foff: int, nbytes: int, where: str) -> bytes:
    fh.seek(int(foff))
    buf = fh.read(int(nbytes))
    if len(buf) != int(nbytes):
        raise SampleReadError(
            f"{where}: file truncated: wanted {nbytes} bytes at offset {foff}, got {len(buf)}")
    return buf


def mseed_to_array(buf: bytes, where: str, ncomp: int = 1,
                   expect_id: str | None = None) -> tuple[np.ndarray, float, float]:
    """MiniSEED bytes -> (samples, dt, t0) with ObsPy; gaps are an error, not silently filled.

    ``expect_id``: the NET.STA.LOC.CHA the bytes must hold (else SampleReadError)."""
    from obspy import read

    try:
        stream = read(io.BytesIO(buf), format="MSEED")
    except Exception as exc:  # noqa: BLE001 - ObsPy raises many kinds
        raise SampleReadError(f"{where}: not readable as MiniSEED: {exc}") from None
    if ncomp != 1:
        raise SampleReadError(f"{where}: MiniSEED holds single channels; "
                              f"a Seismogram must be stored as format 'binary'")
    stream.merge(method=-1)
    if len(stream) != 1:
        raise SampleReadError(f"{where}: MiniSEED range holds {len(stream)} traces "
                              f"({', '.join(sorted({tr.id for tr in stream}))}) or has gaps")
    tr = stream[0]
    if expect_id is not None and tr.id != expect_id:
        raise SampleReadError(f"{where}: MiniSEED range holds {tr.id}, its record headers "
                              f"say {expect_id}")
    if np.ma.isMaskedArray(tr.data):
        raise SampleReadError(f"{where}: MiniSEED range has gaps")
    return (np.asarray(tr.data, dtype=np.float64), float(tr.stats.delta),
            float(tr.stats.starttime.timestamp))


# --- GridFS layout (fs.files / fs.chunks) -----------------------------------------
# Written by hand so the same code works on the embedded store and on MongoDB, and
# MongoDB's own gridfs tools can read what we write.

def gridfs_put(database: Any, payload: bytes, filename: str | None = None,
               file_id: ObjectId | None = None, bucket: str = "fs") -> ObjectId:
    file_id = file_id or ObjectId()
    files, chunks = database[f"{bucket}.files"], database[f"{bucket}.chunks"]
    docs = [{"files_id": file_id, "n": i,
             "data": Binary(payload[off:off + GRIDFS_CHUNK_SIZE])}
            for i, off in enumerate(range(0, len(payload), GRIDFS_CHUNK_SIZE))]
    chunks.delete_many({"files_id": file_id})  # idempotent re-put with the same id
    if docs:
        chunks.insert_many(docs)
    files.replace_one({"_id": file_id}, {
        "_id": file_id, "length": len(payload), "chunkSize": GRIDFS_CHUNK_SIZE,
        "uploadDate": _dt.datetime.now(_dt.timezone.utc).replace(tzinfo=None),
        "filename": filename}, upsert=True)
    return file_id


def gridfs_get(database: Any, file_id: Any, bucket: str = "fs") -> bytes:
    files, chunks = database[f"{bucket}.files"], database[f"{bucket}.chunks"]
    meta = files.find_one({"_id": file_id})
    if meta is None:
        raise SampleReadError(f"GridFS file {file_id} not found")
    parts = list(chunks.find({"files_id": file_id}).sort("n", 1))
    payload = b"".join(bytes(p["data"]) for p in parts)
    if len(payload) != meta["length"]:
        raise SampleReadError(
            f"GridFS file {file_id}: {len(payload)} of {meta['length']} bytes present")
    return payload


def gridfs_get_many(database: Any, file_ids: Iterable[Any],
                    bucket: str = "fs") -> dict[Any, bytes | SampleReadError]:
    """Several GridFS files with two queries: {file_id: bytes, or the error for that file}.

    Executors read a whole group of documents this way instead of one round trip
    per datum; a missing or incomplete file is an error for its datum only.
    """
    ids = list(dict.fromkeys(file_ids))
    if not ids:
        return {}
    files, chunks = database[f"{bucket}.files"], database[f"{bucket}.chunks"]
    lengths = {d["_id"]: d["length"] for d in files.find({"_id": {"$in": ids}})}
    parts: dict[Any, list[tuple[int, bytes]]] = {i: [] for i in lengths}
    for chunk in chunks.find({"files_id": {"$in": list(lengths)}}):
        parts[chunk["files_id"]].append((int(chunk["n"]), bytes(chunk["data"])))
    out: dict[Any, bytes | SampleReadError] = {}
    for file_id in ids:
        if file_id not in lengths:
            out[file_id] = SampleReadError(f"GridFS file {file_id} not found")
            continue
        payload = b"".join(data for _n, data in sorted(parts[file_id], key=lambda p: p[0]))
        if len(payload) != lengths[file_id]:
            out[file_id] = SampleReadError(
                f"GridFS file {file_id}: {len(payload)} of {lengths[file_id]} bytes present")
        else:
            out[file_id] = payload
    return out


def gridfs_delete(database: Any, file_id: Any, bucket: str = "fs") -> None:
    database[f"{bucket}.chunks"].delete_many({"files_id": file_id})
    database[f"{bucket}.files"].delete_one({"_id": file_id})
