"""write_distributed_data: plain saves of an RDD of objects, exactly once.

Each partition writes all of its samples into ONE file (``dir``/``dfile``
named by data tag and partition), committed by atomic rename, then upserts
its documents in bulk. Document ids derive from the data tag and the datum's
identity, so a retried task or a rerun replaces instead of duplicating, and
the rewritten file has the same offsets.
"""
from __future__ import annotations

from typing import Any, Iterator, Mapping

from spark_seis.engine.commit import atomic_output

SEED_KEYS = ("net", "sta", "loc", "chan")


def _identity(obj: Any) -> tuple:
    if "_id" in obj.metadata:
        return ("id", str(obj["_id"]))
    return tuple(str(obj.get(k, "")) for k in SEED_KEYS) + (repr(obj.t0), obj.npts)


def _write_partition(index: int, objects: Iterator, database: Mapping[str, Any],
                     data_tag: str, dir_: str, mode: str) -> Iterator[dict]:
    from spark_seis.db import sample_io
    from spark_seis.db.client import database_session
    from spark_seis.db.crud_create import upsert_bundles
    from spark_seis.db.documents import derived_id, finalize_saved, object_to_documents

    objects = list(objects)
    if not objects:
        return
    with database_session(database) as db:
        bundles = [object_to_documents(obj, schema=db.schema, mode=mode, data_tag=data_tag,
                                       wf_id=derived_id(data_tag, *_identity(obj)))
                   for obj in objects]
        dfile = f"{data_tag}-part-{index:05d}.bin"
        live = [b for b in bundles if b.wf_doc is not None]
        if live:
            final = sample_io.resolve_path(db.storage_root, dir_, dfile)
            with atomic_output(final) as staging:
                with open(staging, "wb") as fh:
                    for bundle in live:
                        foff = fh.tell()
                        fh.write(bundle.samples or b"")
                        bundle.wf_doc.update({"dir": dir_, "dfile": dfile, "foff": foff,
                                              "nbytes": len(bundle.samples or b"")})
        counts = upsert_bundles(db.db, bundles)
        for obj, bundle in zip(objects, bundles):
            finalize_saved(obj, bundle)
        yield {"partition": index, "saved": len(live), "dead": len(bundles) - len(live),
               **{f"docs_{k}": v for k, v in counts.items()}}


def write_distributed_data(rdd, database: Mapping[str, Any], *, data_tag: str,
                           dir: str | None = None, mode: str = "promiscuous") -> dict[str, int]:
    """Save every object of ``rdd``; dead ones become tombstones. Returns counts."""
    if not data_tag:
        raise ValueError("write_distributed_data needs a data_tag: it names files and keys")
    dir_ = dir or data_tag
    stats = rdd.mapPartitionsWithIndex(
        lambda i, it: _write_partition(i, it, database, data_tag, dir_, mode)).collect()
    totals: dict[str, int] = {}
    for row in stats:
        for key, value in row.items():
            if key != "partition":
                totals[key] = totals.get(key, 0) + value
    totals["partitions"] = len(stats)
    return totals
