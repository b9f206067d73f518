"""Optional processing history: a chain of records from an ORIGIN.

History is off by default because it costs memory on every datum; when on,
each processing step appends one record naming the algorithm and its
parameters. Saving history clears it back to a single ORIGIN record that
points at the saved document, so chains never grow without bound.
"""
from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class HistoryRecord:
    algorithm: str
    parameters: dict = field(default_factory=dict)
    uuid: str = field(default_factory=lambda: uuid.uuid4().hex)
    parent: str | None = None

    def to_dict(self) -> dict:
        return {
            "algorithm": self.algorithm,
            "parameters": dict(self.parameters),
            "uuid": self.uuid,
            "parent": self.parent,
        }

    @classmethod
    def from_dict(cls, doc: dict) -> "HistoryRecord":
        return cls(
            algorithm=str(doc["algorithm"]),
            parameters=dict(doc.get("parameters") or {}),
            uuid=str(doc["uuid"]),
            parent=doc.get("parent"),
        )


ORIGIN = "ORIGIN"


class ProcessingHistory:
    """Linear chain of :class:`HistoryRecord`, first one always ORIGIN."""

    __slots__ = ("job_name", "records")

    def __init__(self, job_name: str = "spark_seis", records: list[HistoryRecord] | None = None):
        self.job_name = job_name
        self.records: list[HistoryRecord] = records or [
            HistoryRecord(ORIGIN, {"job_name": job_name})
        ]

    @property
    def current_uuid(self) -> str:
        return self.records[-1].uuid

    def add(self, algorithm: str, parameters: dict[str, Any] | None = None) -> HistoryRecord:
        record = HistoryRecord(algorithm, dict(parameters or {}), parent=self.current_uuid)
        self.records.append(record)
        return record

    def clear(self, origin_parameters: dict[str, Any] | None = None) -> None:
        """Reset to one ORIGIN record (after the chain has been saved)."""
        params = {"job_name": self.job_name, **(origin_parameters or {})}
        self.records = [HistoryRecord(ORIGIN, params)]

    def is_origin(self) -> bool:
        return len(self.records) == 1 and self.records[0].algorithm == ORIGIN

    def to_list(self) -> list[dict]:
        return [r.to_dict() for r in self.records]

    @classmethod
    def from_list(cls, docs: list[dict], job_name: str = "spark_seis") -> "ProcessingHistory":
        return cls(job_name, [HistoryRecord.from_dict(d) for d in docs])

    def __len__(self) -> int:
        return len(self.records)

    def __eq__(self, other: object) -> bool:
        return (
            isinstance(other, ProcessingHistory)
            and self.job_name == other.job_name
            and self.records == other.records
        )

    def __reduce__(self):
        return (ProcessingHistory, (self.job_name, self.records))

    def __repr__(self) -> str:
        return f"ProcessingHistory({self.job_name!r}, {len(self.records)} records)"
