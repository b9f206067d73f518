"""Waveforms: MiniSEED (indexed in place), SAC, SPECFEM, ASDF, cut windows (binary).

Every trace goes through :func:`identity.store_candidates`: one document per
identity, a longer copy replaces a truncated one, a different copy is reported
naming both files, and concurrent ingests cannot duplicate a trace.
"""
from __future__ import annotations

import filecmp
import hashlib
import os
import shutil
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np

from spark_seis.db.safe_names import UnsafeNameError, check_seed_code, check_tag

from .common import (BINARY_DIR, DEFAULT_WINDOW_MINUTES, KIND_SEMD, MSEED_DIR, OBSERVED, WF,
                     IngestSummary, StoringError, _event_name, _reason, ingest_key)
from .identity import Candidate, sample_digest, store_candidates, wf_id_of
from .sources import Sources, _source_for


def _sha1(path: Path) -> str:
    h = hashlib.sha1()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _copy_into_storage(db, path: Path, digest: str) -> Path:
    """Copy into <storage_root>/mseed/; an identical file already there is reused.

    A different file of the same name gets ``<stem>.<sha1[:10]><suffix>``. The copy
    is linked into place only where nothing is (``os.link`` fails on an existing
    name), so a concurrent ingest of another file of that name cannot overwrite
    it; a failed copy (disk full) leaves no temporary file.
    """
    target_dir = Path(db.storage_root) / MSEED_DIR
    target_dir.mkdir(parents=True, exist_ok=True)
    plain = target_dir / path.name
    if path.resolve() == plain.resolve():
        return plain
    for target in (plain, target_dir / f"{path.stem}.{digest[:10]}{path.suffix}"):
        if not target.exists():
            tmp = target.with_name(f".{target.name}.tmp{os.getpid()}")
            try:
                try:
                    shutil.copyfile(path, tmp)
                except OSError as exc:  # say where it was going, not only what was read
                    raise OSError(exc.errno, exc.strerror, str(target)) from exc
                try:
                    os.link(tmp, target)
                except FileExistsError:
                    pass  # someone else put a file there meanwhile: compare below
                except OSError:  # no hard links on this filesystem
                    if not target.exists():
                        os.replace(tmp, target)
            finally:
                tmp.unlink(missing_ok=True)
        if filecmp.cmp(path, target, shallow=False):
            return target
    raise OSError(f"cannot copy {path} into {target_dir}: {target.name} exists with other "
                  f"content")


def _check_codes(net: str, sta: str, loc: str, chan: str) -> None:
    check_seed_code("network", net)
    check_seed_code("station", sta)
    check_seed_code("location", loc, empty_ok=True)
    check_seed_code("channel", chan)


class CandidateBatch:
    """Traces of consecutive files stored together: one write transaction per batch
    instead of per file (writers of a shared store wait for each other's commits).

    A trace whose key is already pending flushes the batch first, so a second copy
    is compared with the stored first one exactly as when files are stored one by one.
    """

    def __init__(self, db, summary: IngestSummary, what: str, size: int = 500) -> None:
        self.db, self.summary, self.what, self.size = db, summary, what, size
        self.cands: list[Candidate] = []
        self.keys: set[str] = set()
        self.labels: list[str] = []

    def add(self, cands: Sequence[Candidate], label: str) -> None:
        if any(c.key in self.keys for c in cands):
            try:
                self.flush()
            except StoringError as exc:  # this file was not stored either: name it too
                exc.what = f"{exc.what} and {label}"
                raise
        self.cands.extend(cands)
        self.keys.update(c.key for c in cands)
        self.labels.append(label)
        if len(self.cands) >= self.size:
            self.flush()

    def flush(self) -> None:
        cands, labels = self.cands, self.labels
        self.cands, self.keys, self.labels = [], set(), []
        if not cands:
            return
        try:
            store_candidates(self.db, cands, self.summary)
        except Exception as exc:  # noqa: BLE001 - name what was being stored, then re-raise
            raise StoringError(f"{len(labels)} {self.what} file(s) ({labels[0]}"
                               f"{', ...' if len(labels) > 1 else ''})") from exc


def ingest_mseed(db, path: str | os.PathLike, summary: IngestSummary, sources: Sources, *,
                 data_tag: str = OBSERVED, event: str | None = None,
                 window_minutes: float = DEFAULT_WINDOW_MINUTES,
                 batch: CandidateBatch | None = None) -> None:
    """Copy into the storage root, index each run of records, store each by identity
    (at once, or with ``batch`` together with the traces of the next files)."""
    from obspy import read

    from spark_seis.db.ingest import scan_mseed

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
        try:
            _check_codes(tr.stats.network, tr.stats.station, tr.stats.location,
                         tr.stats.channel)
        except UnsafeNameError as exc:
            summary.skip(f"{path} [{seed_id}]", str(exc))
            continue
        src, why = _source_for(sources, event, float(tr.stats.starttime.timestamp),
                               float(tr.stats.endtime.timestamp), window_minutes)
        if src is None:
            summary.skip(f"{path} [{seed_id}]", why)
            continue
        source_of[seed_id] = src
    if not source_of:
        return
    digest = _sha1(path)
    keys = [ingest_key(tr.stats.network, tr.stats.station, tr.stats.location,
                       tr.stats.channel, tr.stats.starttime.timestamp, data_tag,
                       source_of[sid]["_id"])
            for sid, tr in first.items() if sid in source_of]
    if all(_stored_from_same_file(db, k, digest) for k in keys):  # fast path: a rerun
        summary.existing[WF] += len(keys)
        return
    target = _copy_into_storage(db, path, digest)
    runs, report = scan_mseed(db, target)
    for reason in report.skipped:
        summary.skip(path, reason)
    cands = []
    for doc, data in runs:
        seed_id = f"{doc['net']}.{doc['sta']}.{doc['loc']}.{doc['chan']}"
        if seed_id in first and seed_id not in source_of:
            continue  # skipped above, with its reason
        src = source_of.get(seed_id)
        if src is None:  # a channel the header read did not list
            try:
                _check_codes(doc["net"], doc["sta"], doc["loc"], doc["chan"])
            except UnsafeNameError as exc:
                summary.skip(f"{path} [{seed_id}]", str(exc))
                continue
            src, why = _source_for(sources, event, doc["starttime"],
                                   doc["starttime"] + doc["delta"] * (doc["npts"] - 1),
                                   window_minutes)
            if src is None:
                summary.skip(f"{path} [{seed_id}]", why)
                continue
        key = ingest_key(doc["net"], doc["sta"], doc["loc"], doc["chan"], doc["starttime"],
                         data_tag, src["_id"])
        doc.update({"_id": wf_id_of(key), "source_id": src["_id"], "data_tag": data_tag,
                    "ingest_key": key, "sample_sha1": sample_digest(data),
                    "file_sha1": digest, "ingest_file": str(path.absolute())})
        cands.append(Candidate(doc, data, f"{path} [{seed_id}]"))
    if batch is None:
        store_candidates(db, cands, summary)
    else:
        batch.add(cands, str(path))


def _stored_from_same_file(db, key: str, digest: str) -> bool:
    doc = db.db[WF].find_one({"ingest_key": key}, {"file_sha1": 1})
    return doc is not None and doc.get("file_sha1") == digest


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
            _save_traces(db, [(piece, str(path))], src, data_tag, summary)


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


def _save_traces(db, items: Sequence[tuple[Any, str]], src: dict, data_tag: str,
                 summary: IngestSummary) -> set[str]:
    """(ObsPy trace, file it came from) pairs -> one binary file per event and tag.

    Each trace is checked on its own (codes, samples, sample interval), so one bad
    file is skipped by name and the others are stored. Returns the files skipped.
    """
    from spark_seis.core.timeseries import TimeSeries
    from spark_seis.db.documents import object_to_documents

    failed: set[str] = set()
    cands = []
    for tr, label in items:
        st = tr.stats
        where = f"{label} [{tr.id}]"
        try:
            _check_codes(st.network, st.station, st.location, st.channel)
            data = np.ascontiguousarray(tr.data, dtype=np.float64)
            if data.size < 1 or not np.all(np.isfinite(data)):
                raise ValueError("empty or non-finite samples")
            key = ingest_key(st.network, st.station, st.location, st.channel,
                             st.starttime.timestamp, data_tag, src["_id"])
            links = _station_links(db, st.network, st.station, st.location, st.channel,
                                   float(st.starttime.timestamp))
            extra = ({"time_offset": float(st.time_offset)}
                     if getattr(st, "time_offset", None) is not None else {})
            ts = TimeSeries(data, dt=float(st.delta), t0=float(st.starttime.timestamp),
                            metadata={"net": st.network, "sta": st.station, "loc": st.location,
                                      "chan": st.channel, "source_id": src["_id"],
                                      "ingest_key": key, **links, **extra})
            bundle = object_to_documents(ts, schema=db.schema, data_tag=data_tag,
                                         wf_id=wf_id_of(key))
        except (ValueError, TypeError, UnsafeNameError) as exc:
            summary.skip(where, _reason(exc))
            failed.add(label)
            continue
        if bundle.wf_doc is None:  # killed by the save rules: say why
            summary.skip(where, "; ".join(e.message for e in ts.elog) or "not savable")
            failed.add(label)
            continue
        bundle.wf_doc.update({"sample_sha1": sample_digest(data), "ingest_file": label})
        cands.append(Candidate(bundle.wf_doc, data, where, payload=bundle.samples))
    store_candidates(db, cands, summary,
                     location=(f"{BINARY_DIR}/{data_tag}", f"{_event_name(src)}.bin"))
    return failed


def _save_each_with_its_event(db, traces: Sequence[Any], sources: Sources, event: str | None,
                              window_minutes: float, data_tag: str, summary: IngestSummary,
                              where: str, label: str = "") -> None:
    """Save each trace under the event it belongs to; skip (named) those with none."""
    by_source: dict[Any, tuple[dict, list]] = {}
    for tr in traces:
        src, why = _source_for(sources, event, tr.stats.starttime.timestamp,
                               tr.stats.endtime.timestamp, window_minutes)
        if src is None:
            summary.skip(f"{where} [{tr.id}{' ' + label if label else ''}]", why)
            continue
        by_source.setdefault(src["_id"], (src, []))[1].append((tr, where))
    for src, items in by_source.values():
        _save_traces(db, items, src, data_tag, summary)


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


SEMD_PENDING_SAMPLES = 5_000_000  # ~40 MB of float64 read before it is stored


def ingest_semd(db, paths: Sequence[Path], summary: IngestSummary, sources: Sources, *,
                data_tag: str, event: str | None = None, roots: Sequence[Path] = (),
                progress: Callable[[str], None] | None = None) -> None:
    """SPECFEM synthetics: absolute time = origin time of the event + first time value.

    The event comes from ``event``, else from the folder that names it (see
    :meth:`Sources.for_synthetics`; ``roots`` are the paths given to ingest), else
    from the only source in the database. Each file is read and checked on its
    own: a bad one is skipped by name, the others are stored. One binary file
    per event + tag.
    """
    from obspy import UTCDateTime

    from spark_seis.io.specfem import read_semd

    by_source: dict[Any, tuple[dict, list]] = {}
    pending = 0  # samples read and not yet stored: memory stays bounded, whatever the folder

    def store_pending() -> None:
        for src, items in by_source.values():
            labels = sorted({label for _tr, label in items})
            try:
                failed = _save_traces(db, items, src, data_tag, summary)
            except Exception as exc:  # noqa: BLE001 - name what was being stored, then re-raise
                raise StoringError(f"{len(labels)} SPECFEM file(s) of event {_event_name(src)} "
                                   f"({labels[0]}{', ...' if len(labels) > 1 else ''})") from exc
            summary.files[KIND_SEMD] += len(set(labels) - failed)
        by_source.clear()

    for path in paths:
        if progress:
            progress(str(path))
        if event is not None:
            src, why = _source_for(sources, event, 0.0, 0.0, 0.0)
        else:
            src, why = sources.for_synthetics(path, roots)
        if src is None:
            summary.skip(path, why)
            continue
        try:
            st = read_semd(path, UTCDateTime(float(src["time"])))
            for tr in st:
                if not (np.isfinite(tr.stats.delta) and tr.stats.delta > 0):
                    raise ValueError(f"sample interval {tr.stats.delta} s from the time column")
        except Exception as exc:  # noqa: BLE001
            summary.skip(path, f"not a SPECFEM two-column trace: {_reason(exc)}")
            continue
        by_source.setdefault(src["_id"], (src, []))[1].extend((tr, str(path)) for tr in st)
        pending += sum(tr.stats.npts for tr in st)
        if pending >= SEMD_PENDING_SAMPLES:
            store_pending()
            pending = 0
    store_pending()


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
        file_event = event
        if len(ds.events):
            from .metadata import add_catalog_report

            report = db.save_catalog(ds.events)
            add_catalog_report(summary, path, report)
            sources.refresh()
            if file_event is None and len(ds.events) == 1 and len(report.ids) == 1:
                file_event = str(report.ids[0])
        for name in ds.waveforms.list():
            acc = ds.waveforms[name]
            if "StationXML" in acc.list():
                out = db.save_inventory(acc.StationXML)
                for coll, report in out.items():
                    summary.added[coll] += report.saved
                    summary.existing[coll] += report.duplicates
                    for reason in report.skipped:
                        summary.skip(f"{path} [{name}]", reason)
            for tag in acc.get_waveform_tags():
                if tags and tag not in tags:
                    continue
                stored_tag = data_tag or (tag_map or {}).get(tag, tag)
                try:
                    check_tag(stored_tag, "waveform tag")
                except UnsafeNameError as exc:
                    summary.skip(f"{path} [{name}/{tag}]", str(exc))
                    continue
                try:
                    st = acc[tag]
                except Exception as exc:  # noqa: BLE001
                    summary.skip(f"{path} [{name}/{tag}]", f"{type(exc).__name__}: {exc}")
                    continue
                _save_each_with_its_event(db, st, sources, file_event, window_minutes,
                                          stored_tag, summary, str(path), label=tag)
    finally:
        del ds
