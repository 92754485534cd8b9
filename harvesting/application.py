"""The event-sourced application: commands take and return primitives.

All aggregates live in one event store, so a process manager can write several
aggregates and its tracking position in one transaction.
"""

from __future__ import annotations

import time
from typing import Any
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError, Application, ProcessingEvent
from eventsourcing.domain import Aggregate
from eventsourcing.persistence import ApplicationRecorder, IntegrityError, ProcessRecorder, Tracking

from harvesting.domain.errors import HarvestingError, InvalidConfigurationError, NotFoundError
from harvesting.domain.harvester import Harvester, harvester_id
from harvesting.domain.policy import checked_policy, checked_url
from harvesting.domain.resource import HarvestableResource, resource_id
from harvesting.domain.session import SESSION_TYPES, HarvestingSession


class HarvestingApplication(Application[UUID]):
    name = "harvesting"
    snapshotting_intervals = {Harvester: 50, HarvestingSession: 50}  # noqa: RUF012

    def construct_recorder(self) -> ApplicationRecorder:
        # A process recorder, so effects and tracking positions commit together.
        recorder = self.factory.process_recorder()
        assert isinstance(recorder, ApplicationRecorder)
        return recorder

    @property
    def process_recorder(self) -> ProcessRecorder:
        assert isinstance(self.recorder, ProcessRecorder)
        return self.recorder

    # --- reading aggregates -------------------------------------------------

    def harvester(self, name: str) -> Harvester:
        try:
            harvester: Any = self.repository.get(harvester_id(name))
        except AggregateNotFoundError:
            raise NotFoundError(f"no harvester named {name!r}") from None
        assert isinstance(harvester, Harvester)
        if harvester.removed:
            raise NotFoundError(f"no harvester named {name!r} (it was removed)")
        return harvester

    def harvester_by_id(self, id_: UUID) -> Harvester:
        harvester: Any = self.repository.get(id_)
        assert isinstance(harvester, Harvester)
        return harvester

    def session(self, session_id: UUID) -> HarvestingSession:
        try:
            session: Any = self.repository.get(session_id)
        except AggregateNotFoundError:
            raise NotFoundError(f"no session {session_id}") from None
        if not isinstance(session, HarvestingSession):
            raise NotFoundError(f"{session_id} is not a session")
        return session

    def resource(self, id_: UUID) -> HarvestableResource | None:
        try:
            resource: Any = self.repository.get(id_)
        except AggregateNotFoundError:
            return None
        assert isinstance(resource, HarvestableResource)
        return resource

    # --- commands -----------------------------------------------------------

    def add_harvester(
        self, name: str, remote_type: str, url: str, options: dict[str, str], policy: dict[str, Any]
    ) -> UUID:
        if not name.strip() or not name.isprintable():
            raise InvalidConfigurationError("a harvester needs a name of printable characters")
        url = checked_url(url)
        policy = checked_policy(policy)
        try:
            existing: Any = self.repository.get(harvester_id(name))
        except AggregateNotFoundError:
            harvester = Harvester(name=name, remote_type=remote_type, url=url, options=options, policy=policy)
            self.save(harvester)
            return harvester.id
        assert isinstance(existing, Harvester)
        if not existing.removed:
            raise InvalidConfigurationError(f"a harvester named {name!r} already exists")
        existing.reconfigure(remote_type=remote_type, url=url, options=options, policy=policy)
        self.save(existing)
        return existing.id

    def remove_harvester(self, name: str) -> None:
        harvester = self.harvester(name)
        harvester.remove()
        self.save(harvester)

    def set_scheduling(self, name: str, enabled: bool) -> None:
        harvester = self.harvester(name)
        if enabled:
            harvester.enable_scheduling()
        else:
            harvester.disable_scheduling()
        self.save(harvester)

    def start_session(
        self, name: str, session_type: str, parameters: dict[str, Any], resume: bool = True
    ) -> tuple[UUID, bool]:
        """Opens a session, or resumes the harvester's interrupted one of the same
        type (a second session is never opened while one is active).

        Returns the session id and whether it was resumed."""
        if session_type not in SESSION_TYPES:
            raise InvalidConfigurationError(f"unknown session type {session_type!r}")
        harvester = self.harvester(name)
        if resume and harvester.active_session_id is not None and harvester.active_session_type == session_type:
            return harvester.active_session_id, True
        snapshot = {
            "remote_type": harvester.remote_type,
            "url": harvester.url,
            "options": harvester.options,
            "policy": harvester.policy,
            **parameters,
        }
        session = HarvestingSession(harvester_id=harvester.id, session_type=session_type, parameters=snapshot)
        harvester.open_session(session.id, session_type)
        self.save(harvester, session)
        return session.id, False

    def abort_session(self, session_id: UUID) -> str:
        """Aborting ends the session at once; outcomes that workers still bring
        in are dropped (the next harvest fetches those resources again).

        The engine may be saving the same session concurrently: on a version
        conflict, reload and decide again."""
        for _ in range(20):
            session = self.session(session_id)
            if session.is_final:
                return session.status
            harvester = self.harvester_by_id(session.harvester_id)
            session.request_abort()
            harvester.request_abort(session.id)
            session.abort("aborted by request")
            harvester.close_session(session.id, session.status)
            try:
                self.save(session, harvester)
            except IntegrityError:
                time.sleep(0.05)
                continue
            return session.status
        raise HarvestingError(f"session {session_id} kept changing; abort not recorded, try again")

    def set_selection(self, name: str, remote_ids: list[str], selected: bool) -> list[str]:
        """Returns the remote ids that are not known resources of the harvester."""
        harvester = self.harvester(name)
        changed: list[Aggregate] = []
        unknown: list[str] = []
        for remote_id in remote_ids:
            resource = self.resource(resource_id(harvester.id, remote_id))
            if resource is None or resource.removed:
                unknown.append(remote_id)
                continue
            if selected:
                resource.select()
            else:
                resource.deselect()
            changed.append(resource)
        if unknown:
            raise NotFoundError(f"harvester {name!r} has no resource(s): {', '.join(unknown)}")
        self.save(*changed)
        return unknown

    # --- used by process managers -------------------------------------------

    def record_with_tracking(self, tracking: Tracking | None, *aggregates: Aggregate) -> None:
        """Saves the aggregates' new events and the tracking position atomically."""
        processing = ProcessingEvent[UUID](tracking)
        processing.collect_events(*aggregates)
        if processing.events:
            self._record(processing)
            self._take_snapshots(processing)
        elif tracking is not None:
            self.process_recorder.insert_tracking(tracking)


def event_document(event: Any) -> dict[str, Any]:
    """An event as the audit trail shows it: when, what, to which aggregate, payload."""
    payload = {
        k: v
        for k, v in vars(event).items()
        if k not in ("originator_id", "originator_version", "timestamp", "originator_topic")
    }
    return {
        "time": event.timestamp.isoformat(),
        "aggregate_id": str(event.originator_id),
        "aggregate_type": type(event).__qualname__.split(".")[0],
        "version": event.originator_version,
        "event": type(event).__name__,
        "payload": payload,
    }
