"""Exactly-once file outputs from Spark tasks.

A task writes to a staging name that carries its attempt id and renames it into
place only when the whole output is complete, as Spark's own file committers do.
A failed attempt leaves at most a staging file, which later attempts and reruns
remove; readers never see a half-written file under the final name.
"""
from __future__ import annotations

import contextlib
import fcntl
import os
from pathlib import Path
from typing import Iterator

STAGING_SUFFIX = ".inprogress"


def task_attempt_tag() -> str:
    """Unique per task attempt inside Spark, per process outside it."""
    try:
        from pyspark import TaskContext

        ctx = TaskContext.get()
    except ImportError:  # pragma: no cover - pyspark is a dependency
        ctx = None
    if ctx is None:
        return f"driver-{os.getpid()}"
    return (f"s{ctx.stageId()}-p{ctx.partitionId()}-a{ctx.attemptNumber()}"
            f"-t{ctx.taskAttemptId()}")


def staging_path(final: Path, tag: str | None = None) -> Path:
    return final.with_name(f".{final.name}.{tag or task_attempt_tag()}{STAGING_SUFFIX}")


def remove_stale_staging(final: Path) -> list[Path]:
    """Delete staging files of earlier attempts at ``final``; returns what went."""
    removed = []
    for stale in final.parent.glob(f".{final.name}.*{STAGING_SUFFIX}"):
        with contextlib.suppress(FileNotFoundError):
            stale.unlink()
            removed.append(stale)
    return removed


@contextlib.contextmanager
def output_lock(final: Path, wait: bool = False) -> Iterator[None]:
    """Inter-process lock on one output: a second writer is refused (or waits).

    HDF5 files are corrupted by a second writer even while the first holds its
    own lock, so two jobs writing the same event must never interleave.
    """
    lock_file = final.with_name(f".{final.name}.lock")
    lock_file.parent.mkdir(parents=True, exist_ok=True)
    while True:
        fd = os.open(lock_file, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB))
        except BlockingIOError:
            os.close(fd)
            raise OutputBusyError(
                f"{final} is being written by another process; "
                "two jobs must not write the same event at once") from None
        # the previous holder removes the file on release: lock the one that is there
        if _same_file(fd, lock_file):
            break
        os.close(fd)
    try:
        yield
    finally:
        with contextlib.suppress(FileNotFoundError):
            lock_file.unlink()  # while holding it: no 0-byte lock files left behind
        os.close(fd)


def _same_file(fd: int, path: Path) -> bool:
    try:
        return os.stat(path).st_ino == os.fstat(fd).st_ino
    except FileNotFoundError:
        return False


class OutputBusyError(RuntimeError):
    """Another process holds the writer lock of an output file."""


@contextlib.contextmanager
def atomic_output(final: Path | str, wait_for_lock: bool = False) -> Iterator[Path]:
    """Yield a staging path; on success it replaces ``final`` atomically.

    On any exception the staging file is removed and ``final`` is untouched.
    """
    final = Path(final)
    final.parent.mkdir(parents=True, exist_ok=True)
    with output_lock(final, wait=wait_for_lock):
        remove_stale_staging(final)
        with renamed_into_place(final) as staging:
            yield staging


@contextlib.contextmanager
def renamed_into_place(final: Path) -> Iterator[Path]:
    """Yield a staging path for ``final``; on success make it ``final`` durably (fsync,
    rename, fsync of the folder); on any exception remove it. No lock: callers whose
    attempts may race either hold :func:`output_lock` or write identical bytes."""
    staging = staging_path(final)
    try:
        yield staging
        if staging.exists():
            _fsync(staging)
            os.replace(staging, final)
            _fsync_dir(final.parent)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            staging.unlink()
        raise


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _fsync_dir(path: Path) -> None:
    """Make a rename durable: fsync the folder that holds it (best effort)."""
    with contextlib.suppress(OSError):
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


JOB_STAGING_PREFIX = ".staging-"


@contextlib.contextmanager
def job_staging(output_dir: Path | str) -> Iterator[Path]:
    """A folder for this job's per-task staged outputs, removed when the job ends.

    The job holds a lock on it while it runs; folders left by a killed driver
    (lock free) are removed by the next job, never those of a running one.
    """
    import shutil
    import uuid

    root = Path(output_dir)
    root.mkdir(parents=True, exist_ok=True)
    for stale in root.glob(f"{JOB_STAGING_PREFIX}*"):
        if stale.suffix == ".lock":
            continue
        try:
            with output_lock(stale):
                shutil.rmtree(stale, ignore_errors=True)
        except OutputBusyError:
            continue  # another job is running: its folder stays
        with contextlib.suppress(FileNotFoundError):
            stale.with_name(f".{stale.name}.lock").unlink()
    folder = root / f"{JOB_STAGING_PREFIX}{uuid.uuid4().hex[:12]}"
    with output_lock(folder):
        folder.mkdir()
        try:
            yield folder
        finally:
            shutil.rmtree(folder, ignore_errors=True)
    with contextlib.suppress(FileNotFoundError):
        folder.with_name(f".{folder.name}.lock").unlink()
