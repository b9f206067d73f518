"""Driver-side progress: stage task counts and processed/dead/total data.

Executors count through Spark accumulators; a daemon thread on the driver
prints a line every ``interval`` seconds (2 s), so a long job is never silent
even while no station finishes.
"""
from __future__ import annotations

import sys
import threading
import time
from dataclasses import dataclass
from typing import Callable, TextIO


@dataclass
class Counters:
    """Accumulators the pipeline stages add to (one per outcome)."""

    processed: object
    dead: object
    written: object

    @classmethod
    def create(cls, sc) -> "Counters":
        return cls(sc.accumulator(0), sc.accumulator(0), sc.accumulator(0))

    def snapshot(self) -> dict[str, int]:
        return {"processed": self.processed.value, "dead": self.dead.value,
                "written": self.written.value}


class ProgressReporter:
    """Print stage progress and counters every ``interval`` seconds while active."""

    def __init__(self, sc, counters: Counters, total: int, label: str = "job",
                 interval: float = 2.0, stream: TextIO | None = None,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._sc, self._counters, self._total = sc, counters, total
        self._label, self._interval = label, interval
        self._stream = stream or sys.stderr
        self._clock = clock
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._started = clock()
        self.lines: list[str] = []

    def _state(self) -> str:
        """Counts and stage progress of the running stages."""
        tracker = self._sc.statusTracker()
        stages = []
        for stage_id in tracker.getActiveStageIds():
            info = tracker.getStageInfo(stage_id)
            if info is not None:
                stages.append(f"stage {stage_id}: {info.numCompletedTasks}/{info.numTasks} tasks")
        counts = self._counters.snapshot()
        return (f"processed {counts['processed']}/{self._total}"
                f" dead {counts['dead']} written {counts['written']}"
                + (f" | {'; '.join(stages)}" if stages else ""))

    def report(self) -> None:
        text = f"[{self._label}] {self._clock() - self._started:6.1f}s {self._state()}"
        print(text, file=self._stream, flush=True)
        self.lines.append(text)

    def _run(self) -> None:
        while not self._stop.wait(self._interval):
            try:
                self.report()
            except Exception:  # the tracker can vanish while Spark shuts down
                return

    def __enter__(self) -> "ProgressReporter":
        self._thread = threading.Thread(target=self._run, name="spark_seis-progress", daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(5)
        self.report()
