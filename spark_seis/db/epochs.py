"""When two station-metadata epochs are the same one (save_inventory duplicates).

MsPASS's save_inventory refuses a site/channel whose net/sta/loc(/chan) match a
stored document and whose starttime and endtime each lie within 10 s of the
stored ones (``time_fudge_factor = 10.0`` in its ``_site_is_not_in_db`` /
``_channel_is_not_in_db``): StationXML epochs of one instrument re-downloaded
or rounded differently must not become a second epoch.
"""
from __future__ import annotations

from typing import Any, Mapping

EPOCH_TOLERANCE_S = 10.0


def duplicate_epoch_query(key: Mapping[str, Any],
                          tolerance: float = EPOCH_TOLERANCE_S) -> dict[str, Any]:
    """Query matching a stored epoch that ``key`` duplicates (codes equal, times within tolerance)."""
    query = {k: v for k, v in key.items() if k not in ("starttime", "endtime")}
    for edge in ("starttime", "endtime"):
        t = float(key[edge])
        query[edge] = {"$gt": t - tolerance, "$lt": t + tolerance}
    return query
