"""Which event a waveform belongs to."""
from __future__ import annotations

from pathlib import Path


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
