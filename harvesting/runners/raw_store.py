"""Content-addressed store of raw remote documents, next to the event store.

Events carry only the sha256 of what was fetched; the bytes live here once,
however many records share them (a WMS capabilities document serves all its
layers). Not a read model: a replay never drops it.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Iterable

from harvesting.remotes.spool import SpooledBody
from harvesting.runners.storage import Cursor, Database

RECENT_DOCUMENTS = 4
_INSERT = "INSERT INTO raw_documents (sha256, body, size) VALUES (?, ?, ?) ON CONFLICT DO NOTHING"
STORED_DIGESTS = 64
# Documents at least this large are typically shared by many records.
SHARED_DOCUMENT_BYTES = 64 * 1024


def raw_hash(body: bytes) -> str:
    return hashlib.sha256(body).hexdigest()


class RawStore:
    def __init__(self, db: Database) -> None:
        self.db = db
        self._lock = threading.Lock()
        self._recent: dict[str, bytes] = {}
        self._digests: dict[int, tuple[bytes, str]] = {}
        self._stored: dict[str, None] = {}
        self._layout_checked: bool | None = None

    @staticmethod
    def create(c: Cursor, postgres: bool) -> None:
        blob = "BYTEA" if postgres else "BLOB"
        # The body last: SQLite writes a zeroblob at the end of a row without
        # making it in memory first, so a large document goes in piece by piece.
        c.execute(
            "CREATE TABLE IF NOT EXISTS raw_documents ("
            f" sha256 TEXT PRIMARY KEY, size INTEGER NOT NULL, body {blob} NOT NULL)"
        )

    def put_many(self, bodies: Iterable[bytes | SpooledBody]) -> dict[int, str]:
        """Stores each distinct body once; returns id(body) -> sha256.

        A document shared by many records (WMS capabilities) arrives again
        with every batch: the same object is hashed and written once per
        process, not once per batch."""
        hashes: dict[int, str] = {}
        rows: dict[str, bytes] = {}
        spooled: dict[str, SpooledBody] = {}
        for body in bodies:
            key = id(body)
            if key in hashes:
                continue
            digest = body.sha256 if isinstance(body, SpooledBody) else self._digest_of(body)
            hashes[key] = digest
            with self._lock:
                stored = digest in self._stored
            if stored:
                continue
            if isinstance(body, SpooledBody):
                spooled[digest] = body
            else:
                rows[digest] = body
        if rows or spooled:
            with self.db.transaction() as c:
                c.executemany(_INSERT, [(digest, body, len(body)) for digest, body in rows.items()])
                for digest, document in spooled.items():
                    self._put_spooled(c, digest, document)
            self._remember_stored({**rows, **spooled})
        return hashes

    def _put_spooled(self, c: Cursor, digest: str, document: SpooledBody) -> None:
        """A document on disk is copied in pieces where the database allows it
        (SQLite's incremental blob writes), so it never sits whole in memory."""
        if self.db.postgres or not self._body_last(c):
            # psycopg sends a bytea parameter whole, and a store made before
            # the body was the last column would make the zeroblob in memory:
            # the document is read whole here.
            c.execute(_INSERT, (digest, document.read_all(), document.size))
            return
        c.write_blob(
            "INSERT INTO raw_documents (sha256, body, size) VALUES (?, zeroblob(?), ?) ON CONFLICT DO NOTHING",
            (digest, document.size, document.size),
            ("raw_documents", "body"),
            document.chunks(),
        )

    def _digest_of(self, body: bytes) -> str:
        with self._lock:
            known = self._digests.get(id(body))
        # The entry keeps its body alive, so its id cannot be reused meanwhile.
        if known is not None and known[0] is body:
            return known[1]
        digest = raw_hash(body)
        if len(body) >= SHARED_DOCUMENT_BYTES:
            with self._lock:
                self._digests[id(body)] = (body, digest)
                while len(self._digests) > RECENT_DOCUMENTS:
                    self._digests.pop(next(iter(self._digests)))
        return digest

    def _body_last(self, c: Cursor) -> bool:
        if self._layout_checked is None:
            columns = [row["name"] for row in c.query("PRAGMA table_info(raw_documents)")]
            self._layout_checked = bool(columns) and columns[-1] == "body"
        return self._layout_checked

    def _remember_stored(self, rows: dict[str, bytes | SpooledBody]) -> None:
        # Only large documents are worth remembering (small ones are one row
        # each); a rollback of the caller's later transaction cannot undo
        # these rows, which were committed on their own.
        with self._lock:
            for digest, body in rows.items():
                if len(body) >= SHARED_DOCUMENT_BYTES:
                    self._stored[digest] = None
            while len(self._stored) > STORED_DIGESTS:
                self._stored.pop(next(iter(self._stored)))

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
