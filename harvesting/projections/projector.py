"""Folds the event log into the read-model tables, a batch per transaction with
its tracking position, so a crash never applies an event twice or skips one."""

from __future__ import annotations

from typing import Any

from harvesting.domain.errors import HarvestingError
from harvesting.projections import harvesters, resources, sessions
from harvesting.projections.handlers import Handlers
from harvesting.projections.schema import INDEXES, TABLES
from harvesting.runners.storage import BATCH_CACHE_KIB, REPLAY_CACHE_KIB, Cursor, Database
from harvesting.text import printable

PROJECTION_NAME = "projection:catalogue"
BATCH = 500

_handlers = Handlers()
for _module in (harvesters, sessions, resources):
    _handlers.merge(_module.handlers)


class ReplayError(HarvestingError):
    pass


class Projector:
    def __init__(self, app: Any, db: Database) -> None:
        self.app = app
        self.db = db
        self.topics: list[str] = []

    @staticmethod
    def create(c: Cursor, *, indexes: bool = True) -> None:
        for ddl in TABLES.values():
            c.execute(ddl)
        if indexes:
            Projector.create_indexes(c)

    @staticmethod
    def create_indexes(c: Cursor) -> None:
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
            with self.db.transaction(cache_kib=BATCH_CACHE_KIB) as c:
                for notification in notifications:
                    _handlers.apply(c, self.app.mapper.to_domain_event(notification))
                c.track(PROJECTION_NAME, notifications[-1].id)
            applied += len(notifications)

    def rebuild(self) -> int:
        """Drops and refolds every read model in ONE transaction: if an event
        cannot be read or applied, everything rolls back and the read models
        stay exactly as they were (a damaged log never costs a working store)."""
        position = 0
        applied = 0
        try:
            with self.db.transaction(cache_kib=REPLAY_CACHE_KIB) as c:
                for table in TABLES:
                    c.execute(f"DROP TABLE IF EXISTS {table}")
                c.forget(PROJECTION_NAME)
                # Indexes are built once at the end: kept up row by row, they
                # cost more than the fold itself.
                self.create(c, indexes=False)
                while True:
                    notifications = self.app.recorder.select_notifications(
                        start=position, limit=BATCH, inclusive_of_start=False
                    )
                    if not notifications:
                        break
                    for notification in notifications:
                        position = notification.id
                        _handlers.apply(c, self.app.mapper.to_domain_event(notification))
                    applied += len(notifications)
                self.create_indexes(c)
                if position:
                    c.track(PROJECTION_NAME, position)
        except Exception as e:  # noqa: BLE001 - whatever broke, the old read models are intact
            raise ReplayError(
                f"replay stopped at event position {position}: {type(e).__name__}: {printable(str(e), 200)}; "
                "nothing changed, the read models are as they were before the replay"
            ) from None
        return applied
