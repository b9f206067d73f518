"""Data management in the style of MsPASS: MongoDB metadata, sample files or GridFS.

Public entry points for the Spark engine (no database access needed in executors):
``document_to_object``, ``object_to_documents``, ``normalize``/``build_lookup``,
``read_to_dataframe``/``read_to_arrow``, ``bulk_upsert``/``upsert_bundles``,
``derived_id``. ``Database`` is the handle for serial use; ``get_database`` /
``get_client`` choose the store (real MongoDB or the embedded one).
"""
from .client import get_client, get_database, load_config, mask_uri
from .crud_create import bulk_upsert, upsert_bundles
from .crud_delete import DocumentNotFoundError
from .crud_read import read_to_arrow, read_to_dataframe
from .database import Database
from .documents import (SaveBundle, derived_id, document_to_object, finalize_saved,
                        object_to_documents)
from .normalize import build_lookup, load_lookups, normalize
from .sample_io import StoragePathError, resolve_path
from .schema import Schema, UnknownCollectionError, default_schema

__all__ = [
    "Database", "DocumentNotFoundError", "SaveBundle", "Schema", "StoragePathError", "UnknownCollectionError",
    "build_lookup", "bulk_upsert", "default_schema", "derived_id", "document_to_object",
    "finalize_saved", "get_client", "get_database", "load_config", "load_lookups",
    "mask_uri", "normalize", "object_to_documents", "read_to_arrow", "read_to_dataframe",
    "resolve_path", "upsert_bundles",
]
