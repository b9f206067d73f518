"""Shared pieces of ingest: constants, the summary, deterministic trace keys."""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from spark_seis.db.normalize import event_name

WF = "wf_TimeSeries"
OBSERVED = "observed"
DEFAULT_WINDOW_MINUTES = 60.0
MSEED_DIR = "mseed"          # <storage_root>/mseed/<file>: copies of observed MiniSEED
BINARY_DIR = "ingest"        # <storage_root>/ingest/<data_tag>/<event>.bin

KIND_QUAKEML = "quakeml"
KIND_STATIONXML = "stationxml"
KIND_MSEED = "mseed"
KIND_SAC = "sac"
KIND_SEMD = "semd"
KIND_ASDF = "asdf"
KIND_ORDER = (KIND_QUAKEML, KIND_STATIONXML, KIND_MSEED, KIND_SAC, KIND_SEMD, KIND_ASDF)
SEMD_SUFFIXES = (".semd", ".semv", ".sema", ".semp")
ASDF_SUFFIXES = (".h5", ".hdf5", ".asdf")
XML_SUFFIXES = (".xml", ".quakeml", ".qml")



@dataclass
class IngestSummary:
    """What an ingest added, what was already there, and what was skipped and why."""

    added: Counter = field(default_factory=Counter)      # collection -> new documents
    existing: Counter = field(default_factory=Counter)   # collection -> already present
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (file or item, reason)
    files: Counter = field(default_factory=Counter)      # kind -> files handled

    def skip(self, what: Any, reason: str) -> None:
        self.skipped.append((str(what), reason))

    @property
    def total_added(self) -> int:
        return sum(self.added.values())

    def lines(self) -> list[str]:
        """Human summary, one fact per line."""
        out = []
        kinds = ", ".join(f"{n} {k}" for k, n in sorted(self.files.items())) or "none"
        out.append(f"files read: {kinds}")
        colls = ("source", "site", "channel", WF)
        out.append("added: " + ", ".join(f"{c} {self.added.get(c, 0)}" for c in colls))
        if sum(self.existing.values()):
            out.append("already in the database (not added again): " + ", ".join(
                f"{c} {n}" for c, n in sorted(self.existing.items()) if n))
        if self.skipped:
            out.append(f"skipped {len(self.skipped)}:")
            out.extend(f"  {what}: {reason}" for what, reason in self.skipped)
        return out


# ------------------------------------------------------------------ keys
def ingest_key(net: str, sta: str, loc: str, chan: str, starttime: float,
               data_tag: str, source_id: Any) -> str:
    """Deterministic key of one trace (start time rounded to the millisecond)."""
    return (f"{net}.{sta}.{loc or ''}.{chan}|{int(round(float(starttime) * 1000))}|"
            f"{data_tag}|{source_id}")


def _key_of_doc(doc: dict) -> str:
    return ingest_key(doc.get("net", ""), doc.get("sta", ""), doc.get("loc", ""),
                      doc.get("chan", ""), doc["starttime"], doc.get("data_tag", ""),
                      doc.get("source_id"))


def _known(db, key: str) -> bool:
    return db.db[WF].find_one({"ingest_key": key}, {"_id": 1}) is not None


def _ensure_key_index(db) -> None:
    db.db[WF].create_index([("ingest_key", 1)])


def _event_name(doc: dict) -> str:
    """The event id as a safe file-name part."""
    name = event_name(doc)
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in name) or str(doc["_id"])


def _reason(exc: Exception) -> str:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__
