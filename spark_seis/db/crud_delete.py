"""Delete: a wf document with its samples, and optionally its elog/history documents.

GridFS samples always go with the document. A sample file is removed only when
asked and when no other document of either wf collection references the same
dir/dfile (the second query is why this is expensive on large datasets).
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

from bson import ObjectId

from . import sample_io
from .schema import WF_COLLECTIONS, check_wf_collection

if TYPE_CHECKING:
    from .database import Database


class DocumentNotFoundError(KeyError):
    """delete_data was given an id that no document of the collection has."""

    def __str__(self) -> str:  # KeyError quotes its message; keep it readable
        return str(self.args[0])


def delete_data(db: "Database", wf_id: Any, *, collection: str | None = None,
                remove_unreferenced_files: bool = False, clear_history: bool = True,
                clear_elog: bool = False) -> bool:
    """Delete one wf document by id; returns True.

    An id without a document raises :class:`DocumentNotFoundError` naming the id
    and the collection (a wrong id is a caller's error, not something to ignore).
    """
    collection = check_wf_collection(collection or db.wf_collection)
    wf_id = wf_id if isinstance(wf_id, ObjectId) else ObjectId(str(wf_id))
    doc = db.db[collection].find_one({"_id": wf_id})
    if doc is None:
        raise DocumentNotFoundError(
            f"delete_data: no document with _id {wf_id} in {collection} (already deleted, "
            f"or it belongs to another collection: pass collection=...)")
    db.db[collection].delete_one({"_id": wf_id})
    if doc.get("storage_mode") == "gridfs" and doc.get("gridfs_id") is not None:
        sample_io.gridfs_delete(db.db, doc["gridfs_id"])
    elif remove_unreferenced_files and doc.get("dfile"):
        query = {"dir": doc.get("dir"), "dfile": doc["dfile"]}
        if not any(db.db[c].count_documents(query) for c in WF_COLLECTIONS):
            path = sample_io.resolve_path(db.storage_root, doc.get("dir"), doc["dfile"])
            path.unlink(missing_ok=True)
    if clear_history:
        db.db["history"].delete_many({f"{collection}_id": wf_id})
    if clear_elog:
        db.db["elog"].delete_many({f"{collection}_id": wf_id})
    return True
