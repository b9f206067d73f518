"""Waveforms: MiniSEED (indexed in place), SAC, SPECFEM, ASDF, cut windows (binary)."""
from __future__ import annotations

import filecmp
import hashlib
import os
import shutil
from pathlib import Path
from typing import Any, Callable, Sequence

from .common import (BINARY_DIR, DEFAULT_WINDOW_MINUTES, KIND_SEMD, MSEED_DIR, OBSERVED, WF,
                     IngestSummary,
                     _event_name, _key_of_doc, _known, ingest_key)
from .sources import Sources, _source_for


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
