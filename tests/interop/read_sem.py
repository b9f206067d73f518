"""Pyatoa side: read SPECFEM .semd files with pysep's read_sem (Pyatoa's reader).

stdin: {"files": [...], "origintime": "...", "out": "x.npz"}
Writes samples and headers to an .npz (no pickle) and prints the deltas.
"""
import json
import sys

import numpy as np
from obspy import UTCDateTime
from pysep.utils.io import read_sem

req = json.load(sys.stdin)
arrays, meta = {}, []
for i, fid in enumerate(req["files"]):
    tr = read_sem(fid, origintime=UTCDateTime(req["origintime"]))[0]
    arrays[f"data{i}"] = tr.data.astype(np.float64)
    meta.append({"id": tr.id, "delta": tr.stats.delta,
                 "starttime": str(tr.stats.starttime)})
np.savez(req["out"], meta=json.dumps(meta), **arrays)
print(json.dumps({"meta": meta}))
