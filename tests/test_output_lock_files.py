"""The per-event writer lock leaves no 0-byte `.<event>.h5.lock` after a clean run,
and removing the file on release keeps two writers apart (a waiter that locked the
removed file retries on the new one)."""
from __future__ import annotations

import threading
import time

import pytest

from spark_seis.engine.commit import OutputBusyError, atomic_output, output_lock


def test_clean_write_leaves_no_lock_file(tmp_path):
    final = tmp_path / "2018p130600.h5"
    with atomic_output(final) as staging:
        staging.write_bytes(b"asdf")
        assert (tmp_path / ".2018p130600.h5.lock").exists()
    assert final.read_bytes() == b"asdf"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["2018p130600.h5"]


def test_second_writer_is_refused_while_the_first_holds_the_lock(tmp_path):
    final = tmp_path / "e.h5"
    with output_lock(final):
        with pytest.raises(OutputBusyError):
            with output_lock(final):
                pass
    with output_lock(final):  # free again after release
        pass
    assert not (tmp_path / ".e.h5.lock").exists()


def test_waiters_never_hold_the_lock_together(tmp_path):
    final = tmp_path / "e.h5"
    inside, overlaps = [0], []
    guard = threading.Lock()

    def writer():
        for _ in range(20):
            with output_lock(final, wait=True):
                with guard:
                    inside[0] += 1
                    overlaps.append(inside[0])
                time.sleep(0.001)
                with guard:
                    inside[0] -= 1

    threads = [threading.Thread(target=writer) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert len(overlaps) == 80 and max(overlaps) == 1
    assert not (tmp_path / ".e.h5.lock").exists()
