"""The embedded document store: MongoDB documents in SQLite, pymongo's surface on top.

Split by concern: :mod:`.codec` (documents <-> tagged JSON text, checksums),
:mod:`.query` (filters -> SQL over expression indexes, projection, sort),
:mod:`.update` (update operators, upsert seeds), :mod:`.collection`
(Collection and Cursor). :mod:`spark_seis.db.embedded` opens the files.
Why our own store and not a package: docs/database.md ("Which store").
"""
