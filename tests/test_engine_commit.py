"""Exactly-once file commits: staging names, atomic rename, one writer per file."""
from __future__ import annotations

import multiprocessing as mp
import os
from pathlib import Path

import pytest

from spark_seis.engine.commit import (
    OutputBusyError, atomic_output, output_lock, remove_stale_staging, staging_path,
)


def test_success_renames_staging_into_place(tmp_path):
    final = tmp_path / "events" / "2018p130600.h5"
    with atomic_output(final) as staging:
        assert staging.name.startswith(".2018p130600.h5.driver-")
        staging.write_bytes(b"complete")
        assert not final.exists()  # nothing visible until committed
    assert final.read_bytes() == b"complete"
    assert [p.name for p in final.parent.iterdir() if "inprogress" in p.name] == []


def test_failure_leaves_final_untouched_and_no_staging(tmp_path):
    final = tmp_path / "out.h5"
    final.write_bytes(b"old, good")
    with pytest.raises(RuntimeError, match="boom"):
        with atomic_output(final) as staging:
            staging.write_bytes(b"half")
            raise RuntimeError("boom")
    assert final.read_bytes() == b"old, good"
    assert not any("inprogress" in p.name for p in tmp_path.iterdir())


def _crash_mid_write(final: str) -> None:
    with atomic_output(Path(final)) as staging:
        staging.write_bytes(b"partial")
        os._exit(9)  # a killed task: no cleanup runs


def test_killed_writer_leaves_only_staging_which_the_retry_removes(tmp_path):
    final = tmp_path / "ev.h5"
    proc = mp.get_context("spawn").Process(target=_crash_mid_write, args=(str(final),))
    proc.start()
    proc.join(60)
    assert proc.exitcode == 9
    leftovers = list(tmp_path.glob(".ev.h5.*.inprogress"))
    assert len(leftovers) == 1 and not final.exists()
    with atomic_output(final) as staging:  # the retry
        staging.write_bytes(b"full")
    assert final.read_bytes() == b"full"
    assert list(tmp_path.glob(".ev.h5.*.inprogress")) == []


def _hold_lock(final: str, ready, release) -> None:
    with output_lock(Path(final)):
        ready.set()
        release.wait(30)


def test_second_writer_of_same_output_is_refused(tmp_path):
    final = tmp_path / "ev.h5"
    ctx = mp.get_context("spawn")
    ready, release = ctx.Event(), ctx.Event()
    holder = ctx.Process(target=_hold_lock, args=(str(final), ready, release))
    holder.start()
    try:
        assert ready.wait(60)
        with pytest.raises(OutputBusyError, match="being written by another process"):
            with atomic_output(final):
                pass
    finally:
        release.set()
        holder.join(60)
    with atomic_output(final) as staging:  # free again
        staging.write_bytes(b"ok")
    assert final.read_bytes() == b"ok"


def test_staging_names_are_distinct_per_attempt(tmp_path):
    final = tmp_path / "x.h5"
    a, b = staging_path(final, "s1-p0-a0-t5"), staging_path(final, "s1-p0-a1-t9")
    assert a != b and a.parent == b.parent == tmp_path
    a.write_bytes(b"1")
    b.write_bytes(b"2")
    assert sorted(p.name for p in remove_stale_staging(final)) == sorted([a.name, b.name])
