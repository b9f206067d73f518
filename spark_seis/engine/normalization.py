"""Normalization data broadcast to executors for the misfit job.

Holds only text and plain dicts (source documents, StationXML text per
station), so the broadcast pickles without ObsPy objects; each executor parses
an event or inventory once and caches it for the rest of its partitions.
"""
from __future__ import annotations

import io
from dataclasses import dataclass, field
from typing import Any, Mapping

from obspy import Inventory, UTCDateTime, read_events, read_inventory
from obspy.core.event import Event, Magnitude, Origin, ResourceIdentifier

from spark_seis.db.normalize import event_name

QUAKEML_KEYS = ("quakeml", "quakeml_text")
STATIONXML_KEYS = ("response_stationxml", "stationxml")


@dataclass
class NormalizationTables:
    sources: dict[str, dict]                         # source_id -> source document
    stationxml: dict[str, list[str]]                 # "NET.STA" -> StationXML texts
    _events: dict[str, Event | None] = field(default_factory=dict, repr=False)
    _inventories: dict[str, Inventory | None] = field(default_factory=dict, repr=False)

    def __getstate__(self) -> dict:
        return {"sources": self.sources, "stationxml": self.stationxml}

    def __setstate__(self, state: dict) -> None:
        self.sources, self.stationxml = state["sources"], state["stationxml"]
        self._events, self._inventories = {}, {}

    def event(self, source_id: str) -> Event | None:
        if source_id not in self._events:
            doc = self.sources.get(str(source_id))
            self._events[source_id] = None if doc is None else source_doc_to_event(doc)
        return self._events[source_id]

    def event_name(self, source_id: str) -> str:
        doc = self.sources.get(str(source_id))
        return event_name(doc) if doc else str(source_id)

    def inventory(self, net: str, sta: str) -> Inventory | None:
        code = f"{net}.{sta}"
        if code not in self._inventories:
            parts = [read_inventory(io.BytesIO(text.encode()), format="STATIONXML")
                     for text in self.stationxml.get(code, ())]
            self._inventories[code] = merge_channel_inventories(parts)
        return self._inventories[code]


def source_doc_to_event(doc: Mapping[str, Any]) -> Event:
    for key in QUAKEML_KEYS:
        if doc.get(key):
            return read_events(io.BytesIO(str(doc[key]).encode()), format="QUAKEML")[0]
    origin = Origin(time=UTCDateTime(float(doc["time"])), latitude=float(doc["lat"]),
                    longitude=float(doc["lon"]), depth=float(doc.get("depth", 0.0)) * 1000.0)
    event = Event(resource_id=ResourceIdentifier(f"smi:local/{event_name(doc)}"),
                  origins=[origin])
    if doc.get("magnitude") is not None:
        event.magnitudes = [Magnitude(mag=float(doc["magnitude"]),
                                      magnitude_type=doc.get("magnitude_type"))]
    event.preferred_origin_id = origin.resource_id.id
    return event


def merge_channel_inventories(parts: list[Inventory]) -> Inventory | None:
    """One network/station holding every channel, when the parts agree on both.

    The database keeps one StationXML per channel epoch; writers and response
    removal want the station whole. Parts that disagree on codes or station
    epoch are kept side by side instead.
    """
    if not parts:
        return None
    merged = parts[0].copy()
    for part in parts[1:]:
        for net in part:
            for sta in net:
                target = next((s for n in merged if n.code == net.code for s in n
                               if s.code == sta.code and s.start_date == sta.start_date), None)
                if target is None:
                    merged.networks.append(net)
                else:
                    target.channels.extend(sta.channels)
    return merged


def stationxml_for(channel_docs: list[Mapping[str, Any]]) -> dict[str, list[str]]:
    """StationXML texts (one per channel epoch) grouped by NET.STA."""
    out: dict[str, list[str]] = {}
    for doc in channel_docs:
        code = f"{doc.get('net', '')}.{doc.get('sta', '')}"
        for key in STATIONXML_KEYS:
            if doc.get(key):
                out.setdefault(code, []).append(str(doc[key]))
                break
    return out
