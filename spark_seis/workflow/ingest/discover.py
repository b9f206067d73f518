"""Which files are what: QuakeML, StationXML, MiniSEED, SAC, SPECFEM, ASDF."""
from __future__ import annotations

import os
from pathlib import Path
from typing import Iterable

from .common import (ASDF_SUFFIXES, KIND_ASDF, KIND_MSEED, KIND_ORDER, KIND_QUAKEML, KIND_SAC,
                     KIND_SEMD, KIND_STATIONXML, SEMD_SUFFIXES, XML_SUFFIXES)


def _sniff(path: Path, size: int = 4096) -> bytes:
    with open(path, "rb") as fh:
        return fh.read(size)


def classify(path: str | os.PathLike) -> str | None:
    """Kind of a file from its name and first bytes; None when it is not ours."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix in SEMD_SUFFIXES:
        return KIND_SEMD
    if suffix in ASDF_SUFFIXES:
        return KIND_ASDF
    if suffix == ".sac":
        return KIND_SAC
    head = _sniff(path)
    if head.startswith(b"\x89HDF"):
        return KIND_ASDF
    text = head.decode("latin-1").lower()
    if suffix in XML_SUFFIXES or text.lstrip().startswith("<?xml") or text.lstrip().startswith("<"):
        if "quakeml" in text or "<q:quakeml" in text:
            return KIND_QUAKEML
        if "fdsnstationxml" in text or "<network" in text:
            return KIND_STATIONXML
        return None
    if suffix in (".mseed", ".miniseed", ".ms"):
        return KIND_MSEED
    # no telling suffix (e.g. NZ.BFZ.10.HHE.D.2018.049): ask ObsPy's detectors
    try:
        from obspy.io.mseed.core import _is_mseed
        if _is_mseed(str(path)):
            return KIND_MSEED
        from obspy.io.sac.core import _is_sac
        if _is_sac(str(path)):
            return KIND_SAC
    except Exception:  # noqa: BLE001 - unreadable: let the caller name it
        return None
    return None


def collect_files(paths: Iterable[str | os.PathLike]) -> tuple[dict[str, list[Path]], list[tuple[str, str]]]:
    """Files below ``paths`` grouped by kind, in a stable order, plus unusable ones."""
    found: dict[str, list[Path]] = {k: [] for k in KIND_ORDER}
    unusable: list[tuple[str, str]] = []
    seen: set[Path] = set()
    for given in paths:
        root = Path(given)
        if not root.exists():
            raise FileNotFoundError(f"{root} does not exist")
        files = [root] if root.is_file() else sorted(
            p for p in root.rglob("*") if p.is_file() and not any(
                part.startswith(".") for part in p.relative_to(root).parts))
        for f in files:
            resolved = f.resolve()
            if resolved in seen:
                continue
            seen.add(resolved)
            try:
                kind = classify(f)
            except OSError as exc:
                unusable.append((str(f), f"cannot read: {exc}"))
                continue
            if kind is None:
                unusable.append((str(f), "not QuakeML, StationXML, MiniSEED, SAC, "
                                          "SPECFEM .semd or ASDF"))
            else:
                found[kind].append(f)
    return found, unusable
