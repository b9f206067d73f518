"""Job configuration (conf/job.yaml): where data, database and outputs live.

Kept separate from the misfit ``Config`` (the science) so the same science can
run against different databases and clusters. Validated on load; every error
names the key.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

import yaml

from spark_seis.processing.config import Config, ConfigError

_SPARK_KEYS = {"master", "app_name"}
_DB_KEYS = {"mongo_uri", "database_name", "embedded_path", "storage_root", "db_schema",
            "work_dir"}


@dataclass
class JobConfig:
    work_dir: Path
    database: dict[str, Any]
    misfit: Config
    output_dir: Path
    specfem_adjoint_sources: bool = True
    observed_tag: str = "observed"
    synthetic_tag: str | None = None
    events: list[str] = field(default_factory=list)
    spark: dict[str, str] = field(default_factory=dict)
    source: Path | None = None
    fix_windows: bool | str = False  # false | true | 'ITER' | 'ONCE' (engine.fixed_windows)

    def __repr__(self) -> str:
        from spark_seis.db.client import mask_uri

        database = {k: mask_uri(v) if isinstance(v, str) else v
                    for k, v in self.database.items()}
        return (f"JobConfig(source={self.source}, work_dir={self.work_dir}, "
                f"database={database}, eval_tag={self.misfit.eval_tag!r}, "
                f"output_dir={self.output_dir}, events={self.events})")

    __str__ = __repr__

    @property
    def synthetic_data_tag(self) -> str:
        return self.synthetic_tag or self.misfit.synthetic_tag

    def database_config(self) -> dict[str, Any]:
        # None means "not set here": the environment (SPARK_SEIS_MONGO_URI) may decide
        given = {k: v for k, v in self.database.items() if v is not None}
        return {**given, "work_dir": str(self.work_dir)}

    def asdf_path(self, event_id: str) -> Path:
        return self.output_dir / f"{event_id}.h5"

    @classmethod
    def load(cls, path: str | Path, overrides: Mapping[str, Any] | None = None) -> "JobConfig":
        path = Path(path)
        if not path.exists():
            raise FileNotFoundError(f"job configuration {path} does not exist")
        try:
            raw = yaml.safe_load(path.read_text()) or {}
        except yaml.YAMLError as exc:
            raise ConfigError(f"{path}: not valid YAML: {exc}") from None
        if not isinstance(raw, dict):
            raise ConfigError(f"{path}: expected a mapping of keys at the top level")
        raw.update(overrides or {})
        path = path.resolve()
        return cls.from_dict(raw, base=path.parent.parent, conf_dir=path.parent, source=path)

    @classmethod
    def from_dict(cls, raw: Mapping[str, Any], base: Path, conf_dir: Path | None = None,
                  source: Path | None = None) -> "JobConfig":
        known = {"work_dir", "database", "misfit_config", "misfit", "iteration", "step_count",
                 "output_dir", "specfem_adjoint_sources", "observed_tag", "synthetic_tag",
                 "events", "spark", "fix_windows"}
        unknown = sorted(set(raw) - known)
        if unknown:
            raise ConfigError(f"job config key {unknown[0]!r}: unknown (known: {sorted(known)})")
        conf_dir = conf_dir or base / "conf"
        work = _path(raw.get("work_dir", "work"), base, "work_dir")
        database = dict(raw.get("database") or {})
        if not isinstance(raw.get("database", {}) or {}, dict):
            raise ConfigError("job config key 'database': must be a mapping")
        for key in database:
            if key not in _DB_KEYS:
                raise ConfigError(f"job config key 'database.{key}': unknown "
                                  f"(known: {sorted(_DB_KEYS)})")
        misfit = _misfit_config(raw, conf_dir)
        spark = dict(raw.get("spark") or {})
        for key in spark:
            if key not in _SPARK_KEYS:
                raise ConfigError(f"job config key 'spark.{key}': unknown "
                                  f"(known: {sorted(_SPARK_KEYS)})")
        events = raw.get("events") or []
        if not isinstance(events, list) or not all(isinstance(e, (str, int)) for e in events):
            raise ConfigError("job config key 'events': must be a list of event ids")
        for key in ("observed_tag", "synthetic_tag"):
            if raw.get(key) is not None and not isinstance(raw[key], str):
                raise ConfigError(f"job config key {key!r}: must be a string")
        if not isinstance(raw.get("specfem_adjoint_sources", True), bool):
            raise ConfigError("job config key 'specfem_adjoint_sources': must be true or false")
        fix = raw.get("fix_windows", False)
        if isinstance(fix, str) and fix.upper() in ("ITER", "ONCE"):
            fix = fix.upper()
        elif not isinstance(fix, bool):
            raise ConfigError(f"job config key 'fix_windows': must be false, true, ITER or "
                              f"ONCE (got {fix!r})")
        output = raw.get("output_dir", "output")
        output_dir = _path(output, work, "output_dir")
        return cls(work_dir=work, database=database, misfit=misfit, output_dir=output_dir,
                   specfem_adjoint_sources=bool(raw.get("specfem_adjoint_sources", True)),
                   observed_tag=raw.get("observed_tag") or "observed",
                   synthetic_tag=raw.get("synthetic_tag"), events=[str(e) for e in events],
                   spark=spark, source=source, fix_windows=fix)


def _path(value: Any, base: Path, key: str) -> Path:
    if not isinstance(value, str) or not value:
        raise ConfigError(f"job config key {key!r}: must be a non-empty path string")
    path = Path(value)
    return path if path.is_absolute() else base / path


def _misfit_config(raw: Mapping[str, Any], conf_dir: Path) -> Config:
    if "misfit" in raw and "misfit_config" in raw:
        raise ConfigError("job config keys 'misfit' and 'misfit_config': give one, not both")
    if isinstance(raw.get("misfit"), dict):
        config = Config.from_dict(raw["misfit"])
    else:
        name = raw.get("misfit_config", "misfit.yaml")
        path = _path(name, conf_dir, "misfit_config")
        if not path.exists():
            raise ConfigError(f"job config key 'misfit_config': {path} does not exist")
        config = Config.load_yaml(path)
    changes = {k: raw[k] for k in ("iteration", "step_count") if k in raw}
    return config.copy(**changes) if changes else config
