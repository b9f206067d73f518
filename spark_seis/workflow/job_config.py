"""Job configuration (conf/job.yaml): where data, database and outputs live.

Kept separate from the misfit ``Config`` (the science) so the same science can
run against different databases and clusters. Validated on load; every error
names the key.
"""
from __future__ import annotations

import difflib
import os
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any, Iterable, Mapping

import yaml

from spark_seis.processing.config import Config, ConfigError

_SPARK_KEYS = {"master", "app_name"}
_DB_KEYS = {"mongo_uri", "database_name", "embedded_path", "storage_root", "db_schema",
            "work_dir"}
_JOB_KEYS = {"work_dir", "database", "misfit_config", "misfit", "iteration", "step_count",
             "output_dir", "specfem_adjoint_sources", "observed_tag", "synthetic_tag",
             "events", "spark", "fix_windows"}
#: component codes a seismogram can carry (ObsPy/SEED orientation codes)
COMPONENT_CODES = ("Z", "N", "E", "R", "T", "1", "2", "3")
DATABASE_FILE = "database.yaml"
SPARK_DEFAULTS_FILE = "spark-defaults.conf"


class ConfigFileError(ConfigError):
    """A configuration error that knows which file to edit."""

    def __init__(self, path: Path | str | None, message: str) -> None:
        self.path = Path(path) if path else None
        super().__init__(f"{path}: {message}" if path else message)


def unknown_key_message(key: str, known: Iterable[str], prefix: str = "") -> str:
    """'key 'min_perod': unknown; did you mean 'min_period'?' (or the known keys if none is close)."""
    known = sorted(known)
    close = difflib.get_close_matches(key, known, n=1, cutoff=0.6)
    hint = (f"did you mean {prefix}{close[0]!r}?" if close
            else f"known keys: {', '.join(known)}")
    return f"key {prefix}{key!r}: unknown; {hint}"


def read_yaml_mapping(path: Path) -> dict[str, Any]:
    """safe_load a YAML mapping; syntax errors become 'file:line:col: problem' in one line."""
    try:
        raw = yaml.safe_load(path.read_text())
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f"{path}:{mark.line + 1}:{mark.column + 1}" if mark else str(path)
        problem = " ".join(str(exc.problem or exc.context or "syntax error").split())
        raise ConfigFileError(None, f"{where}: not valid YAML: {problem}") from None
    except yaml.YAMLError as exc:
        raise ConfigFileError(path, f"not valid YAML: {' '.join(str(exc).split())}") from None
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        raise ConfigFileError(path, "expected a mapping of keys at the top level")
    return raw


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
    conf_dir: Path | None = None
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

    @property
    def database_file(self) -> Path | None:
        """The project's conf/database.yaml (next to job.yaml), if there is one."""
        path = self.conf_dir / DATABASE_FILE if self.conf_dir else None
        return path if path is not None and path.is_file() else None

    @property
    def spark_defaults_file(self) -> Path | None:
        """The project's conf/spark-defaults.conf (next to job.yaml), if there is one."""
        path = self.conf_dir / SPARK_DEFAULTS_FILE if self.conf_dir else None
        return path if path is not None and path.is_file() else None

    def database_config(self) -> dict[str, Any]:
        """Database settings: the project's conf/database.yaml, then job.yaml's
        ``database:`` section; SPARK_SEIS_MONGO_URI beats database.yaml's mongo_uri.

        work_dir is always the job's (paths in database.yaml are below it).
        None means "not set here": the environment may decide.
        """
        from_file = {k: v for k, v in load_database_file(self.database_file).items()
                     if v is not None and k != "work_dir"}
        if os.environ.get("SPARK_SEIS_MONGO_URI"):
            from_file.pop("mongo_uri", None)
        given = {k: v for k, v in self.database.items() if v is not None}
        return {**from_file, **given, "work_dir": str(self.work_dir)}

    def asdf_path(self, event_id: str) -> Path:
        return self.output_dir / f"{event_id}.h5"

    @classmethod
    def load(cls, path: str | Path, overrides: Mapping[str, Any] | None = None) -> "JobConfig":
        path = Path(path)
        if not path.exists():
            raise FileNotFoundError(f"job configuration {path} does not exist")
        raw = read_yaml_mapping(path)
        raw.update(overrides or {})
        resolved = path.resolve()
        try:
            job = cls.from_dict(raw, base=resolved.parent.parent, conf_dir=resolved.parent,
                                source=resolved)
        except ConfigFileError:
            raise
        except ConfigError as exc:
            raise ConfigFileError(path, str(exc)) from None
        load_database_file(job.database_file)  # a mistake there is reported now, not later
        return job

    @classmethod
    def from_dict(cls, raw: Mapping[str, Any], base: Path, conf_dir: Path | None = None,
                  source: Path | None = None) -> "JobConfig":
        unknown = sorted(set(raw) - _JOB_KEYS)
        if unknown:
            raise ConfigError(unknown_key_message(unknown[0], _JOB_KEYS))
        conf_dir = conf_dir or base / "conf"
        work = _path(raw.get("work_dir", "work"), base, "work_dir")
        database = dict(raw.get("database") or {})
        if not isinstance(raw.get("database", {}) or {}, dict):
            raise ConfigError("job config key 'database': must be a mapping")
        for key in database:
            if key not in _DB_KEYS:
                raise ConfigError(unknown_key_message(key, _DB_KEYS, "database."))
        misfit = _misfit_config(raw, conf_dir)
        spark = dict(raw.get("spark") or {})
        for key in spark:
            if key not in _SPARK_KEYS:
                raise ConfigError(unknown_key_message(key, _SPARK_KEYS, "spark.") +
                                  " (other Spark settings go in conf/spark-defaults.conf)")
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
                   spark=spark, source=source, conf_dir=conf_dir, fix_windows=fix)


def _path(value: Any, base: Path, key: str) -> Path:
    if not isinstance(value, str) or not value:
        raise ConfigError(f"job config key {key!r}: must be a non-empty path string")
    path = Path(value)
    return path if path.is_absolute() else base / path


def _misfit_config(raw: Mapping[str, Any], conf_dir: Path) -> Config:
    if "misfit" in raw and "misfit_config" in raw:
        raise ConfigError("job config keys 'misfit' and 'misfit_config': give one, not both")
    if isinstance(raw.get("misfit"), dict):
        doc, where, prefix = dict(raw["misfit"]), None, "misfit."
    else:
        name = raw.get("misfit_config", "misfit.yaml")
        path = _path(name, conf_dir, "misfit_config")
        if not path.exists():
            raise ConfigError(f"key 'misfit_config': {path} does not exist")
        doc, where, prefix = read_yaml_mapping(path), path, ""
    try:
        config = Config.from_dict(check_misfit_keys(doc, prefix))
        changes = {k: raw[k] for k in ("iteration", "step_count") if k in raw}
        return config.copy(**changes) if changes else config
    except ConfigFileError:
        raise
    except ConfigError as exc:
        if where is None:
            raise
        raise ConfigFileError(where, str(exc)) from None


def check_misfit_keys(doc: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """Misspelled keys ('did you mean') and component codes no seismogram has."""
    names = {f.name for f in fields(Config)} | {"synthetic_tag"}
    for key in doc:
        if key not in names:
            raise ConfigError(unknown_key_message(key, names - {"synthetic_tag"}, prefix))
    comps = doc.get("component_list")
    if isinstance(comps, str):
        comps = list(comps.replace(",", ""))
    if isinstance(comps, (list, tuple)):
        bad = [c for c in comps if str(c).upper() not in COMPONENT_CODES]
        if bad:
            raise ConfigError(f"key {prefix}'component_list': {bad[0]!r} is not a component "
                              f"code; use some of {', '.join(COMPONENT_CODES)} "
                              "(e.g. [E, N, Z], or [R, T, Z] with rotate_to_rtz)")
    return doc


def load_database_file(path: Path | None) -> dict[str, Any]:
    """The project's conf/database.yaml, its keys checked (empty if there is none)."""
    if path is None:
        return {}
    raw = read_yaml_mapping(path)
    for key in raw:
        if key not in _DB_KEYS:
            raise ConfigFileError(path, unknown_key_message(key, _DB_KEYS))
    return raw
