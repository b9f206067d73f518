"""QuakeML -> source, StationXML -> site and channel."""
from __future__ import annotations

import os

from .common import IngestSummary


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
