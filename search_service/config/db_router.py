"""Reads from a PostgreSQL streaming replica (``SEARCH_DATABASE_REPLICA_URL``), writes to the primary.

Only reads that ask for it go to the replica: ranking and catalogue reads run inside :func:`on_replica`
(the search, similar and catalogue views). Everything else, writes and the reads of the write paths
(indexing's "already indexed?" checks), stays on the primary, so a writer always sees its own writes.

The replica is used while it answers and replays less than ``SEARCH_DATABASE_REPLICA_MAX_LAG`` seconds behind
the primary (checked at most every ``SEARCH_DATABASE_REPLICA_CHECK_INTERVAL`` seconds per process). Lag is
``now() - pg_last_xact_replay_timestamp()`` while WAL is waiting to be replayed, 0 once all received WAL is
replayed (an idle primary is no lag). A replica that fails during a read is marked down and the read is run
again on the primary: a replica outage never reaches the client as an error.
"""

from __future__ import annotations

import contextvars
import logging
import threading
import time
from collections.abc import Callable
from typing import TypeVar

from django.conf import settings
from django.db import DatabaseError, connections

logger = logging.getLogger(__name__)

REPLICA = "replica"
T = TypeVar("T")

_read_alias: contextvars.ContextVar[str | None] = contextvars.ContextVar("search_read_alias", default=None)

LAG_SQL = """
    SELECT pg_is_in_recovery(),
           CASE WHEN pg_last_wal_receive_lsn() IS NOT DISTINCT FROM pg_last_wal_replay_lsn() THEN 0
                ELSE COALESCE(EXTRACT(EPOCH FROM now() - pg_last_xact_replay_timestamp()), 0) END
"""


class ReplicaState:
    """This process's view of the replica: usable or not, re-checked at most every CHECK_INTERVAL seconds."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._checked_at = float("-inf")
        self._usable = False
        self.lag: float | None = None
        self.reason = "not checked"

    def usable(self) -> bool:
        now = time.monotonic()
        if now - self._checked_at < settings.SEARCH_DATABASE_REPLICA_CHECK_INTERVAL:
            return self._usable
        with self._lock:
            if now - self._checked_at >= settings.SEARCH_DATABASE_REPLICA_CHECK_INTERVAL:
                self._usable = self._check()
                self._checked_at = time.monotonic()
        return self._usable

    def _check(self) -> bool:
        try:
            with connections[REPLICA].cursor() as cursor:
                cursor.execute(LAG_SQL)
                in_recovery, lag = cursor.fetchone()
        except DatabaseError as exc:
            _close_replica()
            return self._set(False, None, f"unreachable ({type(exc).__name__})")
        lag = float(lag)
        if lag > settings.SEARCH_DATABASE_REPLICA_MAX_LAG:
            return self._set(False, lag, f"lagging {lag:.1f} s")
        return self._set(True, lag, "ok" if in_recovery else "ok (not in recovery)")

    def _set(self, usable: bool, lag: float | None, reason: str) -> bool:
        if usable != self._usable or self.reason == "not checked":
            log = logger.info if usable else logger.warning
            log("Search replica %s: %s", "used" if usable else "skipped", reason)
        self.lag, self.reason = lag, reason
        return usable

    def mark_down(self, reason: str) -> None:
        with self._lock:
            self._set(False, self.lag, reason)
            self._usable = False
            self._checked_at = time.monotonic()


replica = ReplicaState()


def replica_configured() -> bool:
    return REPLICA in settings.DATABASES


def _close_replica() -> None:
    try:
        connections[REPLICA].close()
    except DatabaseError:
        pass


def read_alias() -> str:
    """The database alias of a ranking or catalogue read in progress (raw SQL uses it too)."""
    return _read_alias.get() or "default"


def on_replica(read: Callable[[], T]) -> T:
    """``read()`` with its queries on the replica when it is usable; on the primary otherwise, and again on the
    primary when the replica fails during it."""
    if not replica_configured() or not replica.usable():
        return read()
    token = _read_alias.set(REPLICA)
    try:
        return read()
    except DatabaseError as exc:
        if not _replica_failed(exc):
            raise
        replica.mark_down(f"failed during a read ({type(exc).__name__})")
        _close_replica()
    finally:
        _read_alias.reset(token)
    return read()


def _replica_failed(exc: DatabaseError) -> bool:
    """A failure of the replica or its connection (down, restarted, cancelled), not an error of the statement."""
    from django.db import InterfaceError, OperationalError

    return isinstance(exc, (OperationalError, InterfaceError))


class ReplicaRouter:
    """Reads inside :func:`on_replica` go to the replica; all writes and migrations to the primary."""

    def db_for_read(self, model, **hints) -> str | None:
        return _read_alias.get()

    def db_for_write(self, model, **hints) -> str:
        return "default"

    def allow_relation(self, obj1, obj2, **hints) -> bool:
        return True

    def allow_migrate(self, db: str, app_label: str, model_name: str | None = None, **hints) -> bool:
        return db == "default"
