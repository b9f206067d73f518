"""Plan a repack of sample files so that each gather lives in one file (pure).

Reading a common-receiver gather stored in per-event files opens one file per
event (mspass-team/mspass#660: minutes instead of seconds). A repack copies the
byte range of every document of one gather (station, event or channel) into one
file, in a fixed order, and points the documents there. This module only
decides where every byte range goes; :mod:`spark_seis.engine.repack` moves them.

Target files are named after the gather and a digest of their layout (member ids
and sizes in order): the same gather planned twice gets the same name and the
same offsets, so a rerun after an interruption finds the files it already wrote,
and a gather whose membership changed gets a new file instead of overwriting one
that documents still point at.
"""
from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from typing import Any, Iterable, Mapping

GATHER_KEYS: dict[str, tuple[str, ...]] = {
    "station": ("net", "sta"),
    "event": ("source_id",),
    "channel": ("net", "sta", "loc", "chan"),
}
# order of the members inside a gather file: the order a gather is usually read in
MEMBER_ORDER: dict[str, tuple[str, ...]] = {
    "station": ("starttime", "source_id", "loc", "chan"),
    "event": ("net", "sta", "loc", "chan", "starttime"),
    "channel": ("starttime",),
}
TARGET_DIR = "repacked"
PROJECTION = ("_id", "storage_mode", "dir", "dfile", "foff", "nbytes", "data_tag",
              "net", "sta", "loc", "chan", "source_id", "starttime")

FileKey = tuple[Any, Any]  # (dir, dfile) as stored


@dataclass(frozen=True)
class Member:
    """One document's byte range: where it is (as stored) and where it goes."""

    wf_id: Any
    src_dir: Any
    src_dfile: str
    src_foff: Any  # as stored (None when the document has no foff: offset 0)
    nbytes: int
    dst_foff: int
    in_place: bool = False

    @property
    def read_offset(self) -> int:
        return int(self.src_foff or 0)


@dataclass(frozen=True)
class GatherPlan:
    """One target file: its members in file order."""

    name: str
    dir: str
    dfile: str
    members: tuple[Member, ...]

    @property
    def size(self) -> int:
        return sum(m.nbytes for m in self.members)

    @property
    def done(self) -> bool:
        return all(m.in_place for m in self.members)


@dataclass
class RepackPlan:
    by: str
    gathers: list[GatherPlan]
    skipped: dict[str, list[str]] = field(default_factory=dict)  # reason -> document ids
    sources: list[FileKey] = field(default_factory=list)  # files the members come from

    @property
    def pending(self) -> list[GatherPlan]:
        return [g for g in self.gathers if not g.done]

    @property
    def plan_id(self) -> str:
        digest = hashlib.sha1()
        for g in self.gathers:
            digest.update(f"{g.dir}/{g.dfile}\n".encode())
        return f"repack-{self.by}-{digest.hexdigest()[:16]}"


def check_by(by: str) -> str:
    if by not in GATHER_KEYS:
        raise ValueError(f"repack by {by!r}: expected one of {sorted(GATHER_KEYS)}")
    return by


_UNSAFE = re.compile(r"[^A-Za-z0-9_.-]+")


def safe_name(value: Any) -> str:
    """A path component from any value: no separators, no leading dots."""
    text = _UNSAFE.sub("_", "" if value is None else str(value)).lstrip(".")
    return text or "_"


def _sort_value(value: Any) -> tuple:
    # documents may mix types or lack a key: None first, then numbers, then text
    if value is None:
        return (0, 0.0, "")
    if isinstance(value, (int, float)):
        return (1, float(value), "")
    return (2, 0.0, str(value))


def _skip_reason(doc: Mapping[str, Any], by: str,
                 file_sizes: Mapping[FileKey, int | None]) -> str | None:
    if doc.get("storage_mode", "file") != "file":
        return "samples not in a file (GridFS)"
    if not doc.get("dfile"):
        return "no dfile"
    nbytes = doc.get("nbytes")
    if not isinstance(nbytes, int) or isinstance(nbytes, bool) or nbytes < 0:
        return "no valid nbytes"
    missing = [k for k in GATHER_KEYS[by] if doc.get(k) in (None, "") and k != "loc"]
    if missing:
        return f"no {missing[0]} (cannot tell its {by})"
    size = file_sizes.get((doc.get("dir"), doc.get("dfile")))
    if size is None:
        return "sample file missing or outside the storage root"
    foff = doc.get("foff") or 0
    if not isinstance(foff, int) or foff < 0 or foff + nbytes > size:
        return "byte range beyond the end of its file"
    return None


def gather_name(doc: Mapping[str, Any], by: str) -> str:
    return ".".join(safe_name(doc.get(k) or "") for k in GATHER_KEYS[by])


def plan_repack(docs: Iterable[Mapping[str, Any]], by: str,
                file_sizes: Mapping[FileKey, int | None]) -> RepackPlan:
    """Group ``docs`` into one file per (data_tag, gather), members in MEMBER_ORDER.

    ``file_sizes``: size of every (dir, dfile) the documents name, None if the
    file is missing. Documents that cannot be moved (GridFS, no nbytes, no
    gather key, missing file, range past the end) are listed in ``skipped`` and
    left where they are.
    """
    check_by(by)
    groups: dict[tuple[str, str], list[Mapping[str, Any]]] = {}
    skipped: dict[str, list[str]] = {}
    for doc in docs:
        reason = _skip_reason(doc, by, file_sizes)
        if reason:
            skipped.setdefault(reason, []).append(str(doc.get("_id")))
            continue
        tag = safe_name(doc.get("data_tag") or "untagged")
        groups.setdefault((tag, gather_name(doc, by)), []).append(doc)
    gathers = []
    sources: set[tuple[str, str]] = set()
    for (tag, name), members in sorted(groups.items()):
        members.sort(key=lambda d: tuple(_sort_value(d.get(k)) for k in MEMBER_ORDER[by])
                     + (str(d["_id"]),))
        digest = hashlib.sha1()
        for d in members:
            digest.update(f"{d['_id']}:{d['nbytes']}\n".encode())
        dir_ = f"{TARGET_DIR}/{by}/{tag}"
        dfile = f"{name}.{digest.hexdigest()[:12]}.bin"
        placed, offset = [], 0
        for d in members:
            in_place = (d.get("dir") == dir_ and d.get("dfile") == dfile
                        and (d.get("foff") or 0) == offset)
            placed.append(Member(d["_id"], d.get("dir"), d["dfile"], d.get("foff"),
                                 int(d["nbytes"]), offset, in_place))
            offset += int(d["nbytes"])
            if not in_place:
                sources.add((d.get("dir"), d["dfile"]))
        gathers.append(GatherPlan(f"{tag}/{name}", dir_, dfile, tuple(placed)))
    return RepackPlan(by, gathers, skipped,
                      sorted(sources, key=lambda k: (str(k[0] or ""), str(k[1]))))
