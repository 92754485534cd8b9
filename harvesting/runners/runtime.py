"""The composition root: builds the application, read models and engine for
the configured backend (SQLite files by default, PostgreSQL when
HARVEST_DATABASE_URL is set)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from harvesting.application import HarvestingApplication
from harvesting.domain.errors import InvalidConfigurationError
from harvesting.projections.projector import Projector
from harvesting.runners.config import Settings, load_settings
from harvesting.runners.engine import Engine
from harvesting.runners.leadership import FileLeadership, Leadership, PostgresLeadership
from harvesting.runners.storage import Database

SCHEMA_LOCK_KEY = 0x4841525645535430  # advisory lock around schema creation


class Runtime:
    def __init__(self, settings: Settings | None = None) -> None:
        self.settings = settings or load_settings()
        env = self.settings.event_store_env()
        with self._schema_lock(env):
            try:
                self.app = HarvestingApplication(env=env)
            except Exception as e:  # noqa: BLE001 - any driver error here is a configuration problem
                raise InvalidConfigurationError(
                    f"cannot open the {self.settings.backend} event store: {type(e).__name__}: {e}".strip()
                ) from None
            self.db = Database(self.app.recorder)
            self.projector = Projector(self.app, self.db)
            self.projector.create_tables()
        self.leadership: Leadership = self._leadership(env)
        self._engine: Engine | None = None

    @contextmanager
    def _schema_lock(self, env: dict[str, str]) -> Iterator[None]:
        """PostgreSQL fails concurrent CREATE TABLE IF NOT EXISTS ("tuple
        concurrently updated"): processes starting together take turns."""
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

    def settle(self) -> None:
        """Brings the read models up to date, unless another process drives them."""
        engine = self.engine()
        if engine is not None:
            self.projector.catch_up()

    def close(self) -> None:
        if self._engine is not None:
            self._engine.close()
        self.leadership.release()
        self.app.close()


def _connect_postgres(env: dict[str, str]) -> Any:
    """The connection pool hides why it cannot connect; one direct attempt says
    it plainly (refused, unknown database, bad password)."""
    import psycopg

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
    except psycopg.Error as e:
        reason = " ".join(str(e).split())
        raise InvalidConfigurationError(f"cannot connect to PostgreSQL from HARVEST_DATABASE_URL: {reason}") from None
