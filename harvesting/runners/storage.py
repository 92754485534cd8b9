"""One small SQL adapter over the event store's own datastore, so projections
and tracking positions commit in the same transaction as each other, on SQLite
and PostgreSQL alike."""

from __future__ import annotations

import contextlib
import re
import sqlite3
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

from eventsourcing.persistence import Tracking

_PLACEHOLDER = re.compile(r"\?")
# Replay folds the whole log in one transaction; a batch of 500 events is smaller.
REPLAY_CACHE_KIB = 262_144
BATCH_CACHE_KIB = 32_768
DEFAULT_CACHE_SIZE = -2000  # SQLite's own default, 2 MB
COLUMN_SLICE = 5_000


class Cursor:
    """SQL written once with `?` placeholders, run on either backend."""

    def __init__(self, raw: Any, recorder: Any, postgres: bool) -> None:
        self._raw = raw
        self._recorder = recorder
        self._postgres = postgres

    @property
    def _driver_cursor(self) -> Any:
        """sqlite3's own cursor under eventsourcing's wrapper, which hides
        fetchmany, rowcount and the connection (psycopg's is used as it is)."""
        return getattr(self._raw, "sqlite_cursor", self._raw)

    def execute(self, sql: str, params: Sequence[Any] = ()) -> None:
        self._raw.execute(self._sql(sql), tuple(params))

    def executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        if rows:
            self._raw.executemany(self._sql(sql), [tuple(r) for r in rows])

    def write_blob(self, insert: str, params: Sequence[Any], target: tuple[str, str], chunks: Iterable[bytes]) -> None:
        """SQLite only: runs `insert`, which makes a row with a zeroblob, then
        fills that blob piece by piece (a large document never sits whole in
        memory). Nothing is written when the insert made no row (a conflict)."""
        cursor = self._driver_cursor
        cursor.execute(insert, tuple(params))
        if cursor.rowcount != 1:
            return
        table, column = target
        with cursor.connection.blobopen(table, column, cursor.lastrowid) as blob:
            for chunk in chunks:
                blob.write(chunk)

    def query(self, sql: str, params: Sequence[Any] = ()) -> list[dict[str, Any]]:
        return [dict(row) for row in self.rows(sql, params)]

    def rows(self, sql: str, params: Sequence[Any] = ()) -> list[Mapping[str, Any]]:
        """Rows as the driver made them, read by column name and not copied
        (a window of 10,000 jobs spent 7% of an unchanged harvest in copying)."""
        self._raw.execute(self._sql(sql), tuple(params))
        found: list[Mapping[str, Any]] = self._raw.fetchall()
        return found

    def column(self, sql: str, params: Sequence[Any] = ()) -> list[Any]:
        """The first column of every row, read a slice at a time: 100,000 ids
        as row dicts took 30 MB on the way to becoming a list."""
        cursor = self._driver_cursor
        cursor.execute(self._sql(sql), tuple(params))
        values: list[Any] = []
        while rows := cursor.fetchmany(COLUMN_SLICE):
            # psycopg's rows here are dicts, sqlite3's are sequences.
            values.extend(next(iter(row.values())) if isinstance(row, dict) else row[0] for row in rows)
        return values

    def scalar(self, sql: str, params: Sequence[Any] = ()) -> Any:
        rows = self.query(sql, params)
        if not rows:
            return None
        return next(iter(rows[0].values()))

    def track(self, name: str, notification_id: int) -> None:
        self._recorder._insert_tracking(self._raw, Tracking(name, notification_id))

    def forget(self, name: str) -> None:
        table = self._recorder.tracking_table_name if self._postgres else "tracking"
        self.execute(f"DELETE FROM {table} WHERE application_name = ?", (name,))  # noqa: S608

    def _sql(self, sql: str) -> str:
        return _PLACEHOLDER.sub("%s", sql) if self._postgres else sql


class Database:
    def __init__(self, recorder: Any) -> None:
        self.recorder = recorder
        self.postgres = type(recorder).__module__.startswith("eventsourcing.postgres")

    @contextmanager
    def transaction(self, *, commit: bool = True, cache_kib: int = 0) -> Iterator[Cursor]:
        """`cache_kib`: SQLite's page cache for a transaction touching many rows
        (a projection batch, a replay). The default 2 MB spills such a
        transaction to disk again and again; pages are only allocated as used."""
        with self.recorder.datastore.transaction(commit=commit) as raw:
            if cache_kib and not self.postgres:
                raw.execute(f"PRAGMA cache_size = -{int(cache_kib)}")
            try:
                yield Cursor(raw, self.recorder, self.postgres)
            finally:
                if cache_kib and not self.postgres:
                    # Back to the default on this pooled connection: otherwise
                    # every connection that ever ran a batch keeps a large cache.
                    # A broken connection must not hide what broke it.
                    with contextlib.suppress(sqlite3.Error):
                        raw.execute(f"PRAGMA cache_size = {DEFAULT_CACHE_SIZE}")

    def query(self, sql: str, params: Sequence[Any] = ()) -> list[dict[str, Any]]:
        with self.transaction(commit=False) as c:
            return c.query(sql, params)

    def rows(self, sql: str, params: Sequence[Any] = ()) -> list[Mapping[str, Any]]:
        with self.transaction(commit=False) as c:
            return c.rows(sql, params)

    def column(self, sql: str, params: Sequence[Any] = ()) -> list[Any]:
        with self.transaction(commit=False) as c:
            return c.column(sql, params)

    def scalar(self, sql: str, params: Sequence[Any] = ()) -> Any:
        with self.transaction(commit=False) as c:
            return c.scalar(sql, params)

    def position(self, name: str) -> int:
        return int(self.recorder.max_tracking_id(name) or 0)
