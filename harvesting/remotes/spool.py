"""Documents and parsed items kept on disk, not in memory, for as long as a
remote needs them.

A WMS describes every layer in one document, and a harvest fetches them one by
one for as long as the session runs: the 112 MB document of 100,000 layers and
its parsed layers (230 MB as objects) were both held in memory. A
`SpooledBody` is a response body written to disk as it arrives, with its size
and sha256; a `Spool` holds each parsed item on disk and keeps only its key and
place, and reading one back is one `pread`. Their files are unlinked at once,
so nothing outlives the process.
"""

from __future__ import annotations

import hashlib
import io
import os
import pickle
import tempfile
import threading
from array import array
from collections.abc import Iterator
from typing import Generic, TypeVar

T = TypeVar("T")
CHUNK = 1 << 20


def _unlinked_file() -> int:
    handle, path = tempfile.mkstemp(prefix="harvest-spool-")
    os.unlink(path)  # the open descriptor keeps it until closed
    return handle


class SpooledBody:
    """A response body on disk: written once as it arrives, then read by
    offset from any thread."""

    def __init__(self) -> None:
        self._fd = _unlinked_file()
        self.size = 0
        self._hash = hashlib.sha256()
        self.sha256 = ""

    def write(self, chunk: bytes) -> None:
        os.pwrite(self._fd, chunk, self.size)
        self.size += len(chunk)
        self._hash.update(chunk)

    def finish(self) -> SpooledBody:
        self.sha256 = self._hash.hexdigest()
        return self

    def read(self, size: int, offset: int = 0) -> bytes:
        return os.pread(self._fd, max(0, min(size, self.size - offset)), offset)

    def head(self, size: int = 4096) -> bytes:
        return self.read(size)

    def read_all(self) -> bytes:
        return self.read(self.size)

    def chunks(self, size: int = CHUNK) -> Iterator[bytes]:
        for offset in range(0, self.size, size):
            yield self.read(size, offset)

    def reader(self, start: int = 0) -> io.BufferedReader:
        """A file object of its own over the body from `start` (for a parser)."""
        return io.BufferedReader(_Reader(self, start), buffer_size=256 * 1024)

    def close(self) -> None:
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1

    def __len__(self) -> int:
        return self.size

    def __eq__(self, other: object) -> bool:
        """Equal to the same bytes, wherever they are kept."""
        if isinstance(other, SpooledBody):
            return self is other or (self.size == other.size and self.sha256 == other.sha256)
        if isinstance(other, bytes | bytearray | memoryview):
            return len(other) == self.size and self.read_all() == bytes(other)
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]  # equal to bytes, so not hashable as itself

    def __del__(self) -> None:
        self.close()


class _Reader(io.RawIOBase):
    def __init__(self, body: SpooledBody, start: int) -> None:
        self._body = body
        self._at = start

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: bytearray | memoryview) -> int:  # type: ignore[override]
        data = self._body.read(len(buffer), self._at)
        buffer[: len(data)] = data
        self._at += len(data)
        return len(data)


class Spool(Generic[T]):
    """Items by key, in the order first added; a later item under a key
    already present is ignored (the first one wins, as in the document)."""

    def __init__(self) -> None:
        self._fd = _unlinked_file()
        # Item i lies between _bounds[i] and _bounds[i + 1]: eight bytes an
        # item, where a tuple of two ints took sixty-four.
        self._bounds = array("q", [0])
        self._index: dict[str, int] = {}
        self._keys: list[str] = []
        self._lock = threading.Lock()

    def add(self, key: str, item: T) -> None:
        if key in self._index:
            return
        # Pickled by us, read back by us from our own unlinked file: never
        # anything a remote wrote.
        data = pickle.dumps(item, protocol=pickle.HIGHEST_PROTOCOL)
        with self._lock:
            end = self._bounds[-1]
            os.pwrite(self._fd, data, end)
            self._bounds.append(end + len(data))
            self._keys.append(key)
            self._index[key] = len(self._keys) - 1  # last: a reader finds it only once it is whole

    def get(self, key: str) -> T | None:
        at = self._index.get(key)
        if at is None:
            return None
        offset = self._bounds[at]
        item: T = pickle.loads(os.pread(self._fd, self._bounds[at + 1] - offset, offset))  # noqa: S301 - our own bytes, see `add`
        return item

    def keys(self) -> list[str]:
        return list(self._keys)

    def __iter__(self) -> Iterator[T]:
        for key in list(self._keys):
            item = self.get(key)
            if item is not None:
                yield item

    def __len__(self) -> int:
        return len(self._keys)

    def close(self) -> None:
        with self._lock:
            if self._fd >= 0:
                os.close(self._fd)
                self._fd = -1

    def __del__(self) -> None:
        self.close()
