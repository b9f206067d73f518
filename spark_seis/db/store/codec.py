"""Documents <-> JSON text that SQLite's json functions can index.

BSON types JSON lacks are tagged one-key objects (``{"$oid": hex}``,
``{"$date": ms}``, ``{"$bin": base64, "$st": subtype}``, ``{"$float": "nan"}``)
so ``ObjectId``, ``datetime`` (millisecond precision, as MongoDB stores it) and
binary data round-trip exactly. Each row carries a CRC-32 of its text: a bit
flip in the file is reported instead of returned as data.
"""
from __future__ import annotations

import base64
import datetime as _dt
import json
import math
import zlib
from typing import Any

from bson import ObjectId
from bson.binary import Binary
from bson.errors import InvalidDocument

_EPOCH = _dt.datetime(1970, 1, 1)
_NON_FINITE = {"nan": math.nan, "inf": math.inf, "-inf": -math.inf}


def _tag(value: Any) -> Any:
    if isinstance(value, ObjectId):
        return {"$oid": str(value)}
    if isinstance(value, _dt.datetime):
        if value.tzinfo is not None:
            value = value.astimezone(_dt.timezone.utc).replace(tzinfo=None)
        delta = value - _EPOCH
        return {"$date": (delta.days * 86400 + delta.seconds) * 1000 + delta.microseconds // 1000}
    if isinstance(value, Binary):
        return {"$bin": base64.b64encode(value).decode("ascii"), "$st": value.subtype}
    if isinstance(value, (bytes, bytearray, memoryview)):
        return {"$bin": base64.b64encode(bytes(value)).decode("ascii"), "$st": 0}
    if isinstance(value, tuple):
        return list(value)
    raise InvalidDocument(f"cannot encode object: {value!r}, of type: {type(value)}")


_DUMPS = json.JSONEncoder(separators=(",", ":"), allow_nan=False, ensure_ascii=False,
                          default=_tag).encode


def _finite(value: Any) -> Any:
    """Copy of ``value`` with NaN/inf floats tagged (rare: only when plain JSON refused)."""
    if isinstance(value, float) and not math.isfinite(value):
        return {"$float": "nan" if math.isnan(value) else ("inf" if value > 0 else "-inf")}
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite(v) for v in value]
    return value


def encode(doc: Any) -> str:
    """Compact JSON text of a document or value (tags for BSON-only types)."""
    try:
        return _DUMPS(doc)
    except ValueError:  # NaN / infinity
        return _DUMPS(_finite(doc))


def _untag(d: dict) -> Any:
    if len(d) <= 2:
        if "$oid" in d:
            return ObjectId(d["$oid"])
        if "$date" in d:
            return _EPOCH + _dt.timedelta(milliseconds=d["$date"])
        if "$bin" in d:
            data = base64.b64decode(d["$bin"])
            return data if d.get("$st", 0) == 0 else Binary(data, d["$st"])
        if "$float" in d:
            return _NON_FINITE[d["$float"]]
    return d


_LOADS = json.JSONDecoder(object_hook=_untag).decode


def decode(text: str) -> Any:
    return _LOADS(text)


def checksum(text: str) -> int:
    return zlib.crc32(text.encode("utf-8"))
