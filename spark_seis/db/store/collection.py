"""Collection and Cursor: the part of pymongo's API the project uses, over one SQLite table.

Table per collection: ``rid`` (insertion order), ``id`` (the encoded ``_id``,
unique), ``doc`` (tagged JSON text), ``crc`` (CRC-32 of ``doc``). Every write is
one ``BEGIN IMMEDIATE`` transaction, so a batch is all there or not at all after
a crash, and concurrent read-modify-write operations of several processes
serialize instead of losing updates. Reads page through results by ``rid``, each
page one short statement: no cursor stays open between pages.
"""
from __future__ import annotations

import sqlite3
from typing import TYPE_CHECKING, Any, Iterable, Iterator, Mapping

from bson import ObjectId
from pymongo import ReplaceOne
from pymongo.errors import BulkWriteError, DuplicateKeyError, WriteError
from pymongo.results import (BulkWriteResult, DeleteResult, InsertManyResult,
                             InsertOneResult, UpdateResult)

from . import query
from .codec import checksum, decode, encode, encode_id
from .update import apply_update, upsert_seed

if TYPE_CHECKING:
    from ..embedded import StoreFile

PAGE = 2000


def index_name(keys: list[tuple[str, int]]) -> str:
    return "_".join(f"{k}_{d}" for k, d in keys)


def normalize_keys(keys: Any, direction: int = 1) -> list[tuple[str, int]]:
    if isinstance(keys, str):
        return [(keys, direction)]
    return [(k, int(d)) for k, d in keys]


def _is_upsert_by_id(op: Any) -> bool:
    """ReplaceOne(filter={"_id": X}, upsert=True): the executors' write, batched in one
    statement. The ``$`` check looks at the first key only, as pymongo's own
    validate_ok_for_replace does."""
    if type(op) is not ReplaceOne or not op._upsert:
        return False
    flt, doc = op._filter, op._doc
    if type(flt) is not dict and not isinstance(flt, Mapping):
        return False
    if len(flt) != 1 or "_id" not in flt or type(flt["_id"]) is float \
            or isinstance(flt["_id"], Mapping):
        return False
    return not doc or not next(iter(doc)).startswith("$")


def _id_first(doc: dict) -> dict:
    """MongoDB stores ``_id`` as the first field whatever the order given."""
    return doc if next(iter(doc)) == "_id" else {"_id": doc["_id"], **doc}


def _plain_fields(projection: Any) -> list[str] | None:
    """Top-level fields of an inclusion projection, or None when it is anything else."""
    if not isinstance(projection, Mapping) or not projection:
        return None
    spec = dict(projection)
    keep_id = spec.pop("_id", 1)
    if not spec or not all(v in (1, True) for v in spec.values()) or not all(
            query.valid_path(k) and "." not in k for k in spec):
        return None
    return (["_id"] if keep_id else []) + list(spec)


class Cursor:
    """Lazy result of ``find``: chain ``sort``/``skip``/``limit``, then iterate."""

    def __init__(self, collection: "Collection", flt: Mapping | None, projection: Any = None,
                 sort: Any = None, skip: int = 0, limit: int = 0) -> None:
        self.collection = collection
        self._filter = dict(flt or {})
        if isinstance(projection, (list, tuple)):
            projection = {k: 1 for k in projection}
        self._projection = projection
        self._sort = query.normalize_sort(sort) if sort else []
        self._skip, self._limit = int(skip or 0), int(limit or 0)
        self._iter: Iterator[dict] | None = None

    def sort(self, key_or_list: Any, direction: int | None = None) -> "Cursor":
        self._sort = query.normalize_sort(key_or_list, direction)
        return self

    def skip(self, n: int) -> "Cursor":
        self._skip = int(n)
        return self

    def limit(self, n: int) -> "Cursor":
        self._limit = int(n)
        return self

    def batch_size(self, n: int) -> "Cursor":
        return self

    def rewind(self) -> "Cursor":
        self._iter = None
        return self

    def clone(self) -> "Cursor":
        return Cursor(self.collection, self._filter, self._projection, self._sort,
                      self._skip, self._limit)

    def close(self) -> None:
        self._iter = iter(())

    @property
    def alive(self) -> bool:
        return self._iter is None or bool(self._iter)

    def _results(self) -> Iterator[dict]:
        fields = _plain_fields(self._projection)
        if fields and not self._sort:
            projected = self.collection._projected(self._filter, fields)
            if projected is not None:
                docs: Iterable[dict] = projected
                if self._skip or self._limit:
                    docs = list(docs)[self._skip:(self._skip + self._limit) if self._limit else None]
                yield from docs
                return
        docs = self.collection._matching(self._filter)
        if self._sort:
            docs = query.sort_documents(list(docs), self._sort)
        skipped, taken = 0, 0
        for doc in docs:
            if skipped < self._skip:
                skipped += 1
                continue
            if self._limit and taken >= self._limit:
                return
            taken += 1
            yield query.project(doc, self._projection)

    def __iter__(self) -> "Cursor":
        return self

    def __next__(self) -> dict:
        if self._iter is None:
            self._iter = self._results()
        return next(self._iter)

    next = __next__

    def __enter__(self) -> "Cursor":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


class Collection:
    """A pymongo-compatible collection stored in one table of a :class:`StoreFile`."""

    def __init__(self, store: "StoreFile", database: Any, name: str) -> None:
        self._store = store
        self.database = database
        self.name = name
        self.full_name = f"{database.name}.{name}"
        self._table = '"' + name.replace('"', '""') + '"'

    def __getitem__(self, name: str) -> "Collection":
        return Collection(self._store, self.database, f"{self.name}.{name}")

    def __getattr__(self, name: str) -> "Collection":
        if name.startswith("_"):
            raise AttributeError(name)
        return self[name]

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Collection) and other.full_name == self.full_name \
            and other._store.file == self._store.file

    def __hash__(self) -> int:
        return hash(self.full_name)

    def __repr__(self) -> str:
        return f"Collection({self.full_name!r} in {str(self._store.file)!r})"

    # --- reading -------------------------------------------------------------
    def _rows(self, con: sqlite3.Connection, where: str, params: list,
              after: int = 0, limit: int | None = PAGE) -> list[tuple[int, str, int]]:
        sql = f"SELECT rid, doc, crc FROM {self._table} WHERE rid > ? AND ({where}) ORDER BY rid"
        if limit:
            sql += f" LIMIT {int(limit)}"
        return con.execute(sql, [after, *params]).fetchall()

    def _decode(self, rid: int, text: str, crc: int) -> dict:
        if checksum(text) != crc:
            raise self._store.corrupt(f"collection {self.name}: document at row {rid} fails "
                                      f"its checksum (the file was altered outside the store)")
        return decode(text)

    def _matching(self, flt: Mapping, con: sqlite3.Connection | None = None,
                  with_rid: bool = False, first: bool = False) -> Iterator[Any]:
        """Documents matching ``flt`` in insertion order, fetched page by page."""
        where, params, exact = query.translate(flt, self._store.indexed_fields(self.name))
        if not exact:
            from mongomock.filtering import filter_applies
        after = 0
        while True:
            if con is None:
                with self._store.reading() as c:
                    rows = self._rows(c, where, params, after) if self._store.has_table(
                        self.name, c) else []
            else:
                rows = self._rows(con, where, params, after) if self._store.has_table(
                    self.name, con) else []
            for rid, text, crc in rows:
                doc = self._decode(rid, text, crc)
                if exact or filter_applies(flt, doc):
                    yield (rid, doc) if with_rid else doc
                    if first:
                        return
            if len(rows) < PAGE:
                return
            after = rows[-1][0]

    def _projected(self, flt: Mapping, fields: list[str]) -> Iterator[dict] | None:
        """Only ``fields`` of exactly matched rows, extracted by SQLite (no full decode)."""
        where, params, exact = query.translate(flt, self._store.indexed_fields(self.name))
        if not exact:
            return None
        cols = ", ".join(f"doc -> '$.{f}'" for f in fields)  # JSON text: one parse per field
        return self._projected_pages(where, params, fields, cols)

    def _projected_pages(self, where: str, params: list, fields: list[str],
                         cols: str) -> Iterator[dict]:
        after = 0
        while True:
            with self._store.reading() as con:
                rows = con.execute(
                    f"SELECT rid, {cols} FROM {self._table} WHERE rid > ? AND ({where}) "
                    f"ORDER BY rid LIMIT {PAGE}", [after, *params]).fetchall() \
                    if self._store.has_table(self.name, con) else []
            for row in rows:
                yield {f: decode(row[1 + i]) for i, f in enumerate(fields)
                       if row[1 + i] is not None}
            if len(rows) < PAGE:
                return
            after = rows[-1][0]

    def find(self, filter: Mapping | None = None, projection: Any = None, *,
             sort: Any = None, skip: int = 0, limit: int = 0, **_ignored: Any) -> Cursor:
        return Cursor(self, filter, projection, sort, skip, limit)

    def find_one(self, filter: Any = None, projection: Any = None, *,
                 sort: Any = None, **_ignored: Any) -> dict | None:
        if filter is not None and not isinstance(filter, Mapping):
            filter = {"_id": filter}
        return next(iter(self.find(filter, projection, sort=sort, limit=1)), None)

    def count_documents(self, filter: Mapping, skip: int = 0, limit: int = 0,
                        **_ignored: Any) -> int:
        where, params, exact = query.translate(filter, self._store.indexed_fields(self.name))
        if exact:
            with self._store.reading() as con:
                if not self._store.has_table(self.name, con):
                    return 0
                n = con.execute(f"SELECT count(*) FROM {self._table} WHERE {where}",
                                params).fetchone()[0]
            n = max(n - int(skip), 0)
            return min(n, int(limit)) if limit else n
        return sum(1 for _ in self.find(filter, skip=skip, limit=limit))

    def estimated_document_count(self, **_ignored: Any) -> int:
        return self.count_documents({})

    def distinct(self, key: str, filter: Mapping | None = None, **_ignored: Any) -> list:
        values: dict[str, Any] = {}
        where, params, exact = query.translate(filter, self._store.indexed_fields(self.name))
        if exact and query.valid_path(key):  # SQLite computes the set; nothing decoded twice
            with self._store.reading() as con:
                rows = con.execute(
                    f"SELECT DISTINCT json_type(doc, '$.{key}'), json_extract(doc, '$.{key}') "
                    f"FROM {self._table} WHERE {where}", params).fetchall() \
                    if self._store.has_table(self.name, con) else []
            found = [query.sql_result(kind, value) for kind, value in rows if kind]
        else:
            found = [query._get(doc, key) for doc in self.find(filter or {}, {key: 1})]
        for value in found:
            if value is query._NOTHING:
                continue
            for item in value if isinstance(value, list) else [value]:
                values.setdefault(encode(item), item)
        return list(values.values())

    def aggregate(self, pipeline: list[Mapping], **_ignored: Any) -> Iterator[dict]:
        from mongomock.aggregate import process_pipeline

        stages = list(pipeline)
        match = stages.pop(0)["$match"] if stages and "$match" in stages[0] else {}
        counted = self._count_groups(match, stages[0]["$group"]) if len(stages) == 1 and \
            "$group" in stages[0] else None
        if counted is not None:
            return iter(counted)
        return iter(process_pipeline(list(self.find(match)), None, stages, None))

    def _count_groups(self, match: Mapping, group: Mapping) -> list[dict] | None:
        """``{$group: {_id: "$field", n: {$sum: 1}}}`` after an exact match, in SQL."""
        key, sums = group.get("_id"), {k: v for k, v in group.items() if k != "_id"}
        if not (isinstance(key, str) and key.startswith("$") and query.valid_path(key[1:])
                and all(isinstance(v, Mapping) and list(v) == ["$sum"] and
                        isinstance(v["$sum"], int) and not isinstance(v["$sum"], bool)
                        for v in sums.values())):
            return None
        where, params, exact = query.translate(match, self._store.indexed_fields(self.name))
        if not exact:
            return None
        path = key[1:]
        with self._store.reading() as con:
            rows = con.execute(
                f"SELECT json_type(doc, '$.{path}'), json_extract(doc, '$.{path}'), count(*) "
                f"FROM {self._table} WHERE {where} GROUP BY 1, 2", params).fetchall() \
                if self._store.has_table(self.name, con) else []
        counts: dict[str, list] = {}
        for kind, value, n in rows:  # missing and null are one group, as in MongoDB
            value = query.sql_result(kind, value) if kind and kind != "null" else None
            counts.setdefault(encode(value), [value, 0])[1] += n
        return [{"_id": value, **{k: v["$sum"] * n for k, v in sums.items()}}
                for value, n in counts.values()]

    # --- writing (inside one transaction on ``con``) --------------------------
    def _insert(self, con: sqlite3.Connection, doc: dict) -> Any:
        if "_id" not in doc:
            doc["_id"] = ObjectId()
        text = encode(_id_first(doc))
        try:
            con.execute(f"INSERT INTO {self._table} (id, doc, crc) VALUES (?, ?, ?)",
                        (encode_id(doc["_id"]), text, checksum(text)))
        except sqlite3.IntegrityError as exc:
            raise self._duplicate(exc, doc) from None
        return doc["_id"]

    def _duplicate(self, exc: sqlite3.IntegrityError, doc: Mapping) -> DuplicateKeyError:
        text = str(exc)
        what = (f"index: _id_ dup key: {{ _id: {doc.get('_id')!r} }}"
                if text.endswith(".id") else f"index: {text.split(':', 1)[-1].strip()}")
        return DuplicateKeyError(f"E11000 duplicate key error collection: {self.full_name} "
                                 f"{what}", 11000, {"code": 11000, "errmsg": text})

    def _replace_row(self, con: sqlite3.Connection, rid: int, doc: dict) -> None:
        text = encode(doc)
        try:
            con.execute(f"UPDATE {self._table} SET doc = ?, crc = ? WHERE rid = ?",
                        (text, checksum(text), rid))
        except sqlite3.IntegrityError as exc:
            raise self._duplicate(exc, doc) from None

    def _update(self, con: sqlite3.Connection, flt: Mapping, change: Mapping, *,
                upsert: bool, multi: bool, replace: bool) -> dict:
        """Apply one update/replace; returns {n, nModified, upserted?, before, after}."""
        if replace:
            if any(k.startswith("$") for k in change):
                raise ValueError("replacement document must not contain $ operators")
        elif not change or not all(k.startswith("$") for k in change):
            raise ValueError("update document must contain only $ operators")
        if replace and upsert and set(flt) == {"_id"} and not isinstance(flt["_id"], Mapping):
            return self._replace_by_id(con, flt["_id"], change)
        out: dict = {"n": 0, "nModified": 0, "before": None, "after": None}
        for rid, doc in list(self._matching(flt, con, with_rid=True, first=not multi)):
            old_text = encode(doc)
            if replace:
                if "_id" in change and change["_id"] != doc["_id"]:
                    raise WriteError("the (immutable) field '_id' was found to have been "
                                     "altered", 66)
                new = {"_id": doc["_id"], **{k: v for k, v in change.items() if k != "_id"}}
            else:
                new = apply_update(doc, change)
            if out["n"] == 0:
                out["before"], out["after"] = decode(old_text), new
            out["n"] += 1
            if encode(new) != old_text:
                self._replace_row(con, rid, new)
                out["nModified"] += 1
        if out["n"] == 0 and upsert:
            seed = upsert_seed(flt)
            new = ({**({"_id": seed["_id"]} if "_id" in seed else {}), **change} if replace
                   else apply_update(seed, change, inserting=True))
            out["upserted"] = self._insert(con, new)
            out["after"] = new
        return out

    def _replace_by_id(self, con: sqlite3.Connection, _id: Any, doc: Mapping) -> dict:
        """Upsert by ``_id`` without reading the old document (the bulk path)."""
        new = {"_id": _id, **{k: v for k, v in doc.items() if k != "_id"}}
        text, key = encode(new), encode_id(_id)
        try:
            cur = con.execute(f"INSERT INTO {self._table} (id, doc, crc) VALUES (?, ?, ?) "
                              f"ON CONFLICT (id) DO NOTHING", (key, text, checksum(text)))
            if cur.rowcount == 1:
                return {"n": 0, "nModified": 0, "upserted": _id, "before": None, "after": new}
            con.execute(f"UPDATE {self._table} SET doc = ?, crc = ? WHERE id = ?",
                        (text, checksum(text), key))
        except sqlite3.IntegrityError as exc:
            raise self._duplicate(exc, new) from None
        return {"n": 1, "nModified": 1, "before": None, "after": new}

    def _delete(self, con: sqlite3.Connection, flt: Mapping, multi: bool) -> int:
        rids = [rid for rid, _ in self._matching(flt, con, with_rid=True, first=not multi)]
        for start in range(0, len(rids), 500):
            part = rids[start:start + 500]
            con.execute(f"DELETE FROM {self._table} WHERE rid IN ({','.join('?' * len(part))})",
                        part)
        return len(rids)

    # --- public writes ----------------------------------------------------------
    def insert_one(self, document: dict, **_ignored: Any) -> InsertOneResult:
        with self._store.writing(self.name) as con:
            return InsertOneResult(self._insert(con, document), True)

    def insert_many(self, documents: Iterable[dict], ordered: bool = True,
                    **_ignored: Any) -> InsertManyResult:
        documents = list(documents)
        if not documents:
            raise TypeError("documents must be a non-empty list")
        for doc in documents:
            doc.setdefault("_id", ObjectId())
        ids, errors = [], []
        with self._store.writing(self.name) as con:
            rows = [(encode_id(d["_id"]), text, checksum(text))
                    for d in documents for text in (encode(_id_first(d)),)]
            try:  # all new: one executemany, the transaction's first write
                con.executemany(f"INSERT INTO {self._table} (id, doc, crc) VALUES (?, ?, ?)",
                                rows)
                return InsertManyResult([d["_id"] for d in documents], True)
            except sqlite3.IntegrityError:
                self._store.restart(con, self.name)
            for i, doc in enumerate(documents):  # some collide: one by one, as MongoDB
                try:
                    ids.append(self._insert(con, doc))
                except DuplicateKeyError as exc:
                    errors.append({"index": i, "code": 11000, "errmsg": str(exc), "op": doc})
                    if ordered:
                        break
        if errors:
            raise BulkWriteError({"writeErrors": errors, "writeConcernErrors": [],
                                  "nInserted": len(ids), "nUpserted": 0, "nMatched": 0,
                                  "nModified": 0, "nRemoved": 0, "upserted": []})
        return InsertManyResult(ids, True)

    def _single(self, flt: Mapping, change: Mapping, upsert: bool, multi: bool,
                replace: bool) -> UpdateResult:
        with self._store.writing(self.name) as con:
            out = self._update(con, flt, change, upsert=upsert, multi=multi, replace=replace)
        raw = {"n": out["n"] + ("upserted" in out), "nModified": out["nModified"]}
        if "upserted" in out:
            raw["upserted"] = out["upserted"]
        return UpdateResult(raw, True)

    def update_one(self, filter: Mapping, update: Mapping, upsert: bool = False,
                   **_ignored: Any) -> UpdateResult:
        return self._single(filter, update, upsert, multi=False, replace=False)

    def update_many(self, filter: Mapping, update: Mapping, upsert: bool = False,
                    **_ignored: Any) -> UpdateResult:
        return self._single(filter, update, upsert, multi=True, replace=False)

    def replace_one(self, filter: Mapping, replacement: Mapping, upsert: bool = False,
                    **_ignored: Any) -> UpdateResult:
        return self._single(filter, replacement, upsert, multi=False, replace=True)

    def find_one_and_update(self, filter: Mapping, update: Mapping, projection: Any = None,
                            sort: Any = None, upsert: bool = False,
                            return_document: bool = False, **_ignored: Any) -> dict | None:
        with self._store.writing(self.name) as con:
            if sort:
                first = next(iter(self.find(filter, {"_id": 1}, sort=sort, limit=1)), None)
                filter = {"_id": first["_id"]} if first else filter
            out = self._update(con, filter, update, upsert=upsert, multi=False, replace=False)
        doc = out["after"] if return_document else out["before"]
        return None if doc is None else query.project(doc, projection)

    def delete_one(self, filter: Mapping, **_ignored: Any) -> DeleteResult:
        with self._store.writing(self.name) as con:
            return DeleteResult({"n": self._delete(con, filter, multi=False)}, True)

    def delete_many(self, filter: Mapping, **_ignored: Any) -> DeleteResult:
        with self._store.writing(self.name) as con:
            return DeleteResult({"n": self._delete(con, filter, multi=True)}, True)

    def bulk_write(self, requests: Iterable[Any], ordered: bool = True,
                   **_ignored: Any) -> BulkWriteResult:
        """InsertOne / ReplaceOne / UpdateOne / UpdateMany / DeleteOne / DeleteMany, one transaction."""
        requests = list(requests)
        if not requests:
            raise ValueError("bulk_write needs at least one operation")
        res = {"writeErrors": [], "writeConcernErrors": [], "nInserted": 0, "nUpserted": 0,
               "nMatched": 0, "nModified": 0, "nRemoved": 0, "upserted": []}
        with self._store.writing(self.name) as con:
            if all(_is_upsert_by_id(op) for op in requests) and \
                    self._upsert_by_id(con, requests, res):
                return BulkWriteResult(res, True)
            for i, op in enumerate(requests):
                kind = type(op).__name__
                try:
                    if kind == "InsertOne":
                        self._insert(con, op._doc)
                        res["nInserted"] += 1
                    elif kind in ("DeleteOne", "DeleteMany"):
                        res["nRemoved"] += self._delete(con, op._filter, kind == "DeleteMany")
                    elif kind in ("ReplaceOne", "UpdateOne", "UpdateMany"):
                        out = self._update(con, op._filter, op._doc, upsert=bool(op._upsert),
                                           multi=kind == "UpdateMany",
                                           replace=kind == "ReplaceOne")
                        res["nMatched"] += out["n"]
                        res["nModified"] += out["nModified"]
                        if "upserted" in out:
                            res["nUpserted"] += 1
                            res["upserted"].append({"index": i, "_id": out["upserted"]})
                    else:
                        raise TypeError(f"{kind} is not a valid bulk_write request")
                except WriteError as exc:
                    res["writeErrors"].append({"index": i, "code": exc.code,
                                               "errmsg": str(exc), "op": op})
                    if ordered:
                        break
        if res["writeErrors"]:
            raise BulkWriteError(res)
        return BulkWriteResult(res, True)

    def _upsert_by_id(self, con: sqlite3.Connection, ops: list[Any], res: dict) -> bool:
        """What executors send (ReplaceOne by _id, upsert) as one executemany.

        New documents (the usual case: fresh ids) go in with a plain INSERT and no
        lookup; only when one exists already is the batch redone as an upsert, with
        a lookup to tell matched from upserted and modified from unchanged. False
        (nothing written, a new transaction open) when a unique index refuses a row:
        the caller then runs the operations one by one to report which.
        """
        rows = []
        for op in ops:
            _id, doc = op._filter["_id"], op._doc
            if not doc or next(iter(doc)) != "_id" or doc["_id"] != _id:
                doc = {"_id": _id, **{k: v for k, v in doc.items() if k != "_id"}}
            text = encode(doc)
            rows.append((encode_id(_id), text, checksum(text)))
        try:  # first write of its transaction: a failure rolls back only this batch
            con.executemany(f"INSERT INTO {self._table} (id, doc, crc) VALUES (?, ?, ?)", rows)
            res["upserted"] = [{"index": i, "_id": op._filter["_id"]} for i, op in enumerate(ops)]
            res["nUpserted"] = len(ops)
            return True
        except sqlite3.IntegrityError:  # an _id exists (or a unique index refused): redo
            self._store.restart(con, self.name)
        keys = [row[0] for row in rows]
        stored: dict[str, str] = {}  # key -> text now in the store
        for start in range(0, len(keys), 500):
            part = keys[start:start + 500]
            stored.update(con.execute(f"SELECT id, doc FROM {self._table} WHERE id IN "
                                      f"({','.join('?' * len(part))})", part))
        try:  # an unchanged document is left as it is: no index entry moves (re-runs)
            con.executemany(f"INSERT INTO {self._table} (id, doc, crc) VALUES (?, ?, ?) "
                            f"ON CONFLICT (id) DO UPDATE SET doc = excluded.doc, "
                            f"crc = excluded.crc WHERE doc IS NOT excluded.doc", rows)
        except sqlite3.IntegrityError:
            self._store.restart(con, self.name)
            return False
        for i, (op, (key, text, _crc)) in enumerate(zip(ops, rows)):
            if key in stored:
                res["nMatched"] += 1
                res["nModified"] += stored[key] != text
            else:
                res["upserted"].append({"index": i, "_id": op._filter["_id"]})
            stored[key] = text
        res["nUpserted"] = len(res["upserted"])
        return True

    # --- indexes and maintenance --------------------------------------------------
    def create_index(self, keys: Any, unique: bool = False, name: str | None = None,
                     sparse: bool = False, **_ignored: Any) -> str:
        keys = normalize_keys(keys)
        name = name or index_name(keys)
        if keys == [("_id", 1)] or name == "_id_":
            return "_id_"
        for path, _ in keys:
            if not query.valid_path(path):
                raise ValueError(f"embedded store: cannot index field {path!r} (use plain "
                                 f"dotted names)")
        if self._store.index_exists(self.name, name):
            return name
        exprs = ", ".join(query.field_expression(p) for p, _ in keys)
        partial = (" WHERE " + " AND ".join(f"json_type(doc, '$.{p}') IS NOT NULL"
                                            for p, _ in keys)) if sparse else ""
        sql_name = '"' + f"{self.name}__{name}".replace('"', '""') + '"'
        with self._store.writing(self.name) as con:
            try:
                con.execute(f"CREATE {'UNIQUE ' if unique else ''}INDEX IF NOT EXISTS "
                            f"{sql_name} ON {self._table} ({exprs}){partial}")
            except sqlite3.IntegrityError:
                raise DuplicateKeyError(f"E11000 duplicate key error collection: "
                                        f"{self.full_name} index: {name}: existing documents "
                                        f"repeat the key", 11000) from None
            con.execute("INSERT OR REPLACE INTO _indexes (coll, name, keys, uniq) VALUES "
                        "(?, ?, ?, ?)", (self.name, name, encode(keys), int(unique)))
        return name

    def create_indexes(self, indexes: Iterable[Any]) -> list[str]:
        return [self.create_index(ix.document["key"].items(), **{
            k: v for k, v in ix.document.items() if k != "key"}) for ix in indexes]

    def index_information(self) -> dict:
        info = {"_id_": {"key": [("_id", 1)]}}
        for name, keys, uniq in self._store.indexes(self.name):
            info[name] = {"key": [tuple(k) for k in keys], **({"unique": True} if uniq else {})}
        return info

    def list_indexes(self) -> Iterator[dict]:
        return iter([{"name": n, **v} for n, v in self.index_information().items()])

    def drop_index(self, name: str) -> None:
        with self._store.writing(self.name) as con:
            sql_name = '"' + f"{self.name}__{name}".replace('"', '""') + '"'
            con.execute(f"DROP INDEX IF EXISTS {sql_name}")
            con.execute("DELETE FROM _indexes WHERE coll = ? AND name = ?", (self.name, name))

    def drop(self) -> None:
        self.database.drop_collection(self.name)
