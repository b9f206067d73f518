"""Database: a thin handle tying a pymongo-compatible database to the CRUD functions.

All logic lives in the crud_* modules as plain functions so Spark executors can
use the pieces without a handle; this class only keeps client, name, schema,
default wf collection and the storage root together.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Iterable, Mapping

from bson import ObjectId

from . import crud_create, crud_delete, crud_read, crud_update, ingest, maintenance
from .client import ENV_URI, mask_uri
from .schema import Schema, check_wf_collection, default_schema

INDEXES: dict[str, list[tuple[list[tuple[str, int]], dict]]] = {
    "wf_TimeSeries": [([("source_id", 1)], {}), ([("site_id", 1)], {}),
                      ([("channel_id", 1)], {}), ([("dir", 1), ("dfile", 1)], {}),
                      ([("data_tag", 1)], {}), ([("net", 1), ("sta", 1), ("chan", 1)], {})],
    "wf_Seismogram": [([("source_id", 1)], {}), ([("site_id", 1)], {}),
                      ([("dir", 1), ("dfile", 1)], {}), ([("data_tag", 1)], {}),
                      ([("net", 1), ("sta", 1)], {})],
    "elog": [([("wf_TimeSeries_id", 1)], {}), ([("wf_Seismogram_id", 1)], {})],
    "history": [([("wf_TimeSeries_id", 1)], {}), ([("wf_Seismogram_id", 1)], {})],
    "source": [([("event_id", 1)], {})],
    "site": [([("net", 1), ("sta", 1), ("loc", 1), ("starttime", 1), ("endtime", 1)],
              {"unique": True})],
    "channel": [([("net", 1), ("sta", 1), ("loc", 1), ("chan", 1), ("starttime", 1),
                  ("endtime", 1)], {"unique": True})],
    "fs.chunks": [([("files_id", 1), ("n", 1)], {"unique": True})],
}


class Database:
    """MsPASS-style handle: ``Database(client, 'name', db_schema='wf_Seismogram')``."""

    def __init__(self, client: Any, name: str, *, db_schema: str = "wf_TimeSeries",
                 schema: Schema | str | Path | None = None,
                 storage_root: str | Path = "wf_data", create_indexes: bool = True,
                 config: Mapping[str, Any] | None = None) -> None:
        self.client = client
        self.config = dict(config or {})  # how executors reach this store (worker_config)
        self.name = name
        self.wf_collection = check_wf_collection(db_schema)
        self.schema = schema if isinstance(schema, Schema) else (
            Schema.load(schema) if schema else default_schema())
        self.storage_root = str(Path(storage_root).absolute())
        self.db = client[name]
        if create_indexes:
            self.ensure_indexes()

    def ensure_indexes(self) -> None:
        """Indexes on the keys reads and upserts use (idempotent)."""
        for coll, specs in INDEXES.items():
            for keys, opts in specs:
                self.db[coll].create_index(keys, **opts)

    def worker_config(self) -> dict[str, Any]:
        """Pickleable settings from which each Spark task opens its own client.

        A client and its connections never travel to executors; this mapping
        does (``client.database_session`` reopens the store from it). The
        embedded store is reached by its path; a real MongoDB by ``mongo_uri``
        given in ``config`` or by ``SPARK_SEIS_MONGO_URI`` in the environment.
        """
        cfg = {**self.config, "database_name": self.name, "db_schema": self.wf_collection,
               "storage_root": self.storage_root}
        if cfg.get("mongo_uri") or cfg.get("embedded_path"):
            return cfg
        path = getattr(self.client, "path", None)
        if getattr(self.client, "is_embedded", False) and path is not None:
            # mongo_uri None: an executor's SPARK_SEIS_MONGO_URI must not redirect it
            cfg.update(embedded_path=str(Path(path).absolute()), mongo_uri=None)
        elif os.environ.get(ENV_URI):
            cfg["mongo_uri"] = os.environ[ENV_URI]
        else:
            raise ValueError(
                f"{self!r}: executors cannot reach this MongoDB client: build the handle "
                f"with get_database(...) or Database(..., config={{'mongo_uri': ...}}), "
                f"set {ENV_URI}, or pass the database configuration explicitly")
        return cfg

    def __getitem__(self, collection: str) -> Any:
        return self.db[collection]

    def __getattr__(self, collection: str) -> Any:
        if collection.startswith("_"):
            raise AttributeError(collection)
        return self.db[collection]

    def __repr__(self) -> str:
        return (f"Database({mask_uri(repr(self.client))}, {self.name!r}, "
                f"db_schema={self.wf_collection!r})")

    # --- create -----------------------------------------------------------
    def save_data(self, obj: Any, **kwargs: Any) -> Any:
        return crud_create.save_data(self, obj, **kwargs)

    def save_ensemble_data(self, ens: Any, **kwargs: Any) -> Any:
        return crud_create.save_ensemble_data(self, ens, **kwargs)

    def save_ensemble_data_binary_file(self, ens: Any, **kwargs: Any) -> Any:
        return crud_create.save_ensemble_data_binary_file(self, ens, **kwargs)

    def save_catalog(self, catalog: Any) -> ingest.IngestReport:
        return ingest.save_catalog(self, catalog)

    def save_inventory(self, inventory: Any) -> dict[str, ingest.IngestReport]:
        return ingest.save_inventory(self, inventory)

    def index_mseed(self, path: str | Path, **kwargs: Any) -> ingest.IngestReport:
        return ingest.index_mseed(self, path, **kwargs)

    # --- read -------------------------------------------------------------
    def read_data(self, id_or_doc: ObjectId | Mapping[str, Any], **kwargs: Any) -> Any:
        return crud_read.read_data(self, id_or_doc, **kwargs)

    def read_ensemble_data(self, ids_or_cursor: Iterable[Any], **kwargs: Any) -> Any:
        return crud_read.read_ensemble_data(self, ids_or_cursor, **kwargs)

    def read_ensemble_data_group(self, ids_or_cursor: Iterable[Any], **kwargs: Any) -> Any:
        return crud_read.read_ensemble_data_group(self, ids_or_cursor, **kwargs)

    def read_to_dataframe(self, query_or_cursor: Any, **kwargs: Any) -> Any:
        return crud_read.read_to_dataframe(self, query_or_cursor, **kwargs)

    def read_to_arrow(self, query_or_cursor: Any, **kwargs: Any) -> Any:
        return crud_read.read_to_arrow(self, query_or_cursor, **kwargs)

    # --- update / delete / maintenance -------------------------------------
    def update_metadata(self, obj: Any, **kwargs: Any) -> Any:
        return crud_update.update_metadata(self, obj, **kwargs)

    def delete_data(self, wf_id: Any, **kwargs: Any) -> bool:
        return crud_delete.delete_data(self, wf_id, **kwargs)

    def verify(self, collection: str | None = None, query: Mapping | None = None) -> dict:
        return maintenance.verify(self, collection, query)

    def clean(self, collection: str | None = None, query: Mapping | None = None,
              **kwargs: Any) -> dict:
        return maintenance.clean(self, collection, query, **kwargs)
