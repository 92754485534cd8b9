"""The HarvestableResource aggregate: one thing a remote offers, and the fate of
its local record.

Its id is derived from the harvester and the remote identifier, so listing the
same remote twice (or after a crash) can never create a duplicate.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID, uuid5

from eventsourcing.domain import Aggregate, event

HARVESTED = "harvested"
UNCHANGED = "unchanged"
FAILED = "failed"

RECORD_DELETED = "deleted"
RECORD_ORPHANED = "orphaned"
NO_RECORD = "none"


def resource_id(harvester_id: UUID, remote_id: str) -> UUID:
    return uuid5(harvester_id, remote_id)


def record_id(resource_id_: UUID) -> UUID:
    return uuid5(resource_id_, "record")


class HarvestableResource(Aggregate):
    @staticmethod
    def create_id(harvester_id: UUID, remote_id: str) -> UUID:
        return resource_id(harvester_id, remote_id)

    @event("ResourceDiscovered")
    def __init__(
        self,
        harvester_id: UUID,
        remote_id: str,
        title: str,
        resource_type: str,
        modified: str | None,
        should_be_harvested: bool,
    ) -> None:
        self.harvester_id = harvester_id
        self.remote_id = remote_id
        self.title = title
        self.resource_type = resource_type
        self.modified = modified
        self.should_be_harvested = should_be_harvested
        self.stale = False
        self.removed = False
        self.content_hash: str | None = None
        self.harvested_modified: str | None = None
        self.has_record = False
        self.raw_hash: str | None = None
        self.harvested_fingerprint = ""
        self.last_session_id: UUID | None = None

    def note_listed(self, title: str, resource_type: str, modified: str | None) -> bool:
        """A listing saw this resource again; True when that is news."""
        reappeared = self.stale or self.removed
        if reappeared or (title, resource_type, modified) != (self.title, self.resource_type, self.modified):
            self._changed(title=title, resource_type=resource_type, modified=modified, reappeared=reappeared)
            return True
        return False

    @event("ResourceChanged")
    def _changed(self, title: str, resource_type: str, modified: str | None, reappeared: bool) -> None:
        self.title = title
        self.resource_type = resource_type
        self.modified = modified
        if reappeared:
            self.stale = False
            self.removed = False

    def select(self) -> None:
        if not self.should_be_harvested:
            self._selected()

    @event("ResourceSelected")
    def _selected(self) -> None:
        self.should_be_harvested = True

    def deselect(self) -> None:
        if self.should_be_harvested:
            self._deselected()

    @event("ResourceDeselected")
    def _deselected(self) -> None:
        self.should_be_harvested = False

    def is_unchanged(self, content_hash: str, modified: str | None) -> bool:
        if not self.has_record or self.content_hash is None:
            return False
        return content_hash == self.content_hash

    def listed_as_unchanged(self, fingerprint: str) -> bool:
        """The remote's own modified time, when it gives one, spares a fetch:
        the latest listing shows the same time as the harvested version, and
        the harvester's configuration and our mapping (the fingerprint) are
        those the record was made with."""
        return (
            self.has_record
            and self.modified is not None
            and self.modified == self.harvested_modified
            and fingerprint == self.harvested_fingerprint
        )

    def made_from(self, raw_hash: str, fingerprint: str) -> bool:
        """The record was made from this very document (a WMS capabilities
        document holds every layer), the same way: nothing can have changed."""
        return self.has_record and self.raw_hash == raw_hash and fingerprint == self.harvested_fingerprint

    def already_recorded_in(self, session_id: UUID) -> bool:
        return self.last_session_id == session_id

    def record_harvest(
        self,
        session_id: UUID,
        content_hash: str,
        descriptor: dict[str, Any],
        modified: str | None,
        remote_url: str,
        raw_hash: str = "",
        fingerprint: str = "",
    ) -> None:
        self._harvested(
            session_id=session_id,
            record_id=record_id(self.id),
            content_hash=content_hash,
            descriptor=descriptor,
            modified=modified,
            remote_url=remote_url,
            raw_hash=raw_hash,
            fingerprint=fingerprint,
        )

    @event("ResourceHarvested")
    def _harvested(
        self,
        session_id: UUID,
        record_id: UUID,
        content_hash: str,
        descriptor: dict[str, Any],
        modified: str | None,
        remote_url: str,
        raw_hash: str = "",
        fingerprint: str = "",
    ) -> None:
        self.content_hash = content_hash
        self.raw_hash = raw_hash or None
        self.harvested_fingerprint = fingerprint
        self.harvested_modified = modified
        self.has_record = True
        self.last_session_id = session_id
        self.title = str(descriptor.get("title") or self.title)

    def record_failure(self, session_id: UUID, stage: str, error_kind: str, message: str) -> None:
        self._harvest_failed(session_id=session_id, stage=stage, error_kind=error_kind, message=message)

    @event("ResourceHarvestFailed")
    def _harvest_failed(self, session_id: UUID, stage: str, error_kind: str, message: str) -> None:
        self.last_session_id = session_id

    def sweep(self, session_id: UUID, delete_orphans: bool) -> None:
        """Stale after a complete listing: the resource goes, the record is
        deleted or kept as an orphan by the harvester's policy."""
        if self.removed:
            return
        self._stale(session_id=session_id)
        if not self.has_record:
            action = NO_RECORD
        elif delete_orphans:
            action = RECORD_DELETED
        else:
            action = RECORD_ORPHANED
        self._removed(session_id=session_id, record_id=record_id(self.id), record=action)

    @event("ResourceStale")
    def _stale(self, session_id: UUID) -> None:
        self.stale = True

    @event("ResourceRemoved")
    def _removed(self, session_id: UUID, record_id: UUID, record: str) -> None:
        self.removed = True
        if record == RECORD_DELETED:
            self.has_record = False
            self.content_hash = None
