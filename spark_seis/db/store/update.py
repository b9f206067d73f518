"""MongoDB update operators applied to a decoded document, and upsert seeds."""
from __future__ import annotations

import copy
from typing import Any, Mapping

from pymongo.errors import WriteError


def _parent(doc: dict, path: str, create: bool) -> tuple[Any, str]:
    parts = path.split(".")
    target: Any = doc
    for part in parts[:-1]:
        if isinstance(target, list) and part.isdigit():
            target = target[int(part)]
            continue
        if part not in target or not isinstance(target[part], (dict, list)):
            if not create:
                return None, parts[-1]
            target[part] = {}
        target = target[part]
    return target, parts[-1]


def _read(doc: dict, path: str) -> Any:
    parent, key = _parent(doc, path, create=False)
    if isinstance(parent, list) and key.isdigit():
        return parent[int(key)] if int(key) < len(parent) else None
    return parent.get(key) if isinstance(parent, dict) else None


def _write(doc: dict, path: str, value: Any) -> None:
    parent, key = _parent(doc, path, create=True)
    if isinstance(parent, list) and key.isdigit():
        parent[int(key)] = value
    else:
        parent[key] = value


def _number(value: Any, op: str, path: str) -> Any:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise WriteError(f"Cannot apply {op} to a value of non-numeric type at {path!r}", 14)
    return value


def _each(arg: Any) -> list:
    return list(arg["$each"]) if isinstance(arg, Mapping) and "$each" in arg else [arg]


def apply_update(doc: dict, update: Mapping[str, Any], inserting: bool = False) -> dict:
    """``doc`` changed by the operators of ``update`` (in place; also returned)."""
    for op, fields in update.items():
        if not op.startswith("$"):
            raise ValueError(f"update only works with $ operators, got {op!r}")
        if op == "$setOnInsert" and not inserting:
            continue
        for path, arg in fields.items():
            if path == "_id" and op != "$setOnInsert" and not (
                    op == "$set" and arg == doc.get("_id")):
                raise WriteError("Performing an update on the path '_id' would modify the "
                                 "immutable field '_id'", 66)
            current = _read(doc, path)
            if op in ("$set", "$setOnInsert"):
                _write(doc, path, copy.deepcopy(arg))
            elif op == "$unset":
                parent, key = _parent(doc, path, create=False)
                if isinstance(parent, dict):
                    parent.pop(key, None)
            elif op == "$inc":
                _write(doc, path, _number(current or 0, op, path) + _number(arg, op, path))
            elif op == "$mul":
                _write(doc, path, _number(current or 0, op, path) * _number(arg, op, path))
            elif op in ("$min", "$max"):
                if current is None or (arg < current if op == "$min" else arg > current):
                    _write(doc, path, arg)
            elif op in ("$push", "$addToSet"):
                values = list(current) if isinstance(current, list) else []
                if current is not None and not isinstance(current, list):
                    raise WriteError(f"{op}: field {path!r} is not an array", 2)
                for item in _each(arg):
                    if op == "$push" or item not in values:
                        values.append(copy.deepcopy(item))
                _write(doc, path, values)
            elif op == "$pull":
                if isinstance(current, list):
                    _write(doc, path, [v for v in current if v != arg])
            elif op == "$rename":
                if current is not None:
                    parent, key = _parent(doc, path, create=False)
                    parent.pop(key, None)
                    _write(doc, arg, current)
            else:
                raise NotImplementedError(f"update operator {op} is not supported by the "
                                          f"embedded store")
    return doc


def upsert_seed(flt: Mapping[str, Any]) -> dict:
    """The document an upsert starts from: the filter's equality fields."""
    doc: dict = {}
    for key, cond in (flt or {}).items():
        if key == "$and":
            for sub in cond:
                doc.update(upsert_seed(sub))
        elif key.startswith("$"):
            continue
        elif isinstance(cond, Mapping) and cond and all(k.startswith("$") for k in cond):
            if "$eq" in cond:
                _write(doc, key, copy.deepcopy(cond["$eq"]))
        else:
            _write(doc, key, copy.deepcopy(cond))
    return doc
