"""Harvest work: fetching one resource (in a worker thread) and recording
outcomes in batches (one transaction for many resources)."""

from __future__ import annotations

import os
import signal
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from eventsourcing.domain import Aggregate, Snapshot
from eventsourcing.persistence import IntegrityError
from eventsourcing.utils import get_topic

from harvesting.application import HarvestingApplication
from harvesting.domain.harvester import Harvester
from harvesting.domain.resource import FAILED, HARVESTED, HarvestableResource
from harvesting.domain.session import HarvestingSession
from harvesting.remotes import remote_fingerprint
from harvesting.remotes.base import FetchedResource, RemoteError
from harvesting.runners.failures import is_transient
from harvesting.runners.raw_store import RawStore
from harvesting.runners.remotes import RemoteRegistry


@dataclass(frozen=True)
class Known:
    """A resource as its read-model row showed it when its job was made: the
    aggregate's state at that version. Restored from it (`restored`), the
    aggregate's own rules tell an unchanged resource without reading its
    events (the read model is projected past the session's start, and only
    this session's work changes what a record was made from until it ends)."""

    version: int
    state: dict[str, Any]


@dataclass(frozen=True)
class Job:
    session_id: UUID
    harvester_id: UUID
    resource_id: UUID
    remote_id: str
    known: Known
    reimport: bool = False


# The columns `jobs` reads, from harvestable_resources as r.
JOB_COLUMNS = (
    "r.id, r.remote_id, r.has_record, r.content_hash, r.modified, r.harvested_modified, r.fingerprint, r.raw_hash,"
    " r.version, r.harvester_id, r.title, r.resource_type, r.should_be_harvested, r.stale, r.removed,"
    " r.last_session, r.last_outcome, r.discovered"
)


def jobs(rows: Sequence[Mapping[str, Any]], session_id: UUID, harvester_id: UUID, reimport: bool) -> list[Job]:
    # A window of rows names one harvester and a few sessions: each id is parsed once.
    ids: dict[str, UUID] = {}
    return [
        Job(
            session_id,
            harvester_id,
            UUID(r["id"]),
            r["remote_id"],
            known=Known(version=int(r["version"]), state=_aggregate_state(r, ids)),
            reimport=reimport,
        )
        for r in rows
    ]


def _uuid(text: str, parsed: dict[str, UUID]) -> UUID:
    found = parsed.get(text)
    if found is None:
        found = parsed[text] = UUID(text)
    return found


def _aggregate_state(r: Mapping[str, Any], parsed: dict[str, UUID]) -> dict[str, Any]:
    """HarvestableResource's attributes as the row shows them. `last_session_id`
    only counts harvested and failed outcomes (an unchanged mark is a session
    event, and never follows another outcome of the same session)."""
    recorded = r["last_outcome"] in (HARVESTED, FAILED) and r["last_session"]
    created = datetime.fromisoformat(r["discovered"])
    return {
        "harvester_id": _uuid(r["harvester_id"], parsed),
        "remote_id": r["remote_id"],
        "title": r["title"],
        "resource_type": r["resource_type"],
        "modified": r["modified"],
        "should_be_harvested": bool(r["should_be_harvested"]),
        "stale": bool(r["stale"]),
        "removed": bool(r["removed"]),
        "content_hash": r["content_hash"],
        "harvested_modified": r["harvested_modified"],
        "has_record": bool(r["has_record"]),
        "raw_hash": r["raw_hash"],
        "harvested_fingerprint": r["fingerprint"] or "",
        "last_session_id": _uuid(r["last_session"], parsed) if recorded else None,
        "_created_on": created,
        "_modified_on": created,
    }


def restored(resource_id: UUID, known: Known) -> HarvestableResource:
    """The resource at the version its read-model row was projected from,
    without reading its events: the row taken as a snapshot. Should the row
    lag behind the events, saving conflicts on the version and the writer
    loads the aggregate instead."""
    snapshot = Snapshot(
        originator_id=resource_id,
        originator_version=known.version,
        timestamp=Snapshot.create_timestamp(),
        topic=get_topic(HarvestableResource),
        state=dict(known.state),
    )
    resource = snapshot.mutate(None)
    assert isinstance(resource, HarvestableResource)
    return resource


@dataclass(frozen=True)
class Outcome:
    job: Job
    fetched: FetchedResource | None
    stage: str = ""
    error_kind: str = ""
    message: str = ""
    remote_url: str = ""
    unchanged_per_listing: bool = False
    fingerprint: str = ""
    # The resource as the fetch decided on it, restored once for both.
    resource: HarvestableResource | None = None


class SessionHarvesters:
    """The harvester (and its fingerprint) of each session in flight, read once:
    a harvest of 100k resources would otherwise load one aggregate 100k times."""

    def __init__(self, app: HarvestingApplication) -> None:
        self.app = app
        self._lock = threading.Lock()
        self._by_session: dict[UUID, tuple[Harvester, str]] = {}

    def of(self, job: Job) -> tuple[Harvester, str]:
        with self._lock:
            found = self._by_session.get(job.session_id)
        if found is None:
            harvester = self.app.harvester_by_id(job.harvester_id)
            found = (harvester, remote_fingerprint(harvester.remote_type, harvester.url, harvester.options))
            with self._lock:
                self._by_session[job.session_id] = found
        return found

    def forget(self, session_id: UUID) -> None:
        with self._lock:
            self._by_session.pop(session_id, None)


def fetch_one(job: Job, harvesters: SessionHarvesters, remotes: RemoteRegistry, raw_store: RawStore) -> Outcome:
    """Never raises: whatever goes wrong becomes a failed outcome with a message,
    so a bug in one fetch cannot leave a session waiting forever.

    An unchanged resource costs no aggregate load and, where the remote can
    tell, no per-resource work: the listing's modified time, or the digest of
    the document every resource comes from (a WMS capabilities document)."""
    try:
        harvester, fingerprint = harvesters.of(job)
        resource = restored(job.resource_id, job.known)
        if job.reimport:
            return _reimport_one(job, harvester, resource, remotes, raw_store, fingerprint)
        if resource.listed_as_unchanged(fingerprint):
            return Outcome(job, None, remote_url=harvester.url, unchanged_per_listing=True, resource=resource)
        remote = remotes.for_harvester(harvester)
        document_digest = getattr(remote, "document_digest", None)
        if resource.has_record and document_digest is not None and resource.made_from(document_digest(), fingerprint):
            return Outcome(job, None, remote_url=harvester.url, unchanged_per_listing=True, resource=resource)
        fetched = remote.fetch(job.remote_id)
        return Outcome(job, fetched, remote_url=harvester.url, fingerprint=fingerprint, resource=resource)
    except RemoteError as e:
        return Outcome(job, None, "fetch", e.kind, e.message)
    except Exception as e:  # noqa: BLE001 - a bug must fail the resource, not the session
        if is_transient(e):
            # The store, not the resource, failed: record nothing, fetch it again.
            return Outcome(job, None, "fetch", "cancelled", "store error; fetched again")
        return Outcome(job, None, "fetch", "internal-error", f"{type(e).__name__}: {e}")


def _reimport_one(
    job: Job,
    harvester: Harvester,
    resource: HarvestableResource,
    remotes: RemoteRegistry,
    raw_store: RawStore,
    fingerprint: str,
) -> Outcome:
    """Rebuilds a record from its stored raw document: the remote is not contacted."""
    digest = resource.raw_hash
    if not digest:
        return Outcome(job, None, "reimport", "not-found", "no raw document stored for this resource")
    raw = raw_store.get(digest)
    if raw is None:
        return Outcome(job, None, "reimport", "not-found", f"raw document {digest} is missing from the store")
    try:
        fetched = remotes.for_harvester(harvester).reparse(raw, job.remote_id)
    except RemoteError as e:
        return Outcome(job, None, "reimport", e.kind, e.message)
    return Outcome(job, fetched, remote_url=harvester.url, fingerprint=fingerprint)


class OutcomeWriter:
    """Records a batch of outcomes of one session in a single save: resource
    events plus one ProgressRecorded on the session."""

    def __init__(self, app: HarvestingApplication, raw_store: RawStore) -> None:
        self.app = app
        self.raw_store = raw_store
        self.batches_written = 0
        self._sessions: dict[UUID, HarvestingSession] = {}
        crash_after = os.environ.get("HARVEST_CRASH_AFTER_BATCHES", "")
        # Fault injection for the crash-resume tests: a real SIGKILL at a known point.
        self._crash_after = int(crash_after) if crash_after.isdigit() else 0

    def write(self, session_id: UUID, outcomes: list[Outcome]) -> bool:
        """Returns False when the session is no longer active (its jobs can stop).

        The session stays in memory between batches (reloading it each time
        replayed its plan again and again); a version conflict on saving, from
        an abort in another process, drops it and the retry reloads it."""
        for exact in (False, True):
            session = self._sessions.get(session_id)
            if session is None:
                session = self._sessions[session_id] = self.app.session(session_id)
            if not session.is_active:
                # Aborted or ended: its late outcomes are dropped, so an aborted and
                # then removed harvester never gets live records back.
                self.forget(session_id)
                return False
            try:
                return self._write(session, outcomes, exact)
            except IntegrityError:
                # A resource's row lagged behind its events, or another process
                # saved the session: once more with everything read from the store.
                self.forget(session_id)
                if exact:
                    raise
            except BaseException:
                self.forget(session_id)
                raise
        raise AssertionError("unreachable")

    def forget(self, session_id: UUID) -> None:
        self._sessions.pop(session_id, None)

    def _write(self, session: HarvestingSession, outcomes: list[Outcome], exact: bool) -> bool:
        session_id = session.id
        touched: list[Aggregate] = []
        harvested: list[UUID] = []
        unchanged: list[UUID] = []
        failed: list[UUID] = []
        to_record: list[tuple[HarvestableResource, Outcome, FetchedResource]] = []
        for outcome in outcomes:
            fetched = outcome.fetched
            if exact:
                resource: HarvestableResource | None = self.app.resource(outcome.job.resource_id)
            else:
                resource = outcome.resource or restored(outcome.job.resource_id, outcome.job.known)
            if resource is None or resource.already_recorded_in(session_id):
                continue
            if outcome.unchanged_per_listing:
                # Unchanged outcomes write no resource event: the projection
                # counts each resource once per session from the progress event.
                unchanged.append(resource.id)
                continue
            if fetched is None:
                resource.record_failure(session_id, outcome.stage, outcome.error_kind, outcome.message)
                failed.append(resource.id)
                touched.append(resource)
            elif resource.is_unchanged(fetched.content_hash, fetched.modified):
                unchanged.append(resource.id)
            else:
                to_record.append((resource, outcome, fetched))
        # Raw documents first (idempotent): an event never names a missing document.
        digests = self.raw_store.put_many(fetched.raw for _, _, fetched in to_record)
        for resource, outcome, fetched in to_record:
            resource.record_harvest(
                session_id,
                fetched.content_hash,
                fetched.descriptor,
                fetched.modified,
                outcome.remote_url,
                digests[id(fetched.raw)],
                outcome.fingerprint,
            )
            harvested.append(resource.id)
            touched.append(resource)
        session.record_progress(harvested, unchanged, failed)
        touched.append(session)
        self.app.save(*touched)
        self.batches_written += 1
        if self._crash_after and self.batches_written >= self._crash_after:
            os.kill(os.getpid(), signal.SIGKILL)
        return True
