"""Ingest files into the database: QuakeML, StationXML, MiniSEED, SAC, SPECFEM, ASDF.

Library part of ``spark-seis ingest``. Every function takes a
:class:`spark_seis.db.database.Database` and adds to an :class:`IngestSummary`;
nothing here prints (the CLI shows the progress and the summary).

Rules the misfit job relies on (``spark_seis.engine.misfit_job.build_plan``):
every ``wf_TimeSeries`` document carries ``net sta loc chan npts delta
starttime`` (epoch s), ``source_id`` (the ``_id`` of its ``source`` document)
and ``data_tag`` (``observed`` for data, the Config's synthetic tag such as
``synthetic_i01s00`` for synthetics, or an explicit ``tag``).

Idempotence: each trace has a deterministic key ``ingest_key`` =
``NET.STA.LOC.CHA|starttime in ms|data_tag|source_id``; a trace whose key is
already in ``wf_TimeSeries`` is not saved again (ingesting twice adds nothing).
Malformed files are skipped and named in the summary; they never abort an ingest.
"""
from __future__ import annotations

import filecmp
import hashlib
import os
import shutil
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator, Sequence

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


# ------------------------------------------------------------- classifying
def _sniff(path: Path, size: int = 4096) -> bytes:
    with open(path, "rb") as fh:
        return fh.read(size)


def classify(path: str | os.PathLike) -> str | None:
    """Kind of a file from its name and first bytes; None when it is not ours."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix in SEMD_SUFFIXES:
        return KIND_SEMD
    if suffix in ASDF_SUFFIXES:
        return KIND_ASDF
    if suffix == ".sac":
        return KIND_SAC
    head = _sniff(path)
    if head.startswith(b"\x89HDF"):
        return KIND_ASDF
    text = head.decode("latin-1").lower()
    if suffix in XML_SUFFIXES or text.lstrip().startswith("<?xml") or text.lstrip().startswith("<"):
        if "quakeml" in text or "<q:quakeml" in text:
            return KIND_QUAKEML
        if "fdsnstationxml" in text or "<network" in text:
            return KIND_STATIONXML
        return None
    if suffix in (".mseed", ".miniseed", ".ms"):
        return KIND_MSEED
    # no telling suffix (e.g. NZ.BFZ.10.HHE.D.2018.049): ask ObsPy's detectors
    try:
        from obspy.io.mseed.core import _is_mseed
        if _is_mseed(str(path)):
            return KIND_MSEED
        from obspy.io.sac.core import _is_sac
        if _is_sac(str(path)):
            return KIND_SAC
    except Exception:  # noqa: BLE001 - unreadable: let the caller name it
        return None
    return None


def collect_files(paths: Iterable[str | os.PathLike]) -> tuple[dict[str, list[Path]], list[tuple[str, str]]]:
    """Files below ``paths`` grouped by kind, in a stable order, plus unusable ones."""
    found: dict[str, list[Path]] = {k: [] for k in KIND_ORDER}
    unusable: list[tuple[str, str]] = []
    seen: set[Path] = set()
    for given in paths:
        root = Path(given)
        if not root.exists():
            raise FileNotFoundError(f"{root} does not exist")
        files = [root] if root.is_file() else sorted(
            p for p in root.rglob("*") if p.is_file() and not any(
                part.startswith(".") for part in p.relative_to(root).parts))
        for f in files:
            resolved = f.resolve()
            if resolved in seen:
                continue
            seen.add(resolved)
            try:
                kind = classify(f)
            except OSError as exc:
                unusable.append((str(f), f"cannot read: {exc}"))
                continue
            if kind is None:
                unusable.append((str(f), "not QuakeML, StationXML, MiniSEED, SAC, "
                                          "SPECFEM .semd or ASDF"))
            else:
                found[kind].append(f)
    return found, unusable


# ------------------------------------------------------------- sources
class Sources:
    """The source documents (without QuakeML text), loaded once per ingest."""

    def __init__(self, db) -> None:
        self.db = db
        self.refresh()

    def refresh(self) -> None:
        self.docs = [d for d in self.db.db["source"].find({}, {"quakeml": 0})]

    def by_event(self, event: str) -> dict | None:
        from bson import ObjectId

        for d in self.docs:
            if str(d.get("event_id")) == str(event) or str(d["_id"]) == str(event):
                return d
        if ObjectId.is_valid(str(event)):
            return self.db.db["source"].find_one({"_id": ObjectId(str(event))}, {"quakeml": 0})
        return None

    def associate(self, start: float, end: float, window_minutes: float) -> tuple[dict | None, str]:
        """The one source whose origin time is within [start - window, end]."""
        lo = start - 60.0 * window_minutes
        hits = [d for d in self.docs if d.get("time") is not None and lo <= float(d["time"]) <= end]
        if len(hits) == 1:
            return hits[0], ""
        if not hits:
            return None, (f"no source with origin time within the trace or "
                          f"{window_minutes:g} min before it (ingest the QuakeML first, "
                          f"or pass --event EVENT_ID)")
        names = ", ".join(sorted(str(h.get("event_id", h["_id"])) for h in hits))
        return None, f"several sources match ({names}); pass --event EVENT_ID"

    def within(self, start: float, end: float) -> list[dict]:
        """Every source whose origin time lies in [start, end], by time."""
        hits = [d for d in self.docs if d.get("time") is not None
                and start <= float(d["time"]) <= end]
        return sorted(hits, key=lambda d: float(d["time"]))

    def for_path(self, path: Path) -> dict | None:
        """A source whose event id appears in the file's path (e.g. synthetics_2018p130600/)."""
        text = str(path)
        hits = [d for d in self.docs if d.get("event_id") and str(d["event_id"]) in text]
        return hits[0] if len(hits) == 1 else None


def _event_name(doc: dict) -> str:
    from spark_seis.engine.normalization import event_name

    name = event_name(doc)
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in name) or str(doc["_id"])


# ------------------------------------------------------- QuakeML/StationXML
def ingest_quakeml(db, path: str | os.PathLike, summary: IngestSummary) -> None:
    before = db.db["source"].count_documents({})
    report = db.save_catalog(str(path))
    added = db.db["source"].count_documents({}) - before
    summary.added["source"] += added
    summary.existing["source"] += max(0, report.saved - added)
    for reason in report.skipped:
        summary.skip(path, reason)


def ingest_stationxml(db, path: str | os.PathLike, summary: IngestSummary) -> None:
    out = db.save_inventory(str(path))
    for coll, report in out.items():
        summary.added[coll] += report.saved
        summary.existing[coll] += report.duplicates
        for reason in report.skipped:
            summary.skip(path, reason)


# ----------------------------------------------------------- MiniSEED
def _sha1(path: Path) -> str:
    h = hashlib.sha1()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _copy_into_storage(db, path: Path) -> Path:
    """Copy into <storage_root>/mseed/; an identical file already there is reused."""
    target_dir = Path(db.storage_root) / MSEED_DIR
    target_dir.mkdir(parents=True, exist_ok=True)
    target = target_dir / path.name
    if path.resolve() == target.resolve():
        return target
    if target.exists():
        if filecmp.cmp(path, target, shallow=False):
            return target
        target = target_dir / f"{path.stem}.{_sha1(path)[:10]}{path.suffix}"
        if target.exists() and filecmp.cmp(path, target, shallow=False):
            return target
    tmp = target.with_name(f".{target.name}.tmp{os.getpid()}")
    shutil.copyfile(path, tmp)
    os.replace(tmp, target)
    return target


def ingest_mseed(db, path: str | os.PathLike, summary: IngestSummary, sources: Sources, *,
                 data_tag: str = OBSERVED, event: str | None = None,
                 window_minutes: float = DEFAULT_WINDOW_MINUTES) -> None:
    """Copy into the storage root, index with ``db.index_mseed``, set source_id and key."""
    from obspy import read

    path = Path(path)
    try:
        st = read(str(path), format="MSEED", headonly=True)
    except Exception as exc:  # noqa: BLE001 - ObsPy raises many types for bad files
        summary.skip(path, f"not readable as MiniSEED: {type(exc).__name__}: {exc}")
        return
    if not len(st):
        summary.skip(path, "no traces")
        return
    # one source per channel (the earliest segment decides)
    first: dict[str, Any] = {}
    for tr in sorted(st, key=lambda t: t.stats.starttime):
        first.setdefault(tr.id, tr)
    source_of: dict[str, dict] = {}
    for seed_id, tr in first.items():
        src, why = _source_for(sources, event, float(tr.stats.starttime.timestamp),
                               float(tr.stats.endtime.timestamp), window_minutes)
        if src is None:
            summary.skip(f"{path} [{seed_id}]", why)
            continue
        source_of[seed_id] = src
    if not source_of:
        return
    keys = {sid: ingest_key(tr.stats.network, tr.stats.station, tr.stats.location,
                            tr.stats.channel, tr.stats.starttime.timestamp, data_tag,
                            source_of[sid]["_id"])
            for sid, tr in first.items() if sid in source_of}
    if all(_known(db, k) for k in keys.values()):
        summary.existing[WF] += len(keys)
        return
    target = _copy_into_storage(db, path)
    report = db.index_mseed(target, data_tag=data_tag)
    for reason in report.skipped:
        summary.skip(path, reason)
    for wf_id in report.ids:
        doc = db.db[WF].find_one({"_id": wf_id})
        seed_id = f"{doc['net']}.{doc['sta']}.{doc['loc']}.{doc['chan']}"
        src = source_of.get(seed_id)
        if src is None:
            src, why = _source_for(sources, event, doc["starttime"],
                                   doc["starttime"] + doc["delta"] * (doc["npts"] - 1),
                                   window_minutes)
        if src is None:  # indexed but cannot be used: remove again, say why
            db.db[WF].delete_one({"_id": wf_id, "source_id": {"$exists": False}})
            summary.skip(f"{path} [{seed_id}]", why)
            continue
        if doc.get("ingest_key") and doc.get("source_id") is not None:
            summary.existing[WF] += 1
            continue
        key = _key_of_doc({**doc, "source_id": src["_id"], "data_tag": data_tag})
        if _known(db, key):  # same trace already ingested from another file
            db.db[WF].delete_one({"_id": wf_id})
            summary.existing[WF] += 1
            continue
        db.db[WF].update_one({"_id": wf_id}, {"$set": {
            "source_id": src["_id"], "data_tag": data_tag, "ingest_key": key}})
        summary.added[WF] += 1


def ingest_cut(db, path: str | os.PathLike, summary: IngestSummary, sources: Sources, *,
               cut: tuple[float, float], data_tag: str = OBSERVED,
               event: str | None = None, fmt: str | None = None) -> None:
    """Continuous records (MiniSEED/SAC): one window per event inside them.

    ``cut`` = (seconds before, seconds after) the origin time. Each window is saved
    as binary samples with its event's source_id, so a day-long file holding several
    events feeds each of them; an event whose window is not fully covered is cut to
    what the record holds and said so.
    """
    from obspy import UTCDateTime, read

    path = Path(path)
    before, after = cut
    if before < 0 or after <= 0:
        raise ValueError(f"cut window must be >= 0 s before and > 0 s after the origin, "
                         f"got {before} and {after}")
    try:
        st = read(str(path), format=fmt)
    except Exception as exc:  # noqa: BLE001 - ObsPy raises many types for bad files
        summary.skip(path, f"not readable: {type(exc).__name__}: {exc}")
        return
    st.merge(method=1, fill_value=None)
    for tr in st:
        t0, t1 = float(tr.stats.starttime.timestamp), float(tr.stats.endtime.timestamp)
        if event is not None:
            src = sources.by_event(event)
            events = [src] if src is not None else []
        else:
            events = sources.within(t0 - after, t1 + before)
        if not events:
            summary.skip(f"{path} [{tr.id}]", "no event whose cut window overlaps the record")
            continue
        for src in events:
            origin = float(src["time"])
            piece = tr.slice(UTCDateTime(origin - before), UTCDateTime(origin + after))
            if piece.stats.npts < 2:
                summary.skip(f"{path} [{tr.id} @ {_event_name(src)}]", "window outside the record")
                continue
            if hasattr(piece.data, "mask") and piece.data.mask.any():
                summary.skip(f"{path} [{tr.id} @ {_event_name(src)}]", "gap inside the window")
                continue
            _save_traces(db, [piece], src, data_tag, summary, str(path))


def _source_for(sources: Sources, event: str | None, start: float, end: float,
                window_minutes: float) -> tuple[dict | None, str]:
    if event is not None:
        src = sources.by_event(event)
        if src is None:
            return None, (f"event {event!r} is not in the source collection "
                          f"(ingest its QuakeML first)")
        return src, ""
    return sources.associate(start, end, window_minutes)


# ------------------------------------------- SAC / SPECFEM / ASDF: binary
def _station_links(db, net: str, sta: str, loc: str, chan: str, t0: float) -> dict:
    """channel_id / site_id of the epochs holding ``t0``, as index_mseed sets them."""
    epoch = {"starttime": {"$lte": t0}, "endtime": {"$gte": t0}}
    links = {}
    ch = db.db["channel"].find_one({"net": net, "sta": sta, "loc": loc, "chan": chan, **epoch},
                                   {"_id": 1})
    if ch is not None:
        links["channel_id"] = ch["_id"]
    site = db.db["site"].find_one({"net": net, "sta": sta, "loc": loc, **epoch}, {"_id": 1})
    if site is not None:
        links["site_id"] = site["_id"]
    return links


def _save_traces(db, traces: Sequence[Any], src: dict, data_tag: str,
                 summary: IngestSummary, label: str, extra: dict | None = None) -> None:
    """ObsPy traces -> one binary file per event and tag, keys checked first."""
    from spark_seis.core.ensemble import TimeSeriesEnsemble
    from spark_seis.core.timeseries import TimeSeries

    members = []
    for tr in traces:
        st = tr.stats
        key = ingest_key(st.network, st.station, st.location, st.channel,
                         st.starttime.timestamp, data_tag, src["_id"])
        if _known(db, key) or key in {m["ingest_key"] for m in members}:
            summary.existing[WF] += 1
            continue
        import numpy as np

        data = np.asarray(tr.data, dtype=np.float64)
        if data.size < 1 or not np.all(np.isfinite(data)):
            summary.skip(f"{label} [{tr.id}]", "empty or non-finite samples")
            continue
        links = _station_links(db, st.network, st.station, st.location, st.channel,
                               float(st.starttime.timestamp))
        members.append(TimeSeries(
            np.ascontiguousarray(data), dt=float(st.delta), t0=float(st.starttime.timestamp),
            metadata={"net": st.network, "sta": st.station, "loc": st.location,
                      "chan": st.channel, "source_id": src["_id"], "ingest_key": key,
                      **links, **(extra or {})}))
    if not members:
        return
    ens = TimeSeriesEnsemble(members)
    db.save_ensemble_data_binary_file(ens, dir=f"{BINARY_DIR}/{data_tag}",
                                      dfile=f"{_event_name(src)}.bin", data_tag=data_tag)
    summary.added[WF] += len(members)


def _save_each_with_its_event(db, traces: Sequence[Any], sources: Sources, event: str | None,
                              window_minutes: float, data_tag: str, summary: IngestSummary,
                              where: str, label: str = "") -> None:
    """Save each trace under the event it belongs to; skip (named) those with none."""
    for tr in traces:
        src, why = _source_for(sources, event, tr.stats.starttime.timestamp,
                               tr.stats.endtime.timestamp, window_minutes)
        if src is None:
            summary.skip(f"{where} [{tr.id}{' ' + label if label else ''}]", why)
            continue
        _save_traces(db, [tr], src, data_tag, summary, where)


def ingest_sac(db, path: str | os.PathLike, summary: IngestSummary, sources: Sources, *,
               data_tag: str = OBSERVED, event: str | None = None,
               window_minutes: float = DEFAULT_WINDOW_MINUTES) -> None:
    from obspy import read

    path = Path(path)
    try:
        st = read(str(path), format="SAC")
    except Exception as exc:  # noqa: BLE001
        summary.skip(path, f"not readable as SAC: {type(exc).__name__}: {exc}")
        return
    _save_each_with_its_event(db, st, sources, event, window_minutes, data_tag, summary,
                              str(path))


def ingest_semd(db, paths: Sequence[Path], summary: IngestSummary, sources: Sources, *,
                data_tag: str, event: str | None = None,
                progress: Callable[[str], None] | None = None) -> None:
    """SPECFEM synthetics: absolute time = origin time of the event + first time value.

    The event comes from ``event``, else from an event id in the file's path,
    else from the only source in the database. One binary file per event + tag.
    """
    from obspy import UTCDateTime

    from spark_seis.io.specfem import read_semd

    by_source: dict[Any, tuple[dict, list]] = {}
    for path in paths:
        if progress:
            progress(str(path))
        if event is not None:
            src, why = _source_for(sources, event, 0.0, 0.0, 0.0)
        else:
            src = sources.for_path(path) or (sources.docs[0] if len(sources.docs) == 1 else None)
            why = ("cannot tell which event these synthetics belong to: pass --event "
                   "EVENT_ID" if sources.docs else
                   "no source in the database: ingest the QuakeML first or pass --event")
        if src is None:
            summary.skip(path, why)
            continue
        try:
            st = read_semd(path, UTCDateTime(float(src["time"])))
        except Exception as exc:  # noqa: BLE001
            summary.skip(path, f"not a SPECFEM two-column trace: {type(exc).__name__}: {exc}")
            continue
        summary.files[KIND_SEMD] += 1
        by_source.setdefault(src["_id"], (src, []))[1].extend(st)
    for src, traces in by_source.values():
        _save_traces(db, traces, src, data_tag, summary, f"SPECFEM ({_event_name(src)})",
                     extra={"time_offset": float(traces[0].stats.time_offset)}
                     if len({float(t.stats.time_offset) for t in traces}) == 1 else None)


def ingest_asdf(db, path: str | os.PathLike, summary: IngestSummary, sources: Sources, *,
                tags: Sequence[str] | None = None, tag_map: dict[str, str] | None = None,
                data_tag: str | None = None, event: str | None = None,
                window_minutes: float = DEFAULT_WINDOW_MINUTES) -> None:
    """Events, StationXML and waveforms (by tag) of one ASDF file.

    ``tags`` restricts the waveform tags read; ``tag_map`` renames a tag to the
    data_tag stored (e.g. ``{"synthetic": "synthetic_i01s00"}``); ``data_tag``
    stores every tag under that one data_tag.
    """
    import warnings

    import pyasdf

    path = Path(path)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            ds = pyasdf.ASDFDataSet(str(path), mode="r")
    except Exception as exc:  # noqa: BLE001
        summary.skip(path, f"not readable as ASDF: {type(exc).__name__}: {exc}")
        return
    try:
        if len(ds.events):
            before = db.db["source"].count_documents({})
            db.save_catalog(ds.events)
            summary.added["source"] += db.db["source"].count_documents({}) - before
            sources.refresh()
        file_event = event
        if file_event is None and len(ds.events) == 1:
            file_event = str(ds.events[0].resource_id).split("/")[-1]
        for name in ds.waveforms.list():
            acc = ds.waveforms[name]
            if "StationXML" in acc.list():
                out = db.save_inventory(acc.StationXML)
                for coll, report in out.items():
                    summary.added[coll] += report.saved
                    summary.existing[coll] += report.duplicates
            for tag in acc.get_waveform_tags():
                if tags and tag not in tags:
                    continue
                stored_tag = data_tag or (tag_map or {}).get(tag, tag)
                try:
                    st = acc[tag]
                except Exception as exc:  # noqa: BLE001
                    summary.skip(f"{path} [{name}/{tag}]", f"{type(exc).__name__}: {exc}")
                    continue
                _save_each_with_its_event(db, st, sources, file_event, window_minutes,
                                          stored_tag, summary, str(path), label=tag)
    finally:
        del ds


# ------------------------------------------------------------------ driver
@dataclass
class IngestOptions:
    observed_tag: str = OBSERVED
    synthetic_tag: str = "synthetic"
    tag: str | None = None                  # overrides both
    event: str | None = None
    window_minutes: float = DEFAULT_WINDOW_MINUTES
    asdf_tags: Sequence[str] | None = None
    cut: tuple[float, float] | None = None  # (s before, s after origin) for continuous data


def ingest_paths(db, paths: Iterable[str | os.PathLike], options: IngestOptions | None = None,
                 progress: Callable[[int, int, str], None] | None = None) -> IngestSummary:
    """Everything below ``paths``: QuakeML, then StationXML, then waveforms.

    ``progress(done, total, label)`` is called after each file.
    """
    options = options or IngestOptions()
    summary = IngestSummary()
    found, unusable = collect_files(paths)
    for what, why in unusable:
        summary.skip(what, why)
    _ensure_key_index(db)
    total = sum(len(v) for v in found.values())
    done = 0

    def tick(label: str) -> None:
        nonlocal done
        done += 1
        if progress:
            progress(done, total, label)

    for kind, handler in ((KIND_QUAKEML, ingest_quakeml), (KIND_STATIONXML, ingest_stationxml)):
        for path in found[kind]:
            try:
                handler(db, path, summary)
                summary.files[kind] += 1
            except Exception as exc:  # noqa: BLE001 - a bad file never aborts the ingest
                summary.skip(path, _reason(exc))
            tick(path.name)
    sources = Sources(db)
    observed = options.tag or options.observed_tag
    synthetic = options.tag or options.synthetic_tag
    for kind, handler in ((KIND_MSEED, ingest_mseed), (KIND_SAC, ingest_sac)):
        for path in found[kind]:
            try:
                if options.cut is not None:
                    ingest_cut(db, path, summary, sources, cut=options.cut, data_tag=observed,
                               event=options.event,
                               fmt="MSEED" if kind == KIND_MSEED else "SAC")
                else:
                    handler(db, path, summary, sources, data_tag=observed,
                            event=options.event, window_minutes=options.window_minutes)
                summary.files[kind] += 1
            except Exception as exc:  # noqa: BLE001
                summary.skip(path, _reason(exc))
            tick(path.name)
    if found[KIND_SEMD]:
        try:
            ingest_semd(db, found[KIND_SEMD], summary, sources, data_tag=synthetic,
                        event=options.event, progress=lambda label: tick(Path(label).name))
        except Exception as exc:  # noqa: BLE001
            summary.skip("SPECFEM synthetics", _reason(exc))
    for path in found[KIND_ASDF]:
        try:
            ingest_asdf(db, path, summary, sources, tags=options.asdf_tags,
                        data_tag=options.tag, event=options.event,
                        window_minutes=options.window_minutes)
            summary.files[KIND_ASDF] += 1
        except Exception as exc:  # noqa: BLE001
            summary.skip(path, _reason(exc))
        tick(path.name)
    return summary


def _reason(exc: Exception) -> str:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def iter_wf_keys(db) -> Iterator[str]:
    """Every ingest key in wf_TimeSeries (for checks and tests)."""
    for doc in db.db[WF].find({"ingest_key": {"$exists": True}}, {"ingest_key": 1}):
        yield doc["ingest_key"]
