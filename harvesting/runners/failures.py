"""Failures of the store itself (disk full, corrupted file, database gone or
refusing us), told in one line: they are expected in operation, so they are
never a traceback."""

from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path

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
# Below this, SQLite cannot even create its shared-memory file to read.
_NEARLY_FULL = 256 * 1024


def disk_full(where: Path | None) -> str | None:
    if where is None:
        return None
    probe = where
    while not probe.exists() and probe != probe.parent:
        probe = probe.parent
    try:
        free = shutil.disk_usage(probe).free
    except OSError:
        return None
    if free >= _NEARLY_FULL:
        return None
    return (
        f"store error: the disk holding the store ({where}) is full ({free:,} bytes free); "
        "nothing was changed; free space and run the command again"
    )


def store_failure(error: BaseException, where: Path | None = None) -> str | None:
    """One line for a store failure, or None if `error` is not one."""
    if not isinstance(error, (PersistenceError, sqlite3.Error, psycopg.Error, OSError)):
        return None
    text = " ".join(str(error).split()) or type(error).__name__
    lowered = text.lower()
    if "disk" in lowered or isinstance(error, OSError):
        full = disk_full(where)
        if full:
            return full
    for needle, hint in _HINTS:
        if needle in lowered:
            return f"store error: {hint} ({printable(text, 160)})"
    if isinstance(error, OSError):
        return f"system error: {printable(text, 200)}"
    return f"store error: {type(error).__name__}: {printable(text, 200)}"


def is_transient(error: BaseException) -> bool:
    """A store error that passes (connection ended, server restarting, database
    busy): worth retrying. A full disk or a damaged file is not."""
    from eventsourcing.persistence import InterfaceError, OperationalError

    if not isinstance(error, (OperationalError, InterfaceError, psycopg.OperationalError)):
        return False
    lowered = str(error).lower()
    return not any(word in lowered for word in ("disk", "malformed", "not a database", "readonly", "permission"))
