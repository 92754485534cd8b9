"""The long-running loop: starts due refreshes and harvests, checks
availability, processes sessions, and ends any session that stopped moving.

Nothing a remote or an operator's input does may end this loop: a failure in
one harvester's work fails that session (or is logged and tried again next
tick), store hiccups are retried with backoff, and SIGTERM or Ctrl-C stop it
within seconds, leaving nothing a restart cannot resume.
"""

from __future__ import annotations

import logging
import signal
import threading
import time
from datetime import UTC, datetime, timedelta
from types import FrameType
from typing import Any
from uuid import UUID

from eventsourcing.persistence import IntegrityError, OperationalError, PersistenceError

from harvesting.domain import decisions, policy
from harvesting.domain.errors import HarvestingError
from harvesting.domain.session import FINISHED_ALL_FAILED, HARVEST, REFRESH
from harvesting.projections import queries
from harvesting.runners.engine import Engine, LeadershipLost
from harvesting.runners.runtime import Runtime

log = logging.getLogger(__name__)

STANDBY_POLL_S = 1.0
MAX_BACKOFF_S = 30.0


def _parse(stamp: str | None) -> datetime | None:
    return datetime.fromisoformat(stamp) if stamp else None


class Scheduler:
    def __init__(self, rt: Runtime, check_every_s: int, session_timeout_s: int) -> None:
        self.rt = rt
        self.check_every = timedelta(seconds=check_every_s)
        self.session_timeout = timedelta(seconds=session_timeout_s)
        self._last_check: datetime | None = None
        # A session is judged idle only from when this process could have
        # resumed it: after downtime, sessions are resumed, not failed.
        self._started_at = datetime.now(UTC)
        self._stopping = threading.Event()

    def stop(self, signum: int | None = None, frame: FrameType | None = None) -> None:
        self._stopping.set()

    @property
    def stopping(self) -> bool:
        return self._stopping.is_set()

    def run(self, tick_s: int, once: bool = False) -> None:
        """Drives the store while holding its lock; waits as a standby while
        another process holds it, and takes over when that one goes."""
        previous = {sig: signal.signal(sig, self.stop) for sig in (signal.SIGTERM, signal.SIGINT)}
        try:
            waiting_said = False
            while not self.stopping:
                engine = self.rt.engine()
                if engine is None:
                    if once:
                        raise HarvestingError("another process is driving this store; `--once` does not wait for it")
                    if not waiting_said:
                        log.info("another process drives this store; standing by to take over")
                        waiting_said = True
                    self._stopping.wait(STANDBY_POLL_S)
                    continue
                waiting_said = False
                try:
                    self._drive(engine, tick_s, once)
                except LeadershipLost as e:
                    log.warning("%s; standing by", e)
                    self.rt.drop_engine()
                    continue
                return
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)

    def _drive(self, engine: Engine, tick_s: int, once: bool) -> None:
        self._guarded(engine.start)
        self._started_at = datetime.now(UTC)
        while not self.stopping:
            self._guarded(lambda: self.tick(engine, datetime.now(UTC)))
            if once:
                # Work until a round finds nothing to do with nothing in flight
                # before it: work that ends during the round commits first, so
                # the next round sees it (asking `busy` after could miss it).
                while not self.stopping:
                    was_busy = engine.busy
                    worked = self._guarded(engine.step)
                    if not worked and not was_busy:
                        return
                    if not worked:
                        engine.idle(0.02)
                return
            deadline = time.monotonic() + tick_s
            while time.monotonic() < deadline and not self.stopping:
                if not self._guarded(engine.step):
                    engine.idle(0.05)

    def _guarded(self, work: Any) -> Any:
        """Store errors that pass (a restarted or busy database) are retried
        with backoff; any other failure is logged in one line and the loop
        goes on. Only losing the driver's lock stops driving."""
        delay = 0.5
        while True:
            try:
                return work()
            except LeadershipLost:
                raise
            except (OperationalError, IntegrityError) as e:
                if self.stopping:
                    return 0
                log.warning("store not answering (%s); retrying in %.1f s", _one_line(e), delay)
                self._stopping.wait(delay)
                delay = min(MAX_BACKOFF_S, delay * 2)
            except (PersistenceError, HarvestingError) as e:
                log.error("%s", _one_line(e))
                self._stopping.wait(delay)
                return 0
            except Exception as e:  # the loop outlives any defect in one round
                log.exception("scheduler round failed: %s", _one_line(e))
                self._stopping.wait(delay)
                return 0

    def tick(self, engine: Engine, now: datetime) -> None:
        self.rt.projector.catch_up()
        harvesters = queries.harvesters(self.rt.db)
        for harvester in harvesters:
            if not harvester["scheduling"]:
                continue
            try:
                self._start_due(harvester, now)
            except (HarvestingError, IntegrityError) as e:
                log.warning("harvester %s: %s", harvester["name"], _one_line(e))
        if decisions.is_due(self._last_check, self.check_every, now):
            for harvester in harvesters:
                engine.check_availability(UUID(str(harvester["id"])))
            self._last_check = now
        self._end_stuck_sessions(engine, now)

    def _start_due(self, harvester: dict[str, Any], now: datetime) -> None:
        """Starts at most one due session per harvester: the one waiting longest,
        so a short refresh interval can never starve the harvest."""
        if harvester["active_session"]:
            return
        name = str(harvester["name"])
        due: list[tuple[datetime, int, str]] = []
        # On a tie (e.g. both never ran) the refresh goes first: a harvest needs a listing.
        for order, (session_type, key) in enumerate(((REFRESH, "refresh_every_s"), (HARVEST, "harvest_every_s"))):
            every = policy.interval_of(harvester["policy"], key)
            if every is None:
                continue
            last = self._last_started(str(harvester["id"]), session_type)
            if decisions.is_due(last, timedelta(seconds=every), now):
                due.append((last or datetime.min.replace(tzinfo=UTC), order, session_type))
        if not due:
            return
        _, _, session_type = min(due)
        session_id, _ = self.rt.app.start_session(name, session_type, {"scheduled": True})
        log.info("scheduled %s of %s: session %s", session_type, name, session_id)

    def _last_started(self, harvester_id: str, session_type: str) -> datetime | None:
        value = self.rt.db.scalar(
            "SELECT MAX(started) FROM sessions WHERE harvester_id = ? AND type = ?", (harvester_id, session_type)
        )
        return _parse(value)

    def _end_stuck_sessions(self, engine: Engine, now: datetime) -> None:
        """Whatever crashed or hangs, a session ends: one with no event for
        longer than the timeout is finished as failed and its work cancelled."""
        rows = self.rt.db.query("SELECT id, updated FROM sessions WHERE status IN ('on-going', 'aborting', 'pending')")
        for row in rows:
            updated = _parse(row["updated"])
            if updated is None:
                continue
            if not decisions.is_heartbeat_stale(max(updated, self._started_at), self.session_timeout, now):
                continue
            session = self.rt.app.session(UUID(row["id"]))
            if not session.is_active:
                continue
            harvester = self.rt.app.harvester_by_id(session.harvester_id)
            session.finish(FINISHED_ALL_FAILED, {}, f"no progress for {self.session_timeout}; ended by the scheduler")
            harvester.close_session(session.id, session.status)
            try:
                self.rt.app.save(session, harvester)
            except IntegrityError:
                continue  # it moved after all; judged again next tick
            engine.session_ended(session.id)
            log.warning("session %s ended: no progress for %s", session.id, self.session_timeout)


def _one_line(error: BaseException) -> str:
    return " ".join(str(error).split()) or type(error).__name__
