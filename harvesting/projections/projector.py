"""Folds the event log into the read-model tables, a batch per transaction with
its tracking position, so a crash never applies an event twice or skips one."""

from __future__ import annotations

from typing import Any

from harvesting.projections import harvesters, resources, sessions
from harvesting.projections.handlers import Handlers
from harvesting.projections.schema import INDEXES, TABLES
from harvesting.runners.storage import Cursor, Database

PROJECTION_NAME = "projection:catalogue"
BATCH = 500

_handlers = Handlers()
for _module in (harvesters, sessions, resources):
    _handlers.merge(_module.handlers)


class Projector:
    def __init__(self, app: Any, db: Database) -> None:
        self.app = app
        self.db = db
        self.topics: list[str] = []

    def create_tables(self) -> None:
        with self.db.transaction() as c:
            self._create(c)

    @staticmethod
    def _create(c: Cursor) -> None:
        for ddl in TABLES.values():
            c.execute(ddl)
        for ddl in INDEXES:
            c.execute(ddl)

    @property
    def position(self) -> int:
        return self.db.position(PROJECTION_NAME)

    def catch_up(self, stop: int | None = None) -> int:
        """Applies every event after the saved position; returns how many."""
        applied = 0
        while True:
            start = self.position
            notifications = self.app.recorder.select_notifications(
                start=start, limit=BATCH, stop=stop, inclusive_of_start=False
            )
            if not notifications:
                return applied
            with self.db.transaction() as c:
                for notification in notifications:
                    _handlers.apply(c, self.app.mapper.to_domain_event(notification))
                c.track(PROJECTION_NAME, notifications[-1].id)
            applied += len(notifications)

    def rebuild(self) -> int:
        # Drop, forget and create in one transaction: a crash in between can
        # never leave empty tables with an old position.
        with self.db.transaction() as c:
            for table in TABLES:
                c.execute(f"DROP TABLE IF EXISTS {table}")
            c.forget(PROJECTION_NAME)
            self._create(c)
        return self.catch_up()
