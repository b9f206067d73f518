"""Names that become paths: sanitized or refused, and writes kept inside their root.

Event ids (QuakeML resource ids), SEED codes and data tags come from files a user
did not write. Any of them can end up in a file name (``<event>.h5``,
``NET.STA.BXZ.adj``, ``ingest/<tag>/<event>.bin``), so a resource id such as
``smi:x/../../../../escaped/`` must never become a path with ``..`` or ``/`` in it.
Rules: a *file stem* is made of ``[A-Za-z0-9._-]`` only, does not start with a dot
and is never empty; SEED codes and tags that do not follow their rules are refused
at ingest (naming the value), not silently rewritten; every joined path is checked
to resolve inside its root, as ``sample_io.resolve_path`` does for ``dir``/``dfile``.
"""
from __future__ import annotations

import hashlib
import os
import re
from pathlib import Path

_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")
_SEED_CODE = re.compile(r"^[A-Za-z0-9_-]*$")
_TAG = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
MAX_STEM = 100


class UnsafeNameError(ValueError):
    """A name cannot be used as (part of) a path, or a path leaves its root."""


def _digest(text: str) -> str:
    return hashlib.sha1(text.encode("utf-8", "surrogatepass")).hexdigest()[:8]


def safe_file_stem(name: object) -> str:
    """``name`` as one path component: unchanged when already safe, else rewritten.

    Characters outside ``[A-Za-z0-9._-]`` become ``_``, leading dots and ``_`` are
    dropped (no hidden files, no ``..``). A rewritten name gets ``-<8 hex>`` of the
    original, so two different unsafe names never share a file. Refuses a name
    with nothing usable in it.
    """
    text = str(name)
    stem = _UNSAFE.sub("_", text).lstrip("._").rstrip("_")
    if not stem or set(stem) <= {"."}:
        raise UnsafeNameError(f"{text!r} has no characters usable in a file name "
                              f"(letters, digits, '.', '_', '-')")
    if stem == text and len(stem) <= MAX_STEM:
        return stem
    return f"{stem[:MAX_STEM - 9]}-{_digest(text)}"


def inside(root: str | os.PathLike, *parts: str) -> Path:
    """``Path(root, *parts)``, after checking that it resolves inside ``root``.

    Refuses ``..``, absolute parts and symlinks that lead out. The path is returned
    as joined (not resolved), so names in documents and messages stay as configured.
    """
    base = Path(root).resolve()
    joined = Path(root).joinpath(*[str(p) for p in parts])
    path = joined.resolve()
    if path == base or base not in path.parents:
        raise UnsafeNameError(f"refusing to write {path}: it is not inside {base} "
                              f"(built from {'/'.join(str(p) for p in parts)!r})")
    return joined


def check_seed_code(kind: str, code: object, *, empty_ok: bool = False) -> str:
    """A SEED network/station/location/channel code, or UnsafeNameError naming it.

    Letters, digits, ``_`` and ``-`` only: no ``.`` (it separates NET.STA.LOC.CHA),
    no ``/``, no spaces. Station codes may contain ``_`` (Pyatoa joins names with
    ``_``, readers split from the right).
    """
    text = "" if code is None else str(code)
    if not _SEED_CODE.match(text) or (not text and not empty_ok):
        raise UnsafeNameError(f"{kind} code {text!r} is not a SEED code (letters, digits, "
                              f"'_' and '-' only{', not empty' if not empty_ok else ''})")
    return text


def check_tag(tag: object, what: str = "data_tag") -> str:
    """A data tag (it names a folder): letters, digits, ``_ . -``; starts with a letter/digit."""
    text = str(tag)
    if not _TAG.match(text) or len(text) > MAX_STEM:
        raise UnsafeNameError(f"{what} {text!r} cannot name a folder: use letters, digits, "
                              f"'_', '.' and '-', starting with a letter or digit "
                              f"(e.g. synthetic_i01s00)")
    return text


def resource_id_short_name(resource_id: object) -> str:
    """The last non-empty segment of a resource id (``smi:nz.org.geonet/2018p130600`` ->
    ``2018p130600``), as a safe file stem."""
    text = str(resource_id)
    segments = [s for s in re.split(r"[/=?&#]", text) if s.strip(". ")]
    return safe_file_stem(segments[-1] if segments else text)


def resource_id_long_name(resource_id: object) -> str:
    """The resource id without its scheme, as a safe file stem
    (``smi:agencyB/1001`` -> ``agencyB_1001``): used when the short name is taken."""
    text = str(resource_id)
    text = re.sub(r"^(smi|quakeml):", "", text)
    segments = [s for s in re.split(r"[/=?&#]", text) if s.strip(". ")]
    stem = _UNSAFE.sub("_", "_".join(segments)).strip("._") if segments else ""
    if not stem:
        return safe_file_stem(text)
    return stem if len(stem) <= MAX_STEM else f"{stem[:MAX_STEM - 9]}-{_digest(text)}"
