"""The Harvester aggregate: a remote endpoint, its protocol, options and policy.

Its one hard rule is GeoNode's: at most one active session at a time.
"""

from __future__ import annotations

from typing import Any
from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.domain import Aggregate, event

from harvesting.domain.errors import HarvesterBusyError, HarvesterRemovedError, InvalidConfigurationError
from harvesting.domain.policy import share_of

READY = "ready"
UPDATING = "updating-harvestable-resources"
HARVESTING = "harvesting-resources"
ABORTING_UPDATE = "aborting-update-harvestable-resources"
ABORTING_HARVEST = "aborting-harvesting-resources"

_STATUS_FOR_SESSION_TYPE = {"refresh": UPDATING, "harvest": HARVESTING}

HARVESTER_NAMESPACE = uuid5(NAMESPACE_URL, "urn:harvesting:harvester")


def harvester_id(name: str) -> UUID:
    """Names identify harvesters, so a harvester removed and added again under the
    same name maps onto the same resources and records: no duplicates."""
    return uuid5(HARVESTER_NAMESPACE, name)


class Harvester(Aggregate):
    @staticmethod
    def create_id(name: str) -> UUID:
        return harvester_id(name)

    @event("HarvesterRegistered")
    def __init__(
        self,
        name: str,
        remote_type: str,
        url: str,
        options: dict[str, str],
        policy: dict[str, Any],
    ) -> None:
        self.name = name
        self.remote_type = remote_type
        self.url = url
        self.options = dict(options)
        self.policy = dict(policy)
        self.scheduling_enabled = True
        self.available: bool | None = None
        self.status = READY
        self.active_session_id: UUID | None = None
        self.active_session_type: str | None = None
        self.removed = False

    @property
    def delete_orphans(self) -> bool:
        return bool(self.policy.get("delete_orphans", False))

    @property
    def select_new(self) -> bool:
        return bool(self.policy.get("select_new", True))

    @property
    def max_stale_share(self) -> float:
        return share_of(self.policy, "max_stale_share")

    @property
    def max_total_drift(self) -> float:
        return share_of(self.policy, "max_total_drift")

    @property
    def allowed_hosts(self) -> list[str]:
        hosts = self.policy.get("allowed_hosts") or []
        return [str(h) for h in hosts] if isinstance(hosts, list) else []

    def reconfigure(
        self,
        remote_type: str,
        url: str,
        options: dict[str, str],
        policy: dict[str, Any],
    ) -> None:
        if self.removed:
            self._readd(remote_type=remote_type, url=url, options=options, policy=policy)
        elif (remote_type, url, options, policy) != (self.remote_type, self.url, self.options, self.policy):
            self._reconfigure(remote_type=remote_type, url=url, options=options, policy=policy)

    @event("HarvesterReconfigured")
    def _reconfigure(self, remote_type: str, url: str, options: dict[str, str], policy: dict[str, Any]) -> None:
        self.remote_type = remote_type
        self.url = url
        self.options = dict(options)
        self.policy = dict(policy)

    @event("HarvesterReadded")
    def _readd(self, remote_type: str, url: str, options: dict[str, str], policy: dict[str, Any]) -> None:
        self.remote_type = remote_type
        self.url = url
        self.options = dict(options)
        self.policy = dict(policy)
        self.removed = False
        self.status = READY
        self.available = None

    def enable_scheduling(self) -> None:
        if not self.scheduling_enabled:
            self._scheduling_enabled()

    @event("SchedulingEnabled")
    def _scheduling_enabled(self) -> None:
        self.scheduling_enabled = True

    def disable_scheduling(self) -> None:
        if self.scheduling_enabled:
            self._scheduling_disabled()

    @event("SchedulingDisabled")
    def _scheduling_disabled(self) -> None:
        self.scheduling_enabled = False

    def record_availability(self, available: bool, message: str) -> None:
        if available != self.available:
            self._availability_changed(available=available, message=message)

    @event("AvailabilityChanged")
    def _availability_changed(self, available: bool, message: str) -> None:
        self.available = available

    def open_session(self, session_id: UUID, session_type: str) -> None:
        if session_type not in _STATUS_FOR_SESSION_TYPE:
            raise InvalidConfigurationError(f"unknown session type {session_type!r}")
        if self.removed:
            raise HarvesterRemovedError(f"harvester {self.name!r} was removed")
        if self.active_session_id is not None:
            raise HarvesterBusyError(
                f"harvester {self.name!r} already has an active {self.active_session_type} "
                f"session {self.active_session_id}; one session runs at a time: wait for it, abort it, "
                f"or use `harvest run {self.name}`, which resumes it first",
                session_id=self.active_session_id,
                session_type=self.active_session_type or "",
            )
        self._session_opened(session_id=session_id, session_type=session_type)

    @event("SessionOpened")
    def _session_opened(self, session_id: UUID, session_type: str) -> None:
        self.status = _STATUS_FOR_SESSION_TYPE[session_type]
        self.active_session_id = session_id
        self.active_session_type = session_type

    def request_abort(self, session_id: UUID) -> None:
        if self.active_session_id == session_id and self.status in (UPDATING, HARVESTING):
            self._aborting(session_id=session_id)

    @event("SessionAborting")
    def _aborting(self, session_id: UUID) -> None:
        self.status = ABORTING_UPDATE if self.status == UPDATING else ABORTING_HARVEST

    def close_session(self, session_id: UUID, status: str) -> None:
        """Idempotent: closing a session that is no longer the active one is a no-op,
        so a process manager that re-handles an event after a crash changes nothing."""
        if self.active_session_id == session_id:
            self._session_closed(session_id=session_id, session_status=status)

    @event("SessionClosed")
    def _session_closed(self, session_id: UUID, session_status: str) -> None:
        self.active_session_id = None
        self.active_session_type = None
        self.status = READY

    @event("HarvesterReset")
    def reset(self, reason: str) -> None:
        self.active_session_id = None
        self.active_session_type = None
        self.status = READY

    def remove(self) -> None:
        if self.active_session_id is not None:
            raise HarvesterBusyError(
                f"harvester {self.name!r} has an active {self.active_session_type} session "
                f"{self.active_session_id}; abort it first",
                session_id=self.active_session_id,
                session_type=self.active_session_type or "",
            )
        if not self.removed:
            # Records outlive their harvester as orphans: removing a harvester is
            # an operator's mistake to undo, and `harvester add` under the same
            # name brings them back.
            self._removed(records="kept-as-orphans")

    @event("HarvesterRemoved")
    def _removed(self, records: str) -> None:
        self.removed = True
