"""Misfit-workflow configuration (Pyatoa-style ``Config``).

One flat, validated record of every processing choice, so a run can be
reproduced from its YAML file or from the ASDF file it wrote. Tags derived
from ``iteration``/``step_count`` name the waveforms and auxiliary data.
"""
from __future__ import annotations

import dataclasses
import inspect
import json
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

import yaml

UNITS = ("DISP", "VEL", "ACC")
# pyadjoint 0.2.x names; old Pyatoa names are accepted as aliases.
ADJSRC_TYPES = (
    "waveform", "convolution", "exponentiated_phase", "cc_traveltime",
    "multitaper",
)
ADJSRC_ALIASES = {
    "waveform_misfit": "waveform",
    "cc_traveltime_misfit": "cc_traveltime",
    "cc_traveltime_misfit_dt": "cc_traveltime",
    "multitaper_misfit": "multitaper",
    "exponentiated_phase_misfit": "exponentiated_phase",
    "convolution_misfit": "convolution",
}

# Window-selection parameter maps keyed by name. "default" means pyflex's own
# defaults, which is what Pyatoa's default preset resolves to. The others are
# FLEXWIN parameter sets published in Maggi et al. (2009), Table 3.
PYFLEX_PRESETS: dict[str, dict[str, Any]] = {
    "default": {},
    "global": {
        "s2n_limit": 2.5, "stalta_waterlevel": 0.08,
        "cc_acceptance_level": 0.85, "tshift_acceptance_level": 15.0,
        "dlna_acceptance_level": 1.0, "tshift_reference": 0.0,
        "dlna_reference": 0.0, "c_0": 0.7, "c_1": 4.0, "c_2": 0.3,
        "c_3a": 1.0, "c_3b": 2.0, "c_4a": 3.0, "c_4b": 10.0,
    },
    "socal_6-30s": {
        "s2n_limit": 3.0, "stalta_waterlevel": 0.18,
        "cc_acceptance_level": 0.71, "tshift_acceptance_level": 8.0,
        "dlna_acceptance_level": 1.5, "tshift_reference": 4.0,
        "dlna_reference": 0.0, "c_0": 0.7, "c_1": 2.0, "c_2": 0.0,
        "c_3a": 3.0, "c_3b": 2.0, "c_4a": 2.5, "c_4b": 12.0,
    },
}


class ConfigError(ValueError):
    """A configuration key is unknown or its value is not acceptable."""


def _pyflex_keys() -> set[str]:
    import pyflex

    params = inspect.signature(pyflex.Config.__init__).parameters
    return {k for k in params if k not in ("self", "min_period", "max_period")}


def format_iter(iteration: int) -> str:
    """'i01' style tag, as Pyatoa writes it."""
    return f"i{int(iteration):0>2}"


def format_step(step_count: int) -> str:
    """'s00' style tag, as Pyatoa writes it."""
    return f"s{int(step_count):0>2}"


class class_or_instance_method:
    """Method callable on the class (returns a new object) and on an instance
    (Pyatoa's API: fills the instance). Receives (instance or None, class)."""

    def __init__(self, func) -> None:
        self.func = func
        self.__doc__ = func.__doc__

    def __get__(self, obj, cls=None):
        import functools

        return functools.partial(self.func, obj, cls if cls is not None else type(obj))


def _into(target: "Config | None", source: "Config") -> "Config":
    """``source`` itself, or ``target`` with every field copied from it."""
    if target is None:
        return source
    for f in fields(source):
        setattr(target, f.name, getattr(source, f.name))
    return target


@dataclass
class Config:
    """Processing parameters of the misfit workflow (defaults as Pyatoa's)."""

    event_id: str | None = None
    iteration: int | None = None
    step_count: int | None = None
    # filtering
    min_period: float = 10.0
    max_period: float = 100.0
    filter_corners: int = 2
    zerophase: bool = True
    taper_percentage: float = 0.05
    # response removal / units
    remove_response: bool = True
    unit_output: str = "DISP"
    water_level: float = 60.0
    # geometry
    rotate_to_rtz: bool = False
    component_list: list[str] | None = None
    standardize_to: str = "syn"
    st_obs_type: str = "obs"
    st_syn_type: str = "syn"
    # windowing
    pyflex_preset: str | None = "default"
    pyflex_parameters: dict[str, Any] = field(default_factory=dict)
    win_amp_ratio: float = 0.0
    # measurement
    adj_src_type: str | None = "cc_traveltime"
    pyadjoint_parameters: dict[str, Any] = field(default_factory=dict)
    # storage
    observed_tag: str = "observed"
    synthetic_tag_override: str | None = None
    save_to_ds: bool = True

    def __post_init__(self) -> None:
        self.validate()

    # ------------------------------------------------------------------ checks
    def validate(self) -> "Config":
        """Normalise values and raise ConfigError naming the bad key."""
        def bad(key: str, why: str) -> ConfigError:
            return ConfigError(f"Config key {key!r}: {why} "
                               f"(got {getattr(self, key)!r})")

        for key in ("iteration", "step_count"):
            val = getattr(self, key)
            if val is None:
                continue
            if isinstance(val, bool) or not isinstance(val, (int, str)):
                raise bad(key, "must be an integer or None")
            try:
                val = int(str(val).lstrip("is"))
            except ValueError:
                raise bad(key, "must be an integer or None") from None
            setattr(self, key, val)
        if self.iteration is not None and self.iteration < 1:
            raise bad("iteration", "iterations start at 1")
        if self.step_count is not None and self.step_count < 0:
            raise bad("step_count", "step counts start at 0")

        for key in ("min_period", "max_period", "taper_percentage",
                    "water_level", "win_amp_ratio"):
            val = getattr(self, key)
            if key in ("min_period", "max_period") and val is None:
                continue
            if isinstance(val, bool) or not isinstance(val, (int, float)):
                raise bad(key, "must be a number")
            setattr(self, key, float(val))
        for key in ("min_period", "max_period"):
            val = getattr(self, key)
            if val is not None and val <= 0:
                raise bad(key, "must be > 0")
        if (self.min_period is not None and self.max_period is not None
                and self.min_period >= self.max_period):
            raise bad("min_period", f"must be < max_period ({self.max_period})")
        if not 0 <= self.taper_percentage <= 0.5:
            raise bad("taper_percentage", "must be within [0, 0.5]")
        if not 0 <= self.win_amp_ratio < 1:
            raise bad("win_amp_ratio", "must be within [0, 1)")
        if isinstance(self.filter_corners, bool) or not isinstance(
                self.filter_corners, int) or not 1 <= self.filter_corners <= 10:
            raise bad("filter_corners", "must be an integer in 1..10")
        for key in ("zerophase", "remove_response", "rotate_to_rtz",
                    "save_to_ds"):
            if not isinstance(getattr(self, key), bool):
                raise bad(key, "must be true or false")

        if not isinstance(self.unit_output, str) or \
                self.unit_output.upper() not in UNITS:
            raise bad("unit_output", f"must be one of {list(UNITS)}")
        self.unit_output = self.unit_output.upper()
        if self.standardize_to not in ("syn", "obs"):
            raise bad("standardize_to", "must be 'syn' or 'obs'")
        for key in ("st_obs_type", "st_syn_type"):
            if getattr(self, key) not in ("obs", "syn"):
                raise bad(key, "must be 'obs' or 'syn'")

        if self.component_list is None:
            self.component_list = (["R", "T", "Z"] if self.rotate_to_rtz
                                   else ["E", "N", "Z"])
        if isinstance(self.component_list, str):
            self.component_list = list(self.component_list.replace(",", ""))
        if not isinstance(self.component_list, (list, tuple)) or not all(
                isinstance(c, str) and len(c) == 1 for c in self.component_list):
            raise bad("component_list", "must be a list of one-letter codes")
        self.component_list = [c.upper() for c in self.component_list]
        if self.rotate_to_rtz and {"N", "E"} & set(self.component_list):
            raise bad("component_list", "cannot hold N or E when rotate_to_rtz")

        if self.pyflex_preset is not None and \
                self.pyflex_preset not in PYFLEX_PRESETS:
            raise bad("pyflex_preset",
                      f"unknown preset; known: {sorted(PYFLEX_PRESETS)}")
        if not isinstance(self.pyflex_parameters, dict):
            raise bad("pyflex_parameters", "must be a mapping")
        known = _pyflex_keys() if self.pyflex_parameters else set()  # pyflex: seconds
        for k in self.pyflex_parameters:
            if k not in known:
                raise ConfigError(f"Config key 'pyflex_parameters.{k}': not a "
                                  f"pyflex.Config parameter")

        if self.adj_src_type is not None:
            if not isinstance(self.adj_src_type, str):
                raise bad("adj_src_type", f"must be one of {ADJSRC_TYPES}")
            name = ADJSRC_ALIASES.get(self.adj_src_type.lower(),
                                      self.adj_src_type.lower())
            if name not in ADJSRC_TYPES:
                raise bad("adj_src_type", f"must be one of {list(ADJSRC_TYPES)}")
            self.adj_src_type = name
        if not isinstance(self.pyadjoint_parameters, dict):
            raise bad("pyadjoint_parameters", "must be a mapping")
        if self.adj_src_type is not None and self.pyadjoint_parameters:
            self._check_pyadjoint_keys()
        for key in ("event_id", "observed_tag", "synthetic_tag_override"):
            val = getattr(self, key)
            if val is not None and not isinstance(val, str):
                raise bad(key, "must be a string")
        return self

    def _check_pyadjoint_keys(self) -> None:
        import pyadjoint.config as pc

        cls = {"waveform": pc.ConfigWaveform, "convolution": pc.ConfigWaveform,
               "cc_traveltime": pc.ConfigCCTraveltime,
               "multitaper": pc.ConfigMultitaper,
               "exponentiated_phase": pc.ConfigExponentiatedPhase,
               }[self.adj_src_type]
        known = set(inspect.signature(cls.__init__).parameters) - {
            "self", "min_period", "max_period", "double_difference"}
        for k in self.pyadjoint_parameters:
            if k not in known:
                raise ConfigError(f"Config key 'pyadjoint_parameters.{k}': not "
                                  f"a parameter of {self.adj_src_type!r}")

    # -------------------------------------------------------------------- tags
    @property
    def iter_tag(self) -> str | None:
        return None if self.iteration is None else format_iter(self.iteration)

    @property
    def step_tag(self) -> str | None:
        return None if self.step_count is None else format_step(self.step_count)

    def _aux_path(self, default: str | None, sep: str) -> str | None:
        if self.iter_tag is not None and self.step_tag is not None:
            return sep.join([self.iter_tag, self.step_tag])
        if self.iter_tag is not None:
            return self.iter_tag
        return default

    @property
    def aux_path(self) -> str:
        """Auxiliary-data path: 'i01/s00', 'i01', or 'default'."""
        return self._aux_path("default", "/")

    @property
    def eval_tag(self) -> str:
        """'i01s00', or 'default' when no iteration is set."""
        return self._aux_path("default", "")

    @property
    def synthetic_tag(self) -> str:
        """Waveform tag of synthetics: 'synthetic_i01s00' or 'synthetic'."""
        if self.synthetic_tag_override:
            return self.synthetic_tag_override
        tag = self._aux_path(None, "")
        return f"synthetic_{tag}" if tag else "synthetic"

    # ------------------------------------------------------- external configs
    def pyflex_config(self):
        """pyflex.Config built from preset + overrides + period band."""
        import pyflex

        params = dict(PYFLEX_PRESETS.get(self.pyflex_preset or "default", {}))
        params.update(self.pyflex_parameters)
        return pyflex.Config(min_period=self.min_period,
                             max_period=self.max_period, **params)

    def pyadjoint_config(self):
        """pyadjoint config object for ``adj_src_type`` and the period band."""
        import pyadjoint

        return pyadjoint.get_config(adjsrc_type=self.adj_src_type,
                                    min_period=self.min_period,
                                    max_period=self.max_period,
                                    **self.pyadjoint_parameters)

    # --------------------------------------------------------------------- I/O
    def to_dict(self) -> dict[str, Any]:
        return {f.name: _plain(getattr(self, f.name)) for f in fields(self)}

    @classmethod
    def from_dict(cls, doc: dict[str, Any] | None) -> "Config":
        """Build from a mapping; unknown keys are errors naming the key."""
        doc = dict(doc or {})
        if "synthetic_tag" in doc:  # Pyatoa spelling of the override
            doc.setdefault("synthetic_tag_override", doc.pop("synthetic_tag"))
        names = {f.name for f in fields(cls)}
        for key in doc:
            if key not in names:
                raise ConfigError(f"Config key {key!r}: unknown key; known "
                                  f"keys are {sorted(names)}")
        return cls(**doc)

    def copy(self, **changes: Any) -> "Config":
        doc = self.to_dict()
        doc.update(changes)
        return type(self).from_dict(doc)  # spark_seis.Config stays one (Pyatoa: deepcopy)

    def save_yaml(self, path: str | Path) -> Path:
        path = Path(path)
        with open(path, "w") as f:
            yaml.safe_dump(self.to_dict(), f, sort_keys=False)
        return path

    @classmethod
    def load_yaml(cls, path: str | Path) -> "Config":
        with open(path) as f:
            doc = yaml.safe_load(f)
        if doc is not None and not isinstance(doc, dict):
            raise ConfigError(f"{path}: top level must be a mapping")
        return cls.from_dict(doc)

    def write(self, write_to: Any, fmt: str | None = None) -> None:
        """Write to a YAML path. ASDF datasets are written by the io layer:
        ``spark_seis.Config`` (which accepts a dataset here) or
        ``spark_seis.io.asdf_store.write_config(ds, config)``."""
        if not isinstance(write_to, (str, Path)) or fmt not in (None, "yaml"):
            raise TypeError(f"{type(self).__module__}.Config.write writes YAML files "
                            f"only (got {type(write_to).__name__}, fmt={fmt!r}); for an "
                            "ASDFDataSet use spark_seis.Config or "
                            "spark_seis.io.asdf_store.write_config(ds, config)")
        self.save_yaml(write_to)

    @class_or_instance_method
    def read(self_or_none, cls, read_from: Any, path: str | None = None,
             fmt: str | None = None) -> "Config":
        """Read a YAML file. ``Config.read(f)`` returns a new Config;
        ``config.read(f)`` (Pyatoa's form) fills ``config`` in place and
        returns it. ASDF datasets are read by the io layer (spark_seis.Config)."""
        if not isinstance(read_from, (str, Path)) or fmt not in (None, "yaml"):
            raise TypeError(f"{cls.__module__}.Config.read reads YAML files only (got "
                            f"{type(read_from).__name__}, fmt={fmt!r}); for an "
                            "ASDFDataSet use spark_seis.Config or "
                            "spark_seis.io.asdf_store.read_config(ds, path)")
        return _into(self_or_none, cls.load_yaml(read_from))

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), sort_keys=True)


def _plain(value: Any) -> Any:
    """Plain Python types only, so yaml.safe_dump and json accept them."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if hasattr(value, "item") and not isinstance(value, (str, bytes)):
        return value.item()
    return value


CONFIG_FIELDS = tuple(f.name for f in dataclasses.fields(Config))
