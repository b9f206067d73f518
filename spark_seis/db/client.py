"""The one place that decides which store backs the Database.

A MongoDB URI (``SPARK_SEIS_MONGO_URI`` or ``mongo_uri`` in conf/database.yaml)
selects a real MongoDB; otherwise the embedded, file-backed store of
:mod:`spark_seis.db.embedded` is used. Replacing the embedded engine means
changing this module only. No connection is made at import time.
"""
from __future__ import annotations

import contextlib
import os
import re
from pathlib import Path
from typing import Any, Iterator, Mapping

import yaml

ENV_URI = "SPARK_SEIS_MONGO_URI"
ENV_WORK_DIR = "SPARK_SEIS_WORK_DIR"
DEFAULT_CONFIG_PATH = Path(__file__).resolve().parents[2] / "conf" / "database.yaml"

_CREDENTIALS = re.compile(r"(?P<scheme>[a-zA-Z][a-zA-Z0-9+.-]*://)(?P<cred>[^@/]+)@")


def mask_uri(text: str) -> str:
    """Replace ``user:password@`` in any URI inside ``text`` by ``***@``."""
    return _CREDENTIALS.sub(lambda m: f"{m.group('scheme')}***@", str(text))


def load_config(path: str | Path | None = None,
                overrides: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """conf/database.yaml (safe_load) + environment + explicit overrides, paths resolved."""
    cfg: dict[str, Any] = {}
    path = Path(path) if path else DEFAULT_CONFIG_PATH
    if path.exists():
        with open(path, encoding="utf-8") as fh:
            cfg.update(yaml.safe_load(fh) or {})
    if os.environ.get(ENV_URI):
        cfg["mongo_uri"] = os.environ[ENV_URI]
    if os.environ.get(ENV_WORK_DIR):
        cfg["work_dir"] = os.environ[ENV_WORK_DIR]
    cfg.update(overrides or {})
    work = Path(cfg.get("work_dir") or "work")
    for key, default in (("embedded_path", "mongo_store"), ("storage_root", "wf_data")):
        value = Path(cfg.get(key) or default)
        cfg[key] = str(value if value.is_absolute() else work / value)
    cfg.setdefault("database_name", "spark_seis")
    cfg.setdefault("db_schema", "wf_TimeSeries")
    return cfg


def get_client(uri: str | None = None, path: str | Path | None = None) -> Any:
    """A pymongo-compatible client: real MongoDB for a URI, else the embedded store at ``path``.

    Errors name the masked URI, never the credentials.
    """
    if uri:
        import pymongo

        # a timeout given in the URI wins over our default (pymongo: keyword beats URI)
        options = {} if "serverselectiontimeoutms" in uri.lower() else {
            "serverSelectionTimeoutMS": 5000}
        try:
            return pymongo.MongoClient(uri, **options)
        except Exception as exc:  # noqa: BLE001 - re-raise without leaking credentials
            raise ConnectionError(
                f"cannot create MongoDB client for {mask_uri(uri)}: "
                f"{mask_uri(str(exc))}") from None
    from .embedded import EmbeddedClient
    from .retry import DatabaseUnavailableError

    if path is None:
        path = load_config()["embedded_path"]
    try:
        return EmbeddedClient(path)
    except (OSError, ImportError) as exc:
        raise DatabaseUnavailableError(
            f"cannot open the embedded database store at {path}: "
            f"{type(exc).__name__}: {exc}") from None


def check_available(client: Any, uri: str | None, attempts: int = 3,
                    base_delay: float = 0.5) -> None:
    """Ping a MongoDB server (with bounded retries); a clear, masked error if it is down.

    The embedded store needs no ping: opening it already touched its files.
    """
    from .embedded import EmbeddedClient
    from .retry import with_retry

    if not uri or isinstance(client, EmbeddedClient):
        return

    with_retry(lambda: client.admin.command("ping"), what="connecting to MongoDB",
               uri=uri, attempts=attempts, base_delay=base_delay)


def get_database(config: Mapping[str, Any] | str | Path | None = None, **overrides: Any):
    """Database handle from a config mapping, a YAML path, or the default conf/database.yaml."""
    from .database import Database

    if config is None or isinstance(config, (str, Path)):
        cfg = load_config(config, overrides)
    else:
        cfg = load_config(None, {**dict(config), **overrides})
    client = get_client(cfg.get("mongo_uri"), cfg["embedded_path"])
    check_available(client, cfg.get("mongo_uri"), attempts=int(cfg.get("connect_attempts", 3)))

    def open_database() -> Any:
        return Database(client, cfg["database_name"], db_schema=cfg["db_schema"],
                        storage_root=cfg["storage_root"], config=cfg)

    if cfg.get("mongo_uri"):
        return open_database()
    from .retry import with_retry

    # Setting up indexes while another process commits can meet SQLite's immediate
    # "database is locked" (seen with two ingests started together): it is transient.
    return with_retry(open_database, what=f"opening the embedded store {cfg['embedded_path']}",
                      attempts=6)


@contextlib.contextmanager
def database_session(config: Mapping[str, Any]) -> Iterator[Any]:
    """A Database for one task, its client closed on exit.

    Executors open one per partition so that no connection or cursor outlives
    the task that used it.
    """
    db = get_database(dict(config))
    try:
        yield db
    finally:
        close = getattr(getattr(db, "client", None), "close", None)
        if close:
            close()
