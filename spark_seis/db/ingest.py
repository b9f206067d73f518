"""Ingest: QuakeML -> source, StationXML -> site + channel, MiniSEED files -> wf_TimeSeries.

ObsPy parses the formats (we write no parser). Instrument responses are kept as
StationXML text and parsed again with ObsPy when needed (never pickled). A
malformed file raises one clear error naming it and stores nothing; a single bad
event or channel is skipped and reported, the rest are saved.
"""
from __future__ import annotations

import io
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bson import ObjectId
from pymongo.errors import DuplicateKeyError

from . import safe_names, sample_io
from .documents import derived_id
from .epochs import duplicate_epoch_query

if TYPE_CHECKING:
    from obspy import Catalog, Inventory

    from .database import Database

FAR_FUTURE = 32503680000.0  # 3000-01-01: stands for an open-ended StationXML epoch


class IngestError(ValueError):
    """A whole input file could not be parsed."""


@dataclass
class IngestReport:
    saved: int = 0
    duplicates: int = 0
    skipped: list[str] = field(default_factory=list)
    ids: list[ObjectId] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # what was done that a user should know


def _read(kind: str, reader: Any, source: Any) -> Any:
    try:
        return reader(source)
    except Exception as exc:  # noqa: BLE001 - ObsPy raises many types for bad files
        name = source if isinstance(source, (str, os.PathLike)) else type(source).__name__
        raise IngestError(f"cannot read {kind} from {name}: {type(exc).__name__}: {exc}") from None


def _epoch(t: Any, default: float) -> float:
    return default if t is None else float(t.timestamp)


def save_catalog(db: "Database", catalog: "Catalog | str | os.PathLike") -> IngestReport:
    """Events -> ``source`` documents, one per full resource id (rerun-safe).

    ``smi:agencyA/1001`` and ``smi:agencyB/1001`` are two events. Each gets a
    short ``event_id`` (the last segment of its resource id, as a safe file
    stem) when no other event holds it, else the longer ``agencyB_1001``;
    ``report.notes`` says so. The document ``_id`` is derived from that name,
    so two processes saving the same or clashing events at once cannot both
    take it (the primary key decides, on MongoDB and on the embedded store).
    """
    from obspy import Catalog, read_events

    cat = catalog if isinstance(catalog, Catalog) else _read("QuakeML", read_events, catalog)
    report = IngestReport()
    for i, event in enumerate(cat):
        origin = event.preferred_origin() or (event.origins[0] if event.origins else None)
        rid = str(event.resource_id)
        if origin is None or origin.latitude is None or origin.longitude is None:
            report.skipped.append(f"event {i} ({rid}): no origin with lat/lon")
            continue
        magnitude = event.preferred_magnitude() or (
            event.magnitudes[0] if event.magnitudes else None)
        buf = io.BytesIO()
        Catalog(events=[event]).write(buf, format="QUAKEML")
        doc = {"lat": float(origin.latitude), "lon": float(origin.longitude),
               "depth": None if origin.depth is None else float(origin.depth) / 1000.0,
               "time": float(origin.time.timestamp), "resource_id": rid,
               "magnitude": None if magnitude is None else float(magnitude.mag),
               "magnitude_type": None if magnitude is None else magnitude.magnitude_type,
               "quakeml": buf.getvalue().decode("utf-8")}
        try:
            _save_source(db.db["source"], rid, doc, report)
        except safe_names.UnsafeNameError as exc:
            report.skipped.append(f"event {i} ({rid}): {exc}")
    return report


def _save_source(coll: Any, rid: str, doc: dict, report: IngestReport) -> None:
    """Upsert one event under its resource id; a new event claims a unique event_id."""
    found = coll.find_one({"resource_id": rid}, {"_id": 1, "event_id": 1})
    if found is not None:
        coll.update_one({"_id": found["_id"]}, {"$set": doc})
        report.duplicates += 1
        report.ids.append(found["_id"])
        return
    short = safe_names.resource_id_short_name(rid)
    longer = safe_names.resource_id_long_name(rid)
    for name in dict.fromkeys([short, longer, safe_names.safe_file_stem(f"{longer}-{rid}")]):
        holder = coll.find_one({"event_id": name}, {"_id": 1, "resource_id": 1})
        if holder is not None and holder.get("resource_id") is None:
            # saved before resource ids were kept (that version keyed on the short name)
            coll.update_one({"_id": holder["_id"]}, {"$set": {**doc, "event_id": name}})
            report.duplicates += 1
            report.ids.append(holder["_id"])
            return
        if holder is not None:
            continue  # another event's name
        source_id = derived_id("source", name)
        try:
            coll.insert_one({"_id": source_id, **doc, "event_id": name})
        except DuplicateKeyError:  # another process took the name a moment ago
            holder = coll.find_one({"_id": source_id}, {"resource_id": 1})
            if holder is None or holder.get("resource_id") != rid:
                continue
            coll.update_one({"_id": source_id}, {"$set": doc})
            report.duplicates += 1
            report.ids.append(source_id)
            return
        report.saved += 1
        report.ids.append(source_id)
        if name != short:
            report.notes.append(f"event {rid}: named {name!r} because {short!r} is the "
                                f"name of another event (resource ids differ)")
        elif short != rid.rstrip("/").split("/")[-1]:
            report.notes.append(f"event {rid}: named {name!r} (a safe file name)")
        return
    raise safe_names.UnsafeNameError(f"no free event name for {rid}")


def _channel_stationxml(inv: "Inventory", net: Any, sta: Any, cha: Any) -> str:
    sub = inv.select(network=net.code, station=sta.code, location=cha.location_code,
                     channel=cha.code, starttime=cha.start_date, endtime=cha.end_date)
    # keep only this epoch even when several share the codes
    for n in sub:
        for s in n:
            s.channels = [c for c in s.channels if c.start_date == cha.start_date]
    buf = io.BytesIO()
    sub.write(buf, format="STATIONXML")
    return buf.getvalue().decode("utf-8")


def save_inventory(db: "Database", inventory: "Inventory | str | os.PathLike") -> dict[str, IngestReport]:
    """Stations -> ``site`` (one per net/sta/loc epoch), channels -> ``channel``.

    lat/lon in degrees, elev in km, hang = azimuth, vang = dip + 90 (from vertical
    up), response as StationXML text. A duplicate (same net, sta, loc[, chan],
    starttime and endtime each within 10 s, MsPASS's tolerance) is refused and
    counted in ``duplicates``.
    """
    from obspy import Inventory, read_inventory

    inv = inventory if isinstance(inventory, Inventory) else _read(
        "StationXML", read_inventory, inventory)
    site, chan = IngestReport(), IngestReport()
    for net in inv:
        for sta in net:
            try:
                safe_names.check_seed_code("network", net.code)
                safe_names.check_seed_code("station", sta.code)
            except safe_names.UnsafeNameError as exc:
                site.skipped.append(f"station {net.code}.{sta.code}: {exc}")
                continue
            sta_t0 = _epoch(sta.start_date, 0.0)
            sta_t1 = _epoch(sta.end_date, FAR_FUTURE)
            locs = sorted({c.location_code for c in sta.channels}) or [""]
            for loc in locs:
                key = {"net": net.code, "sta": sta.code, "loc": loc,
                       "starttime": sta_t0, "endtime": sta_t1}
                if db.db["site"].find_one(duplicate_epoch_query(key)) is not None:
                    site.duplicates += 1
                    continue
                doc = {**key, "lat": float(sta.latitude), "lon": float(sta.longitude),
                       "elev": float(sta.elevation) / 1000.0}
                _upsert_new(db.db["site"], key, doc, site)
            for cha in sta.channels:
                name = f"{net.code}.{sta.code}.{cha.location_code}.{cha.code}"
                key = {"net": net.code, "sta": sta.code, "loc": cha.location_code,
                       "chan": cha.code, "starttime": _epoch(cha.start_date, sta_t0),
                       "endtime": _epoch(cha.end_date, sta_t1)}
                if db.db["channel"].find_one(duplicate_epoch_query(key)) is not None:
                    chan.duplicates += 1
                    continue
                try:
                    safe_names.check_seed_code("location", cha.location_code, empty_ok=True)
                    safe_names.check_seed_code("channel", cha.code)
                    doc = {**key, "lat": float(cha.latitude), "lon": float(cha.longitude),
                           "elev": float(cha.elevation) / 1000.0,
                           "edepth": float(cha.depth or 0.0) / 1000.0,
                           "hang": float(cha.azimuth), "vang": float(cha.dip) + 90.0,
                           "sampling_rate": None if cha.sample_rate is None else float(cha.sample_rate),
                           "response_stationxml": _channel_stationxml(inv, net, sta, cha)}
                except (TypeError, ValueError) as exc:
                    chan.skipped.append(f"channel {name}: {type(exc).__name__}: {exc}")
                    continue
                _upsert_new(db.db["channel"], key, doc, chan)
    return {"site": site, "channel": chan}


def _upsert_new(coll: Any, key: dict, doc: dict, report: IngestReport) -> None:
    """Insert ``doc`` unless a document with ``key`` exists: one atomic upsert.

    The find before it is only a fast path; another process may insert the same
    station between the two, which is then counted as a duplicate instead of
    ending the whole file (a unique index backs ``key``).
    """
    try:
        rest = {k: v for k, v in doc.items() if k not in key}  # the key comes from the filter
        res = coll.update_one(key, {"$setOnInsert": rest}, upsert=True)
    except DuplicateKeyError:  # MongoDB: two upserts of one key at the same moment
        report.duplicates += 1
        return
    if res.upserted_id is None:
        report.duplicates += 1
    else:
        report.saved += 1
        report.ids.append(res.upserted_id)


def channel_response(channel_doc: dict) -> Any:
    """The obspy Response of a channel document, parsed from its StationXML text."""
    from obspy import read_inventory

    text = channel_doc.get("response_stationxml")
    if not text:
        raise ValueError(f"channel {channel_doc.get('_id')} has no response_stationxml")
    inv = read_inventory(io.BytesIO(text.encode("utf-8")), format="STATIONXML")
    response = inv[0][0][0].response
    if response is None or not (response.response_stages or response.instrument_sensitivity):
        seed = ".".join(str(channel_doc.get(k, "")) for k in ("net", "sta", "loc", "chan"))
        raise ValueError(f"channel {seed} ({channel_doc.get('_id')}): its StationXML has no "
                         f"instrument response")
    return response


def index_mseed(db: "Database", path: str | os.PathLike, *,
                data_tag: str | None = None) -> IngestReport:
    """One wf_TimeSeries document per contiguous run of records of one channel.

    The file stays as it is: documents hold dir/dfile relative to the storage root,
    foff/nbytes of the records and ``format: mseed``. Links site/channel ids when
    a matching channel epoch exists. (``spark_seis.workflow.ingest`` uses
    :func:`scan_mseed` instead, to give each trace its identity before saving.)
    """
    runs, report = scan_mseed(db, path)
    for doc, _data in runs:
        if data_tag is not None:
            doc["data_tag"] = data_tag
        key = {"dir": doc["dir"], "dfile": doc["dfile"], "foff": doc["foff"]}
        existing = db.db["wf_TimeSeries"].find_one(key)
        if existing is not None:
            report.duplicates += 1
            report.ids.append(existing["_id"])
            continue
        report.ids.append(db.db["wf_TimeSeries"].insert_one(doc).inserted_id)
        report.saved += 1
    return report


def scan_mseed(db: "Database", path: str | os.PathLike) -> tuple[list[tuple[dict, Any]], IngestReport]:
    """wf documents (not saved) and decoded samples of each run of records in a
    MiniSEED file below the storage root; unreadable runs are in ``report.skipped``."""
    from obspy.io.mseed.util import get_record_information

    root = Path(db.storage_root).resolve()
    full = Path(path).resolve()
    if root not in full.parents:
        raise sample_io.StoragePathError(
            f"refusing to index {full}: outside the storage root {root}")
    rel = full.relative_to(root)
    dir_, dfile = str(rel.parent) if str(rel.parent) != "." else "", rel.name
    size = full.stat().st_size
    if size == 0:
        raise IngestError(f"cannot index MiniSEED file {full}: the file is empty")
    report = IngestReport()
    runs: list[dict] = []
    with open(full, "rb") as fh:
        offset = 0
        while offset < size:
            try:
                info = get_record_information(fh, offset)
                if offset + info["record_length"] > size:
                    raise ValueError(f"record of {info['record_length']} bytes cut short: "
                                     f"the file ends {size - offset} bytes after its start")
                seed = _record_seed(fh, offset)
            except Exception as exc:  # noqa: BLE001
                if offset == 0:  # not a single record: the whole file is bad
                    raise IngestError(f"cannot index MiniSEED file {full}: no readable "
                                      f"record at offset 0: {exc}") from None
                report.skipped.append(f"{full}: unreadable record at offset {offset}: {exc}")
                break
            if runs and runs[-1]["seed"] == seed:
                runs[-1]["nbytes"] += info["record_length"]
            else:
                runs.append({"seed": seed, "foff": offset, "nbytes": info["record_length"]})
            offset += info["record_length"]
    out: list[tuple[dict, Any]] = []
    for run in runs:
        with full.open("rb") as fh_bytes:
            fh_bytes.seek(run["foff"])
            try:
                data, dt, t0 = sample_io.mseed_to_array(fh_bytes.read(run["nbytes"]),
                                                        f"{full} @ {run['foff']}",
                                                        expect_id=".".join(run["seed"]))
            except sample_io.SampleReadError as exc:
                report.skipped.append(str(exc))
                continue
        net, sta, loc, cha = run["seed"]
        doc = {"net": net, "sta": sta, "loc": loc, "chan": cha, "npts": int(data.size),
               "delta": dt, "sampling_rate": 1.0 / dt, "starttime": t0,
               "time_standard": "UTC", "storage_mode": "file", "format": sample_io.MSEED,
               "dir": dir_, "dfile": dfile, "foff": run["foff"], "nbytes": run["nbytes"]}
        epoch = {"starttime": {"$lte": t0}, "endtime": {"$gte": t0}}
        ch = db.db["channel"].find_one({"net": net, "sta": sta, "loc": loc, "chan": cha, **epoch})
        if ch is not None:
            doc["channel_id"] = ch["_id"]
        si = db.db["site"].find_one({"net": net, "sta": sta, "loc": loc, **epoch})
        if si is not None:
            doc["site_id"] = si["_id"]
        out.append((doc, data))
    return out, report


def _record_seed(fh, offset: int) -> tuple[str, str, str, str]:
    """(net, sta, loc, chan) of the record at ``offset``, from its fixed header.

    SEED 2.4 fixed header bytes 8-19: station (5), location (2), channel (3),
    network (2), space-padded ASCII. Read here because a full ObsPy read per
    record cost ~86% of ingesting a MiniSEED file (bench/RESULTS.md section 12);
    ObsPy then decodes each run and ``mseed_to_array(expect_id=...)`` checks
    that it names the same channel.
    """
    fh.seek(offset + 8)
    raw = fh.read(12)
    if len(raw) != 12:
        raise ValueError("record header cut short")
    text = raw.decode("ascii")
    return text[10:12].strip(), text[0:5].strip(), text[5:7].strip(), text[7:10].strip()
