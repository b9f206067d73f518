"""ingest_paths: everything below some paths, in the right order."""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterable, Sequence

from .common import (DEFAULT_WINDOW_MINUTES, KIND_ASDF, KIND_MSEED, KIND_QUAKEML, KIND_SAC,
                     KIND_SEMD, KIND_STATIONXML, OBSERVED, IngestSummary, _ensure_key_index,
                     _reason)
from .discover import collect_files
from .metadata import ingest_quakeml, ingest_stationxml
from .sources import Sources
from .waveforms import ingest_asdf, ingest_cut, ingest_mseed, ingest_sac, ingest_semd


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
