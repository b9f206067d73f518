"""Metadata: a dict that remembers which keys were changed since it was loaded.

The database update path writes only changed keys, so the record of changes
must survive pickling (Spark moves objects between processes).
"""
from __future__ import annotations

from typing import Any, Iterable, Mapping


class Metadata(dict):
    """A ``dict`` whose writes are recorded until :meth:`clear_modified`.

    Any assignment counts as a change (MsPASS semantics), even when the value is
    equal to the old one; deletions are recorded too.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # keys given at construction are new: loaders call clear_modified()
        self._modified: set[str] = set(self.keys())

    # --- change tracking -------------------------------------------------
    def modified(self) -> set[str]:
        """Keys assigned or deleted since construction or the last clear."""
        return set(self._modified)

    def clear_modified(self) -> None:
        self._modified.clear()

    def is_modified(self, key: str) -> bool:
        return key in self._modified

    # --- dict writes ------------------------------------------------------
    def __setitem__(self, key: str, value: Any) -> None:
        super().__setitem__(key, value)
        self._modified.add(key)

    def __delitem__(self, key: str) -> None:
        super().__delitem__(key)
        self._modified.add(key)

    def update(self, *args: Any, **kwargs: Any) -> None:  # type: ignore[override]
        for key, value in dict(*args, **kwargs).items():
            self[key] = value

    def setdefault(self, key: str, default: Any = None) -> Any:
        if key not in self:
            self[key] = default
        return self[key]

    def pop(self, key: str, *default: Any) -> Any:
        if key in self:
            self._modified.add(key)
        return super().pop(key, *default)

    def popitem(self) -> tuple[str, Any]:
        key, value = super().popitem()
        self._modified.add(key)
        return key, value

    def clear(self) -> None:
        self._modified.update(self.keys())
        super().clear()

    def copy(self) -> "Metadata":
        return Metadata._restore(dict(self), self._modified)

    def __ior__(self, other: Mapping[str, Any]) -> "Metadata":  # type: ignore[override]
        self.update(other)
        return self

    # --- pickling: dict subclasses restore items before state, so do it by hand
    @classmethod
    def _restore(cls, items: dict, modified: Iterable[str]) -> "Metadata":
        md = cls()
        dict.update(md, items)
        md._modified = set(modified)
        return md

    def __reduce__(self):
        return (Metadata._restore, (dict(self), sorted(self._modified)))

    def __repr__(self) -> str:
        return f"Metadata({dict.__repr__(self)}, modified={sorted(self._modified)})"
