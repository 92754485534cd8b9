"""The one small interface every protocol module implements.

A remote lists what it offers page by page and fetches one resource as a
normalised descriptor. Everything a remote can get wrong is raised as a
`RemoteError` with a `kind`, so callers can record a clear, specific failure
instead of a traceback.
"""

from __future__ import annotations

import hashlib
import json
import tempfile
from dataclasses import dataclass, field
from typing import Any, Protocol

from harvesting.remotes.spool import SpooledBody


class RemoteError(Exception):
    """An expected failure talking to a remote (never a bug of ours).

    kind is one of: unreachable, timeout, http-error, too-large, parse-error,
    exception-report, not-found, bad-option, changed (the document a listing
    pages through changed under it).
    """

    def __init__(self, kind: str, message: str, *, transient: bool = False) -> None:
        super().__init__(message)
        self.kind = kind
        self.message = message
        # Worth another try (connection refused or reset, no answer in time);
        # a malformed answer or an HTTP 404 is not.
        self.transient = transient

    def __str__(self) -> str:
        return f"{self.kind}: {self.message}"


@dataclass(frozen=True)
class BriefResource:
    """One entry of a remote listing: enough to decide whether to fetch it."""

    remote_id: str
    title: str
    resource_type: str = ""
    modified: str | None = None


@dataclass(frozen=True)
class ListingPage:
    """One page of a listing. The positions (1-based index of the page's first
    record, and of the next page's) and the page size asked for let the lister
    catch misbehaving paging whatever the protocol; remotes without positions
    leave them None."""

    resources: list[BriefResource]
    next_cursor: str | None
    total: int | None = None
    position: int | None = None
    next_position: int | None = None
    requested: int | None = None
    # Entries the remote sent on this page before any client-side filter
    # (None: all of `resources`); paging checks count these, not the kept ones.
    raw_count: int | None = None

    @property
    def count(self) -> int:
        return len(self.resources) if self.raw_count is None else self.raw_count


@dataclass(frozen=True)
class FetchedResource:
    descriptor: dict[str, Any]
    # What it was made from; on disk when large and shared (WMS capabilities).
    raw: bytes | SpooledBody
    content_hash: str
    modified: str | None = None


def empty_descriptor(remote_id: str) -> dict[str, Any]:
    """The normalised descriptor with every field present, so records of all
    protocols have one shape."""
    return {
        "identifier": remote_id,
        "title": "",
        "abstract": "",
        "keywords": [],
        "bbox": None,  # [west, south, east, north] in lon/lat order
        "crs": None,
        "temporal_extent": None,
        "resource_type": "",
        "links": [],  # [{"type", "url", "name"?}]
        "contacts": [],
        "license": None,
        "language": None,
        "dates": {},
        "extra": {},
    }


def content_hash(descriptor: dict[str, Any]) -> str:
    """sha256 of the canonical JSON of a descriptor: equal metadata, equal hash."""
    canonical = json.dumps(descriptor, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def local_disk_error(url: str, what: str, error: OSError) -> RemoteError:
    """Our temporary directory, not the remote, failed (full, or files capped):
    no retry, and a message that names the directory."""
    return RemoteError(
        "local-disk",
        f"{url}: cannot keep {what} in the temporary directory ({tempfile.gettempdir()}):"
        f" {error.strerror or type(error).__name__}",
    )


def finished(descriptor: dict[str, Any], raw: bytes | SpooledBody, modified: str | None = None) -> FetchedResource:
    return FetchedResource(descriptor=descriptor, raw=raw, content_hash=content_hash(descriptor), modified=modified)


@dataclass
class RemoteOptions:
    """Parsed `--option KEY=VALUE` pairs with typed access and a clear error."""

    values: dict[str, str] = field(default_factory=dict)

    def get(self, key: str, default: str | None = None) -> str | None:
        return self.values.get(key, default)

    def get_list(self, key: str) -> list[str]:
        raw = self.values.get(key, "")
        return [item.strip() for item in raw.split(",") if item.strip()]

    def get_int(self, key: str, default: int) -> int:
        raw = self.values.get(key)
        if raw is None:
            return default
        try:
            value = int(raw)
        except ValueError:
            raise RemoteError("bad-option", f"option {key}={raw!r} is not a whole number") from None
        if value <= 0:
            raise RemoteError("bad-option", f"option {key}={raw!r} must be positive")
        return value


class Remote(Protocol):
    def check_availability(self) -> bool: ...

    def list_resources(self, cursor: str | None) -> ListingPage: ...

    def fetch(self, remote_id: str) -> FetchedResource: ...

    def reparse(self, raw: bytes, remote_id: str) -> FetchedResource:
        """Rebuilds a resource from a stored raw document, without I/O (reimport)."""
        ...
