"""Content-addressed store of raw remote documents, next to the event store.

Events carry only the sha256 of what was fetched; the bytes live here once,
however many records share them (a WMS capabilities document serves all its
layers). Not a read model: a replay never drops it.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Iterable

from harvesting.runners.storage import Cursor, Database

RECENT_DOCUMENTS = 4


def raw_hash(body: bytes) -> str:
    return hashlib.sha256(body).hexdigest()


class RawStore:
    def __init__(self, db: Database) -> None:
        self.db = db
        self._lock = threading.Lock()
        self._recent: dict[str, bytes] = {}

    @staticmethod
    def create(c: Cursor, postgres: bool) -> None:
        blob = "BYTEA" if postgres else "BLOB"
        c.execute(
            "CREATE TABLE IF NOT EXISTS raw_documents ("
            f" sha256 TEXT PRIMARY KEY, body {blob} NOT NULL, size INTEGER NOT NULL)"
        )

    def put_many(self, bodies: Iterable[bytes]) -> dict[int, str]:
        """Stores each distinct body once; returns id(body) -> sha256."""
        hashes: dict[int, str] = {}
        rows: dict[str, bytes] = {}
        for body in bodies:
            key = id(body)
            if key not in hashes:
                digest = raw_hash(body)
                hashes[key] = digest
                rows[digest] = body
        if rows:
            with self.db.transaction() as c:
                c.executemany(
                    "INSERT INTO raw_documents (sha256, body, size) VALUES (?, ?, ?) ON CONFLICT DO NOTHING",
                    [(digest, body, len(body)) for digest, body in rows.items()],
                )
        return hashes

    def get(self, digest: str) -> bytes | None:
        with self._lock:
            cached = self._recent.get(digest)
        if cached is not None:
            return cached
        value = self.db.scalar("SELECT body FROM raw_documents WHERE sha256 = ?", (digest,))
        if value is None:
            return None
        body = bytes(value)
        with self._lock:
            # A reimport reads one shared document (e.g. WMS capabilities) for
            # many records in a row: keep the last few at hand.
            self._recent[digest] = body
            while len(self._recent) > RECENT_DOCUMENTS:
                self._recent.pop(next(iter(self._recent)))
        return body
