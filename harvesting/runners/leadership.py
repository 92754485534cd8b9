"""Single-active engine per store: two copies of one process manager would
fight over its tracking position. The lock dies with its process, so a killed
engine never blocks the next one."""

from __future__ import annotations

import fcntl
import os
from pathlib import Path
from typing import Any, Protocol

ADVISORY_KEY = 0x4841525645535431  # "HARVEST1"


class Leadership(Protocol):
    def try_acquire(self) -> bool: ...

    def release(self) -> None: ...


class FileLeadership:
    def __init__(self, path: Path) -> None:
        self.path = path
        self._fd: int | None = None

    def try_acquire(self) -> bool:
        if self._fd is not None:
            return True
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            return False
        self._fd = fd
        return True

    def release(self) -> None:
        if self._fd is not None:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None


class PostgresLeadership:
    """A session-level advisory lock on a connection kept open for the engine's life."""

    def __init__(self, connect_kwargs: dict[str, Any]) -> None:
        self.connect_kwargs = connect_kwargs
        self._conn: Any = None

    def try_acquire(self) -> bool:
        import psycopg

        if self._conn is not None:
            return True
        conn = psycopg.connect(autocommit=True, **self.connect_kwargs)
        row = conn.execute("SELECT pg_try_advisory_lock(%s)", (ADVISORY_KEY,)).fetchone()
        if not row or not row[0]:
            conn.close()
            return False
        self._conn = conn
        return True

    def release(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None
