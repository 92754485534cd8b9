"""Failures of the store itself (disk full, corrupted file, database gone or
refusing us), told in one line: they are expected in operation, so they are
never a traceback."""

from __future__ import annotations

import sqlite3

import psycopg
from eventsourcing.persistence import PersistenceError

from harvesting.text import printable

_HINTS = (
    ("disk is full", "the disk holding the store is full; free space and run the command again"),
    ("disk image is malformed", "the SQLite store file is damaged; restore it from a backup"),
    ("file is not a database", "the store file is not a SQLite database (damaged or replaced)"),
    ("readonly database", "the store is read-only for this user"),
    ("terminating connection", "PostgreSQL ended the connection (restart or administrator); run it again"),
    ("permission denied", "PostgreSQL refused access (permissions revoked?)"),
)


def store_failure(error: BaseException) -> str | None:
    """One line for a store failure, or None if `error` is not one."""
    if not isinstance(error, (PersistenceError, sqlite3.Error, psycopg.Error, OSError)):
        return None
    text = " ".join(str(error).split()) or type(error).__name__
    lowered = text.lower()
    for needle, hint in _HINTS:
        if needle in lowered:
            return f"store error: {hint} ({printable(text, 160)})"
    if isinstance(error, OSError) and not isinstance(error, (sqlite3.Error,)):
        return f"system error: {printable(text, 200)}"
    return f"store error: {type(error).__name__}: {printable(text, 200)}"
