"""One wf document per trace identity, safe under concurrent ingests.

The identity of an ingested trace is its ``ingest_key`` (NET.STA.LOC.CHA, start
time in ms, data_tag, source_id) and its document ``_id`` is derived from that
key, so the primary key is the unique index: two processes storing the same
trace cannot both insert it, on MongoDB or on the embedded store. What the key
does not say (how long the trace is, what its samples are) is kept next to it
(``npts``, ``sample_sha1``, ``ingest_file``) and decides what happens when a
second copy arrives:

- same samples: already in the database;
- the stored copy is a prefix of the new one (a truncated download ingested
  first): the document is replaced by the longer copy, keeping its ``_id``;
- the new copy is a prefix of the stored one: the stored copy stays;
- anything else: the new copy is not stored, and the skip names both files.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np
from pymongo.errors import BulkWriteError, DuplicateKeyError

from spark_seis.db import sample_io
from spark_seis.db.documents import derived_id

from .common import WF, IngestSummary

_RESOLVE_ATTEMPTS = 3


def wf_id_of(key: str) -> Any:
    """The ``_id`` of the wf document of an ingest key (deterministic)."""
    return derived_id("ingest", key)


def sample_digest(data: np.ndarray) -> str:
    """sha1 of the samples as float64 little-endian (what the misfit job reads)."""
    return hashlib.sha1(np.ascontiguousarray(data, dtype="<f8").tobytes()).hexdigest()


@dataclass
class Candidate:
    """A trace ready to be stored: its complete wf document and its samples."""

    doc: dict                    # with _id, ingest_key, sample_sha1, ingest_file
    data: np.ndarray
    label: str                   # "file [NET.STA.LOC.CHA]" for messages
    payload: bytes | None = None  # bytes to append to the binary file (None: in place)

    @property
    def key(self) -> str:
        return self.doc["ingest_key"]


def _where(doc: dict) -> str:
    return str(doc.get("ingest_file") or "/".join(
        str(p) for p in (doc.get("dir"), doc.get("dfile")) if p))


def _stored_samples(db, doc: dict) -> np.ndarray | None:
    """Samples of a stored wf document; None when they cannot be read."""
    try:
        if doc.get("storage_mode") == "gridfs":
            buf = sample_io.gridfs_get(db.db, doc["gridfs_id"])
            where = f"GridFS {doc['gridfs_id']}"
        else:
            path = sample_io.resolve_path(db.storage_root, doc.get("dir"), doc["dfile"])
            where = str(path)
            with open(path, "rb") as fh:
                buf = sample_io.read_range(fh, doc["foff"], doc["nbytes"], where)
        if doc.get("format") == sample_io.MSEED:
            return sample_io.mseed_to_array(buf, where)[0]
        return sample_io.bytes_to_samples(buf, int(doc["npts"]), 1, where)
    except Exception:  # noqa: BLE001 - unreadable in any way: the new copy is better
        return None


def _first_difference(a: np.ndarray, b: np.ndarray) -> int:
    n = min(a.size, b.size)
    diff = np.nonzero(a[:n] != b[:n])[0]
    return int(diff[0]) if diff.size else n


def _decide(db, stored: dict, cand: Candidate) -> tuple[str, str]:
    """("same" | "keep" | "replace" | "conflict", message) for a second copy."""
    old_where = _where(stored)
    if stored.get("sample_sha1") == cand.doc["sample_sha1"] and \
            stored.get("delta") == cand.doc.get("delta"):
        return "same", ""
    old = _stored_samples(db, stored)
    new = np.asarray(cand.data, dtype=np.float64)
    if old is None:
        return "replace", (f"{cand.label} replaced the copy from {old_where}, whose samples "
                           f"cannot be read any more")
    same_rate = np.isclose(float(stored.get("delta", 0.0)), float(cand.doc.get("delta", -1.0)),
                           rtol=1e-9, atol=0.0)
    prefix = _first_difference(old, new) == min(old.size, new.size)
    if same_rate and prefix and old.size == new.size:
        return "same", ""
    if same_rate and prefix and new.size > old.size:
        return "replace", (f"{cand.label} replaced the copy from {old_where}, which held only "
                           f"the first {old.size} of its {new.size} samples (truncated)")
    if same_rate and prefix:
        return "keep", (f"{cand.label} holds only the first {new.size} of the {old.size} "
                        f"samples already stored from {old_where}; kept the longer copy")
    what = (f"sample interval {cand.doc.get('delta')} s vs {stored.get('delta')} s"
            if not same_rate else
            f"{new.size} vs {old.size} samples, first difference at sample "
            f"{_first_difference(old, new)}")
    return "conflict", (f"conflicts with {old_where}: same channel, start time, data_tag and "
                        f"event, different samples ({what}); kept {old_where}, this copy "
                        f"was not stored (remove the wrong file, delete its document and "
                        f"ingest again)")


def _append_payloads(db, cands: Sequence[Candidate], location: tuple[str, str]) -> None:
    """Store binary samples (one open, one lock) and point each document at them."""
    todo = [c for c in cands if c.payload is not None]
    if not todo:
        return
    dir_, dfile = location
    path = sample_io.resolve_path(db.storage_root, dir_, dfile)
    for c, (foff, nbytes) in zip(todo, sample_io.append_many(path, [c.payload for c in todo])):
        c.doc.update({"dir": dir_, "dfile": dfile, "foff": foff, "nbytes": nbytes})
        c.payload = None


def _resolve(db, stored: dict, cand: Candidate, summary: IngestSummary,
             location: tuple[str, str] | None) -> None:
    """A copy whose key is taken: count it, replace the stored one, or report it."""
    coll = db.db[WF]
    for _attempt in range(_RESOLVE_ATTEMPTS):
        decision, message = _decide(db, stored, cand)
        if decision == "same":
            summary.existing[WF] += 1
            if "sample_sha1" not in stored:  # stored before digests were kept
                coll.update_one({"_id": stored["_id"]},
                                {"$set": {"sample_sha1": cand.doc["sample_sha1"]}})
            return
        if decision == "keep":
            summary.existing[WF] += 1
            summary.notes.append(message)
            return
        if decision == "conflict":
            summary.skip(cand.label, message)
            return
        if location is not None:
            _append_payloads(db, [cand], location)
        # replace only the copy we compared with: another process may have won meanwhile
        current = {"_id": stored["_id"], "dfile": stored.get("dfile"),
                   "foff": stored.get("foff")}
        res = coll.replace_one(current, {**cand.doc, "_id": stored["_id"]})
        if res.matched_count:
            summary.replaced[WF] += 1
            summary.notes.append(message)
            return
        stored = coll.find_one({"_id": stored["_id"]}) or stored
    summary.skip(cand.label, "the stored copy kept changing while it was compared "
                             "(another ingest of the same trace?); run the ingest again")


def store_candidates(db, cands: Sequence[Candidate], summary: IngestSummary,
                     location: tuple[str, str] | None = None) -> None:
    """Insert new traces, resolve the others; ``location`` = (dir, dfile) of binary samples.

    A key seen first here is inserted with its derived ``_id``; losing that insert
    to another process (E11000) is resolved like any second copy, so one clash
    never abandons the other traces of the file.
    """
    coll = db.db[WF]
    fresh: list[Candidate] = []
    batch: dict[str, Candidate] = {}
    for cand in cands:
        if cand.key in batch:  # twice in one input (e.g. an ASDF file)
            _resolve_in_batch(batch[cand.key], cand, summary)
            continue
        batch[cand.key] = cand
        stored = coll.find_one({"ingest_key": cand.key})
        if stored is None:
            fresh.append(cand)
        else:
            _resolve(db, stored, cand, summary, location)
    if not fresh:
        return
    if location is not None:
        _append_payloads(db, fresh, location)
    lost: list[Candidate] = []
    try:
        coll.insert_many([c.doc for c in fresh], ordered=False)
    except BulkWriteError as exc:
        errors = exc.details.get("writeErrors", [])
        if any(e.get("code") != 11000 for e in errors):
            raise
        lost = [fresh[e["index"]] for e in errors]
    except DuplicateKeyError:  # a store that reports a clash this way: one by one
        lost = []
        for cand in fresh:
            try:
                coll.insert_one(cand.doc)
            except DuplicateKeyError:
                lost.append(cand)
    summary.added[WF] += len(fresh) - len(lost)
    for cand in lost:
        stored = coll.find_one({"_id": cand.doc["_id"]})
        if stored is None:  # deleted meanwhile
            summary.skip(cand.label, "its document was deleted by another process while "
                                     "this one was stored; run the ingest again")
            continue
        _resolve(db, stored, cand, summary, location)


def _resolve_in_batch(first: Candidate, second: Candidate, summary: IngestSummary) -> None:
    if first.doc["sample_sha1"] == second.doc["sample_sha1"]:
        summary.existing[WF] += 1
        return
    summary.skip(second.label, f"conflicts with {first.label}: same channel, start time, "
                               f"data_tag and event, different samples; kept the first")
