"""Filters -> SQL over the expression indexes; projection and sort in Python.

A filter is translated clause by clause into a WHERE on ``json_extract`` of the
document text, using exactly the expression each index was built on, so SQLite
answers equality, ``$in``, ranges and ``$exists`` from an index. The SQL is a
superset of the matches; :func:`translate` says when it is exact (equality on
strings, ObjectIds, dates, None), otherwise every candidate is checked again in
Python with mongomock's filter (MongoDB semantics). Indexes are scalar: an
array stored in an indexed field is compared as a whole, not per element.
"""
from __future__ import annotations

import datetime as _dt
import re
from typing import Any, Iterable, Mapping

from bson import ObjectId

from .codec import decode, encode, encode_id

MISSING = b"\x00"  # what the index holds for a missing or null field (unique like MongoDB)
_PATH = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$")
_EXACT_TYPES = (str, ObjectId, _dt.datetime, type(None))
_RANGES = {"$gt": ">", "$gte": ">=", "$lt": "<", "$lte": "<="}


def field_expression(path: str) -> str:
    """The SQL expression an index on ``path`` is built on (path already validated)."""
    return f"ifnull(json_extract(doc, '$.{path}'), x'00')"


def valid_path(path: str) -> bool:
    return bool(_PATH.match(path))


def sql_value(value: Any) -> Any:
    """A query value as the index expression would hold it."""
    if value is None:
        return MISSING
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, (str, int, float)):
        return value
    return encode(value)


def sql_result(json_type: str, value: Any) -> Any:
    """A ``json_extract`` result back to the Python value (objects and arrays decoded)."""
    if json_type in ("object", "array"):
        return decode(value)
    if json_type in ("true", "false"):
        return json_type == "true"
    return value


def _scalar(value: Any) -> bool:
    return not isinstance(value, (dict, list, tuple, re.Pattern)) and \
        type(value).__name__ != "Regex"


class _Where:
    def __init__(self, indexed: frozenset[str]) -> None:
        self.indexed = indexed
        self.params: list[Any] = []
        self.exact = True

    def inexact(self) -> None:
        self.exact = False

    def clauses(self, flt: Mapping[str, Any]) -> list[str]:
        out = []
        for key, cond in flt.items():
            sql = self.clause(key, cond)
            if sql:
                out.append(sql)
        return out

    def clause(self, key: str, cond: Any) -> str | None:
        if key == "$and":
            parts = [p for sub in cond for p in self.clauses(sub)]
            return " AND ".join(f"({p})" for p in parts) or None
        if key == "$or":
            saved, branches = list(self.params), []
            for sub in cond:
                parts = self.clauses(sub)
                if not parts:  # one unconstrained branch: no SQL bound at all
                    self.params = saved
                    self.inexact()
                    return None
                branches.append(" AND ".join(f"({p})" for p in parts))
            return " OR ".join(f"({b})" for b in branches)
        if key.startswith("$") or not (key == "_id" or valid_path(key)):
            self.inexact()
            return None
        if isinstance(cond, dict) and cond and all(k.startswith("$") for k in cond):
            parts = [self.operator(key, op, arg) for op, arg in cond.items()]
            parts = [p for p in parts if p]
            return " AND ".join(parts) or None
        return self.operator(key, "$eq", cond)

    def operator(self, key: str, op: str, arg: Any) -> str | None:
        if key == "_id":
            return self.id_operator(op, arg)
        indexed = key in self.indexed
        expr = field_expression(key)
        # An unindexed field may hold an array whose element matches: keep such rows.
        array_guard = "" if indexed else f" OR json_type(doc, '$.{key}') = 'array'"
        if op in ("$eq", "$in") and (not indexed or "." in key):
            self.inexact()
        if op == "$eq" and _scalar(arg):
            if not isinstance(arg, _EXACT_TYPES):
                self.inexact()
            self.params.append(sql_value(arg))
            return f"{expr} = ?{array_guard}"
        if op == "$in" and isinstance(arg, (list, tuple)) and arg and all(map(_scalar, arg)):
            if not all(isinstance(v, _EXACT_TYPES) for v in arg):
                self.inexact()
            self.params.extend(sql_value(v) for v in arg)
            return f"{expr} IN ({','.join('?' * len(arg))}){array_guard}"
        if op in _RANGES and isinstance(arg, (int, float, str)) and not isinstance(arg, bool):
            self.inexact()
            # keep the range inside one SQLite type class (numbers < text < blob)
            bound = "x''" if isinstance(arg, str) else "''"
            low = "''" if isinstance(arg, str) else "-9e999"
            self.params.append(arg)
            return f"({expr} {_RANGES[op]} ? AND {expr} < {bound} AND {expr} >= {low}){array_guard}"
        if op == "$exists" and "." not in key:
            return f"json_type(doc, '$.{key}') IS {'NOT ' if arg else ''}NULL"
        self.inexact()
        return None

    def id_operator(self, op: str, arg: Any) -> str | None:
        if op == "$eq" and _scalar(arg) and not isinstance(arg, (float, bool)):
            self.params.append(encode_id(arg))
            return "id = ?"
        if op == "$in" and isinstance(arg, (list, tuple)) and all(
                _scalar(v) and not isinstance(v, (float, bool)) for v in arg):
            self.params.extend(encode_id(v) for v in arg)
            return f"id IN ({','.join('?' * len(arg))})" if arg else "0"
        self.inexact()
        return None


def translate(flt: Mapping[str, Any] | None, indexed: Iterable[str]) -> tuple[str, list, bool]:
    """(WHERE text, parameters, exact) for a MongoDB filter; WHERE '1' when nothing applies."""
    where = _Where(frozenset(indexed))
    parts = where.clauses(flt or {})
    return (" AND ".join(f"({p})" for p in parts) or "1"), where.params, where.exact


# --- projection and sort -------------------------------------------------------------

def _get(doc: Mapping, path: str) -> Any:
    value: Any = doc
    for part in path.split("."):
        if not isinstance(value, Mapping) or part not in value:
            return _NOTHING
        value = value[part]
    return value


_NOTHING = object()


def project(doc: dict, projection: Mapping[str, Any] | None) -> dict:
    """Inclusion or exclusion projection on (dotted) fields; ``_id`` kept unless 0."""
    if not projection:
        return doc
    spec = {k: bool(v) for k, v in projection.items()}
    keep_id = spec.pop("_id", True)
    if any(spec.values()):
        if not all(spec.values()):
            raise ValueError(f"projection {dict(projection)} mixes inclusion and exclusion")
        out: dict = {"_id": doc["_id"]} if keep_id and "_id" in doc else {}
        for path in spec:
            value = _get(doc, path)
            if value is _NOTHING:
                continue
            target, parts = out, path.split(".")
            for part in parts[:-1]:
                target = target.setdefault(part, {})
            target[parts[-1]] = value
        return out
    for path in spec:
        parts, target = path.split("."), doc
        for part in parts[:-1]:
            target = target.get(part) if isinstance(target, dict) else None
        if isinstance(target, dict):
            target.pop(parts[-1], None)
    if not keep_id:
        doc.pop("_id", None)
    return doc


def sort_documents(docs: list[dict], keys: list[tuple[str, int]]) -> list[dict]:
    """Stable multi-key sort in MongoDB order (mongomock's BSON comparison)."""
    from mongomock.filtering import resolve_sort_key

    for key, direction in reversed(keys):
        docs.sort(key=lambda d: resolve_sort_key(key, d), reverse=direction < 0)
    return docs


def normalize_sort(key_or_list: Any, direction: int | None = None) -> list[tuple[str, int]]:
    if isinstance(key_or_list, str):
        return [(key_or_list, 1 if direction is None else int(direction))]
    if isinstance(key_or_list, Mapping):
        return [(k, int(v)) for k, v in key_or_list.items()]
    return [(k, int(v)) for k, v in key_or_list]
