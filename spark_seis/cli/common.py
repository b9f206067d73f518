"""Shared pieces of the subcommands: finding conf/job.yaml, opening the database,
a plain-text progress bar on stderr."""
from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Any, TextIO

from .errors import UserError

DEFAULT_JOB = Path("conf") / "job.yaml"


def find_job_config(given: str | None) -> Path:
    """The job configuration named on the command line, or ./conf/job.yaml."""
    path = Path(given) if given else DEFAULT_JOB
    if not path.exists():
        if given:
            raise UserError(f"job configuration {path} does not exist",
                            "check the path; give it as --config PATH (or, for run, as "
                            "its first argument)")
        raise UserError(f"no {DEFAULT_JOB} in {Path.cwd()}",
                        "run 'spark-seis init DIR' and cd into DIR, or pass --config PATH")
    return path


def load_job(given: str | None, overrides: dict[str, Any] | None = None):
    """JobConfig from conf/job.yaml; a bad key or value becomes one line with a hint."""
    from spark_seis.processing.config import ConfigError
    from spark_seis.workflow.job_config import JobConfig

    path = find_job_config(given)
    try:
        return JobConfig.load(path, overrides)
    except ConfigError as exc:
        where = getattr(exc, "path", None) or _file_in(str(exc)) or path
        raise UserError(str(exc), f"edit {where}") from exc


def _file_in(message: str) -> str | None:
    """'conf/misfit.yaml:3:7: ...' -> 'conf/misfit.yaml' (YAML errors name their file)."""
    head = message.split(": ", 1)[0]
    name = head.split(":", 1)[0]
    return name if name.endswith((".yaml", ".yml", ".conf")) else None


def open_database(job, must_exist: bool = False):
    """Database of a JobConfig; an unreachable server or missing store is a UserError.

    ``must_exist``: for read-only commands, refuse to create an empty embedded store.
    """
    from spark_seis.db.client import load_config, mask_uri

    cfg = job.database_config()
    resolved = load_config(None, cfg)
    uri = resolved.get("mongo_uri")
    if must_exist and not uri and not Path(resolved["embedded_path"]).exists():
        raise UserError(f"no database at {resolved['embedded_path']}",
                        "run 'spark-seis ingest' (and 'spark-seis run') first, or check "
                        "work_dir / database in the job configuration")
    from spark_seis.db.client import get_database

    try:
        db = get_database(cfg)
        if uri:
            db.client.admin.command("ping")
        return db
    except UserError:
        raise
    except Exception as exc:  # noqa: BLE001 - pymongo raises many kinds for this
        where = mask_uri(uri) if uri else resolved["embedded_path"]
        text = mask_uri(str(exc)).splitlines()[0] if str(exc) else ""
        from spark_seis.db.embedded import EmbeddedStoreError

        if uri:
            hint = ("start MongoDB or fix database.mongo_uri / SPARK_SEIS_MONGO_URI; "
                    "leave mongo_uri null for the embedded store")
        elif isinstance(exc, EmbeddedStoreError):
            hint = None  # it names the file, the cause and the fix
        elif any(t in text.lower() for t in ("full", "no space", "quota")):
            hint = f"free space on the disk holding {where}"
        else:  # the embedded store is a folder: no server to start
            hint = f"check that {where} is a writable folder of this project's database"
        verb = "reach" if uri else "open"
        raise UserError(f"cannot {verb} the database at {where}: {type(exc).__name__}: {text}",
                        hint) from exc


class Progress:
    """``[#####.....]  12/40  name`` on stderr: redrawn in place on a terminal,
    a line every ~10% otherwise (logs stay short)."""

    def __init__(self, label: str, stream: TextIO | None = None, enabled: bool = True,
                 width: int = 30) -> None:
        self.label = label
        self.stream = stream or sys.stderr
        self.enabled = enabled
        self.width = width
        self.tty = bool(getattr(self.stream, "isatty", lambda: False)())
        self._last_step = -1
        self._started = time.time()

    def __call__(self, done: int, total: int, name: str = "") -> None:
        if not self.enabled or total <= 0:
            return
        frac = min(1.0, done / total)
        filled = int(round(frac * self.width))
        bar = "#" * filled + "." * (self.width - filled)
        text = f"{self.label} [{bar}] {done}/{total} {name}"
        if self.tty:
            cols = 100
            self.stream.write("\r" + text[:cols].ljust(cols))
            if done >= total:
                self.stream.write("\n")
        else:
            step = int(frac * 10)
            if step == self._last_step and done < total:
                return
            self._last_step = step
            self.stream.write(text + "\n")
        self.stream.flush()

    def close(self) -> None:
        if self.enabled and not self.tty:
            self.stream.write(f"{self.label}: done in {time.time() - self._started:.1f} s\n")

