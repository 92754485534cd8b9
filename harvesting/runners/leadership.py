"""Single-active engine per store: two copies of one process manager would
fight over its tracking position. The lock dies with its process, so a killed
engine never blocks the next one."""

from __future__ import annotations

import contextlib
import fcntl
import os
from pathlib import Path
from typing import Any, Protocol

ADVISORY_KEY = 0x4841525645535431  # "HARVEST1"


class Leadership(Protocol):
    def try_acquire(self) -> bool: ...

    def still_held(self) -> bool:
        """False once the lock may have passed to another process."""
        ...

    def release(self) -> None: ...


class NoLeadership:
    """For a store only this process can see (an empty one in memory)."""

    def try_acquire(self) -> bool:
        return True

    def still_held(self) -> bool:
        return True

    def release(self) -> None:
        pass


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

    def still_held(self) -> bool:
        """The lock lives on the file we opened; if that file was deleted or
        replaced, another process can lock the new one."""
        if self._fd is None:
            return False
        try:
            return os.fstat(self._fd).st_ino == os.stat(self.path).st_ino
        except OSError:
            return False

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
        conn = psycopg.connect(autocommit=True, connect_timeout=10, **self.connect_kwargs)
        row = conn.execute("SELECT pg_try_advisory_lock(%s)", (ADVISORY_KEY,)).fetchone()
        if not row or not row[0]:
            conn.close()
            return False
        self._conn = conn
        return True

    def still_held(self) -> bool:
        """A session-level advisory lock ends with its connection: if the
        connection was terminated, the lock is gone (and maybe taken)."""
        import psycopg

        if self._conn is None:
            return False
        try:
            row = self._conn.execute(
                "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND pid = pg_backend_pid()"
                " AND granted AND ((classid::bigint << 32) | objid::bigint) = %s",
                (ADVISORY_KEY,),
            ).fetchone()
        except psycopg.Error:
            self.release()
            return False
        return bool(row and row[0])

    def release(self) -> None:
        if self._conn is not None:
            import psycopg

            with contextlib.suppress(psycopg.Error):
                self._conn.close()
            self._conn = None
