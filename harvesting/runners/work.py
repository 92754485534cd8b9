"""Harvest work: fetching one resource (in a worker thread) and recording
outcomes in batches (one transaction for many resources)."""

from __future__ import annotations

import os
import signal
import threading
from dataclasses import dataclass
from uuid import UUID

from eventsourcing.domain import Aggregate

from harvesting.application import HarvestingApplication
from harvesting.domain.harvester import Harvester
from harvesting.domain.resource import HarvestableResource
from harvesting.remotes import remote_fingerprint
from harvesting.remotes.base import FetchedResource, RemoteError
from harvesting.runners.failures import is_transient
from harvesting.runners.raw_store import RawStore
from harvesting.runners.remotes import RemoteRegistry


@dataclass(frozen=True)
class Job:
    session_id: UUID
    harvester_id: UUID
    resource_id: UUID
    remote_id: str
    reimport: bool = False


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


def fetch_one(
    job: Job, harvesters: SessionHarvesters, app: HarvestingApplication, remotes: RemoteRegistry, raw_store: RawStore
) -> Outcome:
    """Never raises: whatever goes wrong becomes a failed outcome with a message,
    so a bug in one fetch cannot leave a session waiting forever."""
    try:
        harvester, fingerprint = harvesters.of(job)
        resource = app.resource(job.resource_id)
        if job.reimport:
            return _reimport_one(job, harvester, resource, remotes, raw_store, fingerprint)
        if resource is not None and resource.listed_as_unchanged(fingerprint):
            # The listing's modified time equals the harvested one: no detail request.
            return Outcome(job, None, remote_url=harvester.url, unchanged_per_listing=True)
        remote = remotes.for_harvester(harvester)
        fetched = remote.fetch(job.remote_id)
        return Outcome(job, fetched, remote_url=harvester.url, fingerprint=fingerprint)
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
    resource: HarvestableResource | None,
    remotes: RemoteRegistry,
    raw_store: RawStore,
    fingerprint: str,
) -> Outcome:
    """Rebuilds a record from its stored raw document: the remote is not contacted."""
    digest = resource.raw_hash if resource is not None else None
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
        crash_after = os.environ.get("HARVEST_CRASH_AFTER_BATCHES", "")
        # Fault injection for the crash-resume tests: a real SIGKILL at a known point.
        self._crash_after = int(crash_after) if crash_after.isdigit() else 0

    def write(self, session_id: UUID, outcomes: list[Outcome]) -> bool:
        """Returns False when the session is no longer active (its jobs can stop)."""
        session = self.app.session(session_id)
        if not session.is_active:
            # Aborted or ended: its late outcomes are dropped, so an aborted and
            # then removed harvester never gets live records back.
            return False
        touched: list[Aggregate] = []
        harvested: list[UUID] = []
        unchanged: list[UUID] = []
        failed: list[UUID] = []
        to_record: list[tuple[HarvestableResource, Outcome, FetchedResource]] = []
        for outcome in outcomes:
            resource = self.app.resource(outcome.job.resource_id)
            if resource is None or resource.already_recorded_in(session_id):
                continue
            assert isinstance(resource, HarvestableResource)
            fetched = outcome.fetched
            if outcome.unchanged_per_listing:
                unchanged.append(resource.id)
            elif fetched is None:
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
