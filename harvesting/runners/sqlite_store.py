"""SQLite connections as the store needs them, for eventsourcing's SQLite recorders.

- A statement cache that holds our statements. eventsourcing 9.5.6 opens its
  connections with `cached_statements=True`, which Python reads as a cache of
  ONE statement: every statement but the last is parsed again on each use. A
  projection batch alternates a few statements per event, so replaying
  1,000,000 events spent a third of its time in `sqlite3_prepare_v2`.
- No secure delete (Debian's SQLite turns it on): the log keeps every event
  forever, so zeroing the pages that read models free hides nothing, and a
  replay that drops them would write them all again.
"""

from __future__ import annotations

import sqlite3

from eventsourcing.persistence import InterfaceError
from eventsourcing.sqlite import SQLITE3_DEFAULT_LOCK_TIMEOUT, SQLiteConnection, SQLiteConnectionPool, SQLiteFactory
from eventsourcing.utils import Environment, EnvType

# Well above the number of distinct statements the store and the read models use.
CACHED_STATEMENTS = 256


class StatementCachingPool(SQLiteConnectionPool):
    def _create_connection(self) -> SQLiteConnection:
        try:
            raw = sqlite3.connect(
                database=self.db_name,
                uri=True,
                check_same_thread=False,
                isolation_level=None,  # transactions are begun explicitly, as the library expects
                cached_statements=CACHED_STATEMENTS,
                timeout=self.lock_timeout or SQLITE3_DEFAULT_LOCK_TIMEOUT,
            )
        except (sqlite3.Error, TypeError) as e:
            raise InterfaceError(e) from e
        if not self.is_sqlite_memory_mode and not self.is_journal_mode_wal:
            raw.execute("PRAGMA journal_mode=WAL")
            self.is_journal_mode_wal = True
        raw.execute("PRAGMA secure_delete = OFF")
        raw.row_factory = sqlite3.Row
        return SQLiteConnection(sqlite_conn=raw, max_age=self.max_age)


class StatementCachingSQLiteFactory(SQLiteFactory):
    def __init__(self, env: Environment | EnvType | None) -> None:
        super().__init__(env)
        # The library's pool has opened no connection yet: replace it before any is.
        old = self.datastore.pool
        self.datastore.pool = StatementCachingPool(db_name=old.db_name, lock_timeout=old.lock_timeout)


PERSISTENCE_TOPIC = f"{__name__}:{StatementCachingSQLiteFactory.__name__}"
