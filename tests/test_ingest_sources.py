"""Which event a waveform belongs to, in a catalog of many events."""
from __future__ import annotations

import random

from spark_seis.db.client import get_client
from spark_seis.workflow.ingest import Sources


class _Db:
    def __init__(self, path):
        self.db = get_client(path=path)["t"]


def test_association_by_origin_time_matches_a_scan_of_every_event(tmp_path):
    """Events are found by bisection over origin times (a trace no longer scans the
    catalog); the answers, boundaries included, are those of a scan."""
    db = _Db(tmp_path / "store")
    rng = random.Random(7)
    times = sorted(rng.uniform(1.5e9, 1.6e9) for _ in range(3000))
    times[10] = times[11] = times[11]          # two events at the same second
    db.db["source"].insert_many([{"event_id": f"ev{i:04d}", "time": t}
                                 for i, t in enumerate(times)] + [{"event_id": "no_time"}])
    sources = Sources(db)

    def scan(lo, hi):
        return sorted((d for d in sources.docs if d.get("time") is not None
                       and lo <= float(d["time"]) <= hi), key=lambda d: float(d["time"]))

    probes = [(t - 600.0, t) for t in times[:50]] + [(t + 1e-3, t + 3600.0) for t in times[50:90]]
    probes += [(rng.uniform(1.5e9, 1.6e9), 0.0) for _ in range(200)]
    for lo, hi in probes:
        hi = hi or lo + rng.uniform(0, 3e5)
        assert [d["event_id"] for d in sources.within(lo, hi)] == \
            [d["event_id"] for d in scan(lo, hi)]
    hit, why = sources.associate(times[500] + 60.0, times[500] + 400.0, window_minutes=2)
    assert hit["event_id"] == "ev0500" and why == ""
    hit, why = sources.associate(times[11], times[11] + 10.0, window_minutes=0)
    assert hit is None and "several sources match (ev0010, ev0011)" in why
    hit, why = sources.associate(1.4e9, 1.4e9 + 100.0, window_minutes=5)
    assert hit is None and "no source with origin time" in why
