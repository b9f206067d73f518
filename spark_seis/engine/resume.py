"""What `--resume` may skip: stations whose outputs are really there, under the same Config.

A station counts as done only if the database says so AND its event's ASDF file
holds this evaluation's Config and the station's entries (windows, adjoint
sources, synthetics, as its documents promise), and its SPECFEM ``.adj`` files
exist when the job writes them. Anything missing is recomputed and rewritten.
An evaluation whose stored Config differs from the current one is refused:
mixing two configurations in one evaluation would go unnoticed otherwise.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Mapping

import numpy as np

# engine.output_docs' collection names, repeated so the CLI's pre-check imports no ObsPy
STATIONS, MISFITS = "misfit_station", "misfit"


class ConfigChangedError(ValueError):
    """--resume of an evaluation whose stored Config differs from the current one."""


def _plain(value: Any) -> Any:
    if isinstance(value, bytes):
        return value.decode()
    if isinstance(value, np.ndarray):
        return [_plain(v) for v in value.tolist()]
    if isinstance(value, np.generic):
        return value.item()
    return value


def config_differences(stored: Mapping[str, Any], current: Mapping[str, Any]
                       ) -> list[str]:
    """'key: stored -> current' for every attribute that differs (missing = absent)."""
    out = []
    for key in sorted(set(stored) | set(current)):
        a = _plain(stored[key]) if key in stored else "(absent)"
        b = _plain(current[key]) if key in current else "(absent)"
        if a != b:
            out.append(f"{key}: {a!r} -> {b!r}")
    return out


def check_same_config(event_files: Mapping[str, Path], config) -> None:
    """Raise ConfigChangedError naming the differing keys of the first file that differs."""
    from spark_seis.io.asdf_evaluation import read_config_attributes
    from spark_seis.io.asdf_writer import config_attributes

    for _event, path in sorted(event_files.items()):
        if not path.exists():
            continue
        stored = read_config_attributes(path, config.aux_path)
        if stored is None:
            continue
        # the writer stores the event's id in its Config (as the engine's write_event does)
        written = config if config.event_id is not None else config.copy(event_id=path.stem)
        current = {k: _plain(v) for k, v in config_attributes(written).items()}
        diffs = config_differences(stored, current)
        if diffs:
            raise ConfigChangedError(
                f"cannot resume {config.eval_tag}: the Config stored in {path} "
                f"(Configs/{config.aux_path}) differs in {len(diffs)} key(s): "
                f"{'; '.join(diffs[:8])}{' ...' if len(diffs) > 8 else ''}. "
                "Rerun without --resume to replace the evaluation, or pass "
                "--resume-with-changed-config to mix both on purpose")


def finished_stations(db, config, event_files: Mapping[str, Path],
                      specfem_dir: Path | None, event_names: Mapping[str, str]
                      ) -> set[tuple[str, str]]:
    """(source_id, 'NET.STA') of stations done in the database AND present in the outputs."""
    import h5py

    from spark_seis.io.asdf_evaluation import CONFIGS, stations_with_entries

    eval_tag = config.eval_tag
    adjoint: dict[tuple[str, str], set[str]] = {}  # station -> its .adj channel codes
    for d in db.db[MISFITS].find({"eval_tag": eval_tag, "adjsrc_path": {"$ne": None}},
                                 {"source_id": 1, "net": 1, "sta": 1, "adjsrc_component": 1}):
        adjoint.setdefault((str(d["source_id"]), f"{d['net']}.{d['sta']}"), set()).add(
            d.get("adjsrc_component"))
    present: dict[str, dict[str, set[str]] | None] = {}
    done = set()
    for doc in db.db[STATIONS].find({"eval_tag": eval_tag},
                                    {"source_id": 1, "net": 1, "sta": 1, "status": 1,
                                     "nwin": 1}):
        event, code = str(doc["source_id"]), f"{doc['net']}.{doc['sta']}"
        if event not in present:
            present[event] = _entries(event_files.get(event), config, h5py, CONFIGS,
                                      stations_with_entries)
        entries = present[event]
        if entries is None:  # no file, or it lacks this evaluation
            continue
        kinds = entries.get(code, set())
        needed = set()
        if doc.get("status") == "ok":
            needed.add("synthetic")
        if doc.get("nwin"):
            needed.add("MisfitWindows")
        if (event, code) in adjoint:
            needed.add("AdjointSources")
            folder = None if specfem_dir is None else \
                specfem_dir / event_names.get(event, event) / eval_tag
            if folder is not None and not all((folder / f"{code}.{cha}.adj").exists()
                                              for cha in adjoint[(event, code)]):
                continue
        if needed <= kinds:
            done.add((event, code))
    return done


def _entries(path: Path | None, config, h5py, configs, stations_with_entries):
    if path is None or not path.exists():
        return None
    try:
        with h5py.File(path, "r") as h5:
            if f"AuxiliaryData/{configs}/{config.aux_path}" not in h5:
                return None
            return stations_with_entries(h5, config.aux_path, config.synthetic_tag)
    except OSError:  # unreadable: nothing in it counts, the stations are redone
        return None


def forget_unbacked_stations(db, config, event_files: Mapping[str, Path],
                             specfem_dir: Path | None, event_names: Mapping[str, str]) -> int:
    """Delete station documents of this evaluation whose outputs are missing.

    The planner counts a station done by its ``misfit_station`` document; a document
    whose ASDF entries or ``.adj`` files are gone must not make ``--resume`` skip the
    station. It is rewritten when the station is redone. Returns how many went.
    """
    done = finished_stations(db, config, event_files, specfem_dir, event_names)
    gone = 0
    for doc in db.db[STATIONS].find({"eval_tag": config.eval_tag},
                                    {"source_id": 1, "net": 1, "sta": 1}):
        if (str(doc["source_id"]), f"{doc['net']}.{doc['sta']}") not in done:
            db.db[STATIONS].delete_one({"_id": doc["_id"]})
            gone += 1
    return gone
