"""Ensembles: a group of atomic data sharing ensemble-level metadata.

Ensemble metadata (e.g. the event of a common-source gather) is kept once and
copied to members only when they are saved, as MsPASS does.
"""
from __future__ import annotations

from typing import Any, Generic, Iterable, Iterator, Mapping, TypeVar

from .errorlog import ErrorLog
from .metadata import Metadata
from .seismogram import Seismogram
from .timeseries import TimeSeries

Member = TypeVar("Member", TimeSeries, Seismogram)


class _Ensemble(Generic[Member]):
    member_type: type = object

    __slots__ = ("members", "metadata", "live", "elog")

    def __init__(
        self,
        members: Iterable[Member] = (),
        metadata: Mapping[str, Any] | None = None,
        live: bool = True,
        elog: ErrorLog | None = None,
    ) -> None:
        self.members: list[Member] = []
        for member in members:
            self.append(member)
        self.metadata = metadata if isinstance(metadata, Metadata) else Metadata(metadata or {})
        if not isinstance(metadata, Metadata):
            self.metadata.clear_modified()
        self.live = bool(live)
        self.elog = elog if elog is not None else ErrorLog()

    def append(self, member: Member) -> None:
        if not isinstance(member, self.member_type):
            raise TypeError(
                f"{type(self).__name__} members must be {self.member_type.__name__}, "
                f"got {type(member).__name__}")
        self.members.append(member)

    def kill(self, algorithm: str, message: str) -> None:
        self.elog.log(algorithm, message, "Invalid")
        self.live = False

    def live_members(self) -> list[Member]:
        return [m for m in self.members if m.live]

    def sync_metadata(self, exclude: Iterable[str] = ()) -> None:
        """Copy ensemble metadata into every member (done before saving)."""
        skip = set(exclude)
        for member in self.members:
            for key, value in self.metadata.items():
                if key not in skip:
                    member[key] = value

    def __len__(self) -> int:
        return len(self.members)

    def __iter__(self) -> Iterator[Member]:
        return iter(self.members)

    def __getitem__(self, i: int) -> Member:
        return self.members[i]

    def __eq__(self, other: object) -> bool:
        return (
            type(self) is type(other)
            and self.members == other.members  # type: ignore[attr-defined]
            and dict(self.metadata) == dict(other.metadata)  # type: ignore[attr-defined]
            and self.live == other.live  # type: ignore[attr-defined]
            and self.elog == other.elog  # type: ignore[attr-defined]
        )

    __hash__ = None  # type: ignore[assignment]

    def __reduce__(self):
        return (type(self), (self.members, self.metadata, self.live, self.elog))

    def __repr__(self) -> str:
        return f"{type(self).__name__}({len(self.members)} members, live={self.live})"


class TimeSeriesEnsemble(_Ensemble[TimeSeries]):
    member_type = TimeSeries
    __slots__ = ()


class SeismogramEnsemble(_Ensemble[Seismogram]):
    member_type = Seismogram
    __slots__ = ()
