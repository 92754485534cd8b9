"""The long-running loop: starts due refreshes and harvests, checks
availability, processes sessions, and ends any session that stopped moving."""

from __future__ import annotations

import logging
import signal
import time
from datetime import UTC, datetime, timedelta
from types import FrameType
from uuid import UUID

from harvesting.domain import decisions
from harvesting.domain.errors import HarvesterBusyError
from harvesting.domain.session import FINISHED_ALL_FAILED, HARVEST, REFRESH
from harvesting.projections import queries
from harvesting.remotes.base import RemoteError
from harvesting.runners.engine import Engine
from harvesting.runners.runtime import Runtime

log = logging.getLogger(__name__)


def _parse(stamp: str | None) -> datetime | None:
    return datetime.fromisoformat(stamp) if stamp else None


class Scheduler:
    def __init__(self, rt: Runtime, engine: Engine, check_every_s: int, session_timeout_s: int) -> None:
        self.rt = rt
        self.engine = engine
        self.check_every = timedelta(seconds=check_every_s)
        self.session_timeout = timedelta(seconds=session_timeout_s)
        self._last_check: datetime | None = None
        # A session is judged idle only from when this process could have
        # resumed it: after downtime, sessions are resumed, not failed.
        self._started_at = datetime.now(UTC)
        self._stopping = False

    def run(self, tick_s: int, once: bool = False) -> None:
        signal.signal(signal.SIGTERM, self._stop)
        self.engine.start()
        while not self._stopping:
            self.tick(datetime.now(UTC))
            deadline = time.monotonic() + tick_s
            while time.monotonic() < deadline and not self._stopping:
                if not self.engine.step():
                    time.sleep(0.05)
            if once:
                while self.engine.busy or self.engine.step():
                    time.sleep(0.02)
                return

    def _stop(self, signum: int, frame: FrameType | None) -> None:
        self._stopping = True

    def tick(self, now: datetime) -> None:
        self.rt.projector.catch_up()
        for harvester in queries.harvesters(self.rt.db):
            if not harvester["scheduling"]:
                continue
            self._start_due(harvester, now)
        if decisions.is_due(self._last_check, self.check_every, now):
            self._check_availability()
            self._last_check = now
        self._end_stuck_sessions(now)

    def _start_due(self, harvester: dict[str, object], now: datetime) -> None:
        """Starts at most one due session per harvester: the one waiting longest,
        so a short refresh interval can never starve the harvest."""
        policy = harvester["policy"]
        assert isinstance(policy, dict)
        name = str(harvester["name"])
        due: list[tuple[datetime, int, str]] = []
        # On a tie (e.g. both never ran) the refresh goes first: a harvest needs a listing.
        for order, (session_type, key) in enumerate(((REFRESH, "refresh_every_s"), (HARVEST, "harvest_every_s"))):
            every = policy.get(key)
            if not every:
                continue
            last = self._last_started(str(harvester["id"]), session_type)
            if decisions.is_due(last, timedelta(seconds=int(every)), now):
                due.append((last or datetime.min.replace(tzinfo=UTC), order, session_type))
        if not due or harvester["active_session"]:
            return
        _, _, session_type = min(due)
        try:
            session_id, _ = self.rt.app.start_session(name, session_type, {"scheduled": True})
            log.info("scheduled %s of %s: session %s", session_type, name, session_id)
        except HarvesterBusyError:
            pass  # one session at a time: the schedule waits for the next tick

    def _last_started(self, harvester_id: str, session_type: str) -> datetime | None:
        value = self.rt.db.scalar(
            "SELECT MAX(started) FROM sessions WHERE harvester_id = ? AND type = ?", (harvester_id, session_type)
        )
        return _parse(value)

    def _check_availability(self) -> None:
        for row in queries.harvesters(self.rt.db):
            harvester = self.rt.app.harvester(str(row["name"]))
            try:
                available = self.engine.remotes.for_harvester(harvester).check_availability()
                message = "answers" if available else "does not answer"
            except RemoteError as e:
                available, message = False, str(e)
            harvester.record_availability(available, message)
            self.rt.app.save(harvester)

    def _end_stuck_sessions(self, now: datetime) -> None:
        """Whatever crashed, a session ends: one with no event for longer than the
        timeout and no work in flight here is finished as failed."""
        for session in queries.sessions(self.rt.db):
            if session["status"] not in ("on-going", "aborting"):
                continue
            updated = _parse(session["updated"])
            if updated is None:
                continue
            if not decisions.is_heartbeat_stale(max(updated, self._started_at), self.session_timeout, now):
                continue
            if self.engine.busy:
                continue
            aggregate = self.rt.app.session(UUID(session["id"]))
            harvester = self.rt.app.harvester_by_id(aggregate.harvester_id)
            aggregate.finish(
                FINISHED_ALL_FAILED,
                {},
                f"no progress for {self.session_timeout}; ended by the scheduler",
            )
            harvester.close_session(aggregate.id, aggregate.status)
            self.rt.app.save(aggregate, harvester)
