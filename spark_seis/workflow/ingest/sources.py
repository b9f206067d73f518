"""Which event a waveform belongs to."""
from __future__ import annotations

import bisect
import re
from pathlib import Path
from typing import Any, Sequence


class Sources:
    """The source documents (without QuakeML text), loaded once per ingest."""

    def __init__(self, db) -> None:
        self.db = db
        self.refresh()

    def refresh(self) -> None:
        self.docs = [d for d in self.db.db["source"].find({}, {"quakeml": 0})]
        self._names: dict[str, list[dict]] = {}  # event_id / resource-id tail -> sources
        for d in self.docs:
            for name in {d.get("event_id"), _short(d.get("resource_id"))} - {None, ""}:
                self._names.setdefault(str(name), []).append(d)
        self._folder_answers: dict[tuple, tuple[dict | None, str]] = {}
        # by origin time, so a trace finds its event by bisection, not by a scan of the
        # catalog (once per trace: a million traces x thousands of events otherwise)
        timed = sorted(((float(d["time"]), i) for i, d in enumerate(self.docs)
                        if d.get("time") is not None))
        self._times = [t for t, _ in timed]
        self._by_time = [self.docs[i] for _, i in timed]

    def _timed_between(self, lo: float, hi: float) -> list[dict]:
        """Sources with lo <= origin time <= hi, by time."""
        return self._by_time[bisect.bisect_left(self._times, lo):
                             bisect.bisect_right(self._times, hi)]

    def by_event(self, event: str) -> dict | None:
        from bson import ObjectId

        for d in self.docs:
            if str(event) in (str(d.get("event_id")), str(d["_id"]), str(d.get("resource_id"))):
                return d
        if ObjectId.is_valid(str(event)):
            return self.db.db["source"].find_one({"_id": ObjectId(str(event))}, {"quakeml": 0})
        return None

    def associate(self, start: float, end: float, window_minutes: float) -> tuple[dict | None, str]:
        """The one source whose origin time is within [start - window, end]."""
        lo = start - 60.0 * window_minutes
        hits = self._timed_between(lo, end)
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
        return self._timed_between(start, end)

    def for_synthetics(self, path: Path, roots: Sequence[Path] = ()) -> tuple[dict | None, str]:
        """The event a synthetic's path names, else the only event; or None and why.

        Folders are read from the file upwards; the first that names something
        decides: a known event id (``synthetics_2018p130600/``), or a token that
        looks like an event id (6+ characters, 4+ digits, not an iteration/step tag
        like ``i01s00``) of an event that is not in the database, which skips the
        file. Above the ingest root only known ids count. Only when no folder
        names anything does a database with a single event take the file.
        """
        path = Path(path).absolute()
        root = next((r for r in roots if r == path or r in path.parents), None)
        cache_key = (path.parent, root, root == path)
        if cache_key not in self._folder_answers:  # files of one folder share the answer
            self._folder_answers[cache_key] = self._event_of_folder(path, root)
        return self._folder_answers[cache_key]

    def _event_of_folder(self, path: Path, root: Path | None) -> tuple[dict | None, str]:
        scoped = set()
        if root == path:  # a file given by name: its own folder counts
            scoped = {path.parent}
        elif root is not None:
            scoped = {root, *[p for p in path.parents if root in p.parents]}
        for folder in path.parents:
            part = folder.name
            known = {id(d): d for name, docs in self._names.items() if _names(part, name)
                     for d in docs}
            if len(known) == 1:
                return next(iter(known.values())), ""
            if len(known) > 1:
                ids = ", ".join(sorted(str(d.get("event_id")) for d in known.values()))
                return None, (f"folder {part!r} names several events ({ids}): "
                              f"pass --event EVENT_ID")
            if folder in scoped:
                unknown = [t for t in re.split(r"[^A-Za-z0-9]+", part) if _event_like(t)]
                if unknown:
                    return None, (f"folder {part!r} names event {unknown[0]!r}, which is not "
                                  f"in the source collection: ingest its QuakeML first, or "
                                  f"pass --event EVENT_ID")
        if len(self.docs) == 1:
            return self.docs[0], ""
        if self.docs:
            return None, ("cannot tell which event these synthetics belong to: no folder "
                          "names one; pass --event EVENT_ID")
        return None, "no source in the database: ingest the QuakeML first or pass --event"


def _short(resource_id: Any) -> str | None:
    if not resource_id:
        return None
    parts = [p for p in re.split(r"[/=?&#]", str(resource_id)) if p.strip(". ")]
    return parts[-1] if parts else None


def _names(folder: str, name: str) -> bool:
    """``name`` appears in ``folder`` as a whole token (not inside a longer id)."""
    return re.search(rf"(?<![A-Za-z0-9]){re.escape(name)}(?![A-Za-z0-9])", folder) is not None


def _event_like(token: str) -> bool:
    return (len(token) >= 6 and sum(c.isdigit() for c in token) >= 4
            and re.fullmatch(r"[iI]\d+[sS]\d+", token) is None)


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
