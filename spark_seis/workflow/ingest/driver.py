"""ingest_paths: everything below some paths, in the right order."""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterable, Sequence

from spark_seis.db.safe_names import check_tag

from .common import (DEFAULT_WINDOW_MINUTES, KIND_ASDF, KIND_MSEED, KIND_QUAKEML, KIND_SAC,
                     KIND_SEMD, KIND_STATIONXML, OBSERVED, IngestStopped, IngestSummary,
                     StoringError, _ensure_key_index, _reason, storage_failure)
from .discover import collect_files
from .metadata import ingest_quakeml, ingest_stationxml
from .sources import Sources
from .waveforms import (CandidateBatch, ingest_asdf, ingest_cut, ingest_mseed, ingest_sac,
                        ingest_semd)


@dataclass
class IngestOptions:
    observed_tag: str = OBSERVED
    synthetic_tag: str = "synthetic"
    tag: str | None = None                  # overrides both
    event: str | None = None
    window_minutes: float = DEFAULT_WINDOW_MINUTES
    asdf_tags: Sequence[str] | None = None
    cut: tuple[float, float] | None = None  # (s before, s after origin) for continuous data


Listing = tuple[dict[str, list[Path]], list[tuple[str, str]]]  # collect_files' answer
Tick = Callable[[str], None]  # one file done (its name)
WAVEFORM_KINDS = (KIND_MSEED, KIND_SAC, KIND_SEMD)  # read file by file (Spark: on executors)


def waveform_tags(options: IngestOptions) -> tuple[str, str]:
    """(observed, synthetic) data_tag, checked as safe names."""
    return (check_tag(options.tag or options.observed_tag, "observed tag"),
            check_tag(options.tag or options.synthetic_tag, "synthetic tag"))


def stop_or_skip(summary: IngestSummary, what: object, exc: BaseException) -> None:
    """A file failed: skip it by name, or raise IngestStopped when storage itself failed."""
    if isinstance(exc, StoringError) and exc.__cause__ is not None:
        what, exc = exc.what, exc.__cause__
    cause = storage_failure(exc)
    if cause is not None:
        raise IngestStopped(what, cause, summary) from exc
    summary.skip(what, _reason(exc))


def ingest_paths(db, paths: Iterable[str | os.PathLike], options: IngestOptions | None = None,
                 progress: Callable[[int, int, str], None] | None = None,
                 listing: Listing | None = None) -> IngestSummary:
    """Everything below ``paths``: QuakeML, then StationXML, then waveforms.

    ``progress(done, total, label)`` is called after each file. A bad file is
    skipped and named; a full disk or database (or a database gone) raises
    :class:`IngestStopped` naming the file and the cause, since every later file
    would fail the same way. ``listing``: ``collect_files(paths)`` when the
    caller already has it.
    """
    options = options or IngestOptions()
    found, roots, summary, tick = start_ingest(db, paths, options, progress, listing)
    ingest_metadata(db, found, summary, tick)
    sources = Sources(db)
    ingest_waveforms(db, found, summary, sources, options, roots, tick)
    ingest_asdf_files(db, found[KIND_ASDF], summary, sources, options, tick)
    return summary


def start_ingest(db, paths: Iterable[str | os.PathLike], options: IngestOptions,
                 progress: Callable[[int, int, str], None] | None,
                 listing: Listing | None) -> tuple[dict[str, list[Path]], list[Path],
                                                   IngestSummary, Callable[..., None]]:
    """What the serial and the Spark ingest do before any file: check the tags, list
    the files (unusable ones go in the summary), make sure of the identity index, and
    a ``tick(label, n=1)`` that reports progress over the whole listing."""
    waveform_tags(options)
    paths = list(paths)
    roots = [Path(p).absolute() for p in paths]
    summary = IngestSummary()
    found, unusable = listing or collect_files(paths)
    for what, why in unusable:
        summary.ignore(what, why)
    _ensure_key_index(db)
    total = sum(len(v) for v in found.values())
    done = 0

    def tick(label: str, n: int = 1) -> None:
        nonlocal done
        done += n
        if progress:
            progress(done, total, label)

    return found, roots, summary, tick


def ingest_metadata(db, found: dict[str, list[Path]], summary: IngestSummary, tick: Tick) -> None:
    """QuakeML, then StationXML (before any waveform: they give events and stations)."""
    for kind, handler in ((KIND_QUAKEML, ingest_quakeml), (KIND_STATIONXML, ingest_stationxml)):
        for path in found.get(kind, ()):
            try:
                handler(db, path, summary)
                summary.files[kind] += 1
            except Exception as exc:  # noqa: BLE001 - a bad file never aborts the ingest
                stop_or_skip(summary, path, exc)
            tick(path.name)


def ingest_waveforms(db, found: dict[str, list[Path]], summary: IngestSummary, sources: Sources,
                     options: IngestOptions, roots: Sequence[Path], tick: Tick) -> None:
    """MiniSEED, SAC and SPECFEM files, each on its own (any slice of a listing:
    the Spark ingest calls this on the executors with their share of the files)."""
    observed, synthetic = waveform_tags(options)
    batch = CandidateBatch(db, summary, "MiniSEED")
    for kind, handler in ((KIND_MSEED, ingest_mseed), (KIND_SAC, ingest_sac)):
        for path in found.get(kind, ()):
            try:
                if options.cut is not None:
                    ingest_cut(db, path, summary, sources, cut=options.cut, data_tag=observed,
                               event=options.event,
                               fmt="MSEED" if kind == KIND_MSEED else "SAC")
                elif kind == KIND_MSEED:
                    ingest_mseed(db, path, summary, sources, data_tag=observed,
                                 event=options.event, window_minutes=options.window_minutes,
                                 batch=batch)
                else:
                    handler(db, path, summary, sources, data_tag=observed,
                            event=options.event, window_minutes=options.window_minutes)
                summary.files[kind] += 1
            except Exception as exc:  # noqa: BLE001
                stop_or_skip(summary, path, exc)
            tick(path.name)
        try:
            batch.flush()
        except Exception as exc:  # noqa: BLE001
            stop_or_skip(summary, "MiniSEED files", exc)
    if found.get(KIND_SEMD):
        try:
            ingest_semd(db, found[KIND_SEMD], summary, sources, data_tag=synthetic,
                        event=options.event, roots=roots,
                        progress=lambda label: tick(Path(label).name))
        except Exception as exc:  # noqa: BLE001
            stop_or_skip(summary, "SPECFEM synthetics", exc)


def ingest_asdf_files(db, paths: Sequence[Path], summary: IngestSummary, sources: Sources,
                      options: IngestOptions, tick: Tick) -> None:
    """ASDF files (they may hold events and stations too: on the driver, one by one)."""
    for path in paths:
        try:
            ingest_asdf(db, path, summary, sources, tags=options.asdf_tags,
                        data_tag=options.tag, event=options.event,
                        window_minutes=options.window_minutes)
            summary.files[KIND_ASDF] += 1
        except Exception as exc:  # noqa: BLE001
            stop_or_skip(summary, path, exc)
        tick(path.name)
