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

import orjson
from bson import ObjectId
from bson.binary import Binary
from bson.errors import InvalidDocument

_EPOCH = _dt.datetime(1970, 1, 1)
_NON_FINITE = {"nan": math.nan, "inf": math.inf, "-inf": -math.inf}


def _tag(value: Any) -> Any:
    if isinstance(value, ObjectId):
        return {"$oid": value.binary.hex()}
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


def _non_finite_inside(value: Any) -> bool:
    if isinstance(value, float):
        return not math.isfinite(value)
    if isinstance(value, dict):
        return any(map(_non_finite_inside, value.values()))
    if isinstance(value, (list, tuple)):
        return any(map(_non_finite_inside, value))
    return False


def _stdlib_encode(doc: Any) -> str:
    try:
        return _DUMPS(doc)
    except ValueError:  # NaN / infinity
        return _DUMPS(_finite(doc))


def encode(doc: Any) -> str:
    """Compact JSON text of a document or value (tags for BSON-only types).

    orjson does the common case; the stdlib encoder takes what orjson refuses
    (non-string keys, integers beyond 64 bits, unknown types: it raises pymongo's
    InvalidDocument) or writes differently (NaN and infinity, which orjson turns into
    null). Both texts decode to the same values; floats below 1e-4 are spelled
    differently (1e-5 / 1e-05), which no SQL comparison sees (numbers compare as
    numbers, ``_id`` keys are always written by ``encode_id``).
    """
    try:
        out = orjson.dumps(doc, default=_tag, option=orjson.OPT_PASSTHROUGH_DATETIME)
    except TypeError:
        return _stdlib_encode(doc)
    if b"null" in out and _non_finite_inside(doc):
        return _stdlib_encode(doc)
    return out.decode("utf-8")


def encode_id(value: Any) -> str:
    """The text of an ``_id`` in the unique ``id`` column: always the stdlib spelling,
    so a key written by any version of the store matches the same key written now."""
    if type(value) is ObjectId:
        return '{"$oid":"' + value.binary.hex() + '"}'
    return _stdlib_encode(value)


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
