"""Reads from a PostgreSQL streaming replica (``SEARCH_DATABASE_REPLICA_URL``), writes to the primary.

Only reads that ask for it go to the replica: ranking and catalogue reads run inside :func:`on_replica`
(the search, similar and catalogue views). Everything else, writes and the reads of the write paths
(indexing's "already indexed?" checks), stays on the primary, so a writer always sees its own writes.

The replica is used while it answers and replays less than ``SEARCH_DATABASE_REPLICA_MAX_LAG`` seconds behind
the primary (checked at most every ``SEARCH_DATABASE_REPLICA_CHECK_INTERVAL`` seconds per process). Lag is
``now() - pg_last_xact_replay_timestamp()`` while WAL waits to be replayed or the replica is not streaming from
the primary, 0 while it streams and has replayed all it received (an idle primary is no lag).

A replica that fails during a read is marked down and the read is run again on the primary: a replica outage
never reaches the client as an error. The other way round, when the primary is unreachable, a replica skipped
for lag still answers the read (stale beats none).
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
# Set when a read of this context was answered by the replica (cached results then live at most MAX_LAG).
served_by_replica: contextvars.ContextVar[bool] = contextvars.ContextVar("search_served_by_replica", default=False)

# Replay lag in seconds: 0 while the replica streams from the primary and has replayed all it received (an idle
# primary is no lag); otherwise the age of the last transaction it replayed (WAL waiting to be replayed, or the
# stream from the primary broken: the replica cannot know what it misses). pg_stat_wal_receiver's status needs
# the replica's user to have pg_monitor (or pg_read_all_stats); without it the replica counts as not streaming.
LAG_SQL = """
    SELECT pg_is_in_recovery(),
           CASE WHEN EXISTS (SELECT 1 FROM pg_stat_wal_receiver WHERE status = 'streaming')
                     AND pg_last_wal_receive_lsn() IS NOT DISTINCT FROM pg_last_wal_replay_lsn() THEN 0
                ELSE COALESCE(EXTRACT(EPOCH FROM now() - pg_last_xact_replay_timestamp()), 0) END
"""


class ReplicaState:
    """This process's view of the replica: usable or not, re-checked at most every CHECK_INTERVAL seconds."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._checked_at = float("-inf")
        self._usable = False
        self.lag: float | None = None
        self.reachable = False  # answered the last check (lagging or not)
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
            self.reachable = False
            return self._set(False, None, f"unreachable ({type(exc).__name__})")
        self.reachable = True
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
    if not replica_configured():
        return read()
    if not replica.usable():
        try:
            return read()
        except DatabaseError as exc:
            if not (_connection_failed(exc) and replica.reachable):
                raise
        # The primary is unreachable: a lagging replica's answer beats none.
        logger.warning("Primary database unreachable; reading from the lagging replica")
        token = _read_alias.set(REPLICA)
        try:
            return read()
        finally:
            _read_alias.reset(token)
    token = _read_alias.set(REPLICA)
    try:
        value = read()
        served_by_replica.set(True)
        return value
    except DatabaseError as exc:
        if not _connection_failed(exc):
            raise
        replica.mark_down(f"failed during a read ({type(exc).__name__})")
        _close_replica()
    finally:
        _read_alias.reset(token)
    return read()


def _connection_failed(exc: DatabaseError) -> bool:
    """A failure of the server or its connection (down, restarted, cancelled), not an error of the statement."""
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
