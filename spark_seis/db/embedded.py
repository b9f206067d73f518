"""Embedded, file-backed, pymongo-compatible store that several processes share.

One SQLite file per database (``<embedded_path>/<name>.sqlite3``) in WAL mode:
readers never wait for writers, every write is one ``BEGIN IMMEDIATE``
transaction (writers of all processes serialize; a busy store is waited for up
to ``BUSY_TIMEOUT_S``), a process killed mid-write leaves every committed
transaction and nothing of the one it was in. The collections and queries are
in :mod:`spark_seis.db.store`. Damage is reported naming the file: SQLite's
``quick_check`` when a process first opens a store of up to
``QUICK_CHECK_MAX_BYTES`` (larger stores would pay seconds per open; their
pages are still checked by SQLite as they are read), and a CRC-32 per document.
Why this and not an existing package: docs/database.md ("Which store").
"""
from __future__ import annotations

import fcntl
import os
import re
import sqlite3
import threading
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator

from .retry import DatabaseUnavailableError
from .wal_checkpoint import checkpointer
from .store.codec import decode
from .store.collection import Collection

SUFFIX = ".sqlite3"
BUSY_TIMEOUT_S = 120.0
QUICK_CHECK_MAX_BYTES = 256 * 2 ** 20
CACHE_KIB = 64 * 1024
# A batch of new waveform documents touches the tail of every site/channel run in
# three indexes (~1.5 pages per document at 1M documents); checkpointing the WAL
# after every such batch (SQLite's default: 1,000 pages) wrote those pages to the
# database file again and again and halved bulk upserts (bench/bench_store.py).
# A thread checkpoints from ~200 MB of WAL (wal_checkpoint.py); the writer itself
# only beyond ~1 GB (that thread behind); the file is cut back to 64 MB after.
WAL_CHECKPOINT_PAGES = 250_000
WAL_KEEP_BYTES = 64 * 2 ** 20
_CHECKED: set[str] = set()  # files this process has quick_check-ed
_NAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]*$")


class EmbeddedStoreError(RuntimeError):
    """The embedded store is damaged, full or unwritable; the message names the file."""


@contextmanager
def _open_lock(file: Path) -> Iterator[None]:
    """Exclusive, inter-process, held only while a connection is set up."""
    try:
        fd = os.open(f"{file}.open-lock", os.O_RDWR | os.O_CREAT, 0o644)
    except OSError:  # a read-only folder: nobody can be creating the store there
        yield
        return
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # releases the lock


class StoreFile:
    """One SQLite file: a connection per process, transactions, error translation."""

    def __init__(self, file: Path) -> None:
        self.file = Path(file)
        self._con: sqlite3.Connection | None = None
        self._pid: int | None = None
        self._lock = threading.RLock()
        self._schema_version: int | None = None
        self._indexes: dict[str, list[tuple[str, list, int]]] = {}
        self._tables: set[str] = set()

    # --- errors -------------------------------------------------------------
    def corrupt(self, detail: str) -> EmbeddedStoreError:
        return EmbeddedStoreError(
            f"embedded store {self.file} is damaged: {detail}. Restore it from a backup, "
            f"or delete it and ingest again")

    def translate(self, exc: sqlite3.Error) -> BaseException:
        code = getattr(exc, "sqlite_errorcode", None) or 0
        primary, text = code & 0xFF, str(exc)
        if primary == sqlite3.SQLITE_FULL or "disk is full" in text:
            return EmbeddedStoreError(f"embedded store {self.file}: the disk is full ({text}); "
                                      f"free space there or move embedded_path")
        if primary in (sqlite3.SQLITE_CORRUPT, sqlite3.SQLITE_NOTADB) or "malformed" in text:
            return self.corrupt(text)
        if primary in (sqlite3.SQLITE_CANTOPEN, sqlite3.SQLITE_READONLY, sqlite3.SQLITE_IOERR,
                       sqlite3.SQLITE_PERM):
            return EmbeddedStoreError(f"embedded store {self.file}: cannot read or write it "
                                      f"({text}); check the path and its permissions")
        return exc  # busy/locked and the rest: as SQLite said (retry.py retries busy)

    # --- connection ------------------------------------------------------------
    def _connect(self) -> sqlite3.Connection:
        if self._con is not None and self._pid == os.getpid():
            return self._con
        # Two processes opening a new store at once race on the switch to WAL and on
        # the catalog table; SQLite answers such a race with an immediate "database is
        # locked" (its busy handler is not used for that lock upgrade). Opens are
        # therefore serialized across processes by a lock file beside the store.
        with _open_lock(self.file):
            con = self._connect_locked()
        self._con, self._pid = con, os.getpid()
        self._schema_version, self._tables = None, set()
        return con

    def _connect_locked(self) -> sqlite3.Connection:
        con = sqlite3.connect(str(self.file), timeout=BUSY_TIMEOUT_S, isolation_level=None,
                              check_same_thread=False)
        try:
            con.execute("PRAGMA journal_mode=WAL")
            con.execute("PRAGMA synchronous=NORMAL")  # WAL: a killed process loses nothing committed
            con.execute(f"PRAGMA cache_size=-{CACHE_KIB}")
            con.execute(f"PRAGMA wal_autocheckpoint={WAL_CHECKPOINT_PAGES}")
            con.execute(f"PRAGMA journal_size_limit={WAL_KEEP_BYTES}")
            if not con.execute("SELECT 1 FROM sqlite_master WHERE name = '_indexes'").fetchone():
                con.execute("CREATE TABLE IF NOT EXISTS _indexes (coll TEXT, name TEXT, "
                            "keys TEXT, uniq INTEGER, PRIMARY KEY (coll, name))")
            key = str(self.file)
            if key not in _CHECKED and self.file.stat().st_size <= QUICK_CHECK_MAX_BYTES:
                # read through a 2 MB cache: the check reads every page once, and with the
                # 64 MB cache it left every process that opened a 100-256 MB store
                # holding 64 MB it did not need (bench/bench_scale.py, driver memory)
                con.execute("PRAGMA cache_size=-2048")
                result = [r[0] for r in con.execute("PRAGMA quick_check")]
                con.execute("PRAGMA shrink_memory")
                con.execute(f"PRAGMA cache_size=-{CACHE_KIB}")
                if result != ["ok"]:
                    raise self.corrupt("; ".join(result[:3]))
                _CHECKED.add(key)
        except sqlite3.Error as exc:
            con.close()
            raise self.translate(exc) from None
        except BaseException:
            con.close()
            raise
        return con

    @contextmanager
    def reading(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            con = self._connect()
            try:
                yield con
            except sqlite3.Error as exc:
                raise self.translate(exc) from None

    @contextmanager
    def writing(self, table: str) -> Iterator[sqlite3.Connection]:
        """One IMMEDIATE transaction (committed on success, rolled back on any error)."""
        with self._lock:
            con = self._connect()
            try:
                self._begin(con, table)
                yield con
                con.execute("COMMIT")
                checkpointer(self.file, BUSY_TIMEOUT_S).after_commit()
            except BaseException as exc:
                if con.in_transaction:
                    con.execute("ROLLBACK")
                if isinstance(exc, sqlite3.Error):
                    raise self.translate(exc) from None
                raise

    def _begin(self, con: sqlite3.Connection, table: str) -> None:
        con.execute("BEGIN IMMEDIATE")
        if not self.has_table(table, con):
            con.execute(f'CREATE TABLE IF NOT EXISTS "{table.replace(chr(34), 2 * chr(34))}" '
                        f"(rid INTEGER PRIMARY KEY, id TEXT NOT NULL UNIQUE, "
                        f"doc TEXT NOT NULL, crc INTEGER NOT NULL)")
            self._tables.add(table)

    def restart(self, con: sqlite3.Connection, table: str) -> None:
        """Roll back the transaction ``writing`` opened and open a new one.

        For a batch tried first in one statement without a savepoint (a savepoint
        copies every page the batch touches to a sub-journal: a third of a bulk
        upsert's cost at 1M documents): when it fails, the whole transaction goes.
        """
        con.execute("ROLLBACK")
        self._tables.discard(table)  # created in the rolled-back transaction, maybe
        self._begin(con, table)

    # --- catalog -------------------------------------------------------------------
    def has_table(self, name: str, con: sqlite3.Connection) -> bool:
        if name not in self._tables and con.execute(
                "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?",
                (name,)).fetchone():
            self._tables.add(name)
        return name in self._tables

    def _refresh(self) -> None:
        with self.reading() as con:
            version = con.execute("PRAGMA schema_version").fetchone()[0]
            if version != self._schema_version:
                found: dict[str, list] = {}
                for coll, name, keys, uniq in con.execute(
                        "SELECT coll, name, keys, uniq FROM _indexes"):
                    found.setdefault(coll, []).append((name, decode(keys), uniq))
                self._indexes, self._schema_version = found, version

    def indexes(self, coll: str) -> list[tuple[str, list, int]]:
        self._refresh()
        return self._indexes.get(coll, [])

    def index_exists(self, coll: str, name: str) -> bool:
        return any(n == name for n, _, _ in self.indexes(coll))

    def indexed_fields(self, coll: str) -> set[str]:
        return {path for _, keys, _ in self.indexes(coll) for path, _ in keys}

    def collection_names(self) -> list[str]:
        with self.reading() as con:
            return [r[0] for r in con.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table' AND name != '_indexes' "
                "ORDER BY name")]

    def close(self) -> None:
        with self._lock:
            if self._con is not None and self._pid == os.getpid():
                self._con.close()
            self._con = None


class EmbeddedDatabase:
    """pymongo-like Database over one store file."""

    def __init__(self, client: "EmbeddedClient", name: str, store: StoreFile) -> None:
        self.client, self.name, self._store = client, name, store

    def __getitem__(self, name: str) -> Collection:
        return Collection(self._store, self, name)

    def __getattr__(self, name: str) -> Collection:
        if name.startswith("_"):
            raise AttributeError(name)
        return self[name]

    def get_collection(self, name: str, **_ignored: Any) -> Collection:
        return self[name]

    def list_collection_names(self, **_ignored: Any) -> list[str]:
        return self._store.collection_names()

    def drop_collection(self, name: str) -> None:
        quoted = '"' + name.replace('"', '""') + '"'
        with self._store.writing("_indexes") as con:
            con.execute(f"DROP TABLE IF EXISTS {quoted}")
            con.execute("DELETE FROM _indexes WHERE coll = ?", (name,))
        self._store._tables.discard(name)

    def command(self, name: Any, *_args: Any, **_kwargs: Any) -> dict:
        if name == "ping":
            with self._store.reading() as con:
                con.execute("SELECT 1")
            return {"ok": 1.0}
        raise NotImplementedError(f"embedded store: command {name!r} is not supported")

    def __repr__(self) -> str:
        return f"EmbeddedDatabase({self.name!r} in {str(self._store.file)!r})"


class EmbeddedClient:
    """pymongo-like client over a directory of store files, safe across processes."""

    is_embedded = True

    def __init__(self, path: str | os.PathLike) -> None:
        self.path = Path(path).absolute()
        self.path.mkdir(parents=True, exist_ok=True)
        if not os.access(self.path, os.W_OK):
            raise PermissionError(f"{self.path} is not writable")
        self._stores: dict[str, StoreFile] = {}

    def _store(self, name: str) -> StoreFile:
        if not _NAME.match(name) or ".." in name:
            raise ValueError(f"database name {name!r}: use letters, digits, '_', '-', '.'")
        if name not in self._stores:
            file = self.path / f"{name}{SUFFIX}"
            if (self.path / name).is_dir() and not file.exists():
                raise EmbeddedStoreError(
                    f"embedded store {self.path / name} was written by the previous embedded "
                    f"engine (litemongo), which this version no longer reads: ingest again "
                    f"into a new embedded_path, or keep using the older spark_seis for it")
            self._stores[name] = StoreFile(file)
        return self._stores[name]

    def __getitem__(self, name: str) -> EmbeddedDatabase:
        return EmbeddedDatabase(self, name, self._store(name))

    def get_database(self, name: str, **_ignored: Any) -> EmbeddedDatabase:
        return self[name]

    def list_database_names(self) -> list[str]:
        return sorted(p.name[:-len(SUFFIX)] for p in self.path.glob(f"*{SUFFIX}"))

    def drop_database(self, name: str) -> None:
        store = self._store(name)
        store.close()
        for suffix in ("", "-wal", "-shm"):
            Path(f"{store.file}{suffix}").unlink(missing_ok=True)
        _CHECKED.discard(str(store.file))

    def close(self) -> None:
        for store in self._stores.values():
            store.close()

    def __enter__(self) -> "EmbeddedClient":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"EmbeddedClient({str(self.path)!r})"

    # Spark ships closures by pickling: send the path, reopen on the worker.
    def __reduce__(self):
        return (EmbeddedClient, (str(self.path),))


__all__ = ["EmbeddedClient", "EmbeddedDatabase", "EmbeddedStoreError", "StoreFile",
           "DatabaseUnavailableError"]
