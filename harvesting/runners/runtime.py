"""The composition root: builds the application, read models and engine for
the configured backend (SQLite files by default, PostgreSQL when
HARVEST_DATABASE_URL is set).

Schema changes happen once per schema version, under a lock, and the version
is recorded: a command that finds the schema current runs no DDL at all (on
PostgreSQL, DDL from many commands at once deadlocks with a running harvest).
Commands that only read never create a store.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

from eventsourcing.persistence import IntegrityError

from harvesting.application import HarvestingApplication
from harvesting.domain.errors import HarvestingError, InvalidConfigurationError
from harvesting.projections.projector import Projector
from harvesting.runners.config import Settings, load_settings, masked
from harvesting.runners.engine import Engine
from harvesting.runners.failures import disk_full, store_failure
from harvesting.runners.leadership import FileLeadership, Leadership, NoLeadership, PostgresLeadership
from harvesting.runners.raw_store import RawStore
from harvesting.runners.sqlite_store import PERSISTENCE_TOPIC as SQLITE_PERSISTENCE
from harvesting.runners.storage import Database

SCHEMA_LOCK_KEY = 0x4841525645535430  # advisory lock around schema creation
# Bump with every change of the tables (event store, read models, raw store).
# Version 2: harvestable_resources carries what an unchanged check needs.
SCHEMA_VERSION = 2
READ_POLL_S = 0.05


class ReadModelsBehind(HarvestingError):
    """Another process drives the store and has not projected what was recorded."""


FULL_SERVER_WAIT_S = 30.0


class Runtime:
    def __init__(self, settings: Settings | None = None, *, create: bool = True) -> None:
        self.settings = settings or load_settings()
        self.missing = False
        env = self.settings.event_store_env()
        found = self._schema_version(env)
        if found == SCHEMA_VERSION:
            self._open(env, create_tables=False)
        elif not create and found is None:
            # Reading creates nothing: answer from an empty store in memory,
            # and say where we looked.
            self.missing = True
            self._open({"PERSISTENCE_MODULE": SQLITE_PERSISTENCE, "SQLITE_DBNAME": ":memory:"}, True)
            self._migrate()
            self.leadership: Leadership = NoLeadership()
            self._engine: Engine | None = None
            return
        else:
            # An older store is brought up to date even by a reading command:
            # its read models are refolded from the events, nothing is lost.
            with self._schema_lock(env):
                found = self._schema_version(env)
                current = found == SCHEMA_VERSION
                self._open(env, create_tables=not current)
                if not current:
                    self._migrate(refold=found is not None)
        self.leadership = self._leadership(env)
        self._engine = None

    def where(self) -> str:
        if self.settings.database_url is None:
            return str(self.settings.sqlite_path)
        return masked(self.settings.database_url)

    def _open(self, env: dict[str, str], create_tables: bool) -> None:
        if self.settings.database_url is None and create_tables and not self.missing:
            self.settings.data_dir.mkdir(parents=True, exist_ok=True)
        try:
            self.app = HarvestingApplication(env={**env, "CREATE_TABLE": "y" if create_tables else "n"})
        except Exception as e:  # noqa: BLE001 - any driver error here is a configuration problem
            reason = " ".join(str(e).replace(env.get("POSTGRES_PASSWORD") or "\0", "***").split())
            raise InvalidConfigurationError(
                f"cannot open the {self.settings.backend} event store at {self.where()}: {type(e).__name__}: {reason}"
            ) from None
        self.db = Database(self.app.recorder)
        self.projector = Projector(self.app, self.db)

    def _migrate(self, refold: bool = False) -> None:
        if refold:
            # Read models of an older schema are rebuilt from the events (one
            # transaction; on failure they stay as they were).
            self.projector.rebuild()
        with self.db.transaction() as c:
            self.projector.create(c)
            RawStore.create(c, self.db.postgres)
            c.execute("CREATE TABLE IF NOT EXISTS harvest_schema (version INTEGER NOT NULL, applied TEXT NOT NULL)")
            c.execute("DELETE FROM harvest_schema")
            c.execute(
                "INSERT INTO harvest_schema (version, applied) VALUES (?, ?)",
                (SCHEMA_VERSION, datetime.now(UTC).isoformat()),
            )

    def _schema_version(self, env: dict[str, str]) -> int | None:
        """Read without creating anything: None when there is no store yet."""
        if self.settings.database_url is None:
            path = self.settings.sqlite_path
            if not path.exists():
                return None
            try:
                with sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=30) as conn:
                    row = conn.execute("SELECT MAX(version) FROM harvest_schema").fetchone()
            except sqlite3.OperationalError as e:
                if "no such table" in str(e):
                    return None
                raise InvalidConfigurationError(
                    disk_full(path) or f"cannot read the store at {path}: {store_failure(e)}"
                ) from None
            except sqlite3.DatabaseError as e:
                raise InvalidConfigurationError(f"cannot read the store at {path}: {store_failure(e)}") from None
            return int(row[0]) if row and row[0] is not None else None
        conn = _connect_postgres(env)
        try:
            exists = conn.execute("SELECT to_regclass('harvest_schema') IS NOT NULL").fetchone()
            row = conn.execute("SELECT MAX(version) FROM harvest_schema").fetchone() if exists[0] else None
        finally:
            conn.close()
        return int(row[0]) if row and row[0] is not None else None

    @contextmanager
    def _schema_lock(self, env: dict[str, str]) -> Iterator[None]:
        """Processes starting together on a new store take turns creating it."""
        if self.settings.database_url is None:
            yield
            return
        conn = _connect_postgres(env)
        try:
            conn.execute("SELECT pg_advisory_lock(%s)", (SCHEMA_LOCK_KEY,))
            yield
        finally:
            conn.close()

    def _leadership(self, env: dict[str, str]) -> Leadership:
        if self.settings.database_url is None:
            return FileLeadership(self.settings.data_dir / "engine.lock")
        connect: dict[str, Any] = {
            "dbname": env["POSTGRES_DBNAME"],
            "host": env["POSTGRES_HOST"],
            "port": int(env["POSTGRES_PORT"]),
            "user": env["POSTGRES_USER"],
        }
        if env.get("POSTGRES_PASSWORD"):
            connect["password"] = env["POSTGRES_PASSWORD"]
        return PostgresLeadership(connect)

    def engine(self) -> Engine | None:
        """The engine if this process may drive the store, else None (another
        process is driving it; watch the read models instead)."""
        if self._engine is None and self.leadership.try_acquire():
            self._engine = Engine(self.app, self.db, self.projector, self.settings, self.leadership)
        return self._engine

    def drop_engine(self) -> None:
        """After the engine stopped (lost lock, interrupted): free its resources."""
        if self._engine is not None:
            self._engine.close()
            self._engine = None
        self.leadership.release()

    def settle(self, *, best_effort: bool = False) -> str | None:
        """Brings the read models up to every event recorded so far, this
        command's own writes included: projected here when no other process
        drives the store, or waited for (at most HARVEST_READ_WAIT) when one does.

        With `best_effort` (commands that only read), a store that cannot be
        written (disk full, read-only), or a driver that does not catch up in
        time, still answers from the read models as they are; the reason is
        returned so the command can say so."""
        if self._engine is None and not self.leadership.try_acquire():
            return self._await_driver(best_effort)
        try:
            self.projector.catch_up()
        except IntegrityError:
            # A driver that took over meanwhile projected the same events: the
            # read models are as current as ours would have been.
            return None
        except Exception as e:
            reason = store_failure(e, self.settings.data_dir if self.settings.database_url is None else None)
            if not best_effort or reason is None:
                raise
            return reason
        return None

    def _await_driver(self, best_effort: bool) -> str | None:
        """Another process projects: wait until it has projected what was
        recorded up to now. Should it stop driving meanwhile, this command
        takes over and projects itself."""
        target = int(self.app.recorder.max_notification_id() or 0)
        wait_s = self.settings.read_wait_s
        deadline = time.monotonic() + wait_s
        while self.projector.position < target:
            if self.leadership.try_acquire():
                return self.settle(best_effort=best_effort)
            if time.monotonic() >= deadline:
                behind = target - self.projector.position
                reason = (
                    f"the process driving this store has not projected the last {behind} event(s) in {wait_s:g} s"
                    " (is it stuck? `harvest scheduler` logs say)"
                )
                if best_effort:
                    return reason
                raise ReadModelsBehind(f"recorded, but {reason}; the change shows once it catches up")
            time.sleep(READ_POLL_S)
        return None

    def close(self) -> None:
        if self._engine is not None:
            self._engine.close()
        self.leadership.release()
        self.app.close()


def _connect_postgres(env: dict[str, str]) -> Any:
    """The connection pool hides why it cannot connect; one direct attempt says
    it plainly (refused, unknown database, bad password)."""
    import psycopg

    waited = 0.0
    while True:
        try:
            return psycopg.connect(
                dbname=env["POSTGRES_DBNAME"],
                host=env["POSTGRES_HOST"],
                port=int(env["POSTGRES_PORT"]),
                user=env["POSTGRES_USER"],
                password=env.get("POSTGRES_PASSWORD") or None,
                connect_timeout=10,
                autocommit=True,
            )
        except psycopg.errors.TooManyConnections:
            # The server is full for a moment (many commands at once): wait
            # for a slot rather than fail an operator's command.
            if waited >= FULL_SERVER_WAIT_S:
                raise InvalidConfigurationError(
                    f"PostgreSQL has no free connection slot (waited {waited:.0f} s); "
                    "raise max_connections or run fewer processes"
                ) from None
            time.sleep(0.5)
            waited += 0.5
        except psycopg.Error as e:
            reason = " ".join(str(e).split())
            if env.get("POSTGRES_PASSWORD"):
                reason = reason.replace(env["POSTGRES_PASSWORD"], "***")
            raise InvalidConfigurationError(
                f"cannot connect to PostgreSQL from HARVEST_DATABASE_URL: {reason}"
            ) from None
