"""``spark_seis.Config``: the misfit Config with Pyatoa 0.4.2's dataset API.

The processing layer's Config knows YAML only (processing must not import
io); this subclass adds what Pyatoa users write, in both API generations:
``Config(ds=ds, path="i01/s00")``, ``Config(yaml_fid=...)``,
``config.read(ds, path=..., fmt="asdf")`` (fills in place),
``Config.read(ds, path)`` (returns a new one) and ``config.write(ds)``.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

from spark_seis.io import asdf_store
from spark_seis.processing.config import Config as _ProcessingConfig
from spark_seis.processing.config import _into, class_or_instance_method


def _is_dataset(obj: Any) -> bool:
    return hasattr(obj, "auxiliary_data") and hasattr(obj, "add_auxiliary_data")


class Config(_ProcessingConfig):
    """Misfit Config; also reads/writes Configs entries of ASDF files."""

    def __init__(self, yaml_fid: str | Path | None = None, ds=None,
                 path: str | None = None, **kwargs: Any) -> None:
        if "synthetic_tag" in kwargs:  # Pyatoa's keyword for the override
            kwargs["synthetic_tag_override"] = kwargs.pop("synthetic_tag")
        super().__init__(**kwargs)
        if ds is not None:
            if path is None:
                raise TypeError("Config(ds=...) needs path= (e.g. 'i01/s00' or 'default'),"
                                " as in Pyatoa")
            _into(self, asdf_store.read_config(ds, path))
        elif yaml_fid is not None:
            _into(self, _ProcessingConfig.load_yaml(yaml_fid))

    def write(self, write_to: Any, fmt: str | None = None) -> None:
        """To a YAML path, or into an ASDFDataSet at Configs/<aux_path>."""
        if fmt == "asdf" or _is_dataset(write_to):
            asdf_store.write_config(write_to, self)
        else:
            super().write(write_to, fmt)

    @class_or_instance_method
    def read(self_or_none, cls, read_from: Any, path: str | None = None,
             fmt: str | None = None) -> "Config":
        """From a YAML path or an ASDFDataSet (``path``, default 'default')."""
        if fmt == "asdf" or _is_dataset(read_from):
            loaded = asdf_store.read_config(read_from, path or "default")
        else:
            loaded = _ProcessingConfig.load_yaml(read_from)
        return _into(self_or_none, loaded if self_or_none is not None
                     else cls.from_dict(loaded.to_dict()))

    def __eq__(self, other: object) -> bool:
        if isinstance(other, _ProcessingConfig):
            return self.to_dict() == other.to_dict()
        return NotImplemented

    __hash__ = None  # mutable, as the dataclass
