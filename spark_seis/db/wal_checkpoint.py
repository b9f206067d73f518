"""Copy an embedded store's WAL into its file on a thread, not in the writer's commit.

A checkpoint (WAL pages written into the store file, then fsync) took half the wall
time of bulk upserts at a million documents when the committing writer ran it
(bench/bench_store.py: 18k docs/s with it, 28k without). A PASSIVE checkpoint on
another connection runs beside the writer (SQLite lets writers append while it
copies) and the GIL is released while it waits on the disk. The writer's own
``wal_autocheckpoint`` stays as the bound if this thread falls behind, and a
checkpoint cut short by the process ending is finished by the next one (SQLite's
checkpoints are restartable), so nothing here can lose a commit.
"""
from __future__ import annotations

import atexit
import os
import sqlite3
import threading
from pathlib import Path

BACKGROUND_AT_BYTES = 50_000 * 4096  # start one once the WAL holds ~200 MB
_EXIT_WAIT_S = 60.0


_BY_FILE: dict[tuple[int, str], "BackgroundCheckpointer"] = {}


def checkpointer(file: Path, busy_timeout_s: float) -> "BackgroundCheckpointer":
    """The one checkpointer of ``file`` in this process (clients come and go per task)."""
    key = (os.getpid(), str(file))
    if key not in _BY_FILE:
        _BY_FILE[key] = BackgroundCheckpointer(file, busy_timeout_s)
    return _BY_FILE[key]


@atexit.register
def _finish_running_checkpoints() -> None:
    for (pid, _), one in list(_BY_FILE.items()):
        if pid == os.getpid():
            one.wait(_EXIT_WAIT_S)


class BackgroundCheckpointer:
    """At most one checkpoint thread per store file and process."""

    def __init__(self, file: Path, busy_timeout_s: float) -> None:
        self.file, self.wal = Path(file), Path(f"{file}-wal")
        self.busy_timeout_s = busy_timeout_s
        self._running = threading.Lock()
        self._thread: threading.Thread | None = None

    def after_commit(self) -> None:
        """Start a checkpoint when the WAL has grown past the threshold (one stat)."""
        try:
            if self.wal.stat().st_size < BACKGROUND_AT_BYTES:
                return
        except OSError:
            return
        if not self._running.acquire(blocking=False):
            return  # one is running; it or the next commit catches up
        self._thread = threading.Thread(target=self._run, name=f"wal-checkpoint {self.file.name}",
                                        daemon=True)
        self._thread.start()

    def _run(self) -> None:
        try:
            con = sqlite3.connect(str(self.file), timeout=self.busy_timeout_s,
                                  isolation_level=None)
            try:
                con.execute("PRAGMA wal_checkpoint(PASSIVE)")
            finally:
                con.close()
        except sqlite3.Error:
            pass  # busy or gone: the writer's wal_autocheckpoint still bounds the WAL
        finally:
            self._running.release()

    def wait(self, timeout: float | None = None) -> None:
        """Let a running checkpoint finish (at exit: not cut short without need)."""
        thread = self._thread
        if thread is not None:
            thread.join(timeout)
