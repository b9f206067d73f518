"""Error log carried by every data object.

A datum that fails during processing is not raised past the caller: the failing
algorithm posts an entry here and (for Invalid/Fatal) the datum is killed.
"""
from __future__ import annotations

import enum
import time
from dataclasses import dataclass, field
from typing import Iterable, Iterator


class ErrorSeverity(enum.IntEnum):
    """MsPASS severity levels, most severe first (lower value = worse)."""

    Fatal = 0
    Invalid = 1
    Suspect = 2
    Complaint = 3
    Debug = 4
    Informational = 5

    @classmethod
    def parse(cls, value: "ErrorSeverity | str | int") -> "ErrorSeverity":
        if isinstance(value, ErrorSeverity):
            return value
        if isinstance(value, str):
            try:
                return cls[value.capitalize()]
            except KeyError:
                raise ValueError(
                    f"unknown error severity {value!r}; expected one of "
                    f"{[s.name for s in cls]}"
                ) from None
        return cls(int(value))


@dataclass(frozen=True)
class LogEntry:
    algorithm: str
    message: str
    severity: ErrorSeverity = ErrorSeverity.Complaint
    timestamp: float = field(default_factory=time.time)

    def to_dict(self) -> dict:
        return {
            "algorithm": self.algorithm,
            "message": self.message,
            "severity": self.severity.name,
            "timestamp": self.timestamp,
        }

    @classmethod
    def from_dict(cls, doc: dict) -> "LogEntry":
        return cls(
            algorithm=str(doc["algorithm"]),
            message=str(doc["message"]),
            severity=ErrorSeverity.parse(doc.get("severity", "Complaint")),
            timestamp=float(doc.get("timestamp", 0.0)),
        )


class ErrorLog:
    """Ordered list of log entries; cheap to pickle (plain tuples)."""

    __slots__ = ("_entries",)

    def __init__(self, entries: Iterable[LogEntry] = ()) -> None:
        self._entries: list[LogEntry] = list(entries)

    def log(
        self,
        algorithm: str,
        message: str,
        severity: ErrorSeverity | str = ErrorSeverity.Complaint,
    ) -> LogEntry:
        entry = LogEntry(algorithm, message, ErrorSeverity.parse(severity))
        self._entries.append(entry)
        return entry

    def extend(self, other: "ErrorLog | Iterable[LogEntry]") -> None:
        self._entries.extend(other)

    def worst_severity(self) -> ErrorSeverity | None:
        return min((e.severity for e in self._entries), default=None)

    def to_list(self) -> list[dict]:
        return [e.to_dict() for e in self._entries]

    @classmethod
    def from_list(cls, docs: Iterable[dict]) -> "ErrorLog":
        return cls(LogEntry.from_dict(d) for d in docs)

    def clear(self) -> None:
        self._entries.clear()

    def __iter__(self) -> Iterator[LogEntry]:
        return iter(self._entries)

    def __len__(self) -> int:
        return len(self._entries)

    def __getitem__(self, i: int) -> LogEntry:
        return self._entries[i]

    def __eq__(self, other: object) -> bool:
        return isinstance(other, ErrorLog) and self._entries == other._entries

    def __repr__(self) -> str:
        return f"ErrorLog({len(self._entries)} entries)"

    def __reduce__(self):
        return (ErrorLog, (self._entries,))
