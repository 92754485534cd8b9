"""Harvest: checks the remote answers and plans the selected resources; the
engine hands their jobs out once the plan is projected. Runs off the
engine's loop: an availability check that hangs delays only its own session."""

from __future__ import annotations

import logging
from collections.abc import Callable
from uuid import UUID

from eventsourcing.persistence import IntegrityError

from harvesting.application import HarvestingApplication
from harvesting.domain.errors import SessionClosedError
from harvesting.domain.harvester import Harvester
from harvesting.domain.session import FINISHED_ALL_FAILED, HarvestingSession
from harvesting.runners.process_managers import Stopped, closing
from harvesting.runners.remotes import RemoteRegistry, availability
from harvesting.runners.storage import Database

log = logging.getLogger(__name__)

SAVE_ATTEMPTS = 5


class Dispatcher:
    def __init__(
        self,
        app: HarvestingApplication,
        db: Database,
        remotes: RemoteRegistry,
        should_stop: Callable[[UUID], bool],
    ) -> None:
        self.app = app
        self.db = db
        self.remotes = remotes
        self.should_stop = should_stop

    def plan(self, session_id: UUID) -> None:
        for _ in range(SAVE_ATTEMPTS):
            session = self.app.session(session_id)
            if not session.is_active or session.planned is not None:
                return
            harvester = self.app.harvester_by_id(session.harvester_id)
            try:
                self._plan_once(session, harvester)
                return
            except Stopped:
                return
            except (IntegrityError, SessionClosedError):
                continue
        log.warning("harvest session %s kept changing under the dispatcher; it resumes on the next round", session_id)

    def _plan_once(self, session: HarvestingSession, harvester: Harvester) -> None:
        reimport = bool(session.parameters.get("reimport"))
        if not reimport:
            available, problem = availability(self.remotes, harvester)
            if self.should_stop(session.id):
                raise Stopped("stopping")
            harvester.record_availability(available, problem or "answers")
            if not available:
                session.finish(FINISHED_ALL_FAILED, {}, f"remote unavailable: {problem}; no record touched")
                self.app.save(*closing(session, harvester))
                return
        # The engine hands the work out once the plan is projected (WorkFeeder).
        session.plan_work(self._planned(harvester, reimport))
        self.app.save(session, harvester)

    def _planned(self, harvester: Harvester, reimport: bool) -> list[UUID]:
        if reimport:
            # Everything that has a record, selected or not: a reimport rebuilds the catalogue as it is.
            sql = (
                "SELECT r.id FROM harvestable_resources r JOIN records c ON c.resource_id = r.id"
                " WHERE r.harvester_id = ? AND r.removed = 0 ORDER BY r.remote_id"
            )
        else:
            sql = (
                "SELECT id FROM harvestable_resources WHERE harvester_id = ? AND should_be_harvested = 1"
                " AND removed = 0 ORDER BY remote_id"
            )
        return [UUID(value) for value in self.db.column(sql, (str(harvester.id),))]
