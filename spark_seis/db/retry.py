"""Bounded retries of database operations when the store is briefly unavailable.

A MongoDB primary that steps down, a network blip, or the embedded store's
SQLite file being momentarily locked or unreadable raise "transient" errors:
pymongo's ``AutoReconnect`` family (``ServerSelectionTimeoutError``,
``NetworkTimeout``, ``NotPrimaryError``), ``ConnectionFailure``, and
``sqlite3.OperationalError``. :func:`with_retry` runs an operation again after
exponentially growing, capped delays (with jitter) and, once the attempts are
spent, raises :class:`DatabaseUnavailableError` naming the operation and the
*masked* URI, never the credentials.

Retry only idempotent operations: an upsert/replace by a deterministic ``_id``
(what the engine writes) may run twice and still leaves one document; a plain
``insert_many`` that failed half way would insert its first half twice (or
fail on the duplicate keys). :func:`retrying_upsert` is the idempotent bulk
write the executors need.
"""
from __future__ import annotations

import random
import sqlite3
import time
from typing import Any, Callable, Iterable, Mapping, TypeVar

from .client import mask_uri

T = TypeVar("T")

DEFAULT_ATTEMPTS = 5
DEFAULT_BASE_DELAY = 0.2   # seconds before the 2nd attempt
DEFAULT_MAX_DELAY = 5.0    # no single wait longer than this


class DatabaseUnavailableError(ConnectionError):
    """The database did not answer after bounded retries (a system error)."""


def transient_errors() -> tuple[type[BaseException], ...]:
    """Exception types worth retrying: connection-level, not logic, failures."""
    kinds: list[type[BaseException]] = [sqlite3.OperationalError, ConnectionError,
                                        TimeoutError]
    try:
        from pymongo import errors

        kinds += [errors.AutoReconnect, errors.ConnectionFailure]
    except ImportError:  # pragma: no cover - pymongo is a dependency
        pass
    return tuple(kinds)


def _is_transient(exc: BaseException) -> bool:
    if isinstance(exc, DatabaseUnavailableError):
        return False
    return isinstance(exc, transient_errors())


def backoff_delays(attempts: int, base_delay: float, max_delay: float,
                   jitter: float = 0.1) -> list[float]:
    """Waits between ``attempts`` tries: base * 2**k, capped, +/- ``jitter`` share."""
    out = []
    for k in range(max(attempts - 1, 0)):
        delay = min(base_delay * (2 ** k), max_delay)
        out.append(delay * (1.0 + random.uniform(-jitter, jitter)))
    return out


def with_retry(operation: Callable[[], T], *, what: str = "database operation",
               uri: str | None = None, attempts: int = DEFAULT_ATTEMPTS,
               base_delay: float = DEFAULT_BASE_DELAY, max_delay: float = DEFAULT_MAX_DELAY,
               sleep: Callable[[float], None] = time.sleep,
               on_retry: Callable[[int, BaseException, float], None] | None = None) -> T:
    """Run ``operation()``; on a transient error wait and try again, at most ``attempts`` times.

    Non-transient errors (a duplicate key, a bad query) propagate at once. After the
    last failed attempt raise :class:`DatabaseUnavailableError` whose message names
    ``what``, the masked ``uri``, the attempts and total wait, and the last error
    (masked too). ``sleep`` and ``on_retry`` exist for tests and progress output.
    """
    if attempts < 1:
        raise ValueError(f"attempts must be >= 1, got {attempts}")
    delays = backoff_delays(attempts, base_delay, max_delay)
    waited = 0.0
    last: BaseException | None = None
    for attempt in range(attempts):
        try:
            return operation()
        except BaseException as exc:  # noqa: BLE001 - filtered just below
            if not _is_transient(exc):
                raise
            last = exc
            if attempt == attempts - 1:
                break
            delay = delays[attempt]
            if on_retry is not None:
                on_retry(attempt + 1, exc, delay)
            sleep(delay)
            waited += delay
    where = f" at {mask_uri(uri)}" if uri else ""
    detail = mask_uri(f"{type(last).__name__}: {last}").splitlines()[0]
    raise DatabaseUnavailableError(
        f"{what}: database{where} unavailable after {attempts} attempts over "
        f"{waited:.1f} s ({detail})") from None


def retrying_upsert(collection: Any, docs: Iterable[Mapping[str, Any]], *,
                    what: str | None = None, uri: str | None = None, **retry: Any) -> int:
    """Replace-or-insert every document by its ``_id``, retried as a whole.

    Idempotent: a batch interrupted half way and sent again leaves each ``_id``
    exactly once. Returns the number of documents sent.
    """
    from pymongo import ReplaceOne

    docs = [dict(d) for d in docs]
    missing = [i for i, d in enumerate(docs) if "_id" not in d]
    if missing:
        raise ValueError(f"retrying_upsert needs an _id in every document "
                         f"(document {missing[0]} has none): without it a retry duplicates")
    if not docs:
        return 0
    ops = [ReplaceOne({"_id": d["_id"]}, d, upsert=True) for d in docs]
    name = getattr(collection, "name", "collection")
    with_retry(lambda: collection.bulk_write(ops, ordered=False),
               what=what or f"upsert of {len(ops)} documents into {name}", uri=uri, **retry)
    return len(ops)
