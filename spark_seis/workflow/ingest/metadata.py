"""QuakeML -> source, StationXML -> site and channel."""
from __future__ import annotations

import os

from .common import IngestSummary


def ingest_quakeml(db, path: str | os.PathLike, summary: IngestSummary) -> None:
    add_catalog_report(summary, path, db.save_catalog(str(path)))


def add_catalog_report(summary: IngestSummary, path: str | os.PathLike, report) -> None:
    """save_catalog's counts, skips and notes (e.g. an event renamed) into the summary."""
    summary.added["source"] += report.saved
    summary.existing["source"] += report.duplicates
    summary.notes.extend(f"{path}: {note}" for note in report.notes)
    for reason in report.skipped:
        summary.skip(path, reason)


def ingest_stationxml(db, path: str | os.PathLike, summary: IngestSummary) -> None:
    out = db.save_inventory(str(path))
    for coll, report in out.items():
        summary.added[coll] += report.saved
        summary.existing[coll] += report.duplicates
        for reason in report.skipped:
            summary.skip(path, reason)

