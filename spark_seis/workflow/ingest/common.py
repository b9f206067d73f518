"""Shared pieces of ingest: constants, the summary, deterministic trace keys."""
from __future__ import annotations

import errno
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
    replaced: Counter = field(default_factory=Counter)   # collection -> better copy stored
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (file or item, reason)
    ignored: int = 0                                     # skipped files of no known kind
    notes: list[str] = field(default_factory=list)       # done for the user, said once
    files: Counter = field(default_factory=Counter)      # kind -> files handled

    def skip(self, what: Any, reason: str) -> None:
        self.skipped.append((str(what), reason))

    def ignore(self, what: Any, reason: str) -> None:
        """A file that is none of the formats ingest reads (listed, not an error)."""
        self.skip(what, reason)
        self.ignored += 1

    def merge(self, other: "IngestSummary") -> None:
        """Add another summary (e.g. one Spark task's) after this one's lines."""
        for mine, theirs in ((self.added, other.added), (self.existing, other.existing),
                             (self.replaced, other.replaced), (self.files, other.files)):
            mine.update(theirs)
        self.skipped.extend(other.skipped)
        self.ignored += other.ignored
        self.notes.extend(other.notes)

    @property
    def not_stored(self) -> int:
        """Inputs of a known kind (files, traces, events) that could not be stored."""
        return len(self.skipped) - self.ignored

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
        if sum(self.replaced.values()):
            out.append("replaced by a longer copy of the same trace: " + ", ".join(
                f"{c} {n}" for c, n in sorted(self.replaced.items()) if n))
        if self.notes:
            out.append(f"notes {len(self.notes)}:")
            out.extend(f"  {note}" for note in self.notes)
        if self.skipped:
            out.append(f"skipped {len(self.skipped)}:")
            out.extend(f"  {what}: {reason}" for what, reason in self.skipped)
        return out


class IngestStopped(RuntimeError):
    """Storage is full or gone (disk, database): a system error, not bad data.

    Every later file would fail the same way, so the ingest stops at the first
    one and says which file and why; what was stored before stays (a rerun
    adds only the rest).
    """

    def __init__(self, what: Any, cause: str, summary: "IngestSummary") -> None:
        super().__init__(f"ingest stopped at {what}: {cause}")
        self.what, self.cause, self.summary = str(what), cause, summary


class StoringError(RuntimeError):
    """Wraps a failure while storing several files at once, naming them (``what``)."""

    def __init__(self, what: str) -> None:
        super().__init__(what)
        self.what = what


_FULL_ERRNOS = {errno.ENOSPC: "no space left on device", errno.EDQUOT: "disk quota exceeded",
                errno.EROFS: "read-only file system", errno.EFBIG: "file too large"}
_FULL_TEXTS = ("database or disk is full", "disk is full", "no space left", "disk quota", "quota exceeded",
               "attempt to write a readonly database", "read-only file system",
               "disk i/o error", "out of disk space")


def storage_failure(exc: BaseException) -> str | None:
    """Why ``exc`` means nothing more can be stored (disk/database full, read-only,
    unreachable), or None when it is about the input itself."""
    from spark_seis.db.embedded import EmbeddedStoreError
    from spark_seis.db.retry import DatabaseUnavailableError

    seen = 0
    while exc is not None and seen < 5:
        seen += 1
        if isinstance(exc, EmbeddedStoreError):  # damaged, full or unwritable: it says which
            return str(exc).strip().splitlines()[0]
        if isinstance(exc, OSError) and exc.errno in _FULL_ERRNOS:
            where = f" ({exc.filename})" if getattr(exc, "filename", None) else ""
            return f"{_FULL_ERRNOS[exc.errno]}{where} [{errno.errorcode[exc.errno]}]"
        text = str(exc).strip()
        if any(t in text.lower() for t in _FULL_TEXTS):
            return f"{type(exc).__name__}: {text.splitlines()[0]}"
        if isinstance(exc, DatabaseUnavailableError):
            return f"database unavailable: {text.splitlines()[0] if text else ''}"
        try:
            from pymongo.errors import ConnectionFailure
        except ImportError:  # pragma: no cover - pymongo is a dependency
            ConnectionFailure = ()  # type: ignore[assignment]
        if ConnectionFailure and isinstance(exc, ConnectionFailure):
            return f"database unavailable: {type(exc).__name__}: {text.splitlines()[0] if text else ''}"
        exc = exc.__cause__ or exc.__context__
    return None


# ------------------------------------------------------------------ keys
def ingest_key(net: str, sta: str, loc: str, chan: str, starttime: float,
               data_tag: str, source_id: Any) -> str:
    """Deterministic key of one trace (start time rounded to the millisecond)."""
    return (f"{net}.{sta}.{loc or ''}.{chan}|{int(round(float(starttime) * 1000))}|"
            f"{data_tag}|{source_id}")


def _ensure_key_index(db) -> None:
    """Lookups by ingest_key; uniqueness comes from the wf ``_id``, derived from the key."""
    db.db[WF].create_index([("ingest_key", 1)])


def _event_name(doc: dict) -> str:
    """The event id as a safe file-name part (see ``spark_seis.db.safe_names``)."""
    return event_name(doc)


def _reason(exc: Exception) -> str:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__
