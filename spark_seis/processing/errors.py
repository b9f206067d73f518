"""Failure of one processing stage for one station."""
from __future__ import annotations


class StageError(Exception):
    """A stage could not produce output for this datum (bad data, not a bug).

    ``status`` is the station status it leads to, e.g. "no_windows" or
    "failed:preprocess"; callers record it and move on to the next station.
    """

    def __init__(self, stage: str, message: str, status: str | None = None):
        super().__init__(f"{stage}: {message}")
        self.stage = stage
        self.message = message
        self.status = status or f"failed:{stage}"
