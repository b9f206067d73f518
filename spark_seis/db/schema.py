"""Schema (conf/schema.yaml): types, read-only flags, aliases, normalized keys.

The schema is guidance: promiscuous reads/writes never look at it; cautious mode
converts mismatched types (and fails only on impossible conversions); pedantic
mode treats every mismatch as a failure.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

import yaml
from bson import ObjectId

DEFAULT_SCHEMA_PATH = Path(__file__).resolve().parents[2] / "conf" / "schema.yaml"
WF_COLLECTIONS = ("wf_TimeSeries", "wf_Seismogram")
NORMALIZING_COLLECTIONS = ("source", "site", "channel")
MODES = ("promiscuous", "cautious", "pedantic")

_TYPES: dict[str, tuple[type, ...]] = {
    "float": (float,), "int": (int,), "str": (str,), "bool": (bool,),
    "ObjectId": (ObjectId,), "list": (list, tuple), "dict": (dict,),
}


class UnknownCollectionError(KeyError):
    """A collection the schema does not define was asked for."""

    def __str__(self) -> str:  # KeyError quotes its message; keep it readable
        return str(self.args[0])


class ConversionError(ValueError):
    """A value cannot be converted to the schema type."""


def check_mode(mode: str) -> str:
    if mode not in MODES:
        raise ValueError(f"mode must be one of {MODES}, got {mode!r}")
    return mode


@dataclass(frozen=True)
class Attribute:
    name: str
    type: str = "str"
    readonly: bool = False
    aliases: tuple[str, ...] = ()
    constraint: str | None = None

    @property
    def is_xref(self) -> bool:
        return self.constraint == "xref"

    def matches(self, value: Any) -> bool:
        """True when ``value`` already has the schema type (bool is not an int here)."""
        if value is None:
            return True
        if self.type in ("int", "float") and isinstance(value, bool):
            return False
        return isinstance(value, _TYPES[self.type])

    def convert(self, value: Any) -> Any:
        """Convert to the schema type or raise ConversionError naming key and value."""
        if self.matches(value):
            return value
        try:
            if self.type == "float":
                if isinstance(value, (bool, list, dict, tuple)):
                    raise TypeError
                out = float(value)
                return out
            if self.type == "int":
                if isinstance(value, (bool, list, dict, tuple)):
                    raise TypeError
                number = float(value)
                if not math.isfinite(number) or number != int(number):
                    raise ValueError
                return int(number)
            if self.type == "str":
                if isinstance(value, (list, dict, tuple)):
                    raise TypeError
                return str(value)
            if self.type == "bool":
                if isinstance(value, str) and value.lower() in ("true", "false", "1", "0"):
                    return value.lower() in ("true", "1")
                if isinstance(value, (int, float)) and value in (0, 1):
                    return bool(value)
                raise ValueError
            if self.type == "ObjectId":
                return ObjectId(str(value))
            if self.type == "list" and isinstance(value, tuple):
                return list(value)
        except Exception:  # noqa: BLE001 - every failure becomes one clear error
            pass
        raise ConversionError(
            f"attribute {self.name!r}: cannot convert {value!r} "
            f"({type(value).__name__}) to {self.type}")


@dataclass
class CollectionSchema:
    name: str
    attributes: dict[str, Attribute] = field(default_factory=dict)
    normalize: tuple[str, ...] = ()
    normalized_attributes: tuple[str, ...] = ()
    _aliases: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for attr in self.attributes.values():
            for alias in attr.aliases:
                self._aliases[alias] = attr.name

    def canonical(self, key: str) -> str:
        return self._aliases.get(key, key)

    def get(self, key: str) -> Attribute | None:
        return self.attributes.get(self.canonical(key))

    def readonly_keys(self) -> set[str]:
        return {k for k, a in self.attributes.items() if a.readonly and k != "_id"}

    def xref_keys(self) -> set[str]:
        return {k for k, a in self.attributes.items() if a.is_xref}


class Schema:
    """All collections of one database; built from YAML with ``yaml.safe_load``."""

    def __init__(self, spec: Mapping[str, Any]) -> None:
        self.collections: dict[str, CollectionSchema] = {}
        for cname, cspec in spec.items():
            attrs = {}
            for key, a in (cspec.get("attributes") or {}).items():
                attrs[key] = Attribute(
                    name=key, type=str(a.get("type", "str")),
                    readonly=bool(a.get("readonly", False)),
                    aliases=tuple(a.get("aliases") or ()),
                    constraint=a.get("constraint"))
                if attrs[key].type not in _TYPES:
                    raise ValueError(f"schema: {cname}.{key} has unknown type {a.get('type')!r}")
            self.collections[cname] = CollectionSchema(
                name=cname, attributes=attrs,
                normalize=tuple(cspec.get("normalize") or ()),
                normalized_attributes=tuple(cspec.get("normalized_attributes") or ()))

    @classmethod
    def load(cls, path: str | Path | None = None) -> "Schema":
        path = Path(path) if path else DEFAULT_SCHEMA_PATH
        with open(path, encoding="utf-8") as fh:
            return cls(yaml.safe_load(fh) or {})

    def __getitem__(self, name: str) -> CollectionSchema:
        try:
            return self.collections[name]
        except KeyError:
            raise UnknownCollectionError(
                f"unknown collection {name!r}; the schema defines "
                f"{sorted(self.collections)}") from None

    def __contains__(self, name: str) -> bool:
        return name in self.collections

    def normalized_keys(self, wf_collection: str) -> set[str]:
        """Keys a reader may have loaded from normalizing collections (never saved)."""
        keys: set[str] = set()
        for norm in self[wf_collection].normalize:
            if norm in self.collections:
                keys.update(f"{norm}_{k}" for k in self.collections[norm].normalized_attributes)
        return keys


_DEFAULT: Schema | None = None


def default_schema() -> Schema:
    global _DEFAULT
    if _DEFAULT is None:
        _DEFAULT = Schema.load()
    return _DEFAULT


def check_wf_collection(name: str) -> str:
    if name not in WF_COLLECTIONS:
        raise UnknownCollectionError(
            f"unknown waveform collection {name!r}; expected one of {WF_COLLECTIONS}")
    return name


def apply_mode(doc: Mapping[str, Any], cschema: CollectionSchema, mode: str,
               skip: set[str] = frozenset()) -> tuple[dict, list[str], list[str]]:
    """Check/convert a document against a collection schema.

    Returns (new_doc, complaints, fatal): complaints are repaired problems
    (conversions, alias renames); fatal lists problems that must kill the datum
    (pedantic: any mismatch; cautious: impossible conversions).
    """
    check_mode(mode)
    if mode == "promiscuous":
        return dict(doc), [], []
    out: dict[str, Any] = {}
    complaints: list[str] = []
    fatal: list[str] = []
    for key, value in doc.items():
        canon = cschema.canonical(key)
        if canon != key:
            if canon in doc:
                complaints.append(f"alias {key!r} dropped: {canon!r} is also present")
                continue
            complaints.append(f"alias {key!r} renamed to {canon!r}")
        attr = cschema.attributes.get(canon)
        if attr is None or key in skip or attr.matches(value):
            out[canon] = value
            continue
        if mode == "pedantic":
            fatal.append(f"attribute {canon!r} has type {type(value).__name__}, "
                         f"schema requires {attr.type} (value {value!r})")
            out[canon] = value
            continue
        try:
            out[canon] = attr.convert(value)
            complaints.append(f"attribute {canon!r} converted from "
                              f"{type(value).__name__} {value!r} to {attr.type}")
        except ConversionError as exc:
            fatal.append(str(exc))
            out[canon] = value
    return out, complaints, fatal
