"""One `spark-seis run` per project at a time: a lock file in the project's work_dir.

A nightly cron run that starts while yesterday's is still going must stop at
once rather than race it. flock() is released by the kernel when the process
dies, so a crashed run never leaves a stale lock behind.
"""
from __future__ import annotations

import contextlib
import fcntl
import os
import time
from pathlib import Path
from typing import Iterator

from .errors import UserError

LOCK_NAME = ".spark-seis-run.lock"


class ProjectBusyError(UserError):
    """Another run of the same project holds the lock (exit code 4)."""


@contextlib.contextmanager
def project_lock(work_dir: Path) -> Iterator[Path]:
    """Hold ``<work_dir>/.spark-seis-run.lock`` for the whole run; removed on release."""
    work_dir.mkdir(parents=True, exist_ok=True)
    path = work_dir / LOCK_NAME
    while True:
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = _read_holder(fd)
            os.close(fd)
            raise ProjectBusyError(
                f"another 'spark-seis run' is running for this project{holder} "
                f"(lock {path})",
                "wait for it to finish; the lock goes when that process ends") from None
        # the holder before us may have removed the file after we opened it: retry
        # on the file that is there now, so two runs never hold different inodes
        try:
            same = os.stat(path).st_ino == os.fstat(fd).st_ino
        except FileNotFoundError:
            same = False
        if same:
            break
        os.close(fd)
    try:
        os.ftruncate(fd, 0)
        os.write(fd, f"pid {os.getpid()} started {time.strftime('%Y-%m-%dT%H:%M:%S')}\n"
                 .encode())
        yield path
    finally:
        with contextlib.suppress(FileNotFoundError):
            path.unlink()  # while holding it; a waiter on this inode sees it gone and retries
        os.close(fd)


def _read_holder(fd: int) -> str:
    try:
        text = os.pread(fd, 200, 0).decode(errors="replace").strip()
    except OSError:
        return ""
    return f" ({text})" if text else ""
